"""Result 4's protocol v2 on the committed records (its sweep complete): its charts and verdicts."""

import altair as alt

from kcl.book import chapters, law, result4


def test_protocol_v2_beside_v1_and_1000_exposures():
    v1 = chapters.chapter_parts("result4", "cpu")
    often = chapters.chapter_parts("result1", "cpu")
    own = law.headline_per_seed(often["main"], often["seeds"] + often["seed_rates"])
    shown = result4.protocol_v2(v1["main"], often, own, "cpu")
    (section,) = shown.sections
    assert section.title == result4.V2_TITLE
    assert section.judgements, "protocol v2's committed sweep is complete: it is judged"
    claims = [j.claim for j in section.judgements]
    assert claims[0] == "peak R(F) at 100 exposures" and "result 1's addendum" in claims[-1]
    peak, points, laws, rates = shown.items
    assert peak.startswith("**Peak of protocol v2**: ") and "mean over 3 seeds" in peak
    assert list(points.columns) == result4.POINT_COLUMNS and len(points) == 16  # 8 models × 2 N
    assert isinstance(laws, alt.TopLevelMixin) and "· v2" in laws.to_json() and isinstance(rates, alt.TopLevelMixin)


def test_while_protocol_v2_runs_its_verdict_is_held_back_saying_what_is_pending(monkeypatch):
    monkeypatch.setattr(result4, "parts_or_pending", lambda *a, **k: (None, "*Pending: 12 runs of v2*"))
    monkeypatch.setattr(result4, "pilot_records", lambda *a, **k: [])
    shown = result4.protocol_v2([], {"main": [], "seeds": []}, {}, "cpu")
    (section,) = shown.sections
    assert section.judgements is None and shown.items == ["*Pending: 12 runs of v2*"] == [section.note]
