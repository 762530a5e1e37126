"""``kcl bench``'s record: every section of the benchmark run, timed and stamped, into one JSON
(``results/bench/latest.json``; the book's Performance page reads it). The measurements are
``kcl.bench`` (training, threads, measurement, data pipeline, rendering ahead), ``kcl.bench_step``
(where a step's time goes, what else was tried, subnormal floats) and ``kcl.parallel`` (data-parallel ranks)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kcl.bench import (MODELS, SHAPES, bench_measurement, bench_pipeline, bench_prefetch, bench_threads,
                       bench_training, machine, matmul_peak)
from kcl.bench_step import PROFILE_CASES, bench_profile, bench_subnormals, bench_variants
from kcl.parallel import bench_ranks


SECTIONS = ("training", "threads", "ranks", "profile", "variants", "subnormals", "measurement", "pipeline", "prefetch")


def run_bench(seconds: float = 3.0, hf: bool = True, quick: bool = False, only: str | None = None,
              previous: dict | None = None, log=print) -> dict:
    """The whole benchmark; ``quick`` runs one model and shape (for tests). ``only`` reruns one
    section into ``previous`` (a record), keeping the others; each section keeps the time and the
    share of the machine's CPU that other processes used meanwhile (``other_cpu_share``), so a page
    can tell numbers taken on a busy machine."""
    import transformers  # the record names its version; loaded only when a benchmark runs

    if only is not None and only not in SECTIONS:
        raise ValueError(f"only must be one of {', '.join(SECTIONS)}, got {only!r}")
    if only is not None and previous is None:
        raise ValueError("only reruns a section of an existing record: pass previous")
    record = dict(previous or {})
    record["machine"] = {**machine(), "transformers": transformers.__version__}
    if only in (None, "training"):
        peak = max(matmul_peak(1024), matmul_peak(2048, repeats=5))
        log(f"fp32 matmul peak: {peak:.1f} GFLOP/s on {os.cpu_count()} cores")
        record["matmul_peak_gflops"] = round(peak, 1)
    models, shapes = (MODELS[:1], SHAPES[:1]) if quick else (MODELS, SHAPES)
    runs = {
        "training": ("training:", lambda: bench_training(record["matmul_peak_gflops"], seconds, models, shapes,
                                                           hf=hf, log=log)),
        "threads": ("threads (one run on every core, or one run per core):",
                    lambda: [] if quick else bench_threads(seconds, log=log)),
        "ranks": ("ranks (one run on every core, data parallel, or one run per core):",
                  lambda: [] if quick else bench_ranks(log=log)),
        "profile": ("profile (one thread; the share of a step's time by operator family):",
                    lambda: bench_profile(PROFILE_CASES[:1] if quick else PROFILE_CASES, hf=hf, log=log)),
        "variants": ("tried (against eager fp32, same case):",
                     lambda: bench_variants(seconds, cases=PROFILE_CASES[:1] if quick else None, compile_=not quick,
                                            log=log)),
        "subnormals": ("subnormal floats kept or taken as zero (stored trained models, one thread):",
                       lambda: bench_subnormals(steps=2 if quick else 20, log=log)),
        "measurement": ("measurement:", lambda: bench_measurement((1000,) if quick else (1000, 10_000), log=log)),
        "pipeline": ("data pipeline:", lambda: bench_pipeline(0.5 if quick else 2.0, log=log)),
        "prefetch": ("data pipeline, rounds rendered ahead (kcl.train.rounds):",
                     lambda: bench_prefetch((0, 1), people=1000, rounds=2, log=log) if quick else bench_prefetch(log=log)),
    }
    measured = record.setdefault("measured", {})
    for section in SECTIONS if only is None else (only,):
        title, fn = runs[section]
        log(title)
        before = _cpu_seconds()
        record[section] = fn()
        measured[section] = {"created": _now(), "other_cpu_share": _other_share(before, _cpu_seconds())}
    if only is None:
        record["created"] = _now()
    return record


def _cpu_seconds() -> tuple[float, float, float] | None:
    """(wall, CPU seconds of the whole machine, CPU seconds of this process and its children),
    from /proc/stat (Linux); None elsewhere."""
    import resource

    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                resource.getrusage(resource.RUSAGE_CHILDREN)))
    return time.monotonic(), busy, own


def _other_share(before, after) -> float | None:
    """The share of all cores that other processes kept busy between two ``_cpu_seconds``."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    other = (after[1] - before[1]) - (after[2] - before[2])
    return round(min(1.0, max(0.0, other / ((after[0] - before[0]) * (os.cpu_count() or 1)))), 3)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
