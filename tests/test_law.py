"""The capacity law's points, headlines and claims (results 1, 2 and 4) on records made by hand."""

from __future__ import annotations

import pytest

from kcl.book import knobs, law, stats
from kcl.record import Record
from made_up import as_record  # tests/ is on sys.path

BITS = {"bits_name": 10.0, "bits_value": 80.0, "bits_diversity": 5.0, "max_bits_name": 12.0,
        "max_bits_value": 90.0, "max_bits_diversity": 6.0, "accuracy_mean": 0.3, "R_max": 3.0}


def record_dict(lr: float, R: float, d_model: int = 32, **moved) -> dict:
    """A bioD record's fields, to change before ``as_record``."""
    data = {"name": "bioD", "n_people": moved.pop("N", 1000), **knobs.DEFAULT_KNOBS, **moved}
    return {"key": f"{lr}-{R}-{d_model}-{sorted(moved.items())}",
            "config": {"data": data, "model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": d_model},
                       "train": {"lr": lr, "seed": 0, "exposures": 1000}},
            "result": {"R": R, "R_ci": [R - 0.1, R + 0.1], "R_non_embedding": 2 * R,
                       "params": {"total": 1000 * d_model}, **BITS}}


def record(lr: float, R: float, d_model: int = 32, **moved) -> Record:
    return as_record(record_dict(lr, R, d_model, **moved))


def test_data_label_names_the_knobs_moved_from_the_default():
    assert law.chart_data_label(record(1e-2, 2.0).config) == "bioD N=1,000"
    assert law.chart_data_label(record(1e-2, 2.0, K=16, N=270).config) == "bioD K=16 N=270"
    bios = {"data": {"name": "bioS", "n_people": 2000}}
    assert law.chart_data_label(bios) == "bioS N=2,000"


def test_pools_label_is_one_form_for_every_table():
    from kcl.book.catalog import pools_label
    assert pools_label({"pools": [100, 100, 100]}) == "100³"
    assert pools_label({"pools": [400, 400, 1000]}) == "400×400×1000"
    assert pools_label({"name": "random"}) == ""


def test_widened_points_shows_only_the_points_the_extra_rates_touched():
    def full(lr, R, name):
        r = record_dict(lr, R)
        r["config"]["data"]["name"] = name
        r["result"]["params"]["non_embedding"] = 100
        r["result"].update(bits=1.0, max_bits=2.0, train={"wall_seconds": 60})
        return as_record(r)

    main = [full(lr, R, "bioS") for lr, R in ((5e-3, 1.0), (1e-2, 1.2), (2e-2, 1.4))]
    main += [full(lr, R, "bioS-simple") for lr, R in ((5e-3, 1.0), (1e-2, 1.3), (2e-2, 1.1))]
    extra = [full(4e-2, 1.6, "bioS")]
    frame = law.widened_points(main, extra)
    assert list(frame["data"]) == ["bioS N=1,000"]
    row = frame.iloc[0]
    assert (row.R, row.best_lr, row.best_lr_at_edge) == (1.4, 2e-2, "highest")
    assert (row.R_widened, row.best_lr_widened, row.best_lr_at_edge_widened) == (1.6, 4e-2, "highest")
    assert law.widened_points(main, []).empty


def test_bios_at_100_exposures_is_judged_alone_until_result_2_gives_its_1000_exposure_figure():
    rare = [record(5e-3, 0.8), record(1e-2, 1.2)]
    alone = law.claims_bios_100(rare, None)
    assert len(alone) == 1 and alone[0].value == 1.2 and alone[0].outcome == "reproduced"
    both = law.claims_bios_100(rare, {"R": 3.0, "low": 2.8, "high": 3.2})
    assert len(both) == 2 and both[1].value == pytest.approx(2.5)   # 3.0 / 1.2, more than the paper's 2
    assert both[1].outcome == "partly reproduced"  # 25% above the paper's 2: within 40%


def test_bios_at_100_exposures_takes_the_mean_over_seeds_where_the_protocol_reruns_them():
    rare = [record(5e-3, 0.8), record(1e-2, 1.2)]
    seeds = [record(1e-2, 0.9), record(1e-2, 1.5)]
    [claim] = law.claims_bios_100(rare, None, seeds)
    assert claim.value == pytest.approx(1.2) and "mean over 3 seeds" in claim.claim
    low, high = law.seed_interval([1.2, 0.9, 1.5])[1:]
    assert (claim.low, claim.high) == (pytest.approx(low), pytest.approx(high))


def test_below_zero_note_names_the_attributes_under_a_uniform_guess():
    good, bad = record_dict(1e-2, 0.5), record_dict(2e-2, -0.3)
    for r, per_attribute in ((good, {"city": 4.0}), (bad, {"city": -120.0, "date": 300.0})):
        r["result"]["bits_per_attribute"] = per_attribute
    assert law.below_zero_note([as_record(good)], "100 exposures") == ""
    bad["result"]["bits_name"] = -7.0
    note = law.below_zero_note([as_record(bad)], "100 exposures")
    assert "names, city" in note and "-7, -120 bits" in note and "date" not in note


def test_retrain_note_compares_the_record_of_the_same_key():
    from kcl.book.law import retrain_note

    def run(key, R):
        return as_record({"key": key, "result": {"R": R}})

    committed = [run("a", 0.5), run("b", 1.0)]
    assert "R = 1.0200 against the committed 1.0000, 2.00% apart, within" in retrain_note(run("b", 1.02), committed)
    assert "outside the 3% retrain tolerance" in retrain_note(run("a", 0.6), committed)
    assert retrain_note(run("c", 1.0), committed) == ""


def test_near_perfect_is_judged_on_the_lowest_point_below_the_boundary():
    def point(lr, R, R_max, N):
        r = record_dict(lr, R, N=N)
        r["result"].update(R_max=R_max, R_ci=[R - 0.05, R + 0.05], bits=1.0, max_bits=2.0, train={"wall_seconds": 60})
        r["result"]["params"]["non_embedding"] = 100
        return as_record(r)

    above = law.points_frame([point(1e-2, 1.5, 2.6, 4000)])
    assert law.judge_near_perfect(above) is None                      # R^max 2.6: nothing to judge
    points = law.points_frame([point(1e-2, 0.60, 0.66, 1000), point(5e-3, 0.50, 0.66, 1000),
                               point(1e-2, 0.40, 1.30, 2000)])
    below = law.judge_near_perfect(points, "bioS")
    assert below.claim.startswith("bioS: R / R^max") and "N=2,000" in below.claim
    assert below.value == pytest.approx(0.40 / 1.30) and below.outcome == "not reproduced"
    near = law.judge_near_perfect(law.points_frame([point(1e-2, 0.62, 0.66, 1000)]))
    assert near.outcome == "reproduced"                               # 0.94: within 15% of 1


def test_the_ratio_waiting_for_seeds_is_shown_but_not_judged():
    rare = [record(1e-2, 0.2), record(2e-2, 0.25)]
    assert law.ratio_pending_note(rare, None, "the bioS runs of `result2`") == (
        "*The ratio to 1000 exposures waits for the bioS runs of `result2`.*")
    note = law.ratio_pending_note(rare, {"R": 0.75}, "the seed reruns")
    assert note.endswith("With seed 0 alone it would be 0.750 / 0.250 = 3.00 (the paper: at most 2), not judged.*")


def test_the_ratio_to_result_1s_addendum_divides_its_figure_by_the_100_exposure_headline():
    judged = law.ratio_to_addendum({"R": 2.0, "low": 1.8, "high": 2.2}, {"R": 0.5, "low": 0.4, "high": 0.6})
    assert "addendum" in judged.claim and judged.kind == "at_most" and judged.paper == 2.0
    assert (judged.value, judged.low, judged.high) == pytest.approx((4.0, 3.0, 5.5))  # 1.8/0.6 and 2.2/0.4
    assert judged.outcome == "not reproduced"


def test_result_2_judges_the_other_data_types_against_our_bios_figure_and_says_so():
    main = [record(1e-2, 0.8, name="bioS"), record(1e-2, 1.0, name="bioS-simple")]
    bios, simple = law.claims_result2(main, [])
    assert bios.sentence().startswith("bioS: R(F) at 1000 exposures: paper ≥ 2;")
    assert simple.paper == 0.8 and simple.sentence().startswith("bioS-simple: R(F) about bioS's (0.800): our bioS ≈ 0.8;")
    rows = stats.verdicts_table([("committed", [bios, simple])]).to_dict("records")
    assert [row["target"] for row in rows] == ["≥ 2", "our bioS ≈ 0.8"]
