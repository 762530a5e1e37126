"""Throughput benchmark: how close kcl's training comes to what the machine can do.

``kcl bench`` measures, in one run and on one machine:

* the fp32 matmul peak (GFLOP/s, best of several square products), the yardstick for utilization;
* training tokens/s and model FLOP utilization (MFU) of kcl's own training step, for the
  reference models (d = 32, 64, 128; GPT2 with rotary and LLaMA) at the batch shapes the chapters
  use and at larger ones;
* the same architecture, weights, batch and optimizer step run through transformers' classes
  (GPT-NeoX for rotary GPT2, Llama), giving a speed ratio;
* the measurement pass (bits from loss) for N = 1K and 10K people;
* the data pipeline alone (rendering, packing, padding), which must never be the bottleneck, in
  the training process and with rounds rendered ahead in worker processes (``bench_prefetch``);
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

import torch
from torch import nn

from kcl.capacity import measure_losses
from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model
from kcl.train import TrainConfig, iter_batches, make_optimizer, train_step


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


def bench_prefetch(workers=(0, 1, 2), people: int = 20_000, rounds: int = 8, log=print) -> list[dict]:
    """Tokens/s of the training batches of bioS (the gpu profile's N = 20K, windows of 512, batch
    48) with the rounds rendered in the training process (0 workers) or ahead in 1, 2, ... worker
    processes (``kcl.train.rounds``), from the first batch to the end of ``rounds`` rounds; the
    seconds to the first batch (the workers' start and the first round) apart."""
    ds = make_dataset(DataConfig(name="bioS", n_people=people))
    cfg = TrainConfig(packing="concat", window=512, batch_size=48, exposures=rounds)
    rows = []
    for n in workers:
        t0 = time.perf_counter()
        first, tokens = None, 0
        for batch, _ in iter_batches(ds, cfg, prefetch=n):
            if first is None:
                first = time.perf_counter()
                continue
            tokens += int((batch[:, 1:] != ds.vocab.pad_id).sum())
        rate = tokens / (time.perf_counter() - first)
        rows.append({"data": f"bioS N={people:,} concat 512", "workers": n, "rounds": rounds,
                     "first_batch_seconds": round(first - t0, 2), "tokens_per_s": round(rate)})
        log(f"  rendering {'in the training process' if n == 0 else f'ahead in {n} worker(s)':28s}: "
            f"{rate:>12,.0f} tokens/s (first batch after {first - t0:.1f} s)")
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
