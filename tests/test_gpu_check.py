"""The GPU check (``tools/gpu_check.sh``, ``kcl.gpu_check``): its quickest mode runs on the CPU in
seconds through the same steps, and its verdicts follow their rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import kcl.gpu_check as gpu_check
from kcl.gpu_check import peak_tflops, precision_check, reference_config, seed_spread

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it

ROOT = Path(__file__).resolve().parents[1]


def test_the_script_runs_on_the_cpu_in_its_quickest_mode(tmp_path):
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "results").rglob("*"))
    env = {**os.environ, "OUT": str(tmp_path), "PY": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), "--device", "cpu", "--quick"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = json.loads((tmp_path / "summary.json").read_text())["steps"]
    assert {name: step["status"] for name, step in steps.items()} == {"cuda_tests": 0, "gpu_check": 0,
                                                                      "notebooks": "quick"}
    precision = json.loads((tmp_path / "precision.json").read_text())
    assert precision["device"] == "cpu" and precision["quick"] is True and precision["bf16_keeps_bits"] is None
    assert precision["runs"]["default"]["precision"] == "fp32" and precision["runs"]["bf16"]["precision"] == "bf16"
    run = json.loads((tmp_path / "gpu_run.json").read_text())
    assert run["run"]["tokens_per_second"] > 0 and 0 < run["mfu"] < 1 and run["rendering"][0]["workers"] == 0
    assert "bits" in run["run"] and (tmp_path / "gpu_check.log").is_file()
    assert "== done in" in done.stdout and "MFU" in done.stdout
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "results").rglob("*")) == before  # nothing in results/


def test_the_reference_seed_spread_comes_from_the_committed_reruns():
    spread = seed_spread(reference_config())
    assert {"0/0", "1/1", "2/2"} <= set(spread["R_by_seed"]) and spread["records"] >= 3
    assert 0 < spread["sd"] < 0.5


@pytest.mark.parametrize("name, precision, peak", [("NVIDIA H100 80GB HBM3", "tf32", 495.0),
                                                   ("NVIDIA H100 80GB HBM3", "bf16", 989.0),
                                                   ("NVIDIA H100 PCIe", "tf32", 378.0),
                                                   ("NVIDIA H200", "bf16", 989.0)])
def test_a_known_gpu_peak_comes_from_its_data_sheet(monkeypatch, name, precision, peak):
    monkeypatch.setattr(gpu_check, "device_name", lambda device: name)
    value, source = peak_tflops(torch.device("cuda"), precision)
    assert value == peak and source.startswith("data sheet")


@pytest.mark.parametrize("bf16_gap, kept", [(0.01, True), (0.5, False)])
def test_bf16_keeps_the_bits_when_it_moves_r_less_than_a_seed_does(monkeypatch, bf16_gap, kept):
    def fake_run(config, device, progress):
        precision = "tf32" if config.train.precision == "auto" else config.train.precision
        return {"R": 1.9 + (bf16_gap if precision == "bf16" else 0.0), "bits": 1.0, "R_ci": [0, 0],
                "train": {"precision": precision, "device": device, "steps": 1, "tokens": 1, "wall_seconds": 1.0,
                          "tokens_per_second": 1.0}}

    monkeypatch.setattr(gpu_check, "run", fake_run)
    monkeypatch.setattr(gpu_check, "device_name", lambda device: "a GPU")
    out = precision_check(torch.device("cuda"), log=lambda _: None)
    assert out["bf16_keeps_bits"] is kept and out["default_within_seed_spread"] is True
    assert out["runs"]["default"]["precision"] == "tf32" and out["R_gap"] == pytest.approx(bf16_gap)
