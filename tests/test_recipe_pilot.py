"""The recipe pilot's page section (kcl.book.recipe_pilot) in each state, on records made by hand."""

import altair as alt
from test_regime import pilot  # the pilot's records made by hand (tests/ is on sys.path)

from kcl.book import recipe_pilot

SCORES = {(4, "gpt2"): [0.3, 0.5, 0.4, 0.2], (16, "torch"): [0.1, 0.6, 0.3, 0.2]}


class Running:
    def note(self):
        return "*stored so far: 16 of 96*"


def test_the_section_names_the_regime_once_the_pilot_is_complete(monkeypatch):
    monkeypatch.setattr(recipe_pilot, "shown_so_far", lambda *a, **k: ({"main": pilot(SCORES)}, None, ""))
    chart, table, chosen = recipe_pilot.section("cpu")
    assert isinstance(chart, alt.FacetChart)
    assert list(table["batch_size"]) == [16, 4] and list(table.columns) == recipe_pilot.RECIPE_COLUMNS
    assert chosen.startswith("**The regime**") and "batch 16, initialisation torch, rates 0.0025, 0.005, 0.01" in chosen


def test_the_section_chooses_nothing_while_the_pilot_runs(monkeypatch):
    monkeypatch.setattr(recipe_pilot, "shown_so_far", lambda *a, **k: ({"main": pilot(SCORES)}, Running(), ""))
    items = recipe_pilot.section("cpu")
    assert items[0] == Running().note() and "chosen once every run" in items[-1]
    assert not any(isinstance(i, str) and "**The regime**" in i for i in items)


def test_the_section_is_one_pending_line_before_any_run(monkeypatch):
    monkeypatch.setattr(recipe_pilot, "shown_so_far", lambda *a, **k: (None, None, "*Pending: ...*"))
    assert recipe_pilot.section("cpu") == ["*Pending: ...*"]
