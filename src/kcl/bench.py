"""Throughput benchmark: how close kcl's training comes to what the machine can do.

``kcl bench`` measures, in one run and on one machine:

* the fp32 matmul peak (GFLOP/s, best of several square products), the yardstick for utilization;
* training tokens/s and model FLOP utilization (MFU) of kcl's own training step, for the
  reference models (d = 32, 64, 128; GPT2 with rotary and LLaMA) at the batch shapes the chapters
  use and at larger ones;
* the same architecture, weights, batch and optimizer step run through transformers' classes
  (GPT-NeoX for rotary GPT2, Llama), giving a speed ratio;
* the measurement pass (bits from loss) for N = 1K and 10K people;
* the data pipeline alone (rendering, packing, padding), which must never be the bottleneck;
* where a step's time goes and what else was tried (bf16, torch.compile): ``kcl.bench_step``.

FLOPs per trained token follow the usual count: 6 × (matmul parameters, the output head
included even when tied) + 12 × layers × context × width for attention (PaLM, App. B).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from kcl.models import ModelConfig, build_model
from kcl.parallel import bench_ranks
from kcl.train import TrainConfig, make_optimizer, train_step


def matmul_peak(n: int = 1024, repeats: int = 20) -> float:
    """Best fp32 GFLOP/s of an n×n by n×n product (the machine's practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def flops_per_token(model: nn.Module, context: int) -> float:
    """Training FLOPs per token: 6·(matmul parameters incl. the output head) + 12·ℓ·context·d."""
    cfg = model.config
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("tok_emb"))
    matmul += cfg.vocab_size * cfg.d_model if cfg.tie_embeddings else 0  # the tied head is a matmul too
    return 6 * matmul + 12 * cfg.n_layer * context * cfg.d_model


class _HFLogits(nn.Module):
    """A transformers causal LM seen as ``idx -> logits``, so the same training step drives it."""

    def __init__(self, hf_model):
        super().__init__()
        self.hf = hf_model

    def forward(self, idx):
        return self.hf(input_ids=idx, use_cache=False).logits


def time_training(model: nn.Module, vocab: int, batch: int, seq: int, seconds: float = 3.0,
                  warmup_steps: int = 3, amp_dtype: torch.dtype | None = None) -> dict:
    """Tokens/s of kcl's training step on random tokens (no padding), timed for ``seconds``;
    ``amp_dtype`` runs the forward pass under CPU autocast."""
    cfg = TrainConfig(lr=1e-3)
    opt = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(0)
    seqs = torch.randint(2, vocab, (batch, seq + 1), generator=gen)
    model.train()
    for _ in range(warmup_steps):
        train_step(model, opt, seqs, pad=1, lr=1e-3, cfg=cfg, amp_dtype=amp_dtype)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or steps < 3:
        train_step(model, opt, seqs, pad=1, lr=1e-3, cfg=cfg, amp_dtype=amp_dtype)
        steps += 1
    elapsed = time.perf_counter() - t0
    return {"steps_per_second": steps / elapsed, "tokens_per_second": steps * batch * seq / elapsed}


@dataclass(frozen=True)
class BenchModel:
    name: str
    arch: str
    n_layer: int
    n_head: int
    d_model: int
    vocab: int

    def build(self) -> nn.Module:
        torch.manual_seed(0)
        return build_model(ModelConfig(arch=self.arch, vocab_size=self.vocab, n_layer=self.n_layer,
                                       n_head=self.n_head, d_model=self.d_model))


#: The reference models: the engine issue's tiny config (d=32), a d=64 and a d=128 model.
MODELS = (
    BenchModel("d32 (reference)", "gpt2", 2, 2, 32, 371),
    BenchModel("d32 (reference)", "llama", 2, 2, 32, 371),
    BenchModel("d64", "gpt2", 4, 2, 64, 1200),
    BenchModel("d64", "llama", 4, 2, 64, 1200),
    BenchModel("d128", "gpt2", 4, 4, 128, 1200),
    BenchModel("d128", "llama", 4, 4, 128, 1200),
)
#: (label, batch, context): the chapters' shapes, then larger ones.
SHAPES = (("bioD per-bio 128×24", 128, 24), ("bioS window 16×512", 16, 512), ("64×512", 64, 512))


def bench_training(peak_gflops: float, seconds: float, models=MODELS, shapes=SHAPES, hf: bool = True,
                   log=print) -> list[dict]:
    from kcl.models import to_hf

    rows = []
    for spec in models:
        for label, batch, seq in shapes:
            model = spec.build()
            fpt = flops_per_token(model, seq)
            ours = time_training(model, spec.vocab, batch, seq, seconds)
            row = {"model": spec.name, "arch": spec.arch, "layers": spec.n_layer, "d": spec.d_model,
                   "params": sum(p.numel() for p in model.parameters()), "shape": label, "batch": batch,
                   "context": seq, "kcl_tokens_per_s": round(ours["tokens_per_second"]),
                   "kcl_mfu": round(fpt * ours["tokens_per_second"] / (peak_gflops * 1e9), 4)}
            if hf:
                theirs = time_training(_HFLogits(to_hf(spec.build())), spec.vocab, batch, seq, seconds)
                row["hf_tokens_per_s"] = round(theirs["tokens_per_second"])
                row["speedup_vs_hf"] = round(ours["tokens_per_second"] / theirs["tokens_per_second"], 2)
            log(f"  {spec.name:16s} {spec.arch:6s} {label:22s} kcl {row['kcl_tokens_per_s']:>9,} tok/s "
                f"MFU {row['kcl_mfu']:.1%}" + (f"  transformers {row['hf_tokens_per_s']:>9,} tok/s "
                                               f"ratio {row['speedup_vs_hf']:.2f}×" if hf else ""))
            rows.append(row)
    return rows


def bench_measurement(sizes=(1000, 10_000), log=print) -> list[dict]:
    """People measured per second (bits from loss), bioD reference data and d=32 model."""
    from kcl.capacity import measure_losses
    from kcl.data import DataConfig, make_dataset

    rows = []
    for n in sizes:
        ds = make_dataset(DataConfig(name="bioD", n_people=n, K=4, C=4, D=64, L=1, T=64, pools=(100, 100, 100)))
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=2, n_head=2, d_model=32))
        t = time.perf_counter()
        measure_losses(model, ds)
        dt = time.perf_counter() - t
        rows.append({"data": f"bioD N={n}", "seconds": round(dt, 3), "people_per_s": round(n / dt)})
        log(f"  measurement bioD N={n:>6,}: {dt:.2f} s ({n / dt:,.0f} people/s)")
    return rows


def bench_pipeline(seconds: float = 2.0, log=print) -> list[dict]:
    """Tokens/s of the data pipeline alone: render a round, pack or pad, batch."""
    from kcl.data import DataConfig, make_dataset
    from kcl.train import iter_batches

    cases = (("bioS concat 512", DataConfig(name="bioS", n_people=4000), TrainConfig(packing="concat", batch_size=16)),
             ("bioD per-bio", DataConfig(name="bioD", n_people=1000, K=4, C=4, D=64, L=1, T=64, pools=(100, 100, 100)),
              TrainConfig(packing="per_bio", batch_size=128)))
    rows = []
    for label, data, cfg in cases:
        ds = make_dataset(data)
        cfg = TrainConfig(**{**cfg.__dict__, "exposures": 10_000})
        tokens, t0 = 0, time.perf_counter()
        for batch, _ in iter_batches(ds, cfg):
            tokens += int((batch[:, 1:] != ds.vocab.pad_id).sum())
            if time.perf_counter() - t0 > seconds:
                break
        rate = tokens / (time.perf_counter() - t0)
        rows.append({"pipeline": label, "tokens_per_s": round(rate)})
        log(f"  pipeline {label:18s}: {rate:>12,.0f} tokens/s")
    return rows


def _one_thread_worker(args) -> float:
    """Tokens/s of one training process with one torch thread (a worker of ``bench_threads``)."""
    spec, batch, seq, seconds = args
    torch.set_num_threads(1)
    return time_training(spec.build(), spec.vocab, batch, seq, seconds)["tokens_per_second"]


def bench_threads(seconds: float = 3.0, models=MODELS[:1] + MODELS[2:3], shape=SHAPES[0], log=print) -> list[dict]:
    """Is one run on all cores faster than one run per core? For tiny models per-operator overhead,
    not arithmetic, sets the pace, so independent runs of a sweep (one thread each, in parallel)
    may get more done than one run at a time on every thread. Measures, per model: tokens/s of one
    run with all threads, of one run with one thread, and of ``cpu_count`` one-thread runs at once
    (their sum)."""
    import multiprocessing as mp

    label, batch, seq = shape
    cores = os.cpu_count() or 1
    rows = []
    for spec in models:
        threads = torch.get_num_threads()
        all_threads = time_training(spec.build(), spec.vocab, batch, seq, seconds)["tokens_per_second"]
        with torch_threads(1):
            one = time_training(spec.build(), spec.vocab, batch, seq, seconds)["tokens_per_second"]
        with mp.get_context("spawn").Pool(cores) as pool:
            parallel = sum(pool.map(_one_thread_worker, [(spec, batch, seq, seconds)] * cores))
        row = {"model": spec.name, "arch": spec.arch, "shape": label, "one_run_all_threads": round(all_threads),
               "one_run_one_thread": round(one), f"{cores}_runs_one_thread_each": round(parallel),
               "parallel_gain": round(parallel / all_threads, 2)}
        log(f"  {spec.name:16s} {label}: one run × {threads} threads {all_threads:,.0f} tok/s; one thread {one:,.0f}; "
            f"{cores} runs × 1 thread {parallel:,.0f} in all ({row['parallel_gain']:.2f}×)")
        rows.append(row)
    return rows


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads, then restore the previous number."""
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cuda": torch.cuda.is_available()}


SECTIONS = ("training", "threads", "ranks", "profile", "variants", "measurement", "pipeline")


def run_bench(seconds: float = 3.0, hf: bool = True, quick: bool = False, only: str | None = None,
              previous: dict | None = None, log=print) -> dict:
    """The whole benchmark; ``quick`` runs one model and shape (for tests). ``only`` reruns one
    section into ``previous`` (a record), keeping the others; each section keeps the time and the
    share of the machine's CPU that other processes used meanwhile (``other_cpu_share``), so a page
    can tell numbers taken on a busy machine."""
    import transformers

    from kcl.bench_step import PROFILE_CASES, bench_profile, bench_variants  # built on this module's models

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
        "measurement": ("measurement:", lambda: bench_measurement((1000,) if quick else (1000, 10_000), log=log)),
        "pipeline": ("data pipeline:", lambda: bench_pipeline(0.5 if quick else 2.0, log=log)),
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


def tables(record: dict) -> dict:
    """The benchmark record as pandas tables: training (kcl vs transformers), measurement, pipeline."""
    import pandas as pd

    training = pd.DataFrame(record["training"])
    keep = ["model", "arch", "params", "shape", "kcl_tokens_per_s", "kcl_mfu", "hf_tokens_per_s", "speedup_vs_hf"]
    training = training[[c for c in keep if c in training]].rename(columns={
        "kcl_tokens_per_s": "kcl tokens/s", "kcl_mfu": "kcl MFU", "hf_tokens_per_s": "transformers tokens/s",
        "speedup_vs_hf": "kcl / transformers",
        "params": "params (every row, as the FLOPs count them; not the paper's count)"})
    profile = pd.DataFrame([{"model": r["model"], "shape": r["shape"], "impl": r["impl"], "threads": r["threads"],
                             "ms/step": r["ms_per_step"], "aten ops/step": r["aten_ops_per_step"],
                             **r["shares"]} for r in record.get("profile", [])])
    if len(profile):  # families in the order of kcl's first case, largest first; missing ones are 0
        families = sorted(record["profile"][0]["shares"], key=lambda f: -record["profile"][0]["shares"][f])
        profile = profile[["model", "shape", "impl", "threads", "ms/step", "aten ops/step",
                           *families]].fillna(0.0)
    variants = pd.DataFrame(record.get("variants", [])).rename(columns={
        "eager_fp32_tokens_per_s": "eager fp32 tokens/s", "variant_tokens_per_s": "variant tokens/s",
        "compile_seconds": "compile s"})
    return {"training": training, "threads": pd.DataFrame(record.get("threads", [])),
            "ranks": pd.DataFrame(record.get("ranks", [])), "profile": profile,
            "variants": variants, "measurement": pd.DataFrame(record["measurement"]),
            "pipeline": pd.DataFrame(record["pipeline"]), "machine": pd.Series(record["machine"])}
