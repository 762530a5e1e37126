"""Result 1's bioS parts on the committed records: each shows its points, and its verdict is either
judged or held back saying what it waits for, never dropped."""

import altair as alt
import pandas as pd
import pytest
from kcl.record import Record
from made_up import as_record
from test_chapters import fake_result  # a record's result made by hand (tests/ is on sys.path)

from kcl.book import chapters, law, progress, result1


def test_result2s_bios_point_beside_the_biod_law():
    label, chapter = result1.BIOS_POINTS[1]  # protocol v3, whose seeds are committed
    shown = result1.point(chapters.chapter_parts("result1", "cpu")["main"], "cpu", label=label, chapter=chapter)
    (section,) = shown.sections
    # the committed records hold result 2's three bioS seeds: judged over them, with chart and table
    assert section.title == shown.title and section.judgements
    assert section.judgements[0].claim.endswith("R(F) at 1000 exposures") and section.judgements[0].paper == 2.0
    chart, table = shown.items[-2:]
    assert isinstance(chart, alt.TopLevelMixin) and all(d.startswith("bioS ") for d in table["data"])
    assert list(table.columns) == result1.POINT_COLUMNS


def test_protocol_v4s_bios_point_leads_and_v3s_stays_beside_it(monkeypatch):
    committed = progress.data_type_point
    v4_waiting = (None, [bios_record(1e-2, -0.1)], "the main runs of `result2-v4`'s bioS point")
    monkeypatch.setattr(progress, "data_type_point",  # v4 held back, as while its rates train; v3 as committed
                        lambda chapter, *a, **k: v4_waiting if chapter == "result2-v4" else committed(chapter, *a, **k))
    v4, v3 = result1.points(chapters.chapter_parts("result1", "cpu")["main"], "cpu")
    assert "protocol v4" in v4.title and "protocol v3" in v3.title
    assert v3.sections[0].judgements  # v3's committed point, judged as before
    assert v4.sections[0].judgements is None and v4_waiting[2] in v4.sections[0].note
    assert "(1 of its three rates stored so far" in v4.items[0]


def test_bios_below_the_capacity_boundary():
    shown = result1.below_boundary("cpu")
    first, *beside = shown.sections
    assert first.title == shown.title and first.judgements  # the committed records are complete
    tables = [item for item in shown.items if isinstance(item, pd.DataFrame)]
    assert list(tables[0].columns) == result1.BELOW_COLUMNS and (tables[0]["R_max"] > 0).all()
    assert "R / R^max where R^max ≤ 1.8" in first.judgements[0].claim and first.judgements[0].paper == 1.0
    for section in beside:  # the rate beyond the edge, beside the committed verdict
        assert section.judgements and section.judgements[0].claim.startswith("bioS, best of four rates")
        assert len(tables) == 2  # and its table of the widened points


# -- both states on records made by hand: result 2's bioS seeds missing, then stored ----------------
def bios_record(lr: float, R: float, N: int = 4000, exposures: int = 1000, **result) -> Record:
    """A bioS record at 1000 exposures (the fields the page reads); ``result``: fields of
    ``fake_result`` set otherwise."""
    return as_record({"key": f"bioS-{N}-{lr}", "result": fake_result(R=R, ci=(R - 0.05, R + 0.05), **result),
                      "config": {"data": {"name": "bioS", "n_people": N, "pools": [100, 100, 100]},
                                 "model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": 32},
                                 "train": {"lr": lr, "seed": 0, "exposures": exposures}}})


@pytest.mark.parametrize("waits", ["", "the seed reruns of `result2-v3`'s bioS point", None])
def test_result2s_bios_point_is_judged_only_once_its_seeds_are_stored(monkeypatch, waits):
    main = [bios_record(1e-2, 0.8), bios_record(2e-2, 0.9)]
    head = law.headline(main, [])
    point = (None, [], "its main runs") if waits is None else (head, main, waits)
    monkeypatch.setattr(progress, "data_type_point", lambda *args, **kwargs: point)
    shown = result1.point([], "cpu", label="v3", chapter="result2")
    (section,) = shown.sections
    if waits is None:  # no bioS run stored: what is pending, no chart
        assert "*Pending: its main runs" in shown.items[0] and section.judgements is None
    elif waits:  # seed 0 shown, judged nothing
        assert section.judgements is None and waits in section.note and "seed reruns yet" in shown.items[1]
        assert list(shown.items[-1]["R"]) == [0.9]
    else:
        (judged,) = section.judgements
        assert (judged.value, judged.paper, judged.kind) == (0.9, 2.0, "at_least") and judged.outcome == "not reproduced"
        assert len(shown.items) == 3  # the protocol's name, the chart and the table, no note


class _StillRunning:
    def note(self) -> str:
        return "**Still running.** 1 of 2 runs stored."


@pytest.mark.parametrize("state", ["running", "complete", "beyond the edge"])
def test_bios_below_the_boundary_is_judged_once_its_runs_are_stored(monkeypatch, state):
    main = [bios_record(1e-2, 0.5, N=1000, R_max=0.7), bios_record(2e-2, 0.6, N=1000, R_max=0.7)]  # not 2.5
    edge = [bios_record(4e-2, 0.65, N=1000, R_max=0.7)] if state == "beyond the edge" else []
    running = _StillRunning() if state == "running" else None
    monkeypatch.setattr(progress, "shown_so_far",
                        lambda *a, **k: ({"main": main, "edge_rates": edge}, running, ""))
    shown = result1.below_boundary("cpu")
    first, *beside = shown.sections
    if running:  # shown, judged once all are stored
        assert shown.items[0] == running.note() and first.judgements is None and "waits for its runs" in first.note
    else:
        (judged,) = first.judgements
        assert judged.value == pytest.approx(0.6 / 0.7) and judged.paper == 1.0
    if state == "beyond the edge":  # beside the committed verdict, never in its place
        (section,) = beside
        assert section.judgements[0].value == pytest.approx(0.65 / 0.7) and "best of four" in section.note
        assert any(isinstance(i, str) and i.startswith("One rate beyond the edge (seed 0)") for i in shown.items)
    else:
        assert beside == []
