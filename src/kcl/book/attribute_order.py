"""bioD's attribute order, a diagnostic shown on the result 4 and result 6 pages and on the data page
(chapter ``diag-order``; book/protocol.md, "The 100-exposure regime: a recipe pilot").

The paper's bioD has "a random sentence order" and leaves open whether it is drawn once per person
or again at every exposure. kcl draws it at every exposure (data knob ``order``, default
``exposure``), and every verdict keeps that reading. This diagnostic trains the reference model at
the 100-exposure regime (its batch, initialisation and best rate) with the order drawn once per
person and with one order for everyone; the reading kcl uses is the recipe pilot's own runs at the
regime, the same model, data, seeds and recipe.
"""

from __future__ import annotations

import pandas as pd

from kcl.book import plots, regime
from kcl.book.progress import shown_so_far
from kcl.record import Record

CHAPTER = "diag-order"
PILOT = "recipe-100"
#: each reading of "a random sentence order", in the order the page lists them
READINGS = {"exposure": "drawn again at every exposure (kcl's reading: every verdict)",
            "person": "drawn once per person, kept across exposures",
            "fixed": "one order for everyone"}


def _order(record: Record) -> str:
    return record.data.get("order", "exposure")


def at_regime(pilot: list[Record], chosen: regime.Regime) -> list[Record]:
    """The pilot's runs at the regime's batch, initialisation and best rate (every seed)."""
    return [r for r in pilot if r.train["batch_size"] == chosen.batch_size and r.train["lr"] == chosen.lr
            and regime.recipe_init(r) == chosen.init]


def frame(reference: list[Record], readings: list[Record]) -> pd.DataFrame:
    """One row per reading: R at each seed, the mean over seeds, and the mean over kcl's reading's
    mean (``reference``: the pilot's runs at the regime; ``readings``: the diagnostic's runs)."""
    rows = []
    for order, meaning in READINGS.items():
        runs = sorted((r for r in reference + readings if _order(r) == order), key=lambda r: r.train["seed"])
        if not runs:
            continue
        rows.append({"order": order, "meaning": meaning,
                     "R_by_seed": ", ".join(f"{r.result.R:.3f}" for r in runs), "seeds": len(runs),
                     "R": sum(r.result.R for r in runs) / len(runs)})
    out = pd.DataFrame(rows)
    base = out.loc[out["order"] == "exposure", "R"]
    out["times_kcl_reading"] = out["R"] / base.iloc[0] if len(base) else float("nan")
    return out


#: each reading as a sentence names it
PHRASES = {"exposure": "with the order drawn again at every exposure", "person": "with the order drawn once per person and kept",
           "fixed": "with one order for everyone"}


def reading(table: pd.DataFrame) -> str:
    """The diagnostic in plain words, from its table."""
    by = table.set_index("order")
    if "exposure" not in by.index or len(by) < 2:
        return ""
    others = [f"{by.loc[o, 'R']:.2f} ({by.loc[o, 'times_kcl_reading']:.1f}× as much) {PHRASES[o]}"
              for o in by.index if o != "exposure"]
    return (f"At the 100-exposure regime the reference model stores {by.loc['exposure', 'R']:.2f} bits per "
            f"parameter {PHRASES['exposure']} (mean over {by.loc['exposure', 'seeds']} seeds), "
            f"{', and '.join(others)}. The paper does not say which it used. Every verdict keeps kcl's "
            "reading, committed before these runs.")


def section(profile: str = "cpu", *, allow_train: bool = False) -> list:
    """Items for ``plots.show``: what is pending, or the table of the three readings and its reading
    in words; the runs train only where ``allow_train`` (the smoke profile)."""
    pilot, running, pending = shown_so_far(PILOT, profile, allow_train=allow_train)
    if pilot is None or running:
        return [pending or "*Pending: the recipe pilot chooses the regime these runs train at.*"]
    parts, running, pending = shown_so_far(CHAPTER, profile, allow_train=allow_train)
    if parts is None:
        return [pending]
    runs = pilot["main"] + pilot.get("recipe_edges", [])
    table = frame(at_regime(runs, regime.choose(runs)), parts["main"])
    shown = table[["order", "meaning", "R_by_seed", "R", "times_kcl_reading"]].rename(
        columns={"R_by_seed": "R at each seed", "R": "mean R", "times_kcl_reading": "× kcl's reading"})
    return [*([running.note()] if running else []), reading(table), plots.table(shown)]
