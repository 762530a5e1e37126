"""The random-strings page: the bits a model stores of uniformly random strings against the bits
it stores of facts (Morris et al. 2025 against the paper; book/protocol.md, "Random strings").

Each model size is trained on N keyed strings for several N; the bits it stores grow with N until
the model is full. A size's *capacity* is the most bits it stores over N (each N at its best rate).
The headline is the largest capacity per parameter over the sizes (``law.capacity_runs``), as
``law.headline_per_seed`` gives it (the mean over seeds, each seed at its own best rate); facts' side
is result 1's peak by the same rule (its seed-rates addendum).
"""

from __future__ import annotations

import dataclasses

import altair as alt
import pandas as pd

from kcl.book import law, plots
from kcl.book.chapters import parts_or_pending
from kcl.book.progress import SO_FAR_TITLE, shown_so_far
from kcl.book.stats import Judgement, Section, judge, judge_ratio
from kcl.record import Record

CHAPTER = "random-strings"
#: Morris et al. (2025): GPT-style models store about 3.6 bits per parameter of random bitstrings
MORRIS = 3.6
#: the paper's 2 bits per parameter of facts at 1000 exposures
PAPER = 2.0
#: a size whose most bits come at the smallest N and hold at least this share of that N's data is
#: flagged as limited by the data (its capacity may be higher); shown, never judged
DATA_LIMITED = 0.9


def chapter_records(profile: str, allow_train: bool = False) -> tuple[dict | None, str]:
    """``{"main": [...], "reruns": [...], "facts": {"main": [...], "reruns": [...]}}`` (facts: result
    1's records; none in the smoke profile), or None and the sentence saying what is pending."""
    parts, pending = parts_or_pending(CHAPTER, profile, allow_train=allow_train)
    if parts is None:
        return None, pending
    out = {"main": parts["main"], "reruns": parts.get("seeds", []) + parts.get("seed_rates", []), "facts": None}
    if profile != "smoke":
        facts, pending = parts_or_pending("result1", profile, allow_train=allow_train)
        if facts is None:
            return None, pending
        out["facts"] = {"main": facts["main"], "reruns": facts.get("seeds", []) + facts.get("seed_rates", [])}
    return out, ""


def capacities(main: list[Record]) -> pd.DataFrame:
    """One row per model size: the most bits it stores over N (each N at its best rate), at which N,
    that figure per parameter, the data's bits there per parameter, whether the best N is the
    largest tried (then the model may hold more: no plateau seen), and whether it is the smallest
    tried with nearly all its data stored (``DATA_LIMITED``: the data, not the model, may have set it)."""
    frame = law.points_frame(main)
    rows = []
    for model, group in frame.groupby("model", sort=False):
        best = group.loc[group["bits"].idxmax()]
        rows.append({"model": model, "P": int(best["P"]), "P_non_embedding": int(best["P_non_embedding"]),
                     "capacity_bits": float(best["bits"]), "at_N": int(best["N"]), "data_bits": float(best["max_bits"]),
                     "bits_per_parameter": float(best["bits"]) / best["P"], "data_bits_per_parameter": best["R_max"],
                     "plateau_seen": bool(best["N"] < group["N"].max()),
                     "data_limited": bool(best["N"] == group["N"].min() and best["bits"] >= DATA_LIMITED * best["max_bits"])})
    return pd.DataFrame(rows).sort_values("P").reset_index(drop=True)


def side_by_side(records: dict) -> pd.DataFrame:
    """Size by size, the most bits each size stores of noise and of facts (result 1's bioD, 1000
    exposures), each over its N at its best rate, seed 0, per parameter under the paper's count,
    and their ratio: the two figures at the same sizes and precision (shown, never judged). Only
    the sizes both sweeps trained; empty without facts."""
    if not records.get("facts"):
        return pd.DataFrame()
    facts_main = [r for r in records["facts"]["main"] if r.data["name"] == "bioD"]
    if not facts_main:
        return pd.DataFrame()
    shown = {"capacity_bits": "bits", "at_N": "at N", "P": "P", "bits_per_parameter": "bits per parameter"}

    def side(main: list[Record], name: str) -> pd.DataFrame:
        return capacities(main)[["model", *shown]].rename(columns={k: f"{name}: {v}" for k, v in shown.items()})

    both = side(records["main"], "noise").merge(side(facts_main, "facts"), on="model")  # the sizes both trained
    return both.assign(**{"noise / facts": both["noise: bits per parameter"] / both["facts: bits per parameter"]})


def claims(records: dict) -> list[Judgement]:
    """(a) the largest capacity per parameter ≈ Morris et al.'s 3.6; (b) it over facts' peak
    (result 1) ≈ 3.6 / 2 = 1.8, the two papers' figures side by side."""
    noise = law.headline_per_seed(law.capacity_runs(records["main"]), records["reruns"])
    out = [judge("random strings: largest capacity per parameter (bits stored / P) at 1000 exposures", MORRIS,
                 noise["R"], noise["low"], noise["high"], "about", noise["non_embedding"], source="Morris et al.")]
    if records.get("facts"):
        facts = law.headline_per_seed(records["facts"]["main"], records["facts"]["reruns"])
        ratio = judge_ratio("random strings' capacity per parameter / facts' peak R(F) (result 1, bioD)",
                            MORRIS / PAPER, (noise["R"], noise["low"], noise["high"]),
                            (facts["R"], facts["low"], facts["high"]), kind="about")
        out.append(dataclasses.replace(ratio, source="Morris et al. / the paper"))
    return out


def reading(records: dict | None) -> str:
    """The finding in plain words, from the records: the largest capacity per parameter of noise,
    facts' peak beside it and their ratio (each the mean over its seeds), and the sizes whose bits
    had not levelled off at the largest N tried; "" without records."""
    if records is None:
        return ""
    noise = law.headline_per_seed(law.capacity_runs(records["main"]), records["reruns"])
    text = (f"On random strings the largest capacity is {noise['R']:.2f} bits per parameter ({noise['model']}, "
            f"the mean over {len(noise['values'])} seeds; Morris et al.: {MORRIS:g}).")
    if records.get("facts"):
        facts = law.headline_per_seed(records["facts"]["main"], records["facts"]["reruns"])
        text += (f" Facts (result 1, bioD) peak at {facts['R']:.2f}: noise stores {noise['R'] / facts['R']:.2f}× "
                 f"as many bits per parameter as knowledge-shaped data at our scale.")
        if not (table := side_by_side(records)).empty:
            text += f" Size by size (seed 0), noise stores {ratio_span(table)}× the bits per parameter of facts."
    table = capacities(records["main"])
    open_ended = [row.model for row in table.itertuples() if not row.plateau_seen]
    if open_ended:
        text += (f" No plateau was seen for {', '.join(open_ended)}: their bits still grew at the largest N tried, "
                 "so their capacity may be higher.")
    limited = [f"{row.model} ({row.capacity_bits / row.data_bits:.0%} at N = {row.at_N:,})"
               for row in table.itertuples() if row.data_limited]
    if limited:
        text += (f" The most bits of {', '.join(limited)} came at the smallest N tried, with nearly all of its data "
                 "stored, and larger N stored fewer: the data may have set that figure, so the capacity may be higher.")
    return text


def verdict_sections(records: dict | None, pending: str) -> list[Section]:
    if records is None:
        return [Section("committed", None, pending)]
    return [Section("committed", claims(records))]


def chart(main: list[Record], title: str = "Each point the best of its rates (seed 0); dashed: every bit of the data stored"):
    """Bits stored against the bits in the data, one line per model size, the line where they are
    equal drawn dashed (the form of Morris et al.'s capacity plots: each line bends to its plateau).
    Points that store no bits are named beneath the title (``plots.left_off``)."""
    every = law.points_frame(main).assign(data_bits=lambda f: f["max_bits"])
    frame = every[plots.on_log_axis(every)]
    top = float(every["data_bits"].max())
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("data_bits:Q", scale=alt.Scale(type="log"), title="bits in the data (N strings × 96)"),
        y=alt.Y("bits:Q", scale=alt.Scale(type="log"), title="bits stored"),
        color=alt.Color("model:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=["model", "N", alt.Tooltip("data_bits:Q", format=",.0f"), alt.Tooltip("bits:Q", format=",.0f"),
                 alt.Tooltip("R:Q", format=".3f"), "best_lr"])
    diagonal = alt.Chart(pd.DataFrame({"data_bits": [float(every["data_bits"].min()), top]})).mark_line(
        strokeDash=[4, 4], color="#888").encode(x="data_bits:Q", y=alt.Y("data_bits:Q"))
    note = plots.left_off(every, lambda row: f"{row.model}, N = {row.N:,} (R = {row.R:.3f})")
    return alt.layer(diagonal, lines).properties(width=520, height=300, title=plots.titled(title, note))


def so_far(profile: str) -> list:
    """Items for ``plots.show`` while the sweep runs: what is stored and what is left
    (``StoredSoFar.note``), the chart and the capacities of the runs stored so far, each N the best of
    the rates stored for it, and noise beside facts size by size, with no verdict; [] before the
    first run or once the sweep is complete."""
    parts, running, _ = shown_so_far(CHAPTER, profile)
    if running is None:
        return []
    facts = parts_or_pending("result1", profile)[0] if profile != "smoke" else None
    stored = {"main": parts["main"], "facts": facts and {"main": facts["main"]}}
    return [running.note(), chart(parts["main"], title=SO_FAR_TITLE), plots.table(capacities(parts["main"])),
            *side_by_side_items(stored)]


def side_by_side_items(records: dict) -> list:
    """``side_by_side`` for ``plots.show``: a sentence saying what it sets beside what, and the
    table; [] without facts."""
    table = side_by_side(records)
    if table.empty:
        return []
    return [f"**Noise beside facts, size by size** (seed 0, each size's most bits over its N at its best rate, "
            f"the paper's count): noise stores {ratio_span(table)} times the bits per parameter of facts "
            f"(result 1, bioD, 1000 exposures). Shown, not judged.", plots.table(table)]


def ratio_span(table: pd.DataFrame) -> str:
    """``side_by_side``'s ratios as "0.94 to 1.12" (or one figure where they round alike)."""
    low, high = f"{table['noise / facts'].min():.2f}", f"{table['noise / facts'].max():.2f}"
    return low if low == high else f"{low} to {high}"


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"random_strings": lambda profile: (verdict_sections(*chapter_records(profile)), 1)}
