"""The engine on a CUDA device (marked ``cuda``: skipped without one; ``tools/gpu_check.sh`` runs
them on a lent GPU): the model computes there what it computes on the CPU, a run trains and is
measured there in the precision it records, and rendering ahead feeds it the same stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kcl.config import ModelSpec, RunConfig
from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model
from kcl.run import run
from kcl.train import (AUTO_CUDA_PRECISION, TrainConfig, matmul_precision, next_token_loss, resolve_precision,
                       to_device, train)

pytestmark = pytest.mark.cuda

CUDA = torch.device("cuda")
BIOD = DataConfig(name="bioD", n_people=60, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10))
BIOS = DataConfig(name="bioS", n_people=40, seed=1)


def model_pair(arch: str, vocab: int):
    torch.manual_seed(0)
    cpu = build_model(ModelConfig(arch=arch, vocab_size=vocab, n_layer=2, n_head=2, d_model=64))
    gpu = build_model(ModelConfig(arch=arch, vocab_size=vocab, n_layer=2, n_head=2, d_model=64))
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to(CUDA)


def loss_and_grads(model, seqs: torch.Tensor) -> tuple[torch.Tensor, dict]:
    model.zero_grad(set_to_none=True)
    loss = next_token_loss(model(seqs[:, :-1]), seqs, pad=0)
    loss.backward()
    return loss.detach().cpu(), {n: p.grad.detach().cpu() for n, p in model.named_parameters()}


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("precision, tol", [("fp32", 1e-4), ("tf32", 1e-2)])
def test_forward_and_backward_on_cuda_equal_the_cpus(arch, precision, tol):
    cpu, gpu = model_pair(arch, 300)
    seqs = torch.randint(1, 300, (8, 65), generator=torch.Generator().manual_seed(0))
    want_loss, want_grads = loss_and_grads(cpu, seqs)
    with matmul_precision(precision):
        got_loss, got_grads = loss_and_grads(gpu, seqs.to(CUDA))
    torch.testing.assert_close(got_loss, want_loss, rtol=tol, atol=tol)
    for name, grad in want_grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=tol * 10, atol=tol, msg=name)


def test_auto_is_tf32_on_this_gpu_and_bf16_is_there():
    assert resolve_precision("auto", CUDA) == AUTO_CUDA_PRECISION == "tf32"
    assert resolve_precision("bf16", CUDA) == "bf16"


def tiny(ds, seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=32))


def test_a_tiny_run_on_cuda_follows_the_same_run_on_the_cpu():
    ds = make_dataset(BIOD)
    cfg = TrainConfig(exposures=10, batch_size=8, lr=3e-3, packing="per_bio", precision="fp32")
    on_cpu, on_gpu = tiny(ds), tiny(ds)
    ran_cpu = train(on_cpu, ds, cfg, device="cpu", progress=False)
    ran_gpu = train(on_gpu, ds, cfg, device="cuda", progress=False)
    assert ran_gpu["device"].startswith("cuda") and ran_gpu["precision"] == "fp32"
    assert ran_gpu["tokens"] == ran_cpu["tokens"] and ran_gpu["steps"] == ran_cpu["steps"]
    curve_cpu, curve_gpu = (np.array([loss for _, loss in r["loss_curve"]]) for r in (ran_cpu, ran_gpu))
    np.testing.assert_allclose(curve_gpu, curve_cpu, rtol=1e-3)
    for p_cpu, p_gpu in zip(on_cpu.parameters(), on_gpu.parameters()):
        torch.testing.assert_close(p_gpu.cpu(), p_cpu, rtol=1e-2, atol=1e-3)


def tiny_config(precision: str) -> RunConfig:
    return RunConfig(data=BIOD, model=ModelSpec("gpt2", 1, 2, 32), bootstrap=50,
                     train=TrainConfig(exposures=30, batch_size=16, lr=5e-3, packing="per_bio", precision=precision))


def test_a_run_on_cuda_in_tf32_measures_what_the_cpu_measures():
    on_gpu = run(tiny_config("auto"), device="cuda", progress=False)
    on_cpu = run(tiny_config("auto"), device="cpu", progress=False)
    assert on_gpu["train"]["device"].startswith("cuda") and on_gpu["train"]["precision"] == "tf32"
    assert on_cpu["train"]["precision"] == "fp32"
    assert on_gpu["R"] == pytest.approx(on_cpu["R"], abs=0.05)  # the same run up to rounding


def test_a_bf16_run_on_cuda_learns_and_says_so():
    on_gpu = run(tiny_config("bf16"), device="cuda", progress=False)
    assert on_gpu["train"]["precision"] == "bf16"
    assert on_gpu["train"]["loss_curve"][-1][1] < on_gpu["train"]["loss_curve"][0][1]


def test_rendering_ahead_feeds_a_cuda_run_the_same_stream():
    ds = make_dataset(BIOS)
    cfg = TrainConfig(exposures=4, batch_size=4, lr=3e-3, packing="concat", window=48, precision="fp32")
    plain = train(tiny(ds), ds, cfg, device="cuda", progress=False, prefetch=0)
    ahead = train(tiny(ds), ds, cfg, device="cuda", progress=False, prefetch=2)
    assert ahead["prefetch"] == 2 and ahead["tokens"] == plain["tokens"] and ahead["steps"] == plain["steps"]
    np.testing.assert_allclose([l for _, l in ahead["loss_curve"]], [l for _, l in plain["loss_curve"]], rtol=1e-4)


def test_batches_reach_the_gpu_unchanged():
    batch = np.random.default_rng(0).integers(0, 1000, (16, 129))
    moved = to_device(batch, CUDA)
    assert moved.device.type == "cuda" and torch.equal(moved.cpu(), torch.from_numpy(batch))
