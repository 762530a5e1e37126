"""What a run costs on this machine, before it runs: a model fitted to the stored records.

A training run's wall time is about

    6·P·tokens / F  +  a · 6·n_layer·context·d·tokens  +  b · tokens·vocabulary  +  steps · s
                    +  c · tokens·vocabulary · tokens per step

the parameters' arithmetic (P counts every vocabulary row, as the optimizer updates them all) at
an effective rate F; the attention scores over each token's context (Kaplan et al.'s term, which
6·P leaves out); the output softmax's elements, memory-bound on a CPU; a fixed cost s per
optimizer step (operator launches, the optimizer, data); and the softmax's elements again, dearer
as a step's outputs outgrow the cache. The last term follows what the first four, alike per token
at every batch, cannot: the same bioS run trains at about 30K tokens/s per thread in batches of 4
and at 15–24K in batches of 24–48 (the steps diagnostic). On the chapters' tiny
models the per-step term is often the larger; bioS in long windows with a vocabulary of thousands
spends most of its time in attention and the softmax, which a count of 6·P alone misses. While the
bioS-like records share one shape their attention and softmax work are proportional, so the
records fix those prices' sum for that shape, not each (the split comes from the bioD records).
The terms are fitted by least squares to the records already in ``results/`` that were trained on
the same number of threads, so the estimate follows this machine type; a term whose fitted price
comes out negative is dropped, and with too few records the defaults below are used and the
estimate says so. A data parallel run (``kcl.parallel``) is priced as one rank's share: each
rank takes every step on its share of the tokens; its records are not fitted.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcl.params import computed_parameters
from kcl.paths import repo_root
from kcl.record import Record, records_under
from kcl.records import model_width

DEFAULT_FLOPS_PER_SECOND = 25e9  # about 13% of the fp32 matmul peak of a 2-core machine
MIN_RECORDS = 5  # fewer records at a thread count than this: the defaults
TERMS = ("flops", "attention", "logits", "steps", "spill")  # Work's fields, the fit's columns in this order
TWO_TERMS = ("flops", "steps")  # the model before the attention and softmax terms (kept for comparison)


@dataclass(frozen=True)
class Work:
    """What one run computes, in the units the cost model prices."""

    flops: float  # 6·P·tokens, P over every vocabulary row
    attention: float  # 6·n_layer·context·d·tokens: scores and their use, forward and backward
    logits: float  # tokens·vocabulary: the output softmax's elements
    steps: int
    spill: float = 0.0  # logits · tokens per step / 1000: softmax elements dearer as a step's outputs outgrow the cache

    @classmethod
    def of(cls, n_params: int, tokens: float, steps: int, n_layer: int, d_model: int, context: float,
           vocab: int, processes: int = 1) -> "Work":
        """With ``processes`` data parallel ranks (``kcl.parallel``): one rank's work, its share of
        every step's tokens (each rank takes every step, all at once)."""
        tokens = float(tokens) / processes
        return cls(flops=6.0 * n_params * tokens, attention=6.0 * n_layer * context * d_model * tokens,
                   logits=tokens * vocab, steps=steps, spill=tokens * vocab * tokens / max(steps, 1) / 1e3)

    def row(self, terms: tuple[str, ...] = TERMS) -> list[float]:
        return [float(getattr(self, t)) for t in terms]


@dataclass(frozen=True)
class CostModel:
    """Seconds of one run: ``flops / flops_per_second + attention · seconds_per_attention_flop +
    logits · seconds_per_logit + steps · seconds_per_step``, on ``threads``."""

    flops_per_second: float = DEFAULT_FLOPS_PER_SECOND
    seconds_per_step: float = 0.0
    seconds_per_attention_flop: float = 0.0
    seconds_per_logit: float = 0.0
    seconds_per_spill: float = 0.0
    threads: int | None = None
    n_records: int = 0  # records it was fitted to (0: the defaults)

    def seconds(self, work: Work) -> float:
        return (work.flops / self.flops_per_second + work.attention * self.seconds_per_attention_flop
                + work.logits * self.seconds_per_logit + work.steps * self.seconds_per_step
                + work.spill * self.seconds_per_spill)

    @property
    def basis(self) -> str:
        if not self.n_records:
            return f"default rate {self.flops_per_second / 1e9:.0f} GFLOP/s"
        extra = ""
        if self.seconds_per_attention_flop:
            extra += f" + attention at {1e-9 / self.seconds_per_attention_flop:.1f} GFLOP/s"
        if self.seconds_per_logit:
            extra += f" + {self.seconds_per_logit * 1e9:.1f} ns per softmax element"
        if self.seconds_per_spill:
            extra += f" + {self.seconds_per_spill * 1e12:.2f} ns per softmax element per 1000 tokens a step"
        return (f"fitted to {self.n_records} records on {self.threads} thread(s): "
                f"{self.flops_per_second / 1e9:.1f} GFLOP/s + {self.seconds_per_step * 1e3:.2f} ms per step{extra}")


def record_work(record: Record) -> Work:
    """The ``Work`` of a finished run, from its record (context: the tokens per sequence it trained
    on; vocabulary: the data's, else every embedding row the parameter count saw)."""
    r, model = record.result, record.model
    train, params = r.train, r.params
    d = model_width(model)
    context = train.tokens / max(1, train.steps * record.train["batch_size"])
    vocab = r.get("data", {}).get("vocab_size") or round((params.trainable_all_rows - params.non_embedding) / d)
    return Work.of(computed_parameters(params), train.tokens, train.steps, model["n_layer"], d, context, vocab,
                   train.processes)


def fit_cost_model(records: list[Record], threads: int, terms: tuple[str, ...] = TERMS) -> CostModel:
    """Least squares of wall seconds on the ``terms`` of each record's work, over the records
    trained on ``threads`` threads (records from before threads were recorded count as 2, the
    machine's cores then). No price may be negative: of the fits that keep flops and any subset of
    the other ``terms``, the one with all prices ≥ 0 and the least squared error (a non-negative
    least squares by enumeration, flops always kept)."""
    mine = _trained_on(records, threads)
    if len(mine) < MIN_RECORDS:
        return CostModel(threads=threads)
    work = np.array([record_work(r).row() for r in mine])
    wall = np.array([r.result.train.wall_seconds for r in mine])
    price = _nonnegative_fit(work, wall, [TERMS.index(t) for t in terms])
    if price.get("flops", 0) <= 0:  # degenerate records (e.g. all the same size): keep it simple
        return CostModel(flops_per_second=float(work[:, 0].sum() / wall.sum()), threads=threads,
                         n_records=len(mine))
    return CostModel(flops_per_second=1.0 / price["flops"], seconds_per_step=float(price.get("steps", 0.0)),
                     seconds_per_attention_flop=float(price.get("attention", 0.0)),
                     seconds_per_logit=float(price.get("logits", 0.0)),
                     seconds_per_spill=float(price.get("spill", 0.0)), threads=threads, n_records=len(mine))



def _nonnegative_fit(work: np.ndarray, wall: np.ndarray, columns: list[int]) -> dict[str, float]:
    """Term → price of the best least-squares fit of ``wall`` on ``columns`` (flops, column 0,
    always among them) and any subset of the others whose prices are all non-negative."""
    from itertools import combinations

    optional = [c for c in columns if c != 0]
    best: tuple[float, dict] | None = None
    for size in range(len(optional) + 1):
        for subset in combinations(optional, size):
            kept = [0, *subset]
            prices, *_ = np.linalg.lstsq(work[:, kept], wall, rcond=None)
            if (prices < 0).any() or prices[0] == 0:
                continue
            error = float(((work[:, kept] @ prices - wall) ** 2).sum())
            if best is None or error < best[0]:
                best = (error, {TERMS[c]: float(p) for c, p in zip(kept, prices)})
    return best[1] if best else {}


def _checkout_results() -> Path | None:
    """The checkout's ``results/`` (``kcl.paths.repo_root``); None outside a checkout."""
    try:
        return repo_root() / "results"
    except FileNotFoundError:
        return None


@functools.lru_cache(maxsize=8)
def machine_cost_model(threads: int, results_dir: str | None = None) -> CostModel:
    """The cost model fitted to every record under ``results_dir`` (default: the checkout's
    ``results/``; none found: the defaults)."""
    if results_dir is None:
        found = _checkout_results()
        if found is None:
            return CostModel(threads=threads)
        results_dir = str(found)
    return fit_cost_model(records_under(results_dir), threads)


def compiled_speedups(bench_file: str | Path | None = None) -> list[float]:
    """How much faster one run trained compiled than eagerly on 2 ranks, per case of the last
    ``kcl bench --only ranks`` (``results/bench/latest.json``); [] where none was measured. The cost
    model prices eager runs only, so a plan for compiled runs states this beside its estimate."""
    if bench_file is None:
        found = _checkout_results()
        if found is None:
            return []
        bench_file = found / "bench" / "latest.json"
    try:
        cases = json.loads(Path(bench_file).read_text()).get("ranks") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [case["compiled_speedup"] for case in cases if isinstance(case, dict) and case.get("compiled_speedup")]


def _trained(record: Record) -> bool:
    train = record.result.get("train")
    return (isinstance(train, dict) and {"steps", "tokens", "wall_seconds"} <= train.keys()
            and {"trainable_all_rows", "non_embedding"} <= record.result.get("params", {}).keys()
            and "model" in record.config)


def _trained_on(records: list[Record], threads: int) -> list[Record]:
    """The one-process, eager CPU training records made on ``threads`` threads (before threads were
    recorded: 2). Data parallel runs (``processes`` > 1) are left out: their time includes the
    ranks' exchanges and waits, which would be charged to every run's prices; so are compiled
    runs (``compiled``), whose prices are not eager ones, and runs on another device (a GPU's
    prices are not this machine's)."""
    return [r for r in records if _trained(r) and (r.result.train.threads or 2) == threads
            and r.result.train.processes == 1 and not r.result.train.compiled
            and str(r.result.train.get("device", "cpu")).startswith("cpu")]


def fit_report(records: list[Record]) -> list[dict]:
    """Per thread count: the fitted prices and how far the records' wall times fall from the
    estimate (actual over estimated: 5th, 50th, 95th percentile, in sample), beside the two-term
    model (flops and steps) and a FLOP count alone; and the same ratio on the bioS-like records
    (bioS, bioS-simple, the bioR proxy), whose attention and softmax the 6·P count misses."""
    rows = []
    by_threads = sorted({r.result.train.threads or 2 for r in records if _trained(r)})
    for threads in by_threads:
        model = fit_cost_model(records, threads)
        mine = _trained_on(records, threads)
        row = {"threads": threads, "records": len(mine), "GFLOP/s": round(float(model.flops_per_second) / 1e9, 1),
               "ms per step": round(model.seconds_per_step * 1e3, 2),
               "attention GFLOP/s": round(1e-9 / model.seconds_per_attention_flop, 1) if model.seconds_per_attention_flop else None,
               "ns per softmax element": round(model.seconds_per_logit * 1e9, 2) if model.seconds_per_logit else None,
               "ns per softmax element per 1000 tokens a step":
                   round(model.seconds_per_spill * 1e12, 3) if model.seconds_per_spill else None}
        fits = (("fitted", model), ("two-term", fit_cost_model(records, threads, TWO_TERMS)), ("FLOPs only", CostModel()))
        for name, m in fits:
            row[f"actual / {name}"] = _spread([_ratio(r, m) for r in mine])
        text = [r for r in mine if r.data["name"] != "bioD"]
        for name, m in fits[:2]:
            row[f"bioS-like: actual / {name}"] = _spread([_ratio(r, m) for r in text]) if text else ""
        rows.append(row)
    return rows


def holdout_report(stores: dict[str, list[Record]], threads: int) -> list[dict]:
    """A forecast check: each store (a sweep's folder) estimated by the model fitted to every
    other store, as ``kcl chapter --dry-run`` estimates a sweep before any of its runs exist.
    Per store with records on ``threads`` threads: its runs and actual / estimated wall time
    (median, and the lowest and highest run)."""
    rows = []
    for name, records in stores.items():
        mine = _trained_on(records, threads)
        if not mine:
            continue
        others = [r for other, rs in stores.items() if other != name for r in rs]
        model = fit_cost_model(others, threads)
        ratios = [_ratio(r, model) for r in mine]
        rows.append({"store": name, "runs": len(mine), "data": ", ".join(sorted({r.data["name"] for r in mine})),
                     "actual / estimate": round(float(np.median(ratios)), 2),
                     "range": f"{min(ratios):.2f}–{max(ratios):.2f}"})
    return rows


def _ratio(record: Record, model: CostModel) -> float:
    return record.result.train.wall_seconds / model.seconds(record_work(record))


def _spread(ratios: list[float]) -> str:
    low, mid, high = np.percentile(ratios, [5, 50, 95])
    return f"{mid:.2f} ({low:.2f}–{high:.2f}, {len(ratios)} runs)"
