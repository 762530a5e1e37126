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
* Device: CUDA with bf16 (or fp16 + loss scaling) autocast when present, fp32 on CPU.
* Checkpoints: a long run saves its state every ``checkpoint_every`` seconds (atomically); a run
  killed at minute 60 resumes at minute 60 with the same data order, so it ends bit-identical.
* Data parallel (``kcl.parallel``): with ``shard=(rank, world)`` each of ``world`` processes takes
  its share of every batch's rows; the loss is the whole batch's mean over its tokens, so the
  gradient, the clipping and the update are those of the one-process run (up to float rounding).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from kcl.data import Dataset

IGNORE = -100


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
    junk_tokens = bios * (dataset.bio_length - (1 if getattr(dataset, "domain_token", False) else 0))
    return {"useful_tokens": useful * cfg.exposures, "junk_tokens": junk_tokens * cfg.exposures,
            "junk_share": junk_tokens / (junk_tokens + useful), "junk_bios": bios * cfg.exposures,
            "junk_people": junk.n_people, "junk_appearances_mean": bios * cfg.exposures / junk.n_people}


def iter_batches(dataset: Dataset, cfg: TrainConfig, start: tuple[int, int] = (0, 0)
                 ) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
    """Batches of padded sequences, with the stream position (round, sequence) after each batch."""
    pad = dataset.vocab.pad_id
    r, s = start
    pending: list[np.ndarray] = []
    while r < cfg.exposures:
        seqs = round_sequences(dataset, cfg, r)
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


def _pad(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    out = np.full((len(seqs), max(len(q) for q in seqs)), pad, dtype=np.int64)
    for i, q in enumerate(seqs):
        out[i, : len(q)] = q
    return out


def estimate_steps(dataset: Dataset, cfg: TrainConfig) -> int:
    """Steps of the whole run, from the first round (exact for fixed-length data)."""
    per_round = len(round_sequences(dataset, cfg, 0))
    return max(1, math.ceil(per_round * cfg.exposures / cfg.batch_size))


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


def pick_device(device: str = "auto") -> tuple[torch.device, torch.dtype | None]:
    """CUDA with bf16 (fp16 where bf16 is missing) when present, else fp32 on the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        return dev, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return dev, None


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
               amp_dtype: torch.dtype | None = None, scaler=None, world: int = 1) -> torch.Tensor:
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
    if scaler:
        scaler.scale(objective).backward()
        scaler.unscale_(opt)
    else:
        objective.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    if scaler:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    return loss.detach()


def train(model: torch.nn.Module, dataset: Dataset, cfg: TrainConfig, *, checkpoint: str | Path | None = None,
          checkpoint_every: float = 300.0, device: str = "auto", progress: bool = True,
          stop_after_steps: int | None = None, shard: tuple[int, int] = (0, 1), compiled: bool = False) -> dict:
    """Train ``model`` on ``dataset`` for ``cfg.exposures`` exposures per person.

    Returns a summary (steps, tokens, wall time, tokens/s, the loss curve). With ``checkpoint``
    set, the state is saved there every ``checkpoint_every`` seconds and a run restarts from it.
    ``stop_after_steps`` ends early (used by tests to simulate a kill). ``shard=(rank, world)``:
    this process is one of ``world`` data-parallel ranks and ``model`` a DistributedDataParallel
    (``kcl.parallel`` starts them); rank 0 alone saves checkpoints and shows progress.
    ``compiled``: steps go through ``torch.compile(model)`` (the same fp32 run up to float
    rounding, about 1.2× faster for result 2's batch-4 windows: ``kcl bench --only variants``);
    checkpoints keep the plain model's weights, so a run may resume either way.
    """
    from tqdm.auto import tqdm

    rank, world = shard
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(os.cpu_count() or 1)
    dev, amp_dtype = pick_device(device)
    model.to(dev).train()
    core = getattr(model, "module", model)
    opt = make_optimizer(model, cfg)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    total = estimate_steps(dataset, cfg)
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
    running, running_n = 0.0, 0
    last_save = time.monotonic()
    t0 = time.monotonic() - state["elapsed"]
    saves = ckpt if rank == 0 else None
    stepper = compile_for_training(model) if compiled else model
    bar = tqdm(total=total, initial=state["step"], disable=not progress or rank != 0, desc="train", unit="step")
    for batch, position in iter_batches(dataset, cfg, tuple(state["position"])):
        seqs = torch.from_numpy(shard_rows(batch, shard) if world > 1 else batch).to(dev)
        loss = train_step(stepper, opt, seqs, pad, lr_at(state["step"], total, cfg), cfg, amp_dtype, scaler, world)
        state["step"] += 1
        state["position"] = position
        state["tokens"] += int((batch[:, 1:] != pad).sum())
        routing = core.moe_routing_stats() if hasattr(core, "moe_routing_stats") else None
        if routing:
            moe = state.setdefault("moe", {"assignments": 0, "dropped": 0})
            moe["assignments"] += routing["assignments"]
            moe["dropped"] += routing["dropped"]
        running += loss.item()
        running_n += 1
        if state["step"] % log_every == 0:
            state["curve"].append([state["step"], round(running / running_n, 5)])
            running, running_n = 0.0, 0
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
            "device": str(dev), "precision": str(amp_dtype or torch.float32).replace("torch.", ""),
            "threads": torch.get_num_threads(), **({"processes": world} if world > 1 else {}),
            **({"compiled": True} if compiled else {}),
            **({"moe": routing_summary(state["moe"])} if "moe" in state else {}),
            **({"stream": stream} if (stream := stream_composition(dataset, cfg)) else {}),
            "loss_curve": state["curve"], "config": asdict(cfg)}


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
