"""The cost model behind every "estimated … on this machine": fitted to records, with honest defaults."""

from __future__ import annotations

import json

import pytest

from kcl.cost import CostModel, fit_cost_model, fit_report, machine_cost_model
from kcl.data import DataConfig
from kcl.run import ModelSpec, RunConfig, estimated_seconds
from kcl.train import TrainConfig, estimate_steps


def fake_record(flops_rows: int, tokens: int, steps: int, wall: float, threads: int | None = 1) -> dict:
    train = {"steps": steps, "tokens": tokens, "wall_seconds": wall}
    if threads is not None:
        train["threads"] = threads
    return {"result": {"params": {"trainable_all_rows": flops_rows}, "train": train}}


def test_fit_recovers_the_rate_and_the_per_step_cost():
    rate, per_step = 20e9, 4e-3
    records = [fake_record(rows, tokens, steps, 6 * rows * tokens / rate + steps * per_step)
               for rows, tokens, steps in [(20_000, 10**7, 5_000), (40_000, 10**7, 1_000), (80_000, 2 * 10**7, 8_000),
                                           (10_000, 5 * 10**6, 20_000), (150_000, 10**7, 2_000)]]
    records.append(fake_record(20_000, 10**7, 5_000, 999.0, threads=2))  # another thread count: ignored
    model = fit_cost_model(records, threads=1)
    assert model.n_records == 5
    assert model.flops_per_second == pytest.approx(rate, rel=1e-6)
    assert model.seconds_per_step == pytest.approx(per_step, rel=1e-6)
    assert "fitted to 5 records" in model.basis


def test_too_few_records_fall_back_to_the_defaults():
    records = [fake_record(20_000, 10**7, 5_000, 60.0, threads=None) for _ in range(3)]  # old: counted as 2
    model = fit_cost_model(records + [{"key": "not a run"}], threads=2)
    assert model == CostModel(threads=2) and model.basis.startswith("default")


def test_machine_model_reads_a_results_folder(tmp_path):
    for i in range(6):
        (tmp_path / "sweep").mkdir(exist_ok=True)
        rows, steps = 10_000 * (i + 1), 1_000 * (6 - i)
        record = fake_record(rows, 10**7, steps, 6 * rows * 10**7 / 30e9 + steps * 2e-3)
        (tmp_path / "sweep" / f"{i}.json").write_text(json.dumps(record))
    (tmp_path / "sweep" / "broken.json").write_text("{")
    model = machine_cost_model(1, str(tmp_path))
    assert model.n_records == 6 and model.flops_per_second == pytest.approx(30e9, rel=1e-6)


def test_estimate_counts_the_steps_and_the_flops():
    config = RunConfig(data=DataConfig(name="bioD", n_people=50, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10)),
                       model=ModelSpec(n_layer=1, n_head=2, d_model=16), train=TrainConfig(exposures=10, batch_size=5))
    from kcl.run import build

    steps = estimate_steps(build(config)[0], config.train)
    assert estimated_seconds(config, cost=CostModel(flops_per_second=1e30, seconds_per_step=1.0)) == pytest.approx(steps)
    slow = estimated_seconds(config, cost=CostModel(flops_per_second=1e6))
    assert slow == pytest.approx(2 * estimated_seconds(config, cost=CostModel(flops_per_second=2e6)))


def test_fit_report_compares_the_fit_with_flops_alone():
    records = [fake_record(10_000 * k, 10**7, 3_000, 6 * 10_000 * k * 10**7 / 25e9 + 3_000 * 5e-3) for k in range(1, 7)]
    (row,) = fit_report(records)
    assert row["threads"] == 1 and row["records"] == 6 and row["GFLOP/s"] == 25.0
    assert row["actual / fitted"].startswith("1.00")
    assert not row["actual / FLOPs only"].startswith("1.00")  # the per-step cost is missing from it
