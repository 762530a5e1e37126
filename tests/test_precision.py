"""A run's precision is an explicit, recorded choice (``TrainConfig.precision``): keyed only when
set, resolved per device (``auto``: fp32 on the CPU, TF32 on CUDA until a GPU check says bf16
keeps the bits), and stated in the run's summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kcl.config import RunConfig, config_from_dict
from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model
from kcl.record import Record
from kcl.store import config_dict, config_key
from kcl.train import AUTO_CUDA_PRECISION, TrainConfig, matmul_precision, resolve_precision, train

ROOT = Path(__file__).resolve().parents[1]
BIOD = DataConfig(name="bioD", n_people=40, K=2, C=2, D=4, L=1, T=6, pools=(10, 10, 10))


def test_precision_is_keyed_only_when_set():
    record = Record.from_dict(json.loads((ROOT / "results/reference/bdcafa8da56c64f9.json").read_text()))
    assert config_key(config_from_dict(record.config)) == record.key  # earlier records keep their keys
    auto = RunConfig(train=TrainConfig(precision="auto"))
    assert config_key(auto) == config_key(RunConfig()) and "precision" not in config_dict(auto)["train"]
    bf16 = RunConfig(train=TrainConfig(precision="bf16"))
    assert config_key(bf16) != config_key(auto) and config_dict(bf16)["train"]["precision"] == "bf16"


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, tf32, bf16"):
        TrainConfig(precision="fp16")


def test_the_cpu_trains_in_fp32_or_bf16_and_has_no_tf32():
    cpu = torch.device("cpu")
    assert [resolve_precision(p, cpu) for p in ("auto", "fp32", "bf16")] == ["fp32", "fp32", "bf16"]
    with pytest.raises(ValueError, match="tf32 needs a CUDA GPU"):
        resolve_precision("tf32", cpu)


@pytest.mark.parametrize("capability, auto", [((9, 0), "tf32"), ((8, 0), "tf32"), ((7, 0), "fp32")])
def test_auto_on_cuda_is_tf32_where_the_gpu_has_it(monkeypatch, capability, auto):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: capability[0] >= 8)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "an old GPU")
    cuda = torch.device("cuda")
    assert resolve_precision("auto", cuda) == auto and resolve_precision("fp32", cuda) == "fp32"
    if capability[0] < 8:
        for precision in ("tf32", "bf16"):
            with pytest.raises(ValueError, match=f"precision {precision} needs"):
                resolve_precision(precision, cuda)


def test_auto_means_bf16_only_where_a_committed_gpu_check_says_bf16_keeps_the_bits():
    check = ROOT / "results/bench/gpu/precision.json"
    outcome = json.loads(check.read_text()) if check.is_file() else {}
    kept = outcome.get("device", "cpu") != "cpu" and outcome.get("bf16_keeps_bits") is True
    assert AUTO_CUDA_PRECISION == ("bf16" if kept else "tf32")


def test_matmul_precision_sets_tf32_inside_the_block_only():
    matmul = torch.backends.cuda.matmul
    name = "fp32_precision" if hasattr(matmul, "fp32_precision") else "allow_tf32"
    before = getattr(matmul, name)
    with matmul_precision("tf32"):
        assert getattr(matmul, name) in ("tf32", True)
    assert getattr(matmul, name) == before
    with matmul_precision("fp32"):
        assert getattr(matmul, name) in ("ieee", False)
    assert getattr(matmul, name) == before


def test_the_summary_states_the_precision_a_run_trained_in():
    ds = make_dataset(BIOD)
    runs = {}
    for precision in ("auto", "bf16"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=16))
        cfg = TrainConfig(exposures=3, batch_size=8, lr=3e-3, packing="per_bio", precision=precision)
        runs[precision] = train(model, ds, cfg, device="cpu", progress=False)
    assert runs["auto"]["precision"] == "fp32" and runs["bf16"]["precision"] == "bf16"
    assert runs["auto"]["loss_curve"] != runs["bf16"]["loss_curve"]  # bf16 autocast did run
