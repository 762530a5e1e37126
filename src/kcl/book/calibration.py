"""The calibration chapter's verdict (issue 2): the reference record against its target, by the
chapter's own rule (``Verdict``: the whole bootstrap interval at or above it), and every
other stored run of the same configuration beside it.

A bootstrap interval over people says how much the figure depends on which people were drawn, not
how much a rerun of the same configuration moves: a change of rounding (a later commit, fused AdamW,
``torch.compile``) moves a run here by up to about 15% (README, "Performance"). The reference
configuration was trained again by later chapters (result 1, its learning-rate pilot, the compile
diagnostic compiled and eager), with the same key; the page lists those runs with their verdicts by
the same rule, and the first page's row says how many of them reach the target (and how many
distinct figures they give: two reruns by the same code come back bit for bit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kcl.book import chapters
from kcl.book.catalog import run_records, trained_as
from kcl.book.chapters import repo_root
from kcl.book.stats import Section, estimate_text, r_interval
from kcl.record import Record

CLAIM = "the reference benchmark's R (2-layer GPT2, d = 32, bioD, 1000 exposures)"


@dataclass(frozen=True)
class Verdict:
    """A claim checked against a measured figure and its interval, by the calibration chapter's rule
    (issue 2: the whole interval against the threshold), not by results 1–4's (``kcl.book.stats.judge``).
    It has the fields ``kcl.book.stats.verdicts_table`` reads, so the first page lists it with theirs."""

    threshold: float
    value: float
    low: float
    high: float
    claim: str = "R at the threshold or above"
    non_embedding: float | None = None  # R per non-embedding parameter, shown beside it

    @property
    def paper_figure(self) -> str:
        """The target with its sign, as a results 1–4 ``Judgement`` states it."""
        return f"≥ {self.threshold:.4g}"

    @property
    def target(self) -> str:
        """The first page's target column (``kcl.book.stats.verdicts_table``): the issue's threshold."""
        return self.paper_figure

    @property
    def ours(self) -> str:
        return estimate_text(self.value, self.low, self.high)

    @property
    def verdict(self) -> str:
        return self.outcome  # the whole interval decides: there is no estimate-alone reading to add

    def statement(self) -> str:
        return f"{self.claim}: target {self.paper_figure}; ours {self.ours}"

    def sentence(self) -> str:
        return f"{self.statement()} → **{self.outcome}**"

    @property
    def outcome(self) -> str:
        """``reproduced`` if the whole interval reaches the threshold, ``not reproduced`` if the
        whole interval is below it, else ``inconclusive``."""
        if self.low >= self.threshold:
            return "reproduced"
        if self.high < self.threshold:
            return "not reproduced"
        return "inconclusive"


def verdict(record: Record, threshold: float, claim: str = Verdict.claim) -> Verdict:
    """The verdict on R (paper count) of one record against ``threshold`` bits/param; ``claim`` names
    it in a table of verdicts."""
    r = record.result
    low, high = r_interval(r)
    if not (np.isfinite(r.R) and low <= r.R <= high):
        raise ValueError(f"record {record.key}: R={r.R} is not inside its interval [{low}, {high}]")
    return Verdict(threshold=threshold, value=r.R, low=low, high=high, claim=claim,
                   non_embedding=r.get("R_non_embedding"))


#: the calibration chapter's store, under results/
STORE = "reference"


def repeats(record: Record, profile: str = "cpu", root: str | Path | None = None) -> list[tuple[str, Record]]:
    """Every record of ``record``'s configuration (the same key) in the other stores of ``profile``,
    each with its store, oldest first: the same run trained again, often by later code."""
    found = [(store, other) for store, other in run_records(repo_root(root) / "results", profile)
             if other.key == record.key and store != STORE]
    return sorted(found, key=lambda pair: pair[1].created)


def repeats_frame(record: Record, threshold: float, again: list[tuple[str, Record]]) -> pd.DataFrame:
    """The record and its reruns ``again`` (``repeats``): store, code commit, how each was trained, R
    with its bootstrap interval (``R``, ``R_low``, ``R_high``) and the verdict of each by the
    chapter's rule; ``plots.table`` shows it."""
    rows = []
    for store, run in [(STORE, record), *again]:
        v = verdict(run, threshold)
        rows.append({"store": store, "created": run.created[:10], "commit": run.git_commit or "?",
                     "trained": trained_as(run.result.train), "R": v.value, "R_low": v.low, "R_high": v.high,
                     "R_non_embedding": run.result.R_non_embedding, "verdict": v.outcome})
    return pd.DataFrame(rows)


def rerun_counts(threshold: float, again: list[tuple[str, Record]]) -> dict:
    """Of the reruns ``again`` (``repeats``): how many (``n_again``), how many reach the target by the
    chapter's rule (``n_again_reached``) and how many distinct figures they give (``n_again_distinct``;
    two reruns by the same code come back bit for bit), as text for the page's glue and the row's title."""
    verdicts = [verdict(run, threshold) for _, run in again]
    return {"n_again": str(len(verdicts)), "n_again_reached": str(sum(v.outcome == "reproduced" for v in verdicts)),
            "n_again_distinct": str(len({v.value for v in verdicts}))}


def section(record: Record, threshold: float, again: list[tuple[str, Record]]) -> tuple[Section, Verdict]:
    """The first page's row of this chapter (``stats.verdicts_table``): the committed record's verdict,
    its title naming the rule and how many of its reruns ``again`` (``repeats``) reach the target; and
    that verdict."""
    v = verdict(record, threshold, claim=CLAIM)
    counts = rerun_counts(threshold, again)
    title = "calibration (issue 2's rule: the whole interval at or above the target)"
    if again:
        distinct = counts["n_again_distinct"]
        alike = "" if distinct == counts["n_again"] else f" ({distinct} distinct figures)"
        title += (f"; {counts['n_again']} reruns of the same configuration{alike}: {counts['n_again_reached']} of them "
                  "reach it (on its page)")
    return Section(title, [v]), v


def _first_page(profile: str) -> tuple[list, int]:
    record = chapters.chapter_records("reference", profile)[0]
    return [section(record, chapters.CHAPTERS["reference"].threshold, repeats(record, profile))[0]], 1


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"reference": _first_page}
