"""What a run costs on this machine, before it runs: a two-term model fitted to the stored records.

A training run's wall time is about ``6·P·tokens / F + steps · s``: the arithmetic (P counts
every vocabulary row, as the optimizer updates them all) at an effective rate F, plus a fixed cost
s per optimizer step (operator launches, the optimizer itself, data). On the chapters' tiny models
the second term is often the larger, which a FLOP count alone misses by 2–4×. Both terms are
fitted by least squares to the records already in ``results/`` that were trained on the same
number of threads, so the estimate follows this machine type; with too few such records the
defaults below are used and the estimate says so.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_FLOPS_PER_SECOND = 25e9  # about 13% of the fp32 matmul peak of a 2-core machine
MIN_RECORDS = 5  # fewer records at a thread count than this: the defaults


@dataclass(frozen=True)
class CostModel:
    """Seconds of one run = flops / flops_per_second + steps · seconds_per_step, on ``threads``."""

    flops_per_second: float = DEFAULT_FLOPS_PER_SECOND
    seconds_per_step: float = 0.0
    threads: int | None = None
    n_records: int = 0  # records it was fitted to (0: the defaults)

    def seconds(self, flops: float, steps: int) -> float:
        return flops / self.flops_per_second + steps * self.seconds_per_step

    @property
    def basis(self) -> str:
        if not self.n_records:
            return f"default rate {self.flops_per_second / 1e9:.0f} GFLOP/s"
        return (f"fitted to {self.n_records} records on {self.threads} thread(s): "
                f"{self.flops_per_second / 1e9:.1f} GFLOP/s + {self.seconds_per_step * 1e3:.2f} ms per step")


def run_flops(record: dict) -> float:
    """6·P·tokens of a finished run, P over every vocabulary row (what the optimizer updates)."""
    r = record["result"]
    return 6.0 * r["params"]["trainable_all_rows"] * r["train"]["tokens"]


def fit_cost_model(records: list[dict], threads: int) -> CostModel:
    """Least squares of wall seconds on (flops, steps) over the records trained on ``threads``
    threads (records from before threads were recorded count as 2, the machine's cores then)."""
    rows = [(run_flops(r), r["result"]["train"]["steps"], r["result"]["train"]["wall_seconds"])
            for r in _trained_on(records, threads)]
    if len(rows) < MIN_RECORDS:
        return CostModel(threads=threads)
    design = np.array([[flops, steps] for flops, steps, _ in rows])
    wall = np.array([w for *_, w in rows])
    (per_flop, per_step), *_ = np.linalg.lstsq(design, wall, rcond=None)
    if per_flop <= 0 or per_step < 0:  # degenerate records (e.g. all the same size): keep it simple
        per_flop = float(wall.sum() / design[:, 0].sum())
        per_step = 0.0
    return CostModel(flops_per_second=1.0 / per_flop, seconds_per_step=float(per_step), threads=threads,
                     n_records=len(rows))


@functools.lru_cache(maxsize=8)
def machine_cost_model(threads: int, results_dir: str | None = None) -> CostModel:
    """The cost model fitted to every record under ``results_dir`` (default: the checkout's
    ``results/``; none found: the defaults)."""
    if results_dir is None:
        from kcl.chapters import repo_root

        try:
            results_dir = str(repo_root() / "results")
        except FileNotFoundError:
            return CostModel(threads=threads)
    records = []
    for path in sorted(Path(results_dir).rglob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return fit_cost_model(records, threads)


def _trained(record: dict) -> bool:
    train = record.get("result", {}).get("train") if isinstance(record, dict) else None
    return (isinstance(train, dict) and {"steps", "tokens", "wall_seconds"} <= train.keys()
            and "trainable_all_rows" in record["result"].get("params", {}))


def _trained_on(records: list[dict], threads: int) -> list[dict]:
    """The training records made on ``threads`` threads (before threads were recorded: 2)."""
    return [r for r in records if _trained(r) and r["result"]["train"].get("threads", 2) == threads]


def fit_report(records: list[dict]) -> list[dict]:
    """Per thread count: the fitted model and how far the records' wall times fall from it (actual
    over estimated: 5th, 50th, 95th percentile, in sample), beside the FLOP-only default."""
    rows = []
    by_threads = sorted({r["result"]["train"].get("threads", 2) for r in records if _trained(r)})
    for threads in by_threads:
        model = fit_cost_model(records, threads)
        mine = _trained_on(records, threads)
        row = {"threads": threads, "records": len(mine), "GFLOP/s": round(float(model.flops_per_second) / 1e9, 1),
               "ms per step": round(model.seconds_per_step * 1e3, 2)}
        for name, m in (("fitted", model), ("FLOPs only", CostModel())):
            ratios = [r["result"]["train"]["wall_seconds"] / m.seconds(run_flops(r), r["result"]["train"]["steps"])
                      for r in mine]
            low, mid, high = np.percentile(ratios, [5, 50, 95])
            row[f"actual / {name}"] = f"{mid:.2f} ({low:.2f}–{high:.2f})"
        rows.append(row)
    return rows
