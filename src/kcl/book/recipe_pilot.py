"""The recipe pilot on a page (chapter ``recipe-100``; its rule: ``kcl.book.regime``): every
recipe's mean R at each rate, the recipes ranked by their score, and the regime the rule chose,
which results 6, 7, 9 at 100 exposures, 10-12 and bioS protocol v4 at 100 exposures train at.
While the pilot runs, what is stored so far, without a regime."""

from __future__ import annotations

import altair as alt

from kcl.book import plots, regime
from kcl.book.progress import shown_so_far
from kcl.record import Record

PILOT = "recipe-100"
RECIPE_COLUMNS = ["batch_size", "init", "best_lr", "score", "rates_tried", "best_at_edge"]
INIT_NAMES = {"gpt2": "GPT-2's", "torch": "PyTorch's defaults", "embedding_unit": "GPT-2's, embedding N(0, 1)"}


def rates_chart(records: list[Record]) -> alt.Chart:
    """Mean R over seeds against the rate: one line per batch size, one panel per initialisation."""
    frame = regime.rate_table(records)
    frame["initialisation"] = frame["init"].map(INIT_NAMES).fillna(frame["init"])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("lr:Q", title="peak learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("R:Q", title="mean R over seeds (bits per parameter)"),
        color=alt.Color("batch_size:O", title="batch"),
        tooltip=["initialisation", "batch_size", "lr", "R", "values", "seeds"],
    ).properties(width=180, height=160).facet(
        column=alt.Column("initialisation:N", title=None), title="The recipe pilot: mean R at each rate")


def section(profile: str = "cpu", *, allow_train: bool = False) -> list:
    """Items for ``plots.show``: what is pending, or the pilot's chart and recipe table, and the
    regime its rule chose once its sweep (with its runs beyond an edge) is complete; the pilot
    trains only where ``allow_train`` (the smoke profile's tiny pilot)."""
    parts, running, pending = shown_so_far(PILOT, profile, allow_train=allow_train)
    if parts is None:
        return [pending]
    records = parts["main"] + parts.get("recipe_edges", [])
    items = [rates_chart(records), plots.table(regime.recipe_table(records)[RECIPE_COLUMNS])]
    if running:
        return [running.note(), *items, "*The regime is chosen once every run of the pilot is stored.*"]
    chosen = regime.choose(records)
    return [*items, f"**The regime** (by the rule committed before the pilot): {chosen.describe()}."]
