"""Charts rendered by the Vega the book ships (vl-convert's, the bundle of ``kcl.book.assets``), and
the two ways a log axis fails there; tests/ is on sys.path."""

from __future__ import annotations

import re


def laid_out(chart) -> str:
    """The chart's SVG, asserting it is laid out: an empty log scale puts marks at ±1.8e308 (the
    browser logs an error), and a value ≤ 0 on a log axis makes Vega's whole scale invalid (every
    mark on one edge, a warning only), which shows as a log axis whose values start at or below 0."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    assert "e+308" not in svg and "NaN" not in svg and "Infinity" not in svg
    starts = re.findall(r"log scale with values from (\S+) to", svg)
    assert starts and not [s for s in starts if s.startswith(("−", "-", "0"))], starts
    return svg
