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

from kcl.book.chapters import main_store, parts_or_pending, record_config
from kcl.book.stats import Judgement, Section, judge_ratio, r_interval
from kcl.record import Record
from kcl.records import model_label
from kcl.run import measure_quantized
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
    args = parser.parse_args(argv)
    parts, pending = parts_or_pending(CHAPTER, args.profile)
    if parts is None:
        print(f"kcl: {pending.strip('*')}", file=sys.stderr)
        return 1
    folder = main_store(CHAPTER, args.profile)
    quantized_results(parts["main"], folder, compute=True)
    print(f"{len(parts['main']) * len(VARIANTS)} quantized measurements in {folder / 'quantized'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
