"""One run, end to end: data → model → training → bits → record.

A run is a ``RunConfig`` (data, model, training and measurement knobs); ``run`` trains and
measures it and returns the record's result; ``run_sweep`` (``kcl.store``) keeps one JSON record
per config and skips what is already finished.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from kcl.capacity import average_losses, capacity, loss_by_position, rendering_losses
from kcl.config import RunConfig, build, fresh_model
from kcl.cost import CostModel, Work, machine_cost_model
from kcl.data import DataConfig, make_dataset
from kcl.models.transformer import counting_routing
from kcl.params import computed_parameters, count_parameters
from kcl.parallel import check_ranks, train_data_parallel
from kcl.quantize import calibration_batches, quantized
from kcl.store import config_key, temp_path
from kcl.sweep import run_threads
from kcl.train import TrainConfig, estimate_steps, pick_device, planned_steps, round_sequences, routing_summary, subnormals_flushed, train


def run(config: RunConfig, *, checkpoint_dir: str | Path | None = None, checkpoint_every: float = 300.0,
        progress: bool = True, device: str = "auto", ranks: int = 1, compiled: bool = False,
        weights_dir: str | Path | None = None, flush_subnormals: bool = True) -> dict:
    """Train and measure one config; returns the result part of its record. ``ranks > 1`` trains
    it data parallel on that many processes (``kcl.parallel``; the same run, sooner);
    ``compiled`` steps through ``torch.compile`` (``kcl.train.train``; the same run, faster).
    ``weights_dir``: the trained model is saved there as ``<key>.safetensors`` (``weights_file``),
    before the record exists, so a record stored here has its weights beside it (a clone holds only
    those that git keeps: ``.gitignore``). ``flush_subnormals``: on
    the CPU, training and measurement take floats below 2⁻¹²⁶ as zero (``kcl.train.subnormals_flushed``)."""
    dataset, model = build(config)
    params = count_parameters(model, dataset.used_token_ids())
    ckpt = _checkpoint_file(config, checkpoint_dir)
    if check_ranks(ranks, device=device) > 1:
        summary, weights = train_data_parallel(config, ranks, checkpoint=ckpt, checkpoint_every=checkpoint_every,
                                               device=device, progress=progress, compiled=compiled)
        model.load_state_dict(weights)
        model.to(pick_device(device)[0]).eval()
    else:
        summary = train(model, dataset, config.train, checkpoint=ckpt, checkpoint_every=checkpoint_every,
                        progress=progress, device=device, compiled=compiled, flush_subnormals=flush_subnormals)
    summary.pop("config", None)
    t0 = time.monotonic()
    with subnormals_flushed(flush_subnormals and next(model.parameters()).device.type == "cpu") as flushing:
        result = measure(model, dataset, config, params)
    result["measure_seconds"] = round(time.monotonic() - t0, 2)
    if flushing:
        result["measured_with_subnormals_flushed"] = True
    result["train"] = summary
    result["data"] = dataset.describe()
    if weights_dir is not None:
        result["weights"] = save_weights(model, weights_file(config, weights_dir)).name
    if ckpt and ckpt.exists():
        ckpt.unlink()  # finished: the record is the result, the checkpoint is not kept
    return result


def measure(model, dataset, config: RunConfig, params: dict, bootstrap: int | None = None) -> dict:
    """Bits, R and the rest of ``kcl.capacity.capacity`` for a trained ``model``, with the value
    loss by sentence position; ``bootstrap`` defaults to the config's."""
    with counting_routing(model) as routing:
        parts = rendering_losses(model, dataset, config.measure_seed, config.renderings)
    result = capacity(dataset, average_losses(parts), params, seed=config.measure_seed,
                      bootstrap=config.bootstrap if bootstrap is None else bootstrap)
    result["loss_by_position"] = loss_by_position(parts, dataset.attributes)
    if routing:
        result["moe"] = routing_summary(routing)
    return result


def weights_file(config: RunConfig, folder: str | Path) -> Path:
    """Where a run's trained weights are kept: beside its record, ``<key>.safetensors``."""
    return Path(folder) / f"{config_key(config)}.safetensors"


def save_weights(model: torch.nn.Module, path: Path) -> Path:
    """Save ``model``'s weights with safetensors (a tied matrix once), atomically: a temp file in
    the same folder, then a rename, so no partial file is ever at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        save_model(model, str(tmp), metadata={"config_key": path.stem})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_weights(config: RunConfig, folder: str | Path, device: str = "cpu"):
    """The data set and the trained model of a stored run, from its weights in ``folder``; a
    FileNotFoundError names the command that trains them when they are not there."""
    path = weights_file(config, folder)
    if not path.is_file():
        raise FileNotFoundError(f"no weights for {config.label()} at {path}: records written before runs "
                                f"saved weights have none; retrain it with `kcl run` (same config, --store {folder})")
    dataset, model = build(config)
    load_model(model, str(path), device=device)
    return dataset, model.eval()


def measure_quantized(config: RunConfig, folder: str | Path, bits: int, method: str = "rtn", *,
                      embedding: bool = True, calibration_people: int = 1000, bootstrap: int | None = None) -> dict:
    """The bits of a stored run's model with its weights quantized (``kcl.quantize.quantized``),
    measured exactly as the float model's, over the same parameter count; GPTQ calibrates on the
    biographies of up to ``calibration_people`` people (one training rendering each, seeded apart
    from the measurement texts). ``result["quantization"]`` says how."""
    dataset, model = load_weights(config, folder)
    params = count_parameters(model, dataset.used_token_ids())
    people = np.arange(min(calibration_people, dataset.n_people))
    bios = dataset.render(people, np.random.default_rng([config.train.seed, 0xCA11B]), exposure=0)
    batches = calibration_batches(bios, dataset.vocab.eos_id, dataset.vocab.pad_id)
    small = quantized(model, bits, method, calibration=batches, embedding=embedding)
    result = measure(small, dataset, config, params, bootstrap=bootstrap)
    result["quantization"] = {"bits": bits, "method": method, "embedding": embedding,
                              "calibration_people": int(len(people))}
    return result


def _checkpoint_file(config: RunConfig, checkpoint_dir: str | Path | None) -> Path | None:
    """Where ``run`` keeps ``config``'s in-run checkpoint in ``checkpoint_dir`` (None: no folder)."""
    return Path(checkpoint_dir) / f"{config_key(config)}.pt" if checkpoint_dir else None


def _total_steps(state: dict, config: RunConfig, dataset=None) -> int:
    """A checkpoint's planned steps; checkpoints written before they kept it get the trainer's plan."""
    if state.get("total_steps"):
        return state["total_steps"]
    return estimate_steps(make_dataset(config.data) if dataset is None else dataset, config.train)


def measure_checkpoint(config: RunConfig, checkpoint_dir: str | Path, bootstrap: int = 200) -> dict | None:
    """A run under way measured on its last in-run checkpoint, or None without one. Mid-schedule
    (the learning rate has not decayed yet), so never a record: a look at how far it has come.
    ``result["checkpoint"]`` says where: step, total steps, share, exposures so far."""
    path = _checkpoint_file(config, checkpoint_dir)
    if path is None or not path.is_file():
        return None
    dataset, model = build(config)
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(saved["model"])
    result = measure(model, dataset, config, count_parameters(model, dataset.used_token_ids()), bootstrap)
    step, total = saved["state"]["step"], _total_steps(saved["state"], config, dataset)
    result["checkpoint"] = {"step": step, "total_steps": total, "share": min(step / max(total, 1), 1.0),
                            "exposures": step / total * config.train.exposures}
    return result


def checkpoint_progress(config: RunConfig, checkpoint_dir: str | Path | None) -> float | None:
    """The share of ``config``'s training steps its in-run checkpoint in ``checkpoint_dir`` has
    done (0–1), or None when it has none."""
    path = _checkpoint_file(config, checkpoint_dir)
    if path is None or not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)["state"]  # mmap: weights not read
    return min(state["step"] / max(_total_steps(state, config), 1), 1.0)


def estimated_work(config: RunConfig, ranks: int = 1) -> Work:
    """What ``config`` will compute, before it runs (``kcl.cost.record_work`` reads the same from a
    finished run's record): steps as the trainer plans them, tokens per sequence from the window
    (concat packing) or one biography's length (per-biography packing); ``ranks``: trained data
    parallel on that many processes (``kcl.parallel``)."""
    per_round, seq, vocab = _data_shape(config.data, config.train.seed, config.train.packing, config.train.window)
    steps = planned_steps(per_round, config.train)
    tokens = steps * config.train.batch_size * seq
    model = fresh_model(config, vocab)
    n_params = computed_parameters(count_parameters(model))
    return Work.of(n_params, tokens, steps, config.model.n_layer, model.config.d_model, seq, vocab, ranks)


@functools.lru_cache(maxsize=64)
def _data_shape(data: DataConfig, seed: int, packing: str, window: int) -> tuple[int, int, int]:
    """Sequences in one round (``estimate_steps``'s first round), tokens per sequence (the window, or
    one biography with its two EOS) and the vocabulary's size: what a round depends on (the data and
    the training seed, packing and window; ``train.round_sequences``), not the model or the rate.
    Rendering the round is most of what pricing a run costs, and a sweep's configs share their data."""
    train = TrainConfig(seed=seed, packing=packing, window=window)
    dataset = make_dataset(data)
    first_round = round_sequences(dataset, train, 0)
    seq = window if packing == "concat" else int(dataset.render([0], np.random.default_rng(0)).lengths[0]) + 2
    return len(first_round), seq, len(dataset.vocab)


def estimated_seconds(config: RunConfig, threads: int | None = None, cost: CostModel | None = None,
                      ranks: int = 1) -> float:
    """One run's wall seconds on ``threads`` threads (default: torch's current count), by ``cost``
    (default: the model fitted to the stored records at that thread count, ``kcl.cost``). With
    ``ranks`` processes of ``threads`` threads each (``kcl.parallel``): one rank's share, as if the
    ranks never waited for each other (the gradients' exchange is not priced)."""
    cost = cost or machine_cost_model(threads or torch.get_num_threads())
    return cost.seconds(estimated_work(config, ranks))


def sweep_cost(workers: int = 1, ranks: int = 1):
    """``estimated_seconds`` for the runs of a sweep with ``workers`` at once, each on ``ranks``
    processes, each process on its share of the cores (``kcl.sweep.run_threads``: a lone run keeps OMP_NUM_THREADS): the
    ``cost_fn`` of ``kcl.sweep.run_sweep``."""
    return functools.partial(estimated_seconds, threads=run_threads(workers * ranks), ranks=ranks)


