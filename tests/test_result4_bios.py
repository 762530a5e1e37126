"""Result 4's bioS protocols on the committed records: each shows its points and verdicts, and the
ratio to 1000 exposures is either judged or held back with the reason, never dropped."""

import pytest
from test_result1 import bios_record  # a bioS record made by hand (tests/ is on sys.path)

from kcl.book import law, result4
from kcl.book.chapter_list import CHAPTERS


def test_every_protocol_is_shown_with_its_verdicts_or_what_they_wait_for():
    shown = result4.bios_protocols("cpu")
    assert [p.title for p in shown] == [label for label, _, _ in result4.BIOS_PROTOCOLS]
    for protocol, (_, chapter, pair) in zip(shown, result4.BIOS_PROTOCOLS):
        assert protocol.items[0] == f"**bioS, protocol {protocol.title}**" and protocol.sections
        titles = [s.title for s in protocol.sections]
        assert all(t.startswith(f"bioS, protocol {protocol.title}") for t in titles)
        judged = [j.claim for s in protocol.sections for j in s.judgements or []]
        if not judged:  # a protocol whose runs are missing: one section saying what is pending
            assert [s.judgements for s in protocol.sections] == [None] and "Pending" in protocol.sections[0].note
            continue
        seeds = CHAPTERS[chapter].seeds  # a protocol with seed reruns is judged on their mean
        assert judged[0] == f"bioS: R(F) at 100 exposures ({f'mean over {len(seeds) + 1} seeds' if seeds else 'seed 0'})"
        ratio = "bioS: R at 1000 exposures / R at 100 exposures"
        held_back = [s for s in protocol.sections if s.judgements is None]
        if pair is None:  # v1 has no 1000-exposure point of its own model: R ≥ 1 alone
            assert ratio not in judged and not held_back
        else:  # judged once result 2's bioS seeds are stored, else held back saying so
            assert (ratio in judged) != bool(held_back)
            assert all(s.title.endswith(": ratio to 1000 exposures") and "waits for" in s.note for s in held_back)


def test_the_position_diagnostics_show_their_runs_and_the_figures_their_readings_quote():
    diag, shown, values = result4.position_diagnostic("cpu")  # the three diagnostics' runs are committed
    assert diag, "bios-position's committed run is missing"
    note, chart, summary = shown.items
    assert note.startswith("Retrained from its config") and isinstance(summary, str)
    assert {"diag_R", "diag_bits", "diag_first", "diag_later"} <= set(values)
    for chapter, prefix in (("bios-pools", "pools"), ("bios-simple", "simple")):
        beside, quoted = result4.beside_position_diagnostic(chapter, prefix, diag, "cpu")
        table, chart, summary = beside.items  # stored: the two runs side by side
        assert len(table) == 2 and f"{prefix}_R" in quoted
    # without bios-position's run, nothing to compare with
    alone, quoted = result4.beside_position_diagnostic("bios-pools", "pools", [], "cpu")
    assert quoted == {} and alone.items[0].startswith("*Pending")


# -- both states on records made by hand: result 2's bioS seeds missing, then stored ----------------
@pytest.mark.parametrize("waits", ["", "the seed reruns of Result 2, protocol v3's bioS point"])
def test_the_ratio_is_judged_once_result_2s_seeds_are_stored(monkeypatch, waits):
    rare = [bios_record(1e-2, 0.3, exposures=100), bios_record(2e-2, 0.4, exposures=100)]
    head_1000 = law.headline([bios_record(2e-2, 0.9)], [])
    monkeypatch.setattr(result4, "parts_or_pending", lambda *a, **k: ({"main": rare, "edge_rates": []}, ""))
    shown = result4.bios_protocol("v2, d = 32", "result4-bios-v2", (head_1000, [], waits), "cpu")
    judged, *held = shown.sections
    assert judged.title == "bioS, protocol v2, d = 32, best of 2 rates"
    claims = {j.claim: j for j in judged.judgements}
    assert claims["bioS: R(F) at 100 exposures (seed 0)"].value == 0.4
    ratio = "bioS: R at 1000 exposures / R at 100 exposures"
    if waits:  # held back, with what it would be on seed 0 alone
        assert ratio not in claims and [s.judgements for s in held] == [None]
        assert held[0].title.endswith(": ratio to 1000 exposures") and "0.900 / 0.400 = 2.25" in held[0].note
    else:
        assert not held and claims[ratio].value == pytest.approx(0.9 / 0.4) and claims[ratio].outcome == "reproduced"


def test_a_protocol_still_running_shows_its_points_so_far_without_a_verdict(monkeypatch):
    class Running:
        def note(self):
            return "**Still running.** main: 3 of 3; seeds: 1 of 2"

    stored = {"main": [bios_record(0.01, 0.3, N=3000), bios_record(0.005, 0.2, N=3000)]}
    monkeypatch.setattr(result4, "parts_or_pending", lambda chapter, profile, allow_train=False: (None, "*Pending: 2 runs*"))
    monkeypatch.setattr(result4, "shown_so_far", lambda chapter, profile: (stored, Running(), ""))
    shown = result4.bios_protocol("v4", "result4-bios-v4", None, "cpu")
    assert [s.judgements for s in shown.sections] == [None]  # no verdict while it runs
    title, pending, note, table = shown.items  # R above zero: no note on it
    assert pending == "*Pending: 2 runs*" and note.startswith("**Still running.**")
    assert len(table) == 1 and table["R"].iloc[0] == pytest.approx(0.3)  # the best of the rates stored
    monkeypatch.setattr(result4, "shown_so_far", lambda chapter, profile: (None, None, "*Pending*"))
    assert len(result4.bios_protocol("v4", "result4-bios-v4", None, "cpu").items) == 2  # nothing stored: pending only
