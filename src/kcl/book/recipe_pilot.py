"""The recipe pilot on a page (chapter ``recipe-100``; its rule: ``kcl.book.regime``): every
recipe's mean R at each rate, the recipes ranked by their score, and the regime the rule chose,
which results 6, 7, 9 at 100 exposures, 10-12 and bioS protocol v4 at 100 exposures train at.
While the pilot runs, what is stored so far, without a regime."""

from __future__ import annotations

import altair as alt

from kcl.book import plots, regime
from kcl.book.chapters import parts_or_pending
from kcl.book.progress import shown_so_far
from kcl.record import Record

PILOT = "recipe-100"
RECIPE_COLUMNS = ["batch_size", "init", "best_lr", "score", "rates_tried", "best_at_edge"]


def rates_chart(records: list[Record]) -> alt.Chart:
    """Mean R over seeds against the rate: one line per batch size, one panel per initialisation."""
    frame = regime.rate_table(records)
    frame["initialisation"] = frame["init"].map(regime.INIT_NAMES).fillna(frame["init"])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("lr:Q", title="peak learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("R:Q", title="mean R over seeds (bits per parameter)"),
        color=alt.Color("batch_size:O", title="batch"),
        tooltip=["initialisation", "batch_size", "lr", "R", "values", "seeds"],
    ).properties(width=180, height=160).facet(
        column=alt.Column("initialisation:N", title=None), title="The recipe pilot: mean R at each rate")


def _same_point(record: Record, pilot: Record) -> bool:
    """``record`` trains the pilot's model on the pilot's data (any seed, any initialisation)."""
    def drop(part: dict, key: str) -> dict:
        return {k: v for k, v in part.items() if k != key}
    return drop(record.data, "seed") == drop(pilot.data, "seed") and \
        drop(record.model, "options") == drop(pilot.model, "options")


def beside_result4(chosen: regime.Regime, pilot: list[Record], result4: list[Record]) -> str:
    """The protocol's addendum to result 4: the regime's score beside result 4's best committed point
    on the pilot's model and data (``result4``: its protocols' records), dated by the pilot's last
    record. Result 4's committed verdicts are not changed by it."""
    same = [r for r in result4 if _same_point(r, pilot[0])]
    if not same:
        return ""
    best = max(same, key=lambda r: r.result.R)
    date = max(r.created for r in pilot)[:10]
    above = chosen.score > best.result.R
    return (f"**Addendum to result 4 ({date + ', ' if date else ''}by the pilot's rule).** The regime's score, "
            f"{chosen.score:.3f} (the mean over its seeds at rate {chosen.lr:g}), is "
            f"{'above' if above else 'not above'} result 4's best committed point on the same model and data, "
            f"R = {best.result.R:.3f} (batch {best.train['batch_size']}, rate {best.train['lr']:g}, seed "
            f"{best.train['seed']})" + (f": {chosen.score / best.result.R:.2f} times as many bits. " if above else ". ")
            + "Result 4's committed verdicts stand as they were judged; the chapters after it train at the regime.")


def result4_records(profile: str) -> list[Record]:
    """Result 4's committed points on bioD, both protocols (v1's and v2's main sweeps), as far as stored."""
    out = []
    for name in ("result4", "result4-v2"):
        parts, _ = parts_or_pending(name, profile)
        out += parts["main"] if parts else []
    return out


def section(profile: str = "cpu", *, allow_train: bool = False) -> list:
    """Items for ``plots.show``: what is pending, or the pilot's chart and recipe table, and the
    regime its rule chose once its sweep (with its runs beyond an edge) is complete, with the
    addendum to result 4; the pilot trains only where ``allow_train``
    (the smoke profile's tiny pilot)."""
    parts, running, pending = shown_so_far(PILOT, profile, allow_train=allow_train)
    if parts is None:
        return [pending]
    records = parts["main"] + parts.get("recipe_edges", [])
    recipes = regime.recipe_table(records)[RECIPE_COLUMNS]
    recipes["init"] = recipes["init"].map(regime.INIT_NAMES).fillna(recipes["init"])
    items = [rates_chart(records), plots.table(recipes.rename(columns={"init": "initialisation"}))]
    if running:
        return [running.note(), *items, "*The regime is chosen once every run of the pilot is stored.*"]
    chosen = regime.choose(records)
    addendum = beside_result4(chosen, records, result4_records(profile))
    return [*items, f"**The regime** (by the rule committed before the pilot): {chosen.describe()}.",
            *([addendum] if addendum else [])]
