"""One run on several processes at once: data parallel training (torch's DistributedDataParallel).

Each of ``ranks`` processes builds the same model and data, takes its share of every batch's rows
and averages its gradients with the others' before each step (``kcl.train``, ``shard``): the run
is the one-process run's, batch for batch, up to float rounding. What changes is its wall time. On
a CPU the tiny models of this book cannot use a second core inside one process (``kcl bench``:
one run on two threads is barely faster than on one), so two one-thread runs at once were the only
way to use both; a run then takes twice as long as it would alone. With ``ranks=2`` one run uses
both cores and ends sooner (on the 2-core machines here 1.3–1.4× sooner than each of two runs side
by side, doing about two thirds of their work in all: ``kcl bench --only ranks``), which matters
when runs must finish before a session or a job's time limit ends. On a machine with several GPUs each rank takes one (NCCL).

Processes meet through a file in a temporary folder (no network port); rank 0 writes the trained
weights and the training summary there for the caller, which measures the model itself.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

import torch

from kcl.config import build, load_sweep
from kcl.models.config import MLP_KIND
from kcl.paths import repo_root
from kcl.sweep import _limit_threads, threads_per_worker
from kcl.train import train


def check_ranks(ranks, workers: int = 1, device: str = "auto") -> int:
    """``ranks`` as a positive integer, or ``ValueError`` naming the knob and its range: at most
    one rank per core (per GPU on ``device``'s GPUs); ranks and ``workers`` (runs at once) both
    share out the cores, so one of them must be 1."""
    if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 1:
        raise ValueError(f"ranks (processes per run) must be an integer >= 1, got {ranks!r}")
    if ranks > 1 and workers > 1:
        raise ValueError(f"workers ({workers}) and ranks ({ranks}) both share out the cores: set one of them to 1")
    if ranks > 1 and _uses_cuda(device):
        if device not in ("auto", "cuda"):
            raise ValueError(f"ranks > 1 takes one GPU per rank: pass device 'cuda' or 'auto', not {device!r}")
        if ranks > torch.cuda.device_count():
            raise ValueError(f"ranks must be at most the {torch.cuda.device_count()} GPUs here, got {ranks}")
    elif ranks > (os.cpu_count() or 1):
        raise ValueError(f"ranks must be at most the {os.cpu_count()} cores here, got {ranks}")
    return ranks


def _uses_cuda(device: str) -> bool:
    return str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def train_data_parallel(config, ranks: int, *, checkpoint: str | Path | None = None, checkpoint_every: float = 300.0,
                        device: str = "auto", progress: bool = True, stop_after_steps: int | None = None,
                        compiled: bool = False) -> tuple[dict, dict]:
    """Train ``config`` (a ``kcl.run.RunConfig``) on ``ranks`` processes; returns the training
    summary (``kcl.train.train``'s, with ``processes``) and the trained weights (a state dict).
    ``checkpoint``, ``checkpoint_every`` and ``stop_after_steps`` as in ``train``: rank 0 writes
    the checkpoint, in the one-process format, so a run may resume with either; ``compiled``: each
    rank steps through ``torch.compile`` (``kcl.train.train``)."""
    import torch.multiprocessing as mp

    check_ranks(ranks, device=device)
    if ranks > 1 and MLP_KIND.get(config.model.arch) == "moe":
        # a mixture of experts drops tokens over each rank's capacity and balances each rank's load:
        # not the one-process run, so it is refused rather than run approximately
        raise ValueError("ranks > 1 is for dense models: a mixture of experts routes each rank's share on its own")
    with tempfile.TemporaryDirectory(prefix="kcl-ranks-") as folder:
        meeting = Path(folder) / "meeting"
        mp.spawn(_rank_main, nprocs=ranks, join=True,
                 args=(ranks, config, str(meeting), folder, str(checkpoint) if checkpoint else None,
                       checkpoint_every, device, progress, stop_after_steps, compiled))
        result = Path(folder) / "rank0.pt"
        if not result.is_file():  # e.g. a rank interrupted (spawn takes that for a clean exit)
            raise RuntimeError(f"the data parallel run of {config.label()} ended without rank 0's result "
                               "(interrupted?); its checkpoint, if any, resumes it")
        out = torch.load(result, map_location="cpu", weights_only=False)
    return out["summary"], out["model"]


def _rank_main(rank: int, ranks: int, config, meeting: str, folder: str, checkpoint: str | None,
               checkpoint_every: float, device: str, progress: bool, stop_after_steps: int | None,
               compiled: bool = False) -> None:
    """One rank: join the group, train its share, and (rank 0) leave the results in ``folder``."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel


    cuda = _uses_cuda(device)
    if cuda:
        torch.cuda.set_device(rank)
    _limit_threads(threads_per_worker(ranks))  # the cores shared out evenly, as for a sweep's workers
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{meeting}", rank=rank,
                            world_size=ranks, timeout=datetime.timedelta(minutes=10))
    dataset, model = build(config)
    model.to(torch.device("cuda", rank) if cuda else torch.device("cpu"))
    summary = train(DistributedDataParallel(model), dataset, config.train, checkpoint=checkpoint,
                    checkpoint_every=checkpoint_every, device="cuda" if cuda else "cpu", progress=progress,
                    stop_after_steps=stop_after_steps, shard=(rank, ranks), compiled=compiled)
    if rank == 0:
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        tmp = Path(folder) / "rank0.pt.tmp"
        torch.save({"summary": summary, "model": state}, tmp)
        os.replace(tmp, Path(folder) / "rank0.pt")
    # only after success: a rank that failed exits at once and its peers' collectives fail with it
    dist.destroy_process_group()


# -- does it pay? (``kcl bench --only ranks``) ---------------------------------------------------
def bench_ranks(cases: dict | None = None, cores: int | None = None, compiled: bool = True, log=print) -> list[dict]:
    """Tokens/s of a chapter's real run (``kcl.train.train`` for a few hundred steps) on the CPU:
    one run on one thread, ``cores`` such runs at once, and one run on ``cores`` ranks (default
    every core), eager and (``compiled``) through ``torch.compile``, its compile time left out.
    ``cases``: label → (config, steps); default the reference run (bioD, batch 128) and result 2
    v3's bioS and bioR-proxy runs (batch 8 windows of 512 tokens), the longest runs the book makes."""
    import multiprocessing as mp

    cores = cores or os.cpu_count() or 1
    rows = []
    for label, (config, steps) in (cases or _default_cases()).items():
        alone = _steps_per_second((config, steps))
        with mp.get_context("spawn").Pool(cores) as pool:
            side_by_side = pool.map(_steps_per_second, [(config, steps)] * cores)
        ranks = _ranks_rate(config, cores, steps)
        row = {"run": label, "batch": config.train.batch_size, "steps": steps, "one_run_one_thread": round(alone),
               f"{cores}_runs_at_once_each": round(min(side_by_side)), f"one_run_{cores}_ranks": round(ranks),
               "run_speedup": round(ranks / min(side_by_side), 2), "work_ratio": round(ranks / sum(side_by_side), 2)}
        text = (f"  {label}: one run, one thread {alone:,.0f} tok/s; {cores} at once {min(side_by_side):,.0f} each; "
                f"one run on {cores} ranks {ranks:,.0f} ({row['run_speedup']:.2f}× sooner, "
                f"{row['work_ratio']:.2f}× the work of {cores} at once)")
        if compiled:
            fast = _ranks_rate(config, cores, steps, compiled=True)
            row[f"one_run_{cores}_ranks_compiled"] = round(fast)
            row["compiled_speedup"] = round(fast / ranks, 2)
            text += f"; compiled {fast:,.0f} ({row['compiled_speedup']:.2f}× eager ranks)"
        log(text)
        rows.append(row)
    return rows


def _ranks_rate(config, cores: int, steps: int, compiled: bool = False) -> float:
    """Tokens/s of ``steps`` steps on ``cores`` ranks: two fresh runs, of a few warm-up steps and
    of as many more, differenced, so that what both pay once (starting, compiling) cancels. A
    compiled run first compiles once unmeasured: the compiler caches its work on disk, and the
    first run alone would pay the full compile."""
    warm = min(20, steps // 4)
    if compiled:
        train_data_parallel(config, cores, device="cpu", progress=False, stop_after_steps=warm, compiled=True)
    short, _ = train_data_parallel(config, cores, device="cpu", progress=False, stop_after_steps=warm,
                                   compiled=compiled)
    long, _ = train_data_parallel(config, cores, device="cpu", progress=False, stop_after_steps=warm + steps,
                                  compiled=compiled)
    return (long["tokens"] - short["tokens"]) / (long["elapsed"] - short["elapsed"])


def _default_cases() -> dict:
    _, reference = load_sweep(repo_root() / "sweeps/reference.yaml")
    _, result2 = load_sweep(repo_root() / "sweeps/result2-v3.yaml")
    bios = next(c for c in result2 if c.data.name == "bioS")
    bior = next(c for c in result2 if c.data.name == "bioR-proxy")
    return {"reference (bioD, d = 32)": (reference[0], 600), "result 2 v3 (bioS, d = 32)": (bios, 300),
            "result 2 v3 (bioR proxy, d = 32)": (bior, 300)}


def _steps_per_second(args) -> float:
    """Tokens/s of ``steps`` steps of ``config``'s run on one thread (a pool worker's job)."""

    config, steps = args
    _limit_threads(1)
    dataset, model = build(config)
    summary = train(model, dataset, config.train, progress=False, stop_after_steps=steps)
    return summary["tokens"] / summary["elapsed"]
