"""The calibration chapter's verdict and the reruns of its configuration beside it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from made_up import as_record
from test_chapters import TINY, fake_result  # tests/ is on sys.path

from kcl.book import calibration, stats
from kcl.store import ResultStore


def test_reruns_of_the_reference_configuration_are_judged_beside_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")  # a checkout for repo_root(tmp_path)
    (tmp_path / "sweeps").mkdir()
    record = ResultStore(tmp_path / "results" / "reference").put(TINY, fake_result(1.85, (1.82, 1.88)))
    ResultStore(tmp_path / "results" / "result1").put(TINY, fake_result(1.77, (1.75, 1.79)))
    ResultStore(tmp_path / "results" / "pilots" / "lr").put(TINY, fake_result(1.95, (1.93, 1.97)))
    ResultStore(tmp_path / "results" / "gpu" / "result1").put(TINY, fake_result(2.5, (2.4, 2.6)))  # not cpu's
    ResultStore(tmp_path / "results" / "other").put(replace(TINY, train=replace(TINY.train, seed=1)), fake_result(1.0, (0.9, 1.1)))

    assert sorted(store for store, _ in calibration.repeats(record, "cpu", tmp_path)) == ["pilots/lr", "result1"]
    again = calibration.repeats(record, "cpu", tmp_path)
    frame = calibration.repeats_frame(record, 1.8, again)
    assert list(frame["store"])[0] == "reference" and sorted(frame["store"][1:]) == ["pilots/lr", "result1"]
    assert dict(zip(frame["store"], frame["verdict"])) == {"reference": "reproduced", "result1": "not reproduced",
                                                           "pilots/lr": "reproduced"}
    assert calibration.rerun_counts(1.8, again) == {"n_again": "2", "n_again_reached": "1",
                                                                      "n_again_distinct": "2"}
    section, v = calibration.section(record, 1.8, again)
    assert (v.value, v.outcome) == (1.85, "reproduced")
    assert section.title.endswith("; 2 reruns of the same configuration: 1 of them reach it (on its page)")
    ResultStore(tmp_path / "results" / "diag").put(TINY, fake_result(1.77, (1.75, 1.79)))  # result1's, bit for bit
    twice, _ = calibration.section(record, 1.8, calibration.repeats(record, "cpu", tmp_path))
    assert twice.title.endswith("; 3 reruns of the same configuration (2 distinct figures): 1 of them reach it "
                                "(on its page)")
    (row,) = stats.verdicts_table([section]).to_dict("records")
    assert (row["claim"], row["verdict"]) == (calibration.CLAIM, "reproduced")
    # the smoke profile stores nothing to compare
    alone, _ = calibration.section(record, 1.8, calibration.repeats(record, "smoke", tmp_path))
    assert alone.title == "calibration (issue 2's rule: the whole interval at or above the target)"


@pytest.mark.parametrize("ci, outcome", [((1.81, 1.9), "reproduced"), ((1.7, 1.79), "not reproduced"),
                                         ((1.7, 1.85), "inconclusive"), ((1.8, 1.9), "reproduced")])
def test_verdict_uses_the_whole_interval(ci, outcome):
    record = as_record({"key": "k", "result": {"R": sum(ci) / 2, "R_ci": list(ci)}})
    assert calibration.verdict(record, 1.8).outcome == outcome


def test_the_calibration_verdict_joins_the_first_pages_table_under_its_own_rule():
    """R = 1.75 [1.70, 1.85] against 1.8: results 1–4's rule would say reproduced (1.8 is inside the
    interval); the calibration's says inconclusive, and the table must say what its rule says."""
    v = calibration.verdict(as_record({"key": "k", "result": {"R": 1.75, "R_ci": [1.70, 1.85]}}), 1.8,
                            claim="the benchmark")
    assert stats.judge("the benchmark", 1.8, 1.75, 1.70, 1.85, kind="at_least").outcome == "reproduced"
    (row,) = stats.verdicts_table([stats.Section("calibration", [v])]).to_dict("records")
    assert row == {"section": "calibration", "claim": "the benchmark", "target": "≥ 1.8",
                   stats.OURS: "1.750 [1.700, 1.850]", stats.NON_EMBEDDING: "", "verdict": "inconclusive"}
    assert v.sentence().endswith("→ **inconclusive**")


def test_verdict_rejects_a_figure_outside_its_interval():
    with pytest.raises(ValueError, match="not inside"):
        calibration.verdict(as_record({"key": "k", "result": {"R": 2.0, "R_ci": [1.0, 1.5]}}), 1.8)
