"""Exposure-controlled training (paper §2.3, App. A).

* Exposures: training runs in *rounds*; round r renders every person once, in a fresh random
  order (for bioS a fresh biography; for bioS-simple the fixed one; for the bioR proxy rewrite
  r mod M). So after E rounds every person was seen exactly E times (§5.4: an exposure is one
  appearance of a person's knowledge, not a pass over a fixed text).
* Packing: ``concat`` joins a round's biographies with the end-of-text token and cuts the stream
  into windows of ``window`` tokens (the paper's "randomly concatenated, separated by <EOS>, and
  segmented into 512-token windows"); ``per_bio`` makes every biography its own sequence.
* Loss: the standard next-token loss over every token but padding (no label masking, §2.3).
* Optimizer: AdamW (weight decay on matrices), linear warmup, then cosine decay to
  ``min_lr_ratio`` × the peak rate (App. A).
* Device and precision: CUDA when present, else the CPU (``pick_device``). ``precision`` is a
  recorded choice: fp32, TF32 matmuls (CUDA only) or bf16 autocast; ``auto`` is fp32 on the CPU and
  ``AUTO_CUDA_PRECISION`` on CUDA. The run's summary states the precision it trained in.
* Rendering ahead: rounds are pure functions of (seed, round index), so worker processes may
  render rounds r+1, r+2, ... while round r trains (``prefetch``) without changing a single batch;
  on by default on CUDA for runs whose rendering takes a while, off on the CPU, whose cores train.
* Checkpoints: a long run saves its state every ``checkpoint_every`` seconds (atomically); a run
  killed at minute 60 resumes at minute 60 with the same data order, so it ends bit-identical.
* Data parallel (``kcl.parallel``): with ``shard=(rank, world)`` each of ``world`` processes takes
  its share of every batch's rows; the loss is the whole batch's mean over its tokens, so the
  gradient, the clipping and the update are those of the one-process run (up to float rounding).
"""

from __future__ import annotations

import collections
import contextlib
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from kcl.data import Dataset
from kcl.models.transformer import counting_routing
from kcl.store import KEYED_WHEN_SET
from kcl.sweep import _limit_threads

IGNORE = -100

#: The precisions a run may ask for (``TrainConfig.precision``).
PRECISIONS = ("auto", "fp32", "tf32", "bf16")
#: What ``auto`` means on CUDA: fp32 weights and activations, matmuls in TF32. It becomes "bf16"
#: only by a commit that cites a GPU run of the precision check (``kcl.gpu_check``, its JSON under
#: ``results/bench/gpu/``) showing that bf16 keeps the reference run's bits.
AUTO_CUDA_PRECISION = "tf32"


@dataclass(frozen=True)
class TrainConfig:
    """Training protocol. Batch size is part of the science (the paper keeps tens of thousands of
    steps), not a throughput knob."""

    exposures: int = 100
    batch_size: int = 128  # sequences per step
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.01
    warmup_steps: int | None = None  # overrides warmup_frac (the paper: 1,000 steps)
    min_lr_ratio: float = 0.1
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    grad_clip: float = 1.0
    packing: str = "concat"  # "concat" | "per_bio"
    window: int = 512  # tokens per window (packing="concat")
    moe_aux_coef: float = 0.01  # weight of the MoE load-balancing loss (Switch Transformer's default)
    seed: int = 0
    # auto | fp32 | tf32 | bf16 (``PRECISIONS``); keyed only when set, so earlier records keep their keys
    precision: str = field(default="auto", metadata=KEYED_WHEN_SET)

    def __post_init__(self):
        if isinstance(self.exposures, bool) or not isinstance(self.exposures, int) or self.exposures < 1:
            raise ValueError(f"exposures must be an integer >= 1, got {self.exposures!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac must be in [0, 1), got {self.warmup_frac!r}")
        if not 0 < self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in (0, 1], got {self.min_lr_ratio!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.packing not in ("concat", "per_bio"):
            raise ValueError(f"packing must be 'concat' or 'per_bio', got {self.packing!r}")
        if not isinstance(self.window, int) or self.window < 2:
            raise ValueError(f"window must be an integer >= 2, got {self.window!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


# -- the exposure stream -------------------------------------------------------------------------
def round_sequences(dataset: Dataset, cfg: TrainConfig, round_index: int) -> list[np.ndarray]:
    """The training sequences of round ``round_index``: every person exactly once, shuffled. With
    junk people (``kcl.data.junk``), the round's junk biographies follow, packed apart (a sequence
    holds useful or junk biographies, never both), and all sequences are shuffled together."""
    rng = np.random.default_rng([cfg.seed, dataset.seed if hasattr(dataset, "seed") else 0, round_index])
    order = rng.permutation(dataset.n_people)
    bios = dataset.render(order, rng, exposure=round_index)
    sequences = pack(bios, dataset.vocab.eos_id, cfg)
    if dataset.junk is None:
        return sequences
    sequences += pack(dataset.junk.round_bios(len(bios.tokens), rng), dataset.vocab.eos_id, cfg)
    return [sequences[i] for i in rng.permutation(len(sequences))]


def pack(bios, eos: int, cfg: TrainConfig) -> list[np.ndarray]:
    """Biographies as training sequences: one each (``per_bio``: EOS bio EOS), or (``concat``)
    EOS bio EOS bio ... EOS cut into windows of window+1 tokens overlapping by one, so that every
    token but the first is a prediction target exactly once."""
    if cfg.packing == "per_bio":
        return [np.concatenate([[eos], bios.bio(i), [eos]]).astype(np.int64) for i in range(len(bios))]
    starts = bios.offsets[:-1] + np.arange(len(bios))
    stream = np.full(len(bios.tokens) + len(bios) + 1, eos, dtype=np.int64)
    mask = np.ones(len(stream), bool)
    mask[starts] = False
    mask[-1] = False
    stream[mask] = bios.tokens
    w = cfg.window
    n_windows = max(1, math.ceil((len(stream) - 1) / w))
    return [stream[i * w: i * w + w + 1] for i in range(n_windows)]


def stream_composition(dataset: Dataset, cfg: TrainConfig) -> dict | None:
    """A junk run's training stream by our own arithmetic (None without junk): biography tokens,
    useful and junk, over all rounds (every round holds the same counts: fixed-length bioD), junk
    biographies, and the mean appearances of a junk person (junk biographies / N')."""
    junk = dataset.junk
    if junk is None:
        return None
    useful = dataset.n_people * dataset.bio_length
    bios = junk.bios_for(useful)
    junk_tokens = bios * junk.bio_length
    return {"useful_tokens": useful * cfg.exposures, "junk_tokens": junk_tokens * cfg.exposures,
            "junk_share": junk_tokens / (junk_tokens + useful), "junk_bios": bios * cfg.exposures,
            "junk_people": junk.n_people, "junk_appearances_mean": bios * cfg.exposures / junk.n_people}


def iter_batches(dataset: Dataset, cfg: TrainConfig, start: tuple[int, int] = (0, 0), prefetch: int = 0
                 ) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
    """Batches of padded sequences, with the stream position (round, sequence) after each batch.
    ``prefetch``: rounds are rendered ahead in that many worker processes (``rounds``); the
    batches are the same, bit for bit."""
    pad = dataset.vocab.pad_id
    r, s = start
    pending: list[np.ndarray] = []
    with contextlib.closing(rounds(dataset, cfg, r, prefetch)) as stream:  # closed: its workers stop
        for seqs in stream:
            while s < len(seqs):
                take = min(cfg.batch_size - len(pending), len(seqs) - s)
                pending += seqs[s: s + take]
                s += take
                if len(pending) == cfg.batch_size:
                    yield _pad(pending, pad), (r, s) if s < len(seqs) else (r + 1, 0)
                    pending = []
            r, s = r + 1, 0
    if pending:
        yield _pad(pending, pad), (r, 0)


def rounds(dataset: Dataset, cfg: TrainConfig, first: int = 0, workers: int = 0) -> Iterator[list[np.ndarray]]:
    """Rounds ``first``, ``first + 1``, ... of the stream (``round_sequences``), in order. With
    ``workers > 0`` they are rendered ahead in that many spawned processes, ``workers`` rounds in
    flight, while the caller trains on the current one; a process that may not have children (a
    daemonic pool's worker) renders them itself. Either way every round is the same function of
    (seed, round index), so the stream is identical."""
    indices = range(first, cfg.exposures)
    if workers < 1 or not indices or multiprocessing.current_process().daemon:
        yield from (round_sequences(dataset, cfg, r) for r in indices)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_renderer, initargs=(dataset, cfg, os.getpid())) as pool:
        ahead = iter(indices)
        flight = collections.deque(pool.submit(_render_round, r) for r in _take(ahead, workers))
        try:
            while flight:
                flat, lengths = flight.popleft().result()
                flight.extend(pool.submit(_render_round, r) for r in _take(ahead, 1))
                yield np.split(flat, np.cumsum(lengths)[:-1])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _take(indices: Iterator[int], n: int) -> list[int]:
    """The next ``n`` round indices (fewer at the end of the run)."""
    return [r for _, r in zip(range(n), indices)]


_RENDERER: tuple[Dataset, TrainConfig] | None = None  # a render worker's data set and protocol


def _start_renderer(dataset: Dataset, cfg: TrainConfig, parent_pid: int) -> None:
    """A render worker's initializer: keep the data set and the protocol, use one thread, and exit
    once the training process is gone."""
    global _RENDERER
    _RENDERER = (dataset, cfg)
    _limit_threads(1, parent_pid)


def _render_round(round_index: int) -> tuple[np.ndarray, np.ndarray]:
    """A round in a render worker, sent back as one array and the sequences' lengths (one array
    crosses the pipe much faster than thousands of small ones)."""
    dataset, cfg = _RENDERER
    seqs = round_sequences(dataset, cfg, round_index)
    return np.concatenate(seqs), np.array([len(q) for q in seqs])


#: Rendering ahead starts by default (on CUDA) only when rendering the whole run in the training
#: process would take longer than this: a worker takes seconds to start (it imports torch).
PREFETCH_MIN_SECONDS = 30.0


def prefetch_workers(prefetch: int | None, device: torch.device, render_seconds: float) -> int:
    """Render workers of a run: ``prefetch`` when given (0: none), else by default none on the CPU
    (its cores train) and, on CUDA, up to 4 (half the cores) for runs whose rendering in one process
    (``render_seconds``) would take over ``PREFETCH_MIN_SECONDS``."""
    if prefetch is not None:
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"prefetch (render worker processes) must be an integer >= 0, got {prefetch!r}")
        return prefetch
    if device.type != "cuda" or render_seconds < PREFETCH_MIN_SECONDS:
        return 0
    return min(4, max(1, (os.cpu_count() or 1) // 2))


def _pad(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    out = np.full((len(seqs), max(len(q) for q in seqs)), pad, dtype=np.int64)
    for i, q in enumerate(seqs):
        out[i, : len(q)] = q
    return out


def estimate_steps(dataset: Dataset, cfg: TrainConfig) -> int:
    """Steps of the whole run, from the first round (exact for fixed-length data)."""
    return planned_steps(len(round_sequences(dataset, cfg, 0)), cfg)


def planned_steps(sequences_per_round: int, cfg: TrainConfig) -> int:
    """The steps of a run whose rounds hold ``sequences_per_round`` sequences each."""
    return max(1, math.ceil(sequences_per_round * cfg.exposures / cfg.batch_size))


# -- optimization --------------------------------------------------------------------------------
def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay from lr to min_lr_ratio·lr at the last step."""
    warm = cfg.warmup_steps if cfg.warmup_steps is not None else int(cfg.warmup_frac * total)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    # the fused kernel updates every tensor in one pass (about 5-10% faster on a tiny model, CPU)
    fused = all(p.device.type in ("cpu", "cuda") for p in decay + no_decay)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=fused or None)


def pick_device(device: str = "auto", precision: str = "auto") -> tuple[torch.device, str]:
    """The device (``auto``: CUDA when present, else the CPU) and the precision a run trains in
    there (``resolve_precision``)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    return dev, resolve_precision(precision, dev)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``precision`` made concrete for ``device``: ``auto`` is fp32 on the CPU and
    ``AUTO_CUDA_PRECISION`` on CUDA (fp32 on a GPU that lacks it). Asking for a precision the
    device lacks is a ValueError (``_lacks``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        wanted = AUTO_CUDA_PRECISION if device.type == "cuda" else "fp32"
        return "fp32" if _lacks(wanted, device) else wanted
    if reason := _lacks(precision, device):
        raise ValueError(f"precision {precision} {reason}")
    return precision


def _lacks(precision: str, device: torch.device) -> str | None:
    """Why ``device`` cannot train in ``precision`` (None: it can). TF32 is a mode of CUDA's
    matmuls from the Ampere generation on; bf16 autocast runs on the CPU and on GPUs that have it."""
    cuda = device.type == "cuda"
    if precision == "tf32" and not (cuda and torch.cuda.get_device_capability(device)[0] >= 8):
        return f"needs a CUDA GPU of the Ampere generation or later, not {device}"
    if precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        return f"needs a GPU with bf16, and {torch.cuda.get_device_name(device)} has none"
    return None


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a concrete precision (None: no autocast, the model runs in fp32)."""
    return torch.bfloat16 if precision == "bf16" else None


@contextlib.contextmanager
def matmul_precision(precision: str):
    """Inside the block CUDA's float32 matmuls run in TF32 for precision ``tf32``, in full fp32
    otherwise; torch's process-wide setting is restored after (so the measurement that follows a
    run computes in fp32)."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):  # torch >= 2.9; mixing it with allow_tf32 is an error there
        name, value = "fp32_precision", "tf32" if precision == "tf32" else "ieee"
    else:
        name, value = "allow_tf32", precision == "tf32"
    saved = getattr(matmul, name)
    setattr(matmul, name, value)
    try:
        yield
    finally:
        setattr(matmul, name, saved)


def next_token_loss(logits: torch.Tensor, seqs: torch.Tensor, pad: int, reduction: str = "mean") -> torch.Tensor:
    targets = seqs[:, 1:].masked_fill(seqs[:, 1:] == pad, IGNORE)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE, reduction=reduction)


def shard_rows(batch: np.ndarray, shard: tuple[int, int]) -> np.ndarray:
    """Rank ``shard[0]`` of ``shard[1]``'s rows of ``batch``: contiguous, as even as possible (a
    batch with fewer rows than ranks leaves some ranks none)."""
    rank, world = shard
    return np.array_split(batch, world)[rank]


def _sharded_loss(logits: torch.Tensor, seqs: torch.Tensor, pad: int, world: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a rank's rows: (the objective whose gradient, averaged over the ranks by
    DistributedDataParallel, is the whole batch's mean loss's; the whole batch's mean loss)."""
    import torch.distributed as dist

    local = next_token_loss(logits, seqs, pad, reduction="sum")
    totals = torch.stack([local.detach(), (seqs[:, 1:] != pad).sum().to(local.dtype)])
    dist.all_reduce(totals)
    count = totals[1].clamp(min=1)
    return local * world / count, totals[0] / count


# -- the loop ------------------------------------------------------------------------------------
def train_step(model, opt, seqs: torch.Tensor, pad: int, lr: float, cfg: TrainConfig,
               amp_dtype: torch.dtype | None = None, world: int = 1) -> torch.Tensor:
    """One optimizer step on a batch of padded sequences; returns the (detached) LM loss. With
    ``world > 1``, ``model`` is a DistributedDataParallel and ``seqs`` this rank's rows."""
    for group in opt.param_groups:
        group["lr"] = lr
    with torch.autocast(seqs.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits = model(seqs[:, :-1])
    if world > 1:
        objective, loss = _sharded_loss(logits, seqs, pad, world)
    else:
        loss = objective = next_token_loss(logits, seqs, pad)
    core = getattr(model, "module", model)  # the model inside a DistributedDataParallel
    if cfg.moe_aux_coef and getattr(getattr(core, "config", None), "mlp_kind", None) == "moe":
        objective = objective + cfg.moe_aux_coef * core.moe_aux_loss()
    opt.zero_grad(set_to_none=True)
    objective.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return loss.detach()


def train(model: torch.nn.Module, dataset: Dataset, cfg: TrainConfig, *, checkpoint: str | Path | None = None,
          checkpoint_every: float = 300.0, device: str = "auto", progress: bool = True,
          stop_after_steps: int | None = None, shard: tuple[int, int] = (0, 1), compiled: bool = False,
          prefetch: int | None = None, flush_subnormals: bool = True) -> dict:
    """Train ``model`` on ``dataset`` for ``cfg.exposures`` exposures per person.

    Returns a summary (steps, tokens, wall time, tokens/s, device, precision, the loss curve). With
    ``checkpoint`` set, the state is saved there every ``checkpoint_every`` seconds and a run
    restarts from it. ``stop_after_steps`` ends early (used by tests to simulate a kill).
    ``shard=(rank, world)``: this process is one of ``world`` data-parallel ranks and ``model`` a
    DistributedDataParallel (``kcl.parallel`` starts them); rank 0 alone saves checkpoints and shows
    progress. ``compiled``: steps go through ``torch.compile(model)`` (the same fp32 run up to float
    rounding, about 1.2× faster for result 2's batch-4 windows: ``kcl bench --only variants``);
    checkpoints keep the plain model's weights, so a run may resume either way. ``prefetch``:
    processes that render rounds ahead (``rounds``; None: ``prefetch_workers`` decides, 0: none);
    the same batches either way. ``flush_subnormals``: on the CPU, floats below 2⁻¹²⁶ (about
    1.2·10⁻³⁸) are taken as zero (``subnormals_flushed``), and the summary says from which step
    a run trained that way.
    """
    from tqdm.auto import tqdm

    rank, world = shard
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(os.cpu_count() or 1)
    dev, precision = pick_device(device, cfg.precision)
    model.to(dev).train()
    core = getattr(model, "module", model)
    opt = make_optimizer(model, cfg)
    rendered = time.monotonic()
    first_round = round_sequences(dataset, cfg, 0)
    workers = prefetch_workers(prefetch, dev, (time.monotonic() - rendered) * cfg.exposures)
    total = planned_steps(len(first_round), cfg)
    state = {"step": 0, "position": (0, 0), "tokens": 0, "elapsed": 0.0, "curve": []}
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and ckpt.exists():
        saved = torch.load(ckpt, map_location=dev, weights_only=False)
        core.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        state = saved["state"]
    state["total_steps"] = total  # read by kcl.run.checkpoint_progress
    pad = dataset.vocab.pad_id
    log_every = max(1, total // 200)
    # the losses since the last log point, summed in float64 where they are computed: no wait for the GPU per step
    running, running_n = torch.zeros((), dtype=torch.float64, device=dev if dev.type == "cuda" else "cpu"), 0
    last_save = time.monotonic()
    t0 = time.monotonic() - state["elapsed"]
    saves = ckpt if rank == 0 else None
    stepper = compile_for_training(model) if compiled else model
    bar = tqdm(total=total, initial=state["step"], disable=not progress or rank != 0, desc="train", unit="step")
    batches = iter_batches(dataset, cfg, tuple(state["position"]), prefetch=workers)
    before = dict(state.get("moe", {}))
    flushed = subnormals_flushed(flush_subnormals and dev.type == "cpu")
    with matmul_precision(precision), contextlib.closing(batches), counting_routing(core) as routed, flushed as flushing:
        if flushing:
            state.setdefault("flush_subnormals_from_step", state["step"])  # a resumed run keeps its first such step
        for batch, position in batches:
            seqs = to_device(shard_rows(batch, shard) if world > 1 else batch, dev)
            loss = train_step(stepper, opt, seqs, pad, lr_at(state["step"], total, cfg), cfg,
                              autocast_dtype(precision), world)
            state["step"] += 1
            state["position"] = position
            state["tokens"] += int((batch[:, 1:] != pad).sum())
            if routed:  # the checkpoint's counts (a resumed run) plus this session's
                state["moe"] = {k: before.get(k, 0) + routed[k] for k in ("assignments", "dropped")}
            running += loss.to(running.device)
            running_n += 1
            if state["step"] % log_every == 0:
                state["curve"].append([state["step"], round(running.item() / running_n, 5)])
                running.zero_()
                running_n = 0
                bar.set_postfix(loss=state["curve"][-1][1])
            bar.update(1)
            if saves and time.monotonic() - last_save > checkpoint_every:
                state["elapsed"] = time.monotonic() - t0
                save_checkpoint(saves, core, opt, state)
                last_save = time.monotonic()
            if stop_after_steps is not None and state["step"] >= stop_after_steps:
                state["elapsed"] = time.monotonic() - t0
                if saves:
                    save_checkpoint(saves, core, opt, state)
                bar.close()
                return {"stopped": True, **state}
    bar.close()
    elapsed = time.monotonic() - t0
    model.eval()
    return {"steps": state["step"], "estimated_steps": total, "tokens": state["tokens"],
            "wall_seconds": round(elapsed, 2), "tokens_per_second": round(state["tokens"] / max(elapsed, 1e-9), 1),
            "device": str(dev), "precision": precision,
            "threads": torch.get_num_threads(), **({"processes": world} if world > 1 else {}),
            **({"compiled": True} if compiled else {}), **({"prefetch": workers} if workers else {}),
            **({"subnormals_flushed_from_step": state["flush_subnormals_from_step"]}
               if "flush_subnormals_from_step" in state else {}),
            **({"moe": routing_summary(state["moe"])} if "moe" in state else {}),
            **({"stream": stream} if (stream := stream_composition(dataset, cfg)) else {}),
            "loss_curve": state["curve"], "config": asdict(cfg)}


@contextlib.contextmanager
def subnormals_flushed(on: bool = True) -> Iterator[bool]:
    """Within the block, CPU arithmetic takes subnormal floats (below 2⁻¹²⁶, about 1.2·10⁻³⁸) as
    zero (the x86 FTZ and DAZ flags, ``torch.set_flush_denormal``) where ``on`` and the CPU supports
    it; yields whether they are. A trained model produces such values, and a CPU computes with them
    many times slower than with normal floats; zero instead changes a loss far below its rounding.
    The flags belong to the calling thread, and the block restores them there. torch offers no way
    to set them in its intra-op thread pool, so on more than one thread only the calling thread's
    share of each operation takes them (measured: half of an elementwise product on two threads);
    the chapters train one thread a run."""
    before = flushing_subnormals()
    now = bool(torch.set_flush_denormal(True)) if on else before
    try:
        yield now
    finally:
        torch.set_flush_denormal(before)


def flushing_subnormals() -> bool:
    """Whether this thread's CPU arithmetic takes subnormal floats as zero now."""
    return torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0


def to_device(batch: np.ndarray, device: torch.device) -> torch.Tensor:
    """A batch as a tensor on ``device``; to a GPU through pinned memory and without waiting, so
    the host prepares the next batch while the GPU still works on this one."""
    rows = torch.from_numpy(batch)
    if device.type != "cuda":
        return rows.to(device)
    return rows.pin_memory().to(device, non_blocking=True)


def routing_summary(counts: dict) -> dict:
    """An MoE run's expert assignments and the ones dropped for want of capacity (all layers, all
    steps; each dropped assignment leaves its token only the residual in that layer), with their share."""
    return {**counts, "dropped_share": counts["dropped"] / max(counts["assignments"], 1)}


def compile_for_training(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile(model)`` for the training steps, its compile work kept on this process's
    threads (a sweep's workers and a run's ranks each own a share of the cores)."""
    import torch._inductor.config as inductor

    inductor.compile_threads = 1
    return torch.compile(model)


def save_checkpoint(path: Path, model, opt, state) -> None:
    """Write atomically: a killed save leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state}, tmp)
    os.replace(tmp, path)
