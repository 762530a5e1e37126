"""The device check behind ``tools/gpu_check.sh``: what a lent GPU must show before the gpu profile's
chapters run on one. The same code runs on the CPU (``--device cpu``), where ``--quick`` takes seconds.

* **Precision** (``precision_check``): the reference run (``sweeps/reference.yaml``) trained in the
  default precision (``auto``: TF32 on CUDA, fp32 on the CPU) and in bf16, both measured. bf16
  keeps the bits when its R differs from the default's by no more than the standard deviation of R
  over the reference configuration's committed seed reruns (``seed_spread``). Only this verdict,
  from a GPU, may turn ``kcl.train.AUTO_CUDA_PRECISION`` to bf16.
* **A gpu-profile run** (``profile_run``): result 1's gpu sweep's base config (bioS N = 20K,
  GPT2-4-4, windows of 512, batch 48) for a few exposures: tokens/s, model FLOP utilization against
  the device's peak (``peak_tflops``) and its bits; beside it the data side (``kcl.bench.bench_prefetch``):
  the tokens/s of the batches rendered in the training process and ahead in worker processes.

Each part writes one JSON into the output folder (``precision.json``, ``gpu_run.json``)::

    python -m kcl.gpu_check --device cuda --out results/bench/gpu
    python -m kcl.gpu_check --device cpu --quick --out build/gpu-check
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

from kcl.bench import bench_prefetch, flops_per_token, matmul_peak
from kcl.config import RunConfig, build, config_from_dict, load_sweep
from kcl.paths import repo_root
from kcl.record import Record
from kcl.run import run
from kcl.store import ResultStore, write_json_atomic
from kcl.train import pick_device

#: Dense tensor-core peaks in TFLOP/s by precision, from NVIDIA's data sheets, by a substring of the
#: device's name (first match wins); fp32 is the CUDA cores' rate. Other devices: a measured matmul.
PEAK_TFLOPS = (
    ("H100 PCIe", {"bf16": 756.0, "tf32": 378.0, "fp32": 51.0}),
    ("H100", {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0}),  # SXM
    ("H200", {"bf16": 989.0, "tf32": 495.0, "fp32": 67.0}),
)


# -- precision -----------------------------------------------------------------------------------
def reference_config(quick: bool = False, root: Path | None = None) -> RunConfig:
    """The reference run's config; ``quick``: the same data and model on 100 people for 2 exposures."""
    config = load_sweep(repo_root(root) / "sweeps" / "reference.yaml")[1][0]
    if not quick:
        return config
    return dataclasses.replace(config, data=dataclasses.replace(config.data, n_people=100),
                               train=dataclasses.replace(config.train, exposures=2), bootstrap=100)


def seed_spread(config: RunConfig, root: Path | None = None) -> dict:
    """R of every committed record of ``config``'s configuration at any seed (data and training
    seeds set apart), averaged per seed, and their standard deviation across seeds (None with
    fewer than two seeds)."""
    by_seed: dict[str, list[float]] = {}
    for folder in sorted((repo_root(root) / "results").iterdir()):
        if not folder.is_dir():
            continue
        for record in ResultStore(folder).records():
            seed = _seed_of(record, config)
            if seed is not None and record.result.get("R") is not None:
                by_seed.setdefault(seed, []).append(record.result.R)
    means = {seed: statistics.fmean(rs) for seed, rs in sorted(by_seed.items())}
    return {"R_by_seed": means, "records": sum(map(len, by_seed.values())),
            "sd": statistics.stdev(means.values()) if len(means) > 1 else None}


def _seed_of(record: Record, config: RunConfig) -> str | None:
    """``"data seed/training seed"`` of a record of ``config`` at some seeds, else None."""
    if record.config_class != "RunConfig":
        return None
    try:
        stored = config_from_dict(record.config)
    except (ValueError, TypeError):
        return None
    if _unseeded(stored) != _unseeded(config):
        return None
    return f"{stored.data.seed}/{stored.train.seed}"


def _unseeded(config: RunConfig) -> RunConfig:
    return dataclasses.replace(config, data=dataclasses.replace(config.data, seed=0),
                               train=dataclasses.replace(config.train, seed=0))


def precision_check(device: torch.device, quick: bool = False, log=print) -> dict:
    """The reference run in the default precision and in bf16 on ``device``, and the verdict:
    bf16 keeps the bits when ``|R(bf16) − R(default)|`` is at most the seed spread's standard
    deviation (no verdict off CUDA or in ``quick`` mode, whose config is not the reference's)."""
    config = reference_config(quick)
    runs = {}
    for name, asked in (("default", "auto"), ("bf16", "bf16")):
        trained = dataclasses.replace(config, train=dataclasses.replace(config.train, precision=asked))
        runs[name] = _run_summary(run(trained, device=str(device), progress=False))
        log(f"  reference, {name} ({runs[name]['precision']}): R = {runs[name]['R']:.4f}, "
            f"{runs[name]['wall_seconds']:.1f} s, {runs[name]['tokens_per_second']:,.0f} tokens/s")
    default, bf16 = runs["default"]["R"], runs["bf16"]["R"]
    spread = seed_spread(reference_config())
    gap = abs(bf16 - default)
    judged = device.type == "cuda" and not quick and spread["sd"] is not None
    out = {"device": device_name(device), "config": config.label(), "quick": quick, "runs": runs,
           "R_gap": gap, "reference_seeds": spread,
           "bf16_keeps_bits": gap <= spread["sd"] if judged else None,
           "default_within_seed_spread": _within(default, spread) if judged else None,
           "rule": "bf16 keeps the bits when |R(bf16) - R(default)| <= the standard deviation of R over the "
                   "reference configuration's committed seeds (judged on CUDA, full reference run only)"}
    sd = f"{spread['sd']:.4f}" if spread["sd"] is not None else "n/a"
    log(f"  |R(bf16) - R(default)| = {gap:.4f} against the seeds' sd {sd}: bf16 keeps the bits: "
        f"{out['bf16_keeps_bits']}")
    return out


def _within(r: float, spread: dict) -> bool:
    """Whether ``r`` lies within one standard deviation of the seeds' range."""
    values = spread["R_by_seed"].values()
    return min(values) - spread["sd"] <= r <= max(values) + spread["sd"]


def _run_summary(result: dict) -> dict:
    train = result["train"]
    return {"R": result["R"], "bits": result["bits"], "R_ci": result["R_ci"], **{
        k: train[k] for k in ("precision", "device", "steps", "tokens", "wall_seconds", "tokens_per_second")},
        **({"prefetch": train["prefetch"]} if "prefetch" in train else {})}


# -- a gpu-profile run ---------------------------------------------------------------------------
def profile_config(quick: bool = False, root: Path | None = None) -> RunConfig:
    """Result 1's gpu sweep's base config for 40 exposures (warmup 100 steps); ``quick``: 100
    people, one exposure, a one-layer model and windows of 128 (seconds on a CPU)."""
    spec = yaml.safe_load((repo_root(root) / "sweeps" / "gpu" / "result1.yaml").read_text())
    config = config_from_dict(spec["base"])
    train = dataclasses.replace(config.train, exposures=40, warmup_steps=100)
    if not quick:
        return dataclasses.replace(config, train=train)
    return dataclasses.replace(config, data=dataclasses.replace(config.data, n_people=100),
                               model=dataclasses.replace(config.model, n_layer=1, n_head=1),
                               train=dataclasses.replace(train, exposures=1, window=128, batch_size=8), bootstrap=100)


def peak_tflops(device: torch.device, precision: str) -> tuple[float, str]:
    """The device's peak TFLOP/s in ``precision`` and where the number comes from: the data sheet
    (``PEAK_TFLOPS``) for a known GPU, else a measured fp32 matmul (``kcl.bench.matmul_peak``)."""
    name = device_name(device)
    for part, peaks in PEAK_TFLOPS:
        if device.type == "cuda" and part in name:
            return peaks[precision], f"data sheet, {part} dense {precision}"
    if device.type == "cuda":
        return _measured_cuda_peak(device, precision), f"measured {precision} matmul on {name}"
    return matmul_peak() / 1000, "measured fp32 matmul on the CPU"


def _measured_cuda_peak(device: torch.device, precision: str, n: int = 8192, repeats: int = 10) -> float:
    """Best TFLOP/s of an n×n product on a GPU in ``precision``."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a @ b
    start.record()
    for _ in range(repeats):
        a @ b
    end.record()
    torch.cuda.synchronize(device)
    return 2 * n ** 3 * repeats / (start.elapsed_time(end) / 1000) / 1e12


def profile_run(device: torch.device, quick: bool = False, log=print) -> dict:
    """One short gpu-profile run on ``device``: its tokens/s, MFU and bits, and the data side's
    tokens/s with the rounds rendered in 0, 2 and 4 worker processes (``quick``: 0, on 1000 people)."""
    config = profile_config(quick)
    result = run(config, device=str(device), progress=False)
    train = result["train"]
    peak, source = peak_tflops(device, train["precision"])
    flops = flops_per_token(build(config)[1], config.train.window)
    mfu = flops * train["tokens_per_second"] / (peak * 1e12)
    log(f"  {config.label()} on {device_name(device)} in {train['precision']}: "
        f"{train['tokens_per_second']:,.0f} tokens/s, MFU {mfu:.2%} of {peak:g} TFLOP/s ({source}), "
        f"{result['bits']:,.0f} bits, R = {result['R']:.4f}")
    rendering = (bench_prefetch((0,), people=1000, rounds=3, log=log) if quick else
                 bench_prefetch((0, 2, 4), people=config.data.n_people, rounds=6, log=log))
    return {"device": device_name(device), "config": config.label(), "quick": quick, "run": _run_summary(result),
            "flops_per_token": flops, "peak_tflops": peak, "peak_source": source, "mfu": mfu,
            "measure_seconds": result["measure_seconds"], "rendering": rendering}


# -- the command ---------------------------------------------------------------------------------
def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


PARTS = {"precision": ("precision.json", precision_check), "run": ("gpu_run.json", profile_run)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcl.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (CUDA when present)")
    parser.add_argument("--quick", action="store_true", help="seconds-long configs (a check of the code path)")
    parser.add_argument("--out", required=True, help="folder for precision.json and gpu_run.json")
    parser.add_argument("--only", choices=sorted(PARTS), help="one part")
    args = parser.parse_args(argv)
    device = pick_device(args.device)[0]
    out = Path(args.out)
    for part in [args.only] if args.only else list(PARTS):
        file, check = PARTS[part]
        print(f"{part} ({device_name(device)}{', quick' if args.quick else ''}):", flush=True)
        t0 = time.monotonic()
        outcome = check(device, args.quick, log=lambda line: print(line, flush=True))
        outcome["seconds"] = round(time.monotonic() - t0, 1)
        write_json_atomic(out / file, {"torch": torch.__version__, **outcome})
        print(f"  wrote {out / file} ({outcome['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
