"""The knowledge-extraction page: is the knowledge a model stores usable, or only recitable?

The models are chapter ``extraction-models``'s (book/protocol.md, "Knowledge extraction", its
addendum): bioS protocol v4's model at N = 200 with word-level tokens, on bioS and on bioS-simple,
each data type's best point (seed 0 at its best rate). Each is measured twice (``kcl.extraction``):
memorizable accuracy (the training text up to a value, exact match) and extractable accuracy (LoRA
on question-answer texts of half of the people, exact match of the other half's answers, the best
of the committed grid). The measurements are kept beside the records
(``<store>/extraction/<key>.json``), computed by ``python -m kcl.book.extraction`` or by the page
where it may train (the smoke profile). The claim compares the two accuracies on the same test
people (book/protocol.md, "Knowledge extraction").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from kcl.book.chapters import chapter_parts, chapter_sweep, main_store, record_config
from kcl.book.law import best_of_lr, peak
from kcl.book.stats import Judgement, Section, judge, r_interval
from kcl.extraction import LORA_GRID, LoraSettings, best_extractable, memorizable_accuracy
from kcl.record import Record
from kcl.records import model_label
from kcl.run import load_weights
from kcl.store import ResultStore, kept_measurement

MODELS_FROM = "extraction-models"
DATA = ("bioS", "bioS-simple")
#: the paper's figures (Part 3.1, Parts 3.1/3.2 as Part 3.3 cites them): QA accuracy on held-out
#: people after knowledge augmentation (bioS: a fresh text every exposure) about 97% of what is
#: memorised; on one fixed text per person (bioS-simple) about 10%
PAPER = {"bioS": 1.0, "bioS-simple": 0.1}
#: the smoke profile's grid: one short fine-tuning (seconds), to run the page end to end
SMOKE_GRID = (LoraSettings(rank=2, embedding_rank=4, lr=3e-3, epochs=2),)
BOOTSTRAP = 1000


def _data_name(record: Record) -> str:
    return record.data["name"]


def models(profile: str, allow_train: bool = False) -> tuple[dict[str, Record] | None, str]:
    """Each data type's best point of ``MODELS_FROM`` (seed 0, its best rate), by data name, or None
    and what is missing. Outside the smoke profile the records are read as stored (the protocol's other
    runs need not be finished); the smoke profile trains its tiny sweep."""
    if profile == "smoke":
        records = chapter_parts(MODELS_FROM, "smoke", allow_train=allow_train, log=lambda _: None,
                                where=lambda c: c.data.name in DATA)["main"]
    else:
        _, spec, configs = chapter_sweep(MODELS_FROM, profile)
        store = ResultStore(main_store(MODELS_FROM, profile))
        wanted = [c for c in configs if c.data.name in DATA and c.train.seed == 0]
        records = [store.get(c) for c in wanted]
        if not all(records):
            missing = sum(r is None for r in records)
            return None, (f"*Pending: {missing} of the bioS and bioS-simple models are not stored yet "
                          f"(`kcl chapter {MODELS_FROM} --dry-run`); they are measured once they are.*")
    out = {}
    for name in DATA:
        mine = [r for r in records if _data_name(r) == name]
        if mine:
            out[name] = peak(best_of_lr(mine))
    return out, ""


def measurement_path(profile: str, key: str) -> Path:
    return main_store(MODELS_FROM, profile) / "extraction" / f"{key}.json"


def measure(record: Record, profile: str, grid=LORA_GRID) -> dict:
    """Memorizable accuracy on every person and the best extractable accuracy of ``grid`` (its
    other settings kept without their per-person matches) of a stored model."""
    dataset, model = load_weights(record_config(record), main_store(MODELS_FROM, profile))
    memorized = memorizable_accuracy(model, dataset)
    extracted = best_extractable(model, dataset, grid)
    grid_rows = [{k: v for k, v in r.items() if k not in ("matches", "test_people")} for r in extracted["grid"]]
    return {"key": record.key, "memorizable": memorized, "extractable": extracted["best"], "grid": grid_rows}


def measurements(chosen: dict[str, Record], profile: str, *, compute: bool = False) -> dict[str, dict] | None:
    """``{data name: measurement}`` for the chosen models, read from their files; missing ones are
    measured and stored where ``compute``, else None."""
    grid = SMOKE_GRID if profile == "smoke" else LORA_GRID
    out = {}
    for name, record in chosen.items():
        kept = kept_measurement(measurement_path(profile, record.key),
                                (lambda r=record: measure(r, profile, grid)) if compute else None)
        if kept is None:
            return None
        out[name] = kept
    return out


def ratio_interval(memorized: np.ndarray, extracted: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """Extractable over memorizable accuracy on the same people (rows) and attributes (columns),
    with a 95% bootstrap interval over the people."""
    def ratio(rows):
        m = memorized[rows].mean()
        return extracted[rows].mean() / m if m else float("inf")

    everyone = np.arange(len(memorized))
    value = ratio(everyone)
    rng = np.random.default_rng(seed)
    draws = [ratio(rng.integers(0, len(memorized), len(memorized))) for _ in range(BOOTSTRAP)]
    finite = [d for d in draws if np.isfinite(d)] or [value]
    low, high = np.percentile(finite, [2.5, 97.5])
    return value, min(float(low), value), max(float(high), value)


def claims(measured: dict[str, dict]) -> list[Judgement]:
    """For each data type: extractable / memorizable accuracy on the test people, about the paper's."""
    out = []
    for name in DATA:
        if name not in measured:
            continue
        m = measured[name]
        memorized = held_out_memorized(m)
        extracted = np.asarray(m["extractable"]["matches"], float)
        value, low, high = ratio_interval(memorized, extracted)
        if not np.isfinite(value):
            continue
        out.append(judge(f"{name}: extractable / memorizable accuracy on the held-out half (five attributes)",
                         PAPER[name], value, low, high, "about"))
    return out


def reading(measured: dict[str, dict] | None) -> str:
    """The finding in plain words, from the measurements: on the held-out people, what each model
    recites and what it answers, and whether a fresh text at every exposure made the knowledge
    usable where one fixed text did not (each ratio at least half, against at most half), and which
    ratio lies below the paper's where its verdict is not "reproduced"; "" without measurements."""
    if not measured:
        return ""
    shares = {}
    for name in DATA:
        if name in measured:
            m = measured[name]
            shares[name] = (held_out_memorized(m).mean(), np.asarray(m["extractable"]["matches"], float).mean())
    text = "On the held-out people " + "; ".join(
        f"the {name} model recites {mem:.0%} of the five values and answers {ext:.0%} of the questions about them"
        for name, (mem, ext) in shares.items()) + "."
    ratios = {name: ext / mem for name, (mem, ext) in shares.items() if mem > 0}
    if len(ratios) == 2 and ratios["bioS"] >= 0.5 >= ratios["bioS-simple"]:
        text += (" A fresh text at every exposure made the knowledge usable; one fixed text left it recitable but "
                 "not usable: the paper's direction.")
        for j in claims(measured):
            if j.value < j.paper and j.outcome != "reproduced":
                name = j.claim.split(":")[0]
                text += (f" {name}'s ratio, {j.ours}, lies below the paper's {j.paper:g}: its knowledge is even less "
                         f"usable than in the paper, so the verdict on that figure is {j.verdict}.")
    return text


def verdict_sections(measured: dict | None, pending: str) -> list[Section]:
    if measured is None:
        return [Section("committed", None, pending)]
    judged = claims(measured)
    if not judged:
        return [Section("committed", None, "*Nothing to judge: no model memorised any value of the five attributes.*")]
    return [Section("committed", judged)]


def table(chosen: dict[str, Record], measured: dict[str, dict]) -> pd.DataFrame:
    """One row per model: its P (the paper's count), R with its interval and R^max (so a reader sees
    how near the model is to storing all its data, and how far from its capacity), memorizable and
    extractable accuracy and the LoRA settings chosen."""
    rows = []
    for name, record in chosen.items():
        m = measured[name]
        low, high = r_interval(record.result)
        lora = m["extractable"]["settings"]["lora"]
        rows.append({"data": name, "model": model_label(record.model), "P": record.result.params.total,
                     "R": record.result.R, "R_low": low, "R_high": high, "R_max": record.result.R_max,
                     "memorizable": float(held_out_memorized(m).mean()),
                     "extractable": m["extractable"]["mean"], "fitted half": m["extractable"]["train_mean"],
                     "LoRA (r', r), rate": f"({lora['embedding_rank']}, {lora['rank']}), {lora['lr']:g}"})
    return pd.DataFrame(rows)


#: below this R (bits per parameter) a model is "far below" the paper's 2 bits of a full model
FAR_BELOW = 1.0


def regime_text(chosen: dict[str, Record]) -> str:
    """Where the measured models sit: each one's share of its data's bits stored (R / R^max) and R
    against the paper's 2 bits per parameter, so a reader sees that the test is of small data held
    whole (Parts 3.1 and 3.2's setting), not of a model at its capacity."""
    parts = [f"the {name} model stores {r.result.R / r.result.R_max:.0%} of its data's bits at R = {r.result.R:.3f} "
             f"(P = {r.result.params.total:,})" for name, r in chosen.items()]
    text = f"{'; '.join(parts)[:1].upper()}{'; '.join(parts)[1:]}."
    if all(r.result.R < FAR_BELOW for r in chosen.values()) and all(r.result.R >= 0.9 * r.result.R_max for r in chosen.values()):
        text += (" These models hold nearly all of a small data set, far below the 2 bits per parameter of a full "
                 "model. So the test asks whether stored knowledge can be used, not how much a model can store. The "
                 "paper's App. A.2 also reports that models at the capacity boundary answer about 1.2× less well; "
                 "this page does not test that.")
    return text


def held_out_memorized(m: dict) -> np.ndarray:
    """A measurement's memorizable matches of the held-out half's people (rows) by attribute
    (columns): the people its extractable accuracy is measured on."""
    return np.asarray(m["memorizable"]["matches"], float)[np.asarray(m["extractable"]["test_people"])]


def attribute_table(measured: dict[str, dict]) -> pd.DataFrame:
    """Memorizable and extractable accuracy per attribute and data type, both over the held-out
    half's people (the people the judged ratio is over)."""
    rows = []
    for name, m in measured.items():
        shares = held_out_memorized(m).mean(axis=0)
        for attribute, share in zip(m["memorizable"]["accuracy"], shares):
            rows.append({"data": name, "attribute": attribute.replace("_", " "), "memorizable": float(share),
                         "extractable": m["extractable"]["accuracy"][attribute]})
    return pd.DataFrame(rows)


def chart(measured: dict[str, dict]):
    """Memorizable beside extractable accuracy per attribute, one panel per data type (the paper's
    contrast: bioS answers about as well as it recites; bioS-simple recites but barely answers)."""
    frame = attribute_table(measured).melt(id_vars=["data", "attribute"], value_vars=["memorizable", "extractable"],
                                           var_name="accuracy", value_name="share")
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("attribute:N", title=None, axis=alt.Axis(labelAngle=-30)),
        xOffset="accuracy:N",
        y=alt.Y("share:Q", title="exact-match accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("accuracy:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["data", "attribute", "accuracy", alt.Tooltip("share:Q", format=".3f")])
    return bars.properties(width=240, height=220).facet(column=alt.Column("data:N", title=None))


def grid_table(measured: dict[str, dict]) -> pd.DataFrame:
    """Every LoRA setting of the grid and its test and fitted accuracy."""
    rows = []
    for name, m in measured.items():
        for r in m["grid"]:
            lora = r["settings"]["lora"]
            rows.append({"data": name, "r'": lora["embedding_rank"], "r": lora["rank"], "rate": lora["lr"],
                         "epochs": lora["epochs"], "extractable": r["mean"], "fitted half": r["train_mean"]})
    return pd.DataFrame(rows)


def page(profile: str, allow_train: bool = False) -> tuple[dict | None, dict | None, str]:
    """(the chosen models, their measurements, what is pending) for the page."""
    chosen, pending = models(profile, allow_train=allow_train)
    if chosen is None:
        return None, None, pending
    measured = measurements(chosen, profile, compute=allow_train or profile == "smoke")
    if measured is None:
        return chosen, None, ("*Pending: the models are stored but not yet measured "
                              "(`python -m kcl.book.extraction`).*")
    return chosen, measured, ""


def main(argv: list[str] | None = None) -> int:
    """``python -m kcl.book.extraction [--profile cpu]``: measure the stored models not measured yet."""
    parser = argparse.ArgumentParser(prog="python -m kcl.book.extraction", description=main.__doc__)
    parser.add_argument("--profile", default="cpu", choices=("cpu", "gpu"))
    args = parser.parse_args(argv)
    chosen, pending = models(args.profile)
    if chosen is None:
        print(f"kcl: {pending.strip('*')}", file=sys.stderr)
        return 1
    for name, m in measurements(chosen, args.profile, compute=True).items():
        print(f"{name}: memorizable {m['memorizable']['mean']:.3f}, extractable {m['extractable']['mean']:.3f}")
    return 0


def _first_page(profile: str) -> tuple[list, int]:
    _, measured, pending = page(profile)
    return verdict_sections(measured, pending), 1


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"extraction": _first_page}


if __name__ == "__main__":
    raise SystemExit(main())
