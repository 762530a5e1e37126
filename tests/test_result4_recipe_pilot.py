"""The recipe pilot's page section (kcl.book.result4) in each state, on records made by hand."""

import altair as alt
from made_up import as_record
from test_regime import pilot, record  # the pilot's records made by hand (tests/ is on sys.path)

from kcl.book import regime, result4

SCORES = {(4, "gpt2"): [0.3, 0.5, 0.4, 0.2], (16, "torch"): [0.1, 0.6, 0.3, 0.2]}


class Running:
    def note(self):
        return "*stored so far: 16 of 96*"


def test_the_section_names_the_regime_once_the_pilot_is_complete(monkeypatch):
    monkeypatch.setattr(result4, "shown_so_far", lambda *a, **k: ({"main": pilot(SCORES)}, None, ""))
    monkeypatch.setattr(result4, "result4_records", lambda profile: [])  # no result 4 point to set beside
    chart, table, chosen = result4.recipe_section("cpu")
    assert isinstance(chart, alt.FacetChart)
    assert list(table["batch_size"]) == [16, 4] and list(table["initialisation"]) == ["PyTorch's defaults", "GPT-2's"]
    assert chosen.startswith("**The regime**") and "batch 16, initialisation: PyTorch's defaults; rates 0.0025, 0.005, 0.01" in chosen


def test_the_section_chooses_nothing_while_the_pilot_runs(monkeypatch):
    monkeypatch.setattr(result4, "shown_so_far", lambda *a, **k: ({"main": pilot(SCORES)}, Running(), ""))
    items = result4.recipe_section("cpu")
    assert items[0] == Running().note() and "chosen once every run" in items[-1]
    assert not any(isinstance(i, str) and "**The regime**" in i for i in items)


def test_the_section_is_one_pending_line_before_any_run(monkeypatch):
    monkeypatch.setattr(result4, "shown_so_far", lambda *a, **k: (None, None, "*Pending: ...*"))
    assert result4.recipe_section("cpu") == ["*Pending: ...*"]


def result4_point(batch, lr, R, n_people=40):
    point = record(batch, "gpt2", lr, 0, R)
    return as_record({"config": {**point.config, "data": {**point.data, "n_people": n_people, "seed": 0}},
                      "result": {"R": R}, "created": "2026-11-20T10:00:00+00:00"})


def test_the_addendum_sets_the_regime_beside_result_4s_best_point_on_the_same_model_and_data():
    records = pilot(SCORES)
    chosen = regime.choose(records)  # batch 16, PyTorch's, 0.005: score 0.55
    points = [result4_point(4, 0.004, 0.375), result4_point(4, 0.002, 0.25), result4_point(2, 0.01, 0.9, n_people=500)]
    above = result4.beside_result4(chosen, records, points)
    assert "is above result 4's best committed point" in above and "R = 0.375 (batch 4, rate 0.004, seed 0)" in above
    assert "1.47 times as many bits" in above and "verdicts stand" in above
    below = result4.beside_result4(chosen, records, [result4_point(4, 0.004, 0.7)])
    assert "is not above" in below and "times as many" not in below
    assert result4.beside_result4(chosen, records, points[2:]) == ""  # other data: nothing to set beside


def test_the_complete_section_ends_with_the_addendum(monkeypatch):
    monkeypatch.setattr(result4, "shown_so_far", lambda *a, **k: ({"main": pilot(SCORES)}, None, ""))
    monkeypatch.setattr(result4, "result4_records", lambda profile: [result4_point(4, 0.004, 0.375)])
    *_, chosen, addendum = result4.recipe_section("cpu")
    assert chosen.startswith("**The regime**") and addendum.startswith("**Addendum to result 4 (")
