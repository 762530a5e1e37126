"""Result 8's page: the bits a stored model keeps when its weights are quantized to int8 or int4.

The chapter's runs (``sweeps/result8.yaml``) retrain result 1's points with their weights saved.
Each stored model is measured again quantized (``kcl.run.measure_quantized``), once per variant:
GPTQ and round to nearest, int8 and int4, the embedding quantized or left in float. Those
measurements are kept beside the records (``<store>/quantized/<key>-<variant>.json``), computed by
``python -m kcl.book.result8`` or by the page itself where it may train (the smoke profile). The
protocol judges the model with the largest float R: GPTQ, embedding quantized, int8 / float ≈ 1 and
int4 / float ≤ 0.5 (book/protocol.md, "Result 8").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import altair as alt
import pandas as pd

from kcl.book import architectures, plots
from kcl.book.chapters import main_store, parts_or_pending, record_config
from kcl.book.stats import Judgement, Section, judge_ratio, r_interval
from kcl.record import Record
from kcl.records import model_label
from kcl.run import measure_quantized, weights_file
from kcl.store import kept_measurement

CHAPTER = "result8"
#: (method, bits, embedding quantized): every variant the page shows; the first two decide
VARIANTS = (("gptq", 8, True), ("gptq", 4, True), ("rtn", 8, True), ("rtn", 4, True),
            ("gptq", 8, False), ("gptq", 4, False))


def variant_name(method: str, bits: int, embedding: bool) -> str:
    """``gptq-int4`` (embedding quantized) or ``gptq-int4-float-embedding``."""
    return f"{method}-int{bits}" + ("" if embedding else "-float-embedding")


def quantized_path(folder: Path, key: str, variant: tuple) -> Path:
    return Path(folder) / "quantized" / f"{key}-{variant_name(*variant)}.json"


def quantized_results(records: list[Record], folder: Path, *, compute: bool = False) -> dict | None:
    """``{(key, variant): result}`` for every record and variant, read from ``folder``'s
    ``quantized/`` files; missing ones are measured and stored where ``compute``, else None."""
    def measure(record: Record, variant: tuple) -> dict:
        method, bits, embedding = variant
        return measure_quantized(record_config(record), folder, bits, method, embedding=embedding)

    out = {}
    for record in records:
        for variant in VARIANTS:
            kept = kept_measurement(quantized_path(folder, record.key, variant),
                                    (lambda r=record, v=variant: measure(r, v)) if compute else None)
            if kept is None:
                return None
            out[record.key, variant] = kept
    return out


def frame(records: list[Record], quantized: dict, recorded: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per model and variant: P, the float R and its interval, the quantized R and its
    interval, and their ratio; ``recorded`` (key → R) is result 1's figure for the same config,
    before the retraining that stored the weights."""
    rows = []
    recorded = recorded or {}
    for record in records:
        r = record.result
        low, high = r_interval(r)
        for variant in VARIANTS:
            q = quantized[record.key, variant]
            q_low, q_high = r_interval(q)
            rows.append({"model": model_label(record.model), "P": r.params.total, "variant": variant_name(*variant),
                         "R_recorded": recorded.get(record.key, float("nan")), "R_float": r.R,
                         "R_float_low": low, "R_float_high": high, "R": q["R"], "R_low": q_low, "R_high": q_high,
                         "ratio": q["R"] / r.R if r.R else float("nan"), "key": record.key})
    return pd.DataFrame(rows)


def claims(table: pd.DataFrame) -> list[Judgement]:
    """The protocol's two claims on the model with the largest float R (GPTQ, embedding quantized)."""
    peak_key = table.loc[table["R_float"].idxmax(), "key"]
    at_peak = table[table["key"] == peak_key].set_index("variant")
    float_ = tuple(at_peak.iloc[0][["R_float", "R_float_low", "R_float_high"]])
    model = at_peak.iloc[0]["model"]
    int8, int4 = (tuple(at_peak.loc[variant_name(*v)][["R", "R_low", "R_high"]]) for v in VARIANTS[:2])
    return [judge_ratio(f"int8 (GPTQ) R / float R at the peak model ({model})", 1.0, int8, float_, kind="about"),
            judge_ratio(f"int4 (GPTQ) R / float R at the peak model ({model})", 0.5, int4, float_, kind="at_most")]


def chapter_table(profile: str, allow_train: bool = False) -> tuple[pd.DataFrame | None, str]:
    """Every model and variant, or None and the sentence saying what is pending (the retrained
    runs, or their quantized measurements and the command that makes them)."""
    parts, pending = parts_or_pending(CHAPTER, profile, allow_train=allow_train)
    if parts is None:
        return None, pending
    folder = main_store(CHAPTER, profile)
    quantized = quantized_results(parts["main"], folder, compute=allow_train)
    if quantized is None:
        return None, (f"*Pending: the quantized measurements of the {len(parts['main'])} stored models "
                      f"(`python -m kcl.book.result8` computes them, a few seconds each).*")
    result1, _ = parts_or_pending("result1", profile)
    recorded = {r.key: r.result.R for r in result1["main"]} if result1 else {}
    return frame(parts["main"], quantized, recorded), ""


#: the addendum's chapters (book/protocol.md, "Result 8"): each architecture's committed peak is
#: measured quantized too, shown beside result 1's GPT2 points and not judged
ARCHITECTURE_CHAPTERS = ("result6", "result7", "result5")


def architecture_peaks(profile: str) -> tuple[dict[str, list[tuple[str, Record]]], list[str]]:
    """``{chapter: [(architecture, its committed peak's seed-0 record), ...]}`` for each complete
    chapter of ``ARCHITECTURE_CHAPTERS``, and the chapters still incomplete. Only models stored in the
    chapter's own store, weights beside them: GPT2 thus comes once per exposure count (result 6's
    peak at 100; at 1000 result 8's own points stand for it)."""
    peaks, pending = {}, []
    for chapter in ARCHITECTURE_CHAPTERS:
        records, _ = architectures.chapter_records(chapter, profile)
        if records is None:
            pending.append(chapter)
            continue
        folder = main_store(chapter, profile)
        peaks[chapter] = [(name, head["record"]) for name, head in architectures.headlines(records).items()
                          if weights_file(record_config(head["record"]), folder).exists()]
    return peaks, pending


def architecture_table(profile: str, compute: bool = False) -> tuple[pd.DataFrame | None, str]:
    """One row per architecture's peak (the addendum): its chapter, model, P, float R and, with GPTQ
    and the embedding quantized, int8 / float and int4 / float with the rule's interval; or None and
    what is pending. Measures what is missing where ``compute``. The sentence names the chapters
    not complete yet."""
    peaks, pending = architecture_peaks(profile)
    rows = []
    for chapter, items in peaks.items():
        quantized = quantized_results([record for _, record in items], main_store(chapter, profile), compute=compute)
        if quantized is None:
            return None, ("*Pending: the quantized measurements of the other architectures' peaks "
                          "(`python -m kcl.book.result8 --architectures` computes them).*")
        for name, record in items:
            r = record.result
            float_ = (r.R, *r_interval(r))
            row = {"chapter": chapter, "architecture": name, "model": model_label({**record.model, "options": {}}),
                   "P": r.params.total, "R_float": r.R}
            for bits, v in ((8, VARIANTS[0]), (4, VARIANTS[1])):
                q = quantized[record.key, v]
                ratio = judge_ratio("", 1.0, (q["R"], *r_interval(q)), float_)
                row.update({f"int{bits} / float": ratio.value, f"int{bits} / float_low": ratio.low,
                            f"int{bits} / float_high": ratio.high})
            rows.append(row)
    later = f" Not yet measured: {', '.join(pending)}, whose sweeps are incomplete." if pending else ""
    return (pd.DataFrame(rows) if rows else None), later.strip()


def architecture_summary(table: pd.DataFrame) -> pd.DataFrame:
    """``architecture_table`` as the page shows it: each ratio with its interval in one column."""
    names = {f"int{bits} / float{end}": f"R{bound}_int{bits}" for bits in (8, 4)
             for end, bound in (("", ""), ("_low", "_low"), ("_high", "_high"))}
    merged = plots.with_intervals(table.rename(columns=names))
    return merged.rename(columns={f"R_int{bits} [95%]": f"int{bits} / float [95%]" for bits in (8, 4)})


def architecture_reading(table: pd.DataFrame | None) -> str:
    """The addendum in plain words, from its measurements: the range of what GPTQ's int8 and int4
    copies keep over the other architectures' peaks, and the peaks below zero in int4; "" without."""
    if table is None or table.empty:
        return ""
    def span(values: pd.Series) -> str:
        low, high = f"{values.min():.0%}", f"{values.max():.0%}"
        return low if low == high else f"{low} to {high}"

    int8, int4 = table["int8 / float"], table["int4 / float"]
    lowest = table.loc[int4.idxmin()]
    below = int((int4 < 0).sum())
    return (f"Over the other architectures' peaks ({len(table)}, from {', '.join(sorted(set(table['chapter'])))}), "
            f"GPTQ's int8 copies keep {span(int8)} of the bits and its int4 copies {span(int4)}, the least in "
            f"{lowest['architecture']}; "
            + (f"{below} fall{'s' if below == 1 else ''} below zero." if below else "none falls below zero."))


def verdict_sections(table: pd.DataFrame | None, pending: str) -> list[Section]:
    if table is None:
        return [Section("committed", None, pending)]
    return [Section("committed", claims(table))]


#: short column titles of the summary table, one per variant
VARIANT_TITLES = {variant_name(*v): title for v, title in zip(VARIANTS, (
    "GPTQ int8", "GPTQ int4", "RTN int8", "RTN int4", "GPTQ int8, float embedding", "GPTQ int4, float embedding"))}


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per model, smallest first: P, result 1's recorded R for its config, the float R of
    the retrained model, and every variant's R beside it (bits per parameter over the same P); the
    intervals are in the full table."""
    wide = table.pivot(index="key", columns="variant", values="R")[list(VARIANT_TITLES)]
    models = table.drop_duplicates("key").set_index("key")[["model", "P", "R_recorded", "R_float"]]
    out = models.join(wide.rename(columns=VARIANT_TITLES)).sort_values("P").reset_index(drop=True)
    return out.rename(columns={"R_recorded": "float, result 1's record", "R_float": "float"})


def reading(table: pd.DataFrame) -> str:
    """The finding in plain words, from the measurements: what int8 and int4 keep at the peak model,
    and where int4 keeps the most."""
    gptq8, gptq4 = (variant_name(*v) for v in VARIANTS[:2])
    peak = table.loc[table["R_float"].idxmax()]
    at_peak = table[table["key"] == peak["key"]].set_index("variant")
    int4 = table[table["variant"] == gptq4]
    best4 = int4.loc[int4["ratio"].idxmax()]
    below = int((int4["R"] < 0).sum())
    text = (f"At the peak model ({peak['model']}, {peak['R_float']:.2f} bits per parameter in float), GPTQ's int8 "
            f"copy keeps {at_peak.loc[gptq8, 'ratio']:.0%} of the bits and its int4 copy "
            + (f"falls below zero ({at_peak.loc[gptq4, 'R']:.2f}): it predicts the people's names and attributes "
               "worse than a uniform guess would. " if at_peak.loc[gptq4, "R"] < 0 else
               f"keeps {at_peak.loc[gptq4, 'ratio']:.0%}. "))
    text += (f"{below} of the {len(int4)} GPTQ int4 copies fall below zero; it keeps the most in "
             f"{best4['model']} ({best4['ratio']:.0%} of its {best4['R_float']:.2f} bits per parameter).")
    models = table.drop_duplicates("key")
    moved = (models["R_float"] - models["R_recorded"]).abs().dropna()
    if len(moved):
        text += (f" Retrained from result 1's configurations to store their weights, the float models land up to "
                 f"{moved.max():.2f} bits per parameter from result 1's records of the same configurations.")
    return text


def chart(table: pd.DataFrame):
    """R against P for the float models and their GPTQ int8 and int4 copies (the form of the
    paper's Fig. 6)."""
    gptq = table[table["variant"].isin([variant_name(*v) for v in VARIANTS[:2]])]
    floats = gptq.drop_duplicates("key").assign(variant="float", R=lambda f: f["R_float"])
    data = pd.concat([floats, gptq])
    order = ["float", "gptq-int8", "gptq-int4"]
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("P:Q", scale=alt.Scale(type="log", nice=False, padding=12), title="parameters P (the paper's count)",
                axis=alt.Axis(format="~s", tickCount=6)),
        y=alt.Y("R:Q", title="R(F), bits per parameter"),
        color=alt.Color("variant:N", title=None, sort=order, legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("variant:N", sort=order, legend=None,
                                  scale=alt.Scale(domain=order, range=[[1, 0], [5, 3], [1, 0]])),
        strokeWidth=alt.condition(alt.datum.variant == "float", alt.value(3.5), alt.value(1.8)),
        tooltip=["model", "variant", alt.Tooltip("P:Q", format=","), alt.Tooltip("R:Q", format=".3f")]
    ).properties(width=420, height=260, title="Float, int8 and int4 (GPTQ): bits per parameter")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcl.book.result8",
                                     description="measure result 8's stored models quantized (every variant)")
    parser.add_argument("--profile", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--architectures", action="store_true",
                        help="the other architectures' peaks of results 5-7 (the protocol's addendum) instead")
    args = parser.parse_args(argv)
    if args.architectures:
        table, note = architecture_table(args.profile, compute=True)
        print(f"{0 if table is None else len(table)} architectures' peaks measured quantized. {note}".strip())
        return 0
    parts, pending = parts_or_pending(CHAPTER, args.profile)
    if parts is None:
        print(f"kcl: {pending.strip('*')}", file=sys.stderr)
        return 1
    folder = main_store(CHAPTER, args.profile)
    quantized_results(parts["main"], folder, compute=True)
    print(f"{len(parts['main']) * len(VARIANTS)} quantized measurements in {folder / 'quantized'}")
    return 0


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result8": lambda profile: (verdict_sections(*chapter_table(profile)), 1)}


if __name__ == "__main__":
    sys.exit(main())
