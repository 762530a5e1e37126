"""What the whole book costs (kcl.book.book_cost, `kcl book-cost`): every chapter once, in its
group, with positive hours, totals that are the sums, provisional rows where records have not
decided the runs, and the GPU column from GPU records only."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kcl.book import book_cost
from kcl.book.chapter_list import CHAPTERS
from kcl.book.chapters import chapter_sweep
from kcl.cli import main
from kcl.cost import record_work
from kcl.paths import repo_root
from kcl.record import Record


@pytest.fixture(scope="module")
def empty_checkout(tmp_path_factory) -> Path:
    """The checkout's sweep files with an empty results/: every chapter before any of its runs."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(repo_root() / "sweeps", root / "sweeps")
    (root / "pyproject.toml").write_text("")
    (root / "results").mkdir()
    return root


@pytest.fixture(scope="module")
def from_scratch(empty_checkout) -> list:
    return book_cost.price_book(root=empty_checkout)


@pytest.fixture(scope="module")
def committed() -> list:
    return book_cost.price_book()


def _expected_group(name: str) -> str:
    ch = CHAPTERS[name]
    return "superseded" if ch.superseded_by else "diagnostic" if ch.title.startswith("Diagnostic") else "deciding"


@pytest.mark.parametrize("state", ["from_scratch", "committed"])
def test_every_chapter_once_in_its_group_with_positive_hours(state, request):
    costs = request.getfixturevalue(state)
    assert [c.chapter for c in costs] == list(CHAPTERS)
    for c in costs:
        assert c.group == _expected_group(c.chapter) == book_cost.group_of(c.chapter)
        assert c.cpu_hours > 0 and c.runs > 0
        if state == "from_scratch":  # an empty results/: no GPU record
            assert c.gpu_hours is None
    frame = book_cost.cost_frame(costs)
    rows = frame[frame["group"] != "total"]
    assert sorted(rows["chapter"]) == sorted(CHAPTERS)
    assert list(rows["group"]) == [book_cost.GROUP_TITLES[_expected_group(n)] for n in rows["chapter"]]
    assert set(frame.loc[frame["group"] == "superseded protocols", "chapter"]) == {
        n for n, ch in CHAPTERS.items() if ch.superseded_by}


@pytest.mark.parametrize("state", ["from_scratch", "committed"])
def test_the_totals_are_the_sums(state, request):
    costs = request.getfixturevalue(state)
    totals = book_cost.totals(costs)
    for group in book_cost.GROUPS:
        assert totals[group][0] == pytest.approx(sum(c.cpu_hours for c in costs if c.group == group))
    assert totals["book"][0] == pytest.approx(sum(c.cpu_hours for c in costs))
    assert totals["book"][0] == pytest.approx(sum(totals[g][0] for g in book_cost.GROUPS))
    frame = book_cost.cost_frame(costs)
    book = frame[frame["title"] == "the whole book"].iloc[0]
    assert book["hours here"] == pytest.approx(frame.loc[frame["group"] != "total", "hours here"].sum())
    assert book["runs"] == sum(c.runs for c in costs)


def test_from_scratch_what_a_pilot_decides_is_provisional(from_scratch):
    by_name = {c.chapter: c for c in from_scratch}
    assert any("rates" in note for note in by_name["result1"].provisional)  # train.lr: from_pilot
    regime_chapters = [n for n, ch in CHAPTERS.items() if ch.regime]
    assert regime_chapters and all(any("regime" in note for note in by_name[n].provisional) for n in regime_chapters)
    assert any("reruns" in note for note in by_name["result2-v3"].provisional)  # seeds and edge rates wait for main
    assert by_name["reference"].provisional == []  # one run, nothing to decide
    assert book_cost.cost_frame(from_scratch).set_index("chapter").loc["reference", "priced"] == "exact"


def test_from_scratch_result1_is_its_pilot_main_sweep_and_seed_rate_reruns(from_scratch, empty_checkout):
    pilot = chapter_sweep("result1", "cpu", empty_checkout, "pilot")[2]
    main = chapter_sweep("result1", "cpu", empty_checkout, "main", lr_grid=[0.0025, 0.005, 0.01])[2]
    seeds = len(CHAPTERS["result1"].seeds) * 3  # each seed at every rate of the peak, one group
    assert next(c for c in from_scratch if c.chapter == "result1").runs == len(pilot) + len(main) + seeds


def test_a_shared_pilot_is_priced_once(from_scratch):
    by_name = {c.chapter: c for c in from_scratch}
    pilot = len(chapter_sweep("result3", "cpu", part="pilot")[2])
    assert CHAPTERS["result1"].pilot["cpu"] == CHAPTERS["result3"].pilot["cpu"]
    assert by_name["result1"].shared == 0 and by_name["result3"].shared == pilot


def test_the_part_wall_time_shares_the_runs_among_the_workers():
    assert book_cost.part_wall([3.0, 1.0, 2.0], 2) == 3.0
    assert book_cost.part_wall([1.0, 1.0, 1.0, 1.0], 2) == 2.0
    assert book_cost.part_wall([], 2) == 0.0


def _gpu_checkout(empty_checkout: Path, tmp_path: Path) -> tuple[Path, Record]:
    root = tmp_path / "checkout"
    shutil.copytree(empty_checkout, root)
    record = json.loads(next((repo_root() / "results" / "reference").glob("*.json")).read_text())
    record["result"]["train"]["device"] = "cuda:0"
    (root / "results" / "gpu").mkdir()
    (root / "results" / "gpu" / "run.json").write_text(json.dumps(record))
    return root, Record.from_dict(record)


def test_a_gpu_record_prices_the_gpu_column(empty_checkout, tmp_path):
    root, record = _gpu_checkout(empty_checkout, tmp_path)
    model, basis = book_cost.gpu_cost_model(str(root / "results"))
    rate = record_work(record).flops / record.result.train.wall_seconds
    assert model.flops_per_second == pytest.approx(rate) and basis.startswith("1 GPU training records")
    costs = book_cost.price_book(root=root)
    assert all(c.gpu_hours > 0 for c in costs)
    assert book_cost.totals(costs)["book"][1] == pytest.approx(sum(c.gpu_hours for c in costs))


def test_a_bench_taken_on_a_gpu_prices_the_gpu_column(tmp_path):
    (tmp_path / "bench").mkdir()
    cases = [{"params": 1000, "kcl_tokens_per_s": 1e6}, {"params": 2000, "kcl_tokens_per_s": 1e6},
             {"params": 4000, "kcl_tokens_per_s": 1e6}]
    (tmp_path / "bench" / "latest.json").write_text(json.dumps({"machine": {"cuda": True}, "training": cases}))
    model, _ = book_cost.gpu_cost_model(str(tmp_path))
    assert model.flops_per_second == pytest.approx(6 * 2000 * 1e6)
    (tmp_path / "bench" / "latest.json").write_text(json.dumps({"machine": {"cuda": False}, "training": cases}))
    assert book_cost.gpu_cost_model.__wrapped__(str(tmp_path)) is None


def test_the_command_prints_the_table(capsys):
    assert main(["book-cost"]) == 0
    out = capsys.readouterr().out
    for name in CHAPTERS:
        assert re.search(rf"^\s*{re.escape(name)}\s+\d+\s", out, re.M)
    for title in book_cost.GROUP_TITLES.values():
        assert f"{title}:" in out
    assert "the whole book:" in out and book_cost.NO_GPU in out and "provisional" in out
