"""Best-of-learning-rate selection, peaks, seed intervals, the verdict rule of results 1–4, and how a
page states its verdicts (``Section``: on the page and in the first page's table).

The rule was committed before the first cpu run of those chapters (book page "Protocol for
results 1–4") and is never changed after seeing numbers; a change would
be a new, dated protocol shown beside this one.

Verdict (issue 5): a claim of the paper names a figure ``paper``; our estimate ``value`` has an
interval ``[low, high]``.

* ``about`` (the paper says "≈ paper"): *reproduced* if ``paper`` lies inside the interval or
  within 15% of our estimate; *partly* within 40%; else *not reproduced*.
* ``at_least`` (the paper says "≥ paper"): as ``about``, but any estimate above ``paper`` also
  reproduces it.
* ``at_most`` (the paper says "≤ paper"): as ``about``, but any estimate below ``paper`` also
  reproduces it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, NamedTuple

import numpy as np
from scipy import stats as _scipy_stats

from kcl.book import addenda
from kcl.record import FIELDS, Record

REPRODUCED_WITHIN = 0.15  # relative to our estimate
PARTLY_WITHIN = 0.40
KINDS = ("about", "at_least", "at_most")
SIGNS = {"about": "≈", "at_least": "≥", "at_most": "≤"}
#: what a summary row says of a verdict its page still holds back
WAITING = "no verdict yet (see the page)"
#: what it says of a section with no claim to judge (its note, in the claim column, says why)
NOTHING_TO_JUDGE = "nothing to judge"
#: what a summary row says of an addendum that changed no figure (``addendum_section``)
COMMITTED_STANDS = "the committed verdict stands"
#: what it says of a ratio the void-ratio addendum leaves unjudged (``with_addenda``)
NOT_JUDGED = "not judged (the void-ratio addendum)"
#: what a held-back section says where its note is empty
HELD_BACK = "*The page holds this verdict back.*"
#: the table's column of our figures: a headline's 95% t-interval over seeds, a single run's 95%
#: bootstrap over people, or a ratio's two intervals combined at their extremes (``judge_ratio``)
OURS = "ours [interval]"
#: beside it, a figure of R per non-embedding parameter (its mean over the same seeds); not judged
NON_EMBEDDING = "ours per non-embedding parameter"


def estimate_text(value: float, low: float, high: float) -> str:
    """An estimate with its interval as every verdict states it: "2.003 [1.829, 2.176]"; an
    unbounded one (a ratio over a figure that may be ≤ 0) reads ∞."""
    def text(x: float) -> str:
        return "∞" if math.isinf(x) else f"{x:.3f}"

    return f"{text(value)} [{text(low)}, {text(high)}]"


@dataclass(frozen=True)
class Judgement:
    """A claim of the paper checked against our figure."""

    claim: str
    paper: float
    kind: str
    value: float
    low: float
    high: float
    non_embedding: float | None = None  # the same estimate per non-embedding parameter, where it is one of R
    source: str = "paper"  # whose figure ``paper`` is: the paper's, or for result 2's "≈ bioS" claims "our bioS"
    figures: tuple | None = None  # a ratio's two figures, (value, low, high) each: numerator, denominator (``judge_ratio``)

    @property
    def gap(self) -> float:
        """How far the paper's figure is from our estimate, relative to our estimate (0 when the
        claim's inequality already holds)."""
        if self.kind == "at_least" and self.value >= self.paper:
            return 0.0
        if self.kind == "at_most" and self.value <= self.paper:
            return 0.0
        if math.isinf(self.value):
            return math.inf
        return abs(self.paper - self.value) / abs(self.value) if self.value else math.inf

    @property
    def outcome(self) -> str:
        if self.low <= self.paper <= self.high or self.gap <= REPRODUCED_WITHIN:
            return "reproduced"
        return self.by_estimate

    @property
    def by_estimate(self) -> str:
        """What the rule says of our estimate alone, its interval left aside."""
        if self.gap <= REPRODUCED_WITHIN:
            return "reproduced"
        return "partly reproduced" if self.gap <= PARTLY_WITHIN else "not reproduced"

    @property
    def verdict(self) -> str:
        """``outcome`` as a page states it: where only the interval reaches the target (a wide one,
        such as three seeds far apart), it also says what the estimate alone would get. The verdict
        itself is the rule's and does not change."""
        if self.outcome == self.by_estimate:
            return self.outcome
        return f"{self.outcome} (by its interval only; the estimate alone: {self.by_estimate})"

    @property
    def paper_figure(self) -> str:
        """The claim's target with its sign: "≈ 2", "≥ 1", "≤ 2"."""
        return f"{SIGNS[self.kind]} {self.paper:.4g}"

    @property
    def target(self) -> str:
        """``paper_figure`` with whose figure it is where not the paper's: "our bioS ≈ 0.8143"."""
        return self.paper_figure if self.source == "paper" else f"{self.source} {self.paper_figure}"

    @property
    def ours(self) -> str:
        return estimate_text(self.value, self.low, self.high)

    def statement(self) -> str:
        """The claim, its target and our figure, without the verdict."""
        beside = "" if self.non_embedding is None else f" ({self.non_embedding:.3f} per non-embedding parameter)"
        return f"{self.claim}: {self.source} {self.paper_figure}; ours {self.ours}{beside}"

    def sentence(self) -> str:
        return f"{self.statement()} → **{self.verdict}**"


def judge(claim: str, paper: float, value: float, low: float, high: float, kind: str = "about",
          non_embedding: float | None = None, source: str = "paper") -> Judgement:
    """The verdict of the protocol on one claim (see the module docstring); ``non_embedding``, for a
    figure of R, is the same estimate per non-embedding parameter, shown beside it, never judged;
    ``source`` says whose figure the target is where it is not the paper's."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if math.isnan(value) or value == -math.inf or not low <= value <= high:
        raise ValueError(f"{claim}: the estimate {value} is not inside its interval [{low}, {high}]")
    return Judgement(claim, float(paper), kind, float(value), float(low), float(high),
                     None if non_embedding is None else float(non_embedding), source)


def r_interval(result: Mapping) -> tuple[float, float]:
    """A result's bootstrap interval on R (a record's ``Result``, or a measurement's dict such as a
    quantized model's), or (R, R) when it was measured without one."""
    low, high = result.get("R_ci") or (result["R"], result["R"])
    return low, high


def judge_ratio(claim: str, paper: float, top: tuple[float, float, float], bottom: tuple[float, float, float],
                kind: str = "at_most") -> Judgement:
    """``judge`` on the ratio of two independent estimates, each (value, low, high); the ratio's
    interval is the extreme combination of theirs (infinite where a denominator bound is ≤ 0), and
    the ratio itself is infinite where the denominator's estimate is ≤ 0 (a positive figure over
    one that stores nothing: no finite factor, and never a negative one)."""
    if any(math.isnan(x) for x in (*top, *bottom)):
        raise ValueError(f"{claim}: a figure of the ratio is not a number: {top} over {bottom}")
    value = top[0] / bottom[0] if bottom[0] > 0 else math.inf
    low = top[1] / bottom[2] if bottom[2] > 0 else math.inf
    high = top[2] / bottom[1] if bottom[1] > 0 else math.inf
    judged = judge(claim, paper, value, min(low, value), max(high, value), kind)
    return replace(judged, figures=(tuple(map(float, top)), tuple(map(float, bottom))))


def stores_nothing(figure: tuple[float, float, float]) -> bool:
    """Whether a figure of R, (value, low, high), is indistinguishable from storing nothing: its
    interval does not lie wholly above zero."""
    return figure[1] <= 0


def ratio_of_nothing(judgement) -> bool:
    """Whether a ratio's two figures both store nothing (``stores_nothing``): the case the
    void-ratio addendum leaves unjudged (``addenda.VOID_RATIOS``)."""
    figures = getattr(judgement, "figures", None)  # verdicts by other rules (calibration's) judge no ratio
    return figures is not None and all(stores_nothing(f) for f in figures)


def void_ratio_note(judgement: Judgement) -> str:
    """Why the void-ratio addendum leaves ``judgement`` (a ``ratio_of_nothing``) unjudged."""
    top, bottom = (estimate_text(*f) for f in judgement.figures)
    whose = "the paper" if judgement.source == "paper" else judgement.source
    return (f"*{judgement.claim}: not judged ({addenda.VOID_RATIOS}). Neither figure's interval lies above zero, "
            f"{top} over {bottom}: neither stores anything distinguishable from nothing, so their ratio is "
            f"no factor to set against {whose}'s {judgement.paper_figure}. The committed verdict above stays.*")


def with_addenda(sections: Iterable[tuple]) -> list[Section]:
    """``sections`` as the pages and tables state them: after each section that judges a ratio of
    two figures that both store nothing, the void-ratio addendum's section, beside the committed
    verdict, which stays (``addenda.VOID_RATIOS``; book/protocol.md, "Addenda")."""
    out = []
    for section in _sections(sections):
        out.append(section)
        void = [j for j in section.judgements or [] if ratio_of_nothing(j)]
        if void:
            out.append(Section(f"{section.title}: {addenda.VOID_RATIOS}", [], " ".join(map(void_ratio_note, void)),
                               verdict=NOT_JUDGED))
    return out


# -- records → points ------------------------------------------------------------------------------
def _without(config: dict, *dotted: str) -> str:
    """A config as a canonical string with the ``dotted`` fields removed (the grouping key)."""
    import json

    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for key in dotted:
        part, _, field = key.partition(".")
        if field:
            out.get(part, {}).pop(field, None)
        else:
            out.pop(part, None)
    return json.dumps(out, sort_keys=True, default=str)


@dataclass(frozen=True, eq=False)
class Best(Record):
    """A record kept by ``best_of_lr``, with ``lr_tried``: every rate its point was tried at and
    the R there, by rate."""

    lr_tried: list[tuple[float, float]] = field(default_factory=list)

    @classmethod
    def of(cls, record: Record, lr_tried: list[tuple[float, float]]) -> Best:
        return cls(**{f: getattr(record, f) for f in FIELDS}, lr_tried=lr_tried)


def best_of_lr(records: Iterable[Record]) -> list[Best]:
    """One record per configuration that differs only in ``train.lr``: the one with the highest R
    (the paper's "best of several learning rates"). Each kept record gains ``lr_tried`` (every
    rate and its R) so charts can show the whole sweep. Input order of first appearance is kept."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(_without(record.config, "train.lr"), []).append(record)
    best = []
    for group in groups.values():
        top = max(group, key=lambda r: r.result.R)
        tried = sorted((r.train["lr"], r.result.R) for r in group)
        best.append(Best.of(top, tried))
    return best


def rate_at_edge(best: Best) -> str:
    """Where a ``best_of_lr`` record's rate sits in the rates it was tried at: "lowest" or
    "highest" (a rate beyond the grid might have done better), else "" (inside, or one rate)."""
    rates = [lr for lr, _ in best.lr_tried]
    lr = best.train["lr"]
    if len(rates) < 2:
        return ""
    return "lowest" if lr == min(rates) else "highest" if lr == max(rates) else ""


WIDENED_COLUMNS = ["R", "R_low", "R_high", "best_lr", "best_lr_at_edge"]


def beside_widened(committed, widened, keys: list[str], touched: set, columns: list[str]):
    """Of two tables of points (frames such as ``kcl.book.law.points_frame``'s), the rows of ``committed``
    whose ``keys`` are in ``touched``, each beside its row of ``widened`` (the same table with the
    runs at rates beyond the grid added; suffix ``_widened``). Results 2 and 3 and bioS at 100
    exposures show their addenda this way."""
    chosen = committed[[tuple(row) in touched for row in committed[keys].itertuples(index=False, name=None)]]
    return chosen[keys + columns].merge(widened[keys + columns], on=keys, suffixes=("", "_widened"))


def peak(records: Iterable[Record], key: str = "R") -> Record:
    """The record with the highest ``result[key]`` (the envelope's top over a whole figure)."""
    records = list(records)
    if not records:
        raise ValueError("no records to take a peak of")
    return max(records, key=lambda r: r.result[key])


def seed_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): a Student-t interval over independent seeds (needs at least 2)."""
    values = np.asarray(list(values), dtype=float)
    if len(values) < 2:
        raise ValueError(f"a seed interval needs at least 2 seeds, got {len(values)}")
    mean = float(values.mean())
    half = float(_scipy_stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def lr_grid_from_pilot(records: Iterable[Record], factor: float = 2.0) -> list[float]:
    """The protocol's learning-rate grid from a pilot: the pilot's best rate and its neighbours
    ×``1/factor`` and ×``factor``. A best rate at the edge of the pilot is an error (the pilot
    must be widened first, not the grid guessed)."""
    records = list(records)
    rates = sorted({r.train["lr"] for r in records})
    if len(rates) < 3:
        raise ValueError(f"a pilot needs at least 3 learning rates, got {rates}")
    best = peak(records).train["lr"]
    if best in (rates[0], rates[-1]):
        raise ValueError(f"the pilot's best learning rate {best:g} is at the edge of {rates}: widen the pilot")
    return [float(f"{best / factor:.3g}"), float(best), float(f"{best * factor:.3g}")]


class Section(NamedTuple):
    """One part of a chapter's verdicts: the committed protocol, an addendum beside it, or a
    verdict the page holds back (``judgements`` None) with ``note`` saying what it waits for."""

    title: str
    judgements: list[Judgement] | None
    note: str = ""
    verdict: str = ""  # a summary row's verdict for a section with no claims, where not ``NOTHING_TO_JUDGE``

    @property
    def stands(self) -> bool:
        """Whether this is an addendum that changed no committed figure (``addendum_section``)."""
        return self.verdict == COMMITTED_STANDS


@dataclass
class Shown:
    """One part of a page as kcl assembles it for a notebook: ``items`` to display in order
    (Markdown strings, frames, charts: ``kcl.book.plots.show``) and the verdict ``sections`` it adds."""

    title: str
    items: list = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def addendum_section(title: str, judgements: list[Judgement], committed: list[Judgement], note: str = "",
                     why: str = "the rate beyond stored less") -> Section:
    """An addendum's section beside the committed one (rates beyond an edge): its judgements whose
    claim and figure differ from every committed one, and in its title the claims it left unchanged
    (``why``: the rate beyond stored less, so the committed figure stands), so no row repeats a
    committed row. Where it changed nothing, its note says so."""
    def key(j: Judgement) -> tuple:
        return j.claim, j.paper, j.kind, j.value, j.low, j.high

    same = {key(j) for j in committed}
    changed = [j for j in judgements if key(j) not in same]
    unchanged = [_short_claim(j.claim) for j in judgements if key(j) in same]
    if unchanged and not changed:
        title += f"; unchanged ({why})"
    elif unchanged:
        title += f"; unchanged ({why}): {'; '.join(unchanged)}"
    if not changed:
        said = ("The rate beyond stored less wherever it ran" if why == "the rate beyond stored less"
                else f"Unchanged everywhere ({why})")
        note = (note + " " if note else "") + f"*{said}: every committed figure stands.*"
    return Section(title, changed, note, verdict="" if changed else COMMITTED_STANDS)


def _short_claim(claim: str) -> str:
    """A claim as an addendum's title names it: what it is about ("LLaMA (tied)", "bioS"), the
    text before its colon, or before its first parenthesis where it has no colon."""
    return claim.split(":")[0] if ":" in claim else claim.split(" (")[0]


def _sections(sections: Iterable[tuple]) -> list[Section]:
    return [Section(*section) for section in sections]


#: What a page says instead of its verdicts in the smoke profile
SMOKE_NOTE = ("**Smoke run: no verdict.** The smoke profile trains a handful of people for a few exposures "
              "in seconds, to check that the chapter runs end to end; its figures say nothing about the "
              "paper's claims. The `cpu` profile reads the committed records and gives the verdicts.")


def verdict_line(outcome: str, profile: str) -> str:
    """A page's one-line verdict: ``**Verdict: outcome**``, or in the smoke profile ``SMOKE_NOTE``."""
    return SMOKE_NOTE if profile == "smoke" else f"**Verdict: {outcome}** (profile `{profile}`)."


def sections_markdown(sections: Iterable[tuple], profile: str) -> str:
    """A chapter's verdict cell from its ``Section`` list, the same ones ``verdicts_table`` turns
    into the first page's rows (so a page never states them twice): per section its title, its
    claims one per line and its note (Markdown), or for one held back what it waits for; the
    void-ratio addendum's sections after the sections they concern (``with_addenda``; not in the
    smoke profile, which gives no verdict)."""
    smoke = profile == "smoke"
    parts = [SMOKE_NOTE] if smoke else []
    for title, judgements, note, *_ in (_sections(sections) if smoke else with_addenda(sections)):
        lines = [f"- {j.statement() if smoke else j.sentence()}" for j in judgements or []]
        if judgements is None:
            note = note or HELD_BACK
        first = title.split(" ")[0]
        heading = title[:1].upper() + title[1:] if first.islower() else title  # "bioS, …" stays as it is
        parts.append("\n".join([f"**{heading}**", *lines, *([f"\n{note}"] if note else [])]))
    return "\n\n".join(parts) + f"\n\n(profile `{profile}`; every bits-per-parameter figure under the paper's count)"


def verdicts_table(sections: Iterable[tuple]):
    """A page's verdicts as one table, for the book's summary on its first page (each chapter glues
    it as ``verdicts``): one row per claim of each ``Section`` (or (title, judgements) pair), in
    order (its target: the paper's figure, or for result 2's "≈ bioS" claims our bioS estimate),
    and for a section whose judgements are None (the page holds them back) one row saying
    ``WAITING`` with its note, what it waits for, in the claim column, or ``NOTHING_TO_JUDGE`` with
    its note for one whose list is empty, or the section's own ``verdict`` where it says one
    (``COMMITTED_STANDS`` for an addendum that changed nothing). The void-ratio addendum's rows follow the sections they
    concern (``with_addenda``)."""
    import pandas as pd

    rows = []
    for section, judgements, note, said in with_addenda(sections):
        if not judgements:  # held back, nothing to judge, nothing changed or not judged: its note says why
            if judgements is None:
                note, verdict = note or HELD_BACK, WAITING
            else:
                verdict = said or NOTHING_TO_JUDGE
            rows.append({"section": section, "claim": note.replace("*", "").strip(), "target": "", OURS: "",
                         NON_EMBEDDING: "", "verdict": verdict})
            continue
        rows += [{"section": section, "claim": j.claim, "target": j.target, OURS: j.ours,
                  NON_EMBEDDING: "" if j.non_embedding is None else f"{j.non_embedding:.3f}", "verdict": j.verdict}
                 for j in judgements]
    return pd.DataFrame(rows, columns=["section", "claim", "target", OURS, NON_EMBEDDING, "verdict"]).fillna("")


def titled(prefix: str, sections: Iterable[tuple]) -> list[Section]:
    """``sections`` under a protocol's name ("Protocol v3: committed"), for a page that shows the
    verdicts of several versions of its protocol."""
    return [Section(f"{prefix}: {s[0]}", *s[1:]) for s in _sections(sections)]


def verdicts_styled(sections: Iterable[tuple]):
    """``verdicts_table`` as a chapter glues it for the first page: every claim in full (a frame's
    HTML would cut long ones), no row numbers, the book's table style."""
    return _styled(verdicts_table(sections), "dataframe")


def _styled(frame, css_class: str):
    """A verdict table as a page shows it: no row numbers, a figure's interval never split across
    lines (``unbroken_intervals``; a figure may break before its bracket, so the table fits the
    text column). Its HTML ids come from its content, not a random uuid, so the same verdicts give
    the same HTML (the notebooks' committed verdict outputs are compared by nbval)."""
    uuid = hashlib.sha1(f"{css_class}\n{frame.to_json()}".encode()).hexdigest()[:12]
    return (frame.style.set_uuid(uuid).hide(axis="index").set_table_attributes(f'class="{css_class}"')
            .format(unbroken_intervals, subset=["target", OURS])
            .set_properties(subset=[NON_EMBEDDING], **{"white-space": "nowrap"}))


def unbroken_intervals(text) -> str:
    """``text`` with each interval's two ends held on one line: "0.8 [0.7, 0.9]" may break before
    its bracket, never inside it."""
    return str(text).replace(", ", ",\u00a0")


SMOKE_VERDICT = "smoke run: no verdict"


def headline_styled(sections: Iterable[tuple], profile: str = "cpu", count: int = 1):
    """A chapter's compact table, its part of the first page's table of claims (``kcl.book.claims``):
    the claims of its first section (the deciding protocol, as committed) with target, our figure
    and verdict; its later sections and addenda stay on the chapter's page and the protocol page,
    except the void-ratio addendum's row beside a ratio it leaves unjudged (``with_addenda``).
    ``count`` > 1 keeps that many sections, each claim led by its section's name before the colon
    (a deciding protocol still training, "Protocol v4", beside the last one judged). The smoke
    profile's table gives no verdict."""
    return _styled(headline_frame(sections, profile, count), "dataframe kcl-verdicts")


def headline_frame(sections: Iterable[tuple], profile: str = "cpu", count: int = 1):
    """The rows of ``headline_styled`` as a frame (claim, target, ours, per non-embedding
    parameter, verdict): what the first page's table of claims shows of a chapter."""
    frame = verdicts_table(list(sections)[:count])
    if count > 1:
        frame["claim"] = frame["section"].str.split(":").str[0] + ": " + frame["claim"]
    frame = frame.drop(columns=["section"])
    if profile == "smoke":
        frame["verdict"] = SMOKE_VERDICT
    return frame


def outcome_summary(sections: Iterable[tuple], profile: str = "cpu") -> str:
    """The first section's verdicts in a few words ("3 claims: 2 reproduced, 1 not reproduced"),
    with how many of them the void-ratio addendum leaves unjudged, or that the chapter holds them
    back; none in the smoke profile."""
    if profile == "smoke":
        return SMOKE_VERDICT
    first = _sections(sections)[:1]
    judgements = first[0].judgements if first else None
    if not judgements:
        return "no verdict yet"
    outcomes = [j.outcome for j in judgements]
    counts = [(outcomes.count(o), o) for o in ("reproduced", "partly reproduced", "not reproduced", "inconclusive")]
    parts = [f"{n} {word}" for n, word in counts if n]
    claims = "claim" if len(outcomes) == 1 else "claims"
    head = f"{len(outcomes)} {claims}: " if len(outcomes) > 1 else ""
    void = sum(map(ratio_of_nothing, judgements))
    return head + ", ".join(parts) + (f" ({void} not judged by {addenda.VOID_RATIOS})" if void else "")


def versions_verdicts(by_version: list[tuple[str, list]], profile: str = "cpu") -> tuple[list[Section], list[Section], str]:
    """A chapter whose protocol has versions (``chapter_list.VERSIONS``), from ``(label, sections)``
    pairs with the deciding version first: every section under its version's name; the sections of
    the first page's compact table (the deciding version's first; while it holds its verdict back,
    also the first of the newest version that gives one: ``headline_styled(..., count=2)``); and the
    summary in a few words."""
    titled_sections = [titled(f"Protocol {label}", sections) for label, sections in by_version]
    flat = [section for sections in titled_sections for section in sections]
    deciding = titled_sections[0][:1]
    judged = next(((label, sections[0]) for (label, _), sections in zip(by_version[1:], titled_sections[1:])
                   if sections and sections[0].judgements), None)
    if profile == "smoke" or not deciding or deciding[0].judgements or judged is None:
        return flat, deciding, outcome_summary(deciding, profile)
    label, first = judged
    return (flat, deciding + [first],
            f"no verdict yet from protocol {by_version[0][0]}; protocol {label}: {outcome_summary([first], profile)}")


#: Threads of a record made before the training summary kept them: every core of the 2-core
#: machines the records were made on (``kcl.train.train`` took all cores then).
THREADS_BEFORE_RECORDED = 2


def cpu_hours(records: Iterable[Record]) -> float:
    """Core-hours of training of ``records`` (the compute a chapter reports): each run's wall time
    times the threads it trained on (two runs at once on one thread each cost one core each), times
    its processes (a data parallel run, ``kcl.parallel``)."""
    return sum(r.result.train.wall_seconds * (r.result.train.threads or THREADS_BEFORE_RECORDED)
               * r.result.train.processes for r in records) / 3600


def compute_sentence(records: Iterable[Record]) -> str:
    """A page's line on what its figures cost: the distinct runs it reads and their core-hours."""
    values = compute_values(records)
    return (f"*The figures on this page come from {values['n_runs']} runs, which trained for "
            f"{values['cpu_hours']} core-hours.*")


def compute_values(records: Iterable[Record], pilot: Iterable[Record] = ()) -> dict[str, str]:
    """What a page says its figures cost (myst-nb glue names ``n_runs``, ``n_pilot``, ``cpu_hours``): its runs
    and their core-hours (``cpu_hours``). ``records`` come from one store, where parts may share a
    record (a seed rerun at seed 0's rate is also one of its seed × rate reruns): each counted once.
    A ``pilot`` lives in a store of its own and was trained apart, even where a main run repeats
    its config: counted in full."""
    pilot = list(pilot)
    records = list({r.key: r for r in records}.values()) + pilot
    return {"n_runs": f"{len(records)}", "n_pilot": f"{len(pilot)}", "cpu_hours": f"{cpu_hours(records):.1f}"}
