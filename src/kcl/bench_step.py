"""Where a training step's time goes, and what else was tried to make it shorter (``kcl bench``'s
"profile" and "variants" sections; the book's Performance page shows both).

* ``profile_step``: self CPU time of the profiled operators by family (matmul, attention, optimizer,
  loss and output, embedding, the rest), as a share of a step's wall time; what no operator
  accounts for is Python and dispatch. Run for kcl's step and for transformers' classes.
* ``bench_variants``: bf16 autocast on the CPU and ``torch.compile``, each against kcl's eager fp32
  step on the same case (compile time reported apart).
* ``bench_subnormals``: training steps of stored trained models with subnormal floats kept and
  taken as zero (``kcl.train.subnormals_flushed``).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import torch
from torch import nn

from kcl.bench import MODELS, SHAPES, BenchModel, _HFLogits, time_training, torch_threads
from kcl.config import config_from_dict
from kcl.paths import repo_root
from kcl.record import records_under
from kcl.records import model_label
from kcl.run import load_weights, weights_file
from kcl.train import TrainConfig, iter_batches, make_optimizer, subnormals_flushed, train_step


def bench_variants(seconds: float = 3.0, cases=None, compile_: bool = True, threads: int = 1,
                   log=print) -> list[dict]:
    """What else was tried, measured against kcl's eager fp32 step on the same case and with
    ``threads`` torch threads (1: what each run of a 2-worker sweep gets): bf16 autocast on the
    CPU, and ``torch.compile`` (its compile time is reported apart, not in the rate)."""
    cases = cases or VARIANT_CASES
    with torch_threads(threads):
        return _variants(seconds, cases, compile_, threads, log)


def _variants(seconds, cases, compile_, threads, log) -> list[dict]:
    rows = []
    for spec, (label, batch, seq) in cases:
        base = time_training(spec.build(), spec.vocab, batch, seq, seconds)["tokens_per_second"]
        variants = [("bf16 autocast", lambda: time_training(spec.build(), spec.vocab, batch, seq, seconds,
                                                             amp_dtype=torch.bfloat16))]
        if compile_:
            variants.append(("torch.compile", lambda: _time_compiled(spec, batch, seq, seconds)))
        for name, fn in variants:
            try:
                out = fn()
            except Exception as err:  # noqa: BLE001 -- a variant that cannot run here is a result too
                log(f"  {spec.name:16s} {label:22s} {name:14s} failed: {type(err).__name__}: {err}")
                rows.append({"model": spec.name, "shape": label, "variant": name, "error": f"{type(err).__name__}"})
                continue
            row = {"model": spec.name, "shape": label, "variant": name, "threads": threads,
                   "eager_fp32_tokens_per_s": round(base),
                   "variant_tokens_per_s": round(out["tokens_per_second"]),
                   "speedup": round(out["tokens_per_second"] / base, 2)}
            if "compile_seconds" in out:
                row["compile_seconds"] = round(out["compile_seconds"], 1)
            log(f"  {spec.name:16s} {label:22s} {name:14s} {row['variant_tokens_per_s']:>9,} tok/s "
                f"against eager fp32 {row['eager_fp32_tokens_per_s']:>9,}: {row['speedup']:.2f}×"
                + (f" (compile {row['compile_seconds']} s)" if "compile_seconds" in row else ""))
            rows.append(row)
    return rows


def _time_compiled(spec, batch: int, seq: int, seconds: float) -> dict:
    model = spec.build()
    compiled = torch.compile(model)
    t0 = time.perf_counter()
    cfg = TrainConfig(lr=1e-3)
    opt = make_optimizer(model, cfg)
    seqs = torch.randint(2, spec.vocab, (batch, seq + 1), generator=torch.Generator().manual_seed(0))
    train_step(compiled, opt, seqs, pad=1, lr=1e-3, cfg=cfg)  # compiles forward and backward
    compile_seconds = time.perf_counter() - t0
    return {**time_training(compiled, spec.vocab, batch, seq, seconds), "compile_seconds": compile_seconds}


#: Operator families of a training step, by the aten names the profiler reports (first match wins).
OP_FAMILIES = (
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm")),
    ("attention", ("scaled_dot_product", "flash_attention", "_efficient_attention", "aten::softmax",
                   "aten::_softmax")),
    ("optimizer", ("adam", "Optimizer.step", "aten::_foreach", "clip_grad", "aten::norm", "aten::linalg_vector_norm")),
    ("loss and output", ("cross_entropy", "nll_loss", "log_softmax")),
    ("embedding", ("aten::embedding",)),
)


def _family(name: str) -> str:
    low = name.lower()
    for family, needles in OP_FAMILIES:
        if any(n.lower() in low for n in needles):
            return family
    return "elementwise and other"


def profile_step(model: nn.Module, vocab: int, batch: int, seq: int, steps: int = 10) -> dict:
    """Where a training step's time goes: self CPU time of the profiled operators by family, as a
    share of the step's wall time (the rest, "python and dispatch", is time outside any operator)."""
    from torch.profiler import ProfilerActivity, profile

    cfg = TrainConfig(lr=1e-3)
    opt = make_optimizer(model, cfg)
    seqs = torch.randint(2, vocab, (batch, seq + 1), generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(3):
        train_step(model, opt, seqs, pad=1, lr=1e-3, cfg=cfg)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            train_step(model, opt, seqs, pad=1, lr=1e-3, cfg=cfg)
        wall = time.perf_counter() - t0
    shares: dict[str, float] = {}
    ops = 0
    for event in prof.key_averages():
        if event.key.startswith("aten::") or "adam" in event.key.lower():
            shares[_family(event.key)] = shares.get(_family(event.key), 0.0) + event.self_cpu_time_total / 1e6
            ops += event.count if event.key.startswith("aten::") else 0
    out = {family: round(seconds / wall, 3) for family, seconds in shares.items()}
    out["python and dispatch"] = round(max(0.0, 1 - sum(shares.values()) / wall), 3)
    return {"ms_per_step": round(1000 * wall / steps, 2), "aten_ops_per_step": round(ops / steps), "shares": out}


#: (model, shape) pairs the profile covers: the chapters' workhorse and the d = 128 model.
PROFILE_CASES = ((MODELS[0], SHAPES[0]), (MODELS[4], SHAPES[1]))
#: The variants' cases: the profile's, and result 2's long runs (d = 32, bioS's word-level vocabulary
#: of 1,850 tokens, batch 48 × 512), the runs a faster step would shorten most.
VARIANT_CASES = PROFILE_CASES + ((BenchModel("d32 bioS (result 2)", "gpt2", 2, 2, 32, 1850),
                                  ("bioS window 48×512", 48, 512)),)


def bench_profile(cases=PROFILE_CASES, threads: int = 1, hf: bool = True, log=print) -> list[dict]:
    """``profile_step`` for kcl and for transformers' classes on the same cases, with ``threads``
    torch threads (1: what each of a 2-worker sweep's runs gets)."""
    from kcl.models import to_hf

    rows = []
    with torch_threads(threads):
        for spec, (label, batch, seq) in cases:
            impls = [("kcl", spec.build())] + ([("transformers", _HFLogits(to_hf(spec.build())))] if hf else [])
            for impl, model in impls:
                prof = profile_step(model, spec.vocab, batch, seq)
                rows.append({"model": spec.name, "arch": spec.arch, "shape": label, "impl": impl, "threads": threads,
                             **prof})
                top = ", ".join(f"{k} {v:.0%}" for k, v in sorted(prof["shares"].items(), key=lambda kv: -kv[1]))
                log(f"  {spec.name:16s} {label:22s} {impl:12s} {prof['ms_per_step']:7.2f} ms/step, "
                    f"{prof['aten_ops_per_step']} ops: {top}")
    return rows


#: stores whose trained models ``bench_subnormals`` steps: bioS v4 (long windows, where training
#: met subnormals) and result 5's bioD (one short biography a sequence)
SUBNORMAL_STORES = ("results/result2-v4", "results/result5")


def bench_subnormals(stores=SUBNORMAL_STORES, steps: int = 20, threads: int = 1, root: str | Path | None = None,
                     log=print) -> list[dict]:
    """Training steps of each store's first stored model that has its weights (by key), from a
    fresh optimizer at the run's last rate, on the run's own batches (after one untimed step), with
    subnormal floats kept and taken as zero, alternately (kept, zero, kept, zero: a busy machine's
    drift falls on both); ms per step of each and their ratio. A store without such a model is left
    out."""
    rows = []
    with torch_threads(threads):
        for store in stores:
            folder = repo_root(root) / store
            found = [r for r in records_under(folder) if weights_file(config_from_dict(r.config), folder).exists()]
            if not found:
                continue
            record = min(found, key=lambda r: r.key)
            config = config_from_dict(record.config)
            dataset, model = load_weights(config, folder)
            model.train()
            opt = make_optimizer(model, config.train)
            batches = [torch.from_numpy(b) for b, _ in itertools.islice(iter_batches(dataset, config.train), steps)]
            lr = config.train.lr * config.train.min_lr_ratio
            train_step(model, opt, batches[0], dataset.vocab.pad_id, lr, config.train)  # first-call costs, untimed
            times: dict[bool, list[float]] = {False: [], True: []}
            for flush in (False, True, False, True):
                with subnormals_flushed(flush):
                    t0 = time.perf_counter()
                    for seqs in batches:
                        train_step(model, opt, seqs, dataset.vocab.pad_id, lr, config.train)
                    times[flush].append((time.perf_counter() - t0) / len(batches))
            kept, zero = (1000 * sum(times[f]) / len(times[f]) for f in (False, True))
            rows.append({"store": store, "record": record.key, "data": record.data["name"],
                         "model": model_label(record.model), "batch": f"{batches[0].shape[0]}×{batches[0].shape[1] - 1}",
                         "threads": threads, "ms_per_step_kept": round(kept, 1), "ms_per_step_zero": round(zero, 1),
                         "speedup": round(kept / zero, 2)})
            log(f"  {store:22s} {rows[-1]['model']:30s} kept {kept:7.1f} ms/step, as zero {zero:7.1f}: "
                f"{kept / zero:.2f}x")
    return rows
