"""bioD's attribute order diagnostic (kcl.book.attribute_order) on records made by hand."""

import pytest
from made_up import as_record
from test_regime import record  # a pilot run made by hand (tests/ is on sys.path)

from kcl.book import attribute_order as ao
from kcl.book import regime


def ordered(order, seed, R):
    base = record(8, "torch", 0.005, seed, R)
    return as_record({"config": {**base.config, "data": {**base.data, "order": order, "seed": seed}}, "result": {"R": R}})


PILOT = [record(8, "torch", 0.005, 0, 0.5), record(8, "torch", 0.005, 1, 0.3),
         record(8, "torch", 0.01, 0, 0.2), record(8, "torch", 0.01, 1, 0.1),
         record(4, "gpt2", 0.005, 0, 0.9), record(8, "gpt2", 0.005, 0, 0.45)]
READINGS = [ordered("person", 0, 1.0), ordered("person", 1, 0.6), ordered("fixed", 1, 1.0), ordered("fixed", 0, 1.4)]


def test_kcls_reading_is_the_pilots_runs_at_the_regimes_recipe_and_rate():
    chosen = regime.Regime(8, "torch", 0.005, 0.4)
    assert [r.result.R for r in ao.at_regime(PILOT, chosen)] == [0.5, 0.3]


def test_each_reading_has_its_seeds_mean_and_its_factor_over_kcls():
    table = ao.frame(ao.at_regime(PILOT, regime.Regime(8, "torch", 0.005, 0.4)), READINGS).set_index("order")
    assert list(table.index) == ["exposure", "person", "fixed"]
    assert table.loc["fixed", "R_by_seed"] == "1.400, 1.000"  # seed 0 first
    assert table.loc["exposure", "R"] == pytest.approx(0.4) and table.loc["person", "R"] == pytest.approx(0.8)
    assert table.loc["person", "times_kcl_reading"] == pytest.approx(2.0)
    assert table.loc["fixed", "times_kcl_reading"] == pytest.approx(3.0)
    words = ao.reading(table.reset_index())
    assert "stores 0.40 bits per parameter with the order drawn again at every exposure (mean over 2 seeds)" in words
    assert "0.80 (2.0× as much) with the order drawn once per person and kept" in words
    assert "1.20 (3.0× as much) with one order for everyone" in words


def test_without_kcls_reading_there_is_nothing_to_say():
    assert ao.reading(ao.frame([], READINGS)) == ""


def test_the_section_waits_for_the_pilot_then_for_its_own_runs(monkeypatch):
    class Running:
        def note(self):
            return "*stored so far*"

    calls = {"recipe-100": (None, None, "*Pending: the pilot*")}
    monkeypatch.setattr(ao, "shown_so_far", lambda chapter, *a, **k: calls[chapter])
    assert ao.section("cpu") == ["*Pending: the pilot*"]
    calls["recipe-100"] = ({"main": PILOT}, Running(), "")
    assert "regime" in ao.section("cpu")[0]  # a pilot still running chooses nothing
    calls["recipe-100"] = ({"main": PILOT}, None, "")
    calls["diag-order"] = (None, None, "*Pending: the diagnostic*")
    assert ao.section("cpu") == ["*Pending: the diagnostic*"]
    calls["diag-order"] = ({"main": READINGS}, None, "")
    words, table = ao.section("cpu")
    assert words.startswith("At the 100-exposure regime") and list(table["order"]) == ["exposure", "person", "fixed"]
