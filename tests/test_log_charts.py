"""Charts with a log axis of bits draw only the points that store bits and name the others: one
point at or below zero would make Vega's whole log scale invalid, and none at all leaves nothing to
lay out (rendered by the book's Vega, ``rendered.laid_out``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kcl.book import explorer, law, plots
from kcl.book import random_strings as rs
from rendered import laid_out
from test_random_strings import record as strings_record


def test_left_off_names_each_point_at_or_below_zero_and_nothing_else():
    frame = pd.DataFrame({"name": ["a", "b", "c", "d"], "bits": [5.0, 0.0, -3.0, float("nan")]})
    assert list(plots.on_log_axis(frame)) == [True, False, False, False]
    assert plots.left_off(frame, lambda row: row.name) == (
        "Not drawn (they store no bits, which a log axis cannot show): b; c; d.")
    assert plots.left_off(frame[:1], lambda row: row.name) == ""
    assert plots.titled("T", "") == "T"
    assert plots.titled("T", "x " * 100).to_dict()["subtitle"][0].startswith("x x")


@pytest.mark.parametrize("bits", [[5.0, -3.0], [5.0, 0.0], []])
def test_the_check_fails_on_a_log_axis_given_no_bits(bits):
    import altair as alt

    frame = pd.DataFrame({"P": [1000.0, 2000.0][:len(bits)], "bits": bits}, dtype=float)
    chart = alt.Chart(frame).mark_point().encode(x=alt.X("P:Q", scale=alt.Scale(type="log")),
                                                 y=alt.Y("bits:Q", scale=alt.Scale(type="log")))
    with pytest.raises(AssertionError):
        laid_out(chart)
    if bits:
        laid_out(chart.transform_filter("datum.bits > 0"))


def test_the_capacity_law_leaves_off_a_point_that_stores_nothing():
    points = law.points_frame([strings_record(d, 1000, 1e-2, bits, name="bioD")
                               for d, bits in ((32, 60_000.0), (16, 20_000.0), (8, -1_600.0))])
    svg = laid_out(plots.capacity_law(points))
    assert "Not drawn (they store no bits" in svg and "(R = -0.200)" in svg
    assert "Not drawn" not in json.dumps(plots.capacity_law(points[points["bits"] > 0]).to_dict())


def test_the_random_strings_chart_leaves_off_a_point_that_stores_nothing():
    main = [strings_record(16, 250, 0.01, 20_000.0), strings_record(16, 500, 0.01, 22_000.0),
            strings_record(16, 1000, 0.01, -300.0)]
    svg = laid_out(rs.chart(main))
    assert "N = 1,000 (R = -0.019)" in svg
    so_far_title = laid_out(rs.chart(main[:2], title="stored so far"))
    assert "stored so far" in so_far_title and "Not drawn" not in so_far_title


def test_the_explorer_leaves_off_measured_runs_that_store_nothing():
    measured = pd.DataFrame([{**dict.fromkeys(explorer.MEASURED_COLUMNS, 0), "N": 1000, "K": 2, "C": 2, "L": 1,
                              "T": 16, "D": 16, "N0": 400, "P": P, "bits": bits, "R": bits / P}
                             for P, bits in ((1000, 2000.0), (2000, -500.0))])
    svg = laid_out(explorer.static_explorer(measured))
    assert "1 measured run storing no bits left off" in svg and "measured runs (bright where" in svg
    nothing = laid_out(explorer.static_explorer(measured.assign(bits=-500.0)))
    assert "no measured result-3 run stores bits yet; 2 measured runs storing no bits left off" in nothing
    assert "no result-3 records yet" not in nothing
