"""Result 1's bioS parts on the committed records: each shows its points, and its verdict is either
judged or held back saying what it waits for, never dropped."""

import altair as alt
import pandas as pd

from kcl import bios_at_1000, chapters, stats


def _judged_or_waiting(section: stats.Section) -> bool:
    return (section.judgements is None and "waits for" in section.note) or bool(section.judgements)


def test_result2s_bios_point_beside_the_biod_law():
    shown = bios_at_1000.point(chapters.chapter_parts("result1", "cpu")["main"], "cpu")
    (section,) = shown.sections
    assert section.title == shown.title and _judged_or_waiting(section)
    if section.judgements:  # judged: over every seed of result 2's bioS point
        assert section.judgements[0].claim.endswith("R(F) at 1000 exposures") and section.judgements[0].paper == 2.0
    if any(isinstance(item, pd.DataFrame) for item in shown.items):  # a point is stored: its chart and table
        chart, table = shown.items[-2:]
        assert isinstance(chart, alt.TopLevelMixin) and all(d.startswith("bioS ") for d in table["data"])
        assert list(table.columns) == bios_at_1000.POINT_COLUMNS


def test_bios_below_the_capacity_boundary():
    shown = bios_at_1000.below_boundary("cpu")
    first, *beside = shown.sections
    assert first.title == shown.title and _judged_or_waiting(first)
    tables = [item for item in shown.items if isinstance(item, pd.DataFrame)]
    assert list(tables[0].columns) == bios_at_1000.BELOW_COLUMNS and (tables[0]["R_max"] > 0).all()
    if first.judgements:
        assert "R / R^max where R^max ≤ 1.8" in first.judgements[0].claim and first.judgements[0].paper == 1.0
    for section in beside:  # the rate beyond the edge, beside the committed verdict
        assert section.judgements and section.judgements[0].claim.startswith("bioS, best of four rates")
        assert len(tables) == 2  # and its table of the widened points
