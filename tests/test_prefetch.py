"""Rendering rounds ahead in worker processes (``kcl.train.rounds``, ``prefetch``) changes when a
round is rendered, never what: the batches, and a run stopped and resumed, stay bit-identical."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch

from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model
from kcl.train import PREFETCH_MIN_SECONDS, TrainConfig, iter_batches, prefetch_workers, rounds, train

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it

BIOS = DataConfig(name="bioS", n_people=30, seed=3)
BIOR = DataConfig(name="bioR-proxy", n_people=20, rewrites=3)
BIOD_JUNK = DataConfig(name="bioD", n_people=40, K=2, C=2, D=4, L=1, T=6, pools=(10, 10, 10), junk_people=30)


def batches(data: DataConfig, cfg: TrainConfig, start=(0, 0), prefetch=0) -> list[tuple[np.ndarray, tuple]]:
    return list(iter_batches(make_dataset(data), cfg, start, prefetch=prefetch))


def assert_same(a, b):
    assert len(a) == len(b)
    for (batch_a, pos_a), (batch_b, pos_b) in zip(a, b):
        assert pos_a == pos_b and batch_a.dtype == batch_b.dtype and np.array_equal(batch_a, batch_b)


@pytest.mark.parametrize("data, cfg, start, workers", [
    (BIOS, TrainConfig(exposures=5, batch_size=3, packing="concat", window=40), (1, 2), 2),
    (BIOR, TrainConfig(exposures=4, batch_size=5, packing="per_bio"), (0, 0), 1),
    (BIOD_JUNK, TrainConfig(exposures=3, batch_size=7, packing="per_bio"), (0, 0), 1),
])
def test_batches_are_bit_identical_with_and_without_rendering_ahead(data, cfg, start, workers):
    assert_same(batches(data, cfg, start), batches(data, cfg, start, prefetch=workers))


def tiny_model(ds, seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=16))


def test_a_resumed_run_rendering_ahead_ends_bit_identical(tmp_path):
    ds = make_dataset(BIOS)
    cfg = TrainConfig(exposures=4, batch_size=4, lr=3e-3, packing="concat", window=48)
    whole = tiny_model(ds)
    ran = train(whole, ds, cfg, progress=False, prefetch=0)
    ckpt = tmp_path / "run.pt"
    stopped = train(tiny_model(ds), ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=5, prefetch=1)
    assert stopped["stopped"] and ckpt.exists()
    resumed = tiny_model(ds, seed=99)  # everything must come from the checkpoint
    summary = train(resumed, ds, cfg, checkpoint=ckpt, progress=False, prefetch=1)
    assert summary["prefetch"] == 1 and "prefetch" not in ran
    assert summary["loss_curve"] == ran["loss_curve"] and summary["tokens"] == ran["tokens"]
    for pa, pb in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)


def test_stopping_early_stops_the_render_workers():
    stream = rounds(make_dataset(BIOS), TrainConfig(exposures=50, packing="per_bio"), workers=2)
    next(stream)
    assert multiprocessing.active_children()
    stream.close()
    assert not multiprocessing.active_children()


def test_a_daemonic_process_renders_its_rounds_itself(monkeypatch):
    """A daemonic process (a multiprocessing.Pool's worker) may not start any: the same rounds,
    rendered in place."""
    cfg = TrainConfig(exposures=3, batch_size=4, packing="per_bio")
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert_same(batches(BIOS, cfg, prefetch=2), batches(BIOS, cfg))


def test_rendering_ahead_is_on_by_default_on_cuda_for_long_renders_only():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    long = 10 * PREFETCH_MIN_SECONDS
    assert prefetch_workers(None, cpu, long) == 0  # the CPU's cores train
    assert prefetch_workers(None, cuda, PREFETCH_MIN_SECONDS / 2) == 0  # workers would take longer to start
    assert 1 <= prefetch_workers(None, cuda, long) <= 4
    assert prefetch_workers(3, cpu, 0.0) == 3 and prefetch_workers(0, cuda, long) == 0
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="prefetch"):
            prefetch_workers(bad, cpu, 0.0)
