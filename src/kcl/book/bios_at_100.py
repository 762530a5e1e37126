"""Result 4 on bioS: each protocol at 100 exposures, and its ratio to 1000 exposures.

The result 4 page shows bioS under four protocols (v4, which decides: subword tokens at the
100-exposure regime; v1: d = 16; v2: d = 32; v3: d = 32 at batch 1), each the best of its rates, R ≥ 1 judged at once and the ratio to result 2's
1000-exposure bioS point (the paper: at most 2, Result 4) judged once that point's seeds are
stored. ``protocols`` gathers each protocol's figures and verdict sections (``stats.Shown``), so
the page shows them by one loop and its verdict cell takes the same sections.
"""

from __future__ import annotations

from kcl.book import law, plots, positions, progress, stats
from kcl.book.addenda import EDGE_RATES
from kcl.book.chapters import parts_or_pending
from kcl.book.stats import Shown
from kcl.record import Record

#: (label, chapter, the chapter whose bioS point at 1000 exposures it is divided into, or None)
PROTOCOLS = (("v4, subword tokens at the 100-exposure regime", "result4-bios-v4", "result2-v4"),  # decides
             ("v1, d = 16", "result4-bios", None),
             ("v2, d = 32", "result4-bios-v2", "result2"),
             ("v3, d = 32, batch 1", "result4-bios-v3", "result2"))
POINT_COLUMNS = ["data", "model", "P", "R", "R_low", "R_high", "R_max", "R_non_embedding", "best_lr",
                 "best_lr_at_edge", "lr_tried"]


def protocol(label: str, chapter: str, point_1000: tuple | None, profile: str = "cpu", *,
             allow_train: bool = False) -> Shown:
    """One protocol's figures and verdicts: its points (the best of its rates), a note where R is
    below zero, and one rate beyond the edge beside them where it ran (the edge-rates addendum).
    ``point_1000``: the bioS point at 1000 exposures it is divided into, as
    ``progress.data_type_point`` gives it (head, main records, what it waits for); None for none."""
    shown = Shown(label, [f"**bioS, protocol {label}**"])
    parts, pending = parts_or_pending(chapter, profile, allow_train=allow_train)
    if parts is None:
        shown.items.append(pending)
        shown.sections.append(stats.Section(f"bioS, protocol {label}", None, pending))
        return shown
    rare, beyond = parts["main"], parts.get("edge_rates", [])
    n_rates = len({r.train["lr"] for r in rare})
    head_1000, _, waits = point_1000 or (None, [], "")
    judged_1000 = None if waits else head_1000  # the ratio is judged once that point's seeds are stored
    title = f"bioS, protocol {label}, best of {n_rates} rates"
    committed = law.claims_bios_100(rare, judged_1000, parts.get("seeds", []))
    shown.sections.append(stats.Section(title, committed))
    if waits:  # R ≥ 1 alone until result 2's bioS seeds are stored
        shown.sections.append(stats.Section(f"{title}: ratio to 1000 exposures", None,
                                            law.ratio_pending_note(rare, head_1000, waits)))
    shown.items.append(plots.table(law.points_frame(rare)[POINT_COLUMNS]))
    below = law.below_zero_note(rare, "100 exposures")
    shown.items += [below] if below else []
    if beyond:  # judged beside the committed figure, never in its place
        shown.items += [f"One rate beyond the edge ({EDGE_RATES}): the best of {n_rates} beside the best "
                        f"of {n_rates + 1}.", plots.table(law.widened_points(rare, beyond))]
        shown.sections.append(stats.addendum_section(
            f"bioS, protocol {label}, best of {n_rates + 1} rates (addendum: one beyond the edge)",
            law.claims_bios_100(rare + beyond, judged_1000, parts.get("seeds", [])), committed))
    return shown


def protocols(profile: str = "cpu", *, allow_train: bool = False) -> list[Shown]:
    """Every bioS protocol of result 4, in ``PROTOCOLS`` order (the deciding one first); each
    1000-exposure point is read once (v2 and v3 share result 2's)."""
    points = {pair: progress.data_type_point(pair, "bioS", profile, allow_train=allow_train)
              for pair in {pair for _, _, pair in PROTOCOLS if pair}}
    return [protocol(label, chapter, points.get(pair), profile, allow_train=allow_train)
            for label, chapter, pair in PROTOCOLS]


# -- diagnostics (no claim of the paper; book/protocol.md, "Diagnostics") ---------------------------
def position_diagnostic(profile: str = "cpu", *, allow_train: bool = False) -> tuple[list[Record], Shown, dict]:
    """``bios-position``: protocol v2's best point retrained, its bits by sentence position beside
    result 2's bioS point at 1000 exposures (seed 0 at its best rate, where stored). Returns its records (empty while
    pending), what the page shows and the figures its reading quotes (``positions.figures``)."""
    shown = Shown("Where the bits are")
    diag, pending = parts_or_pending("bios-position", profile, allow_train=allow_train)
    if diag is None:
        shown.items.append(pending)
        return [], shown, {}
    v2, _ = parts_or_pending("result4-bios-v2", profile, allow_train=allow_train)
    bios_1000, _, _ = progress.data_type_point("result2", "bioS", profile, allow_train=allow_train)
    beside = diag["main"] + ([bios_1000["record"]] if bios_1000 else [])
    shown.items += [law.retrain_note(diag["main"][0], v2["main"] if v2 else []), positions.bits_by_position(beside),
                    positions.position_summary(beside)]
    return diag["main"], shown, positions.figures(diag["main"][0], "diag")


def beside_position_diagnostic(chapter: str, prefix: str, base: list[Record], profile: str = "cpu", *,
                               allow_train: bool = False) -> tuple[Shown, dict]:
    """A diagnostic that changes one thing of ``bios-position``'s run (``bios-pools``, ``bios-simple``),
    side by side with it (``positions.comparison``), and the figures its reading quotes, keyed
    ``{prefix}_...``; while either is missing, what is pending."""
    parts, pending = parts_or_pending(chapter, profile, allow_train=allow_train)
    if parts is None or not base:
        return Shown(chapter, [pending or "*Pending: the diagnostic above (`bios-position`) is not stored yet.*"]), {}
    table, chart, summary = positions.comparison(base + parts["main"])
    return Shown(chapter, [table, chart, summary]), positions.figures(parts["main"][0], prefix)
