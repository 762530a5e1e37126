"""The cost model behind every "estimated … on this machine": fitted to records, with honest defaults."""

from __future__ import annotations

import json

import pytest

from kcl.cost import CostModel, compiled_speedups, fit_cost_model, fit_report, holdout_report, machine_cost_model
from kcl.data import DataConfig
from kcl.config import ModelSpec, RunConfig
from kcl.run import estimated_seconds
from kcl.record import Record
from kcl.train import TrainConfig, estimate_steps
from made_up import as_record  # tests/ is on sys.path


def fake_record(flops_rows: int, tokens: int, steps: int, wall: float, threads: int | None = 1,
                context: int = 32, vocab: int = 400, n_layer: int = 2, d_model: int = 16, **trained) -> Record:
    """A training record made by hand; ``trained``: further fields of its training summary."""
    train = {"steps": steps, "tokens": tokens, "wall_seconds": wall, **trained}
    if threads is not None:
        train["threads"] = threads
    batch = max(1, round(tokens / (steps * context)))
    return as_record({"config": {"model": {"n_layer": n_layer, "d_model": d_model}, "train": {"batch_size": batch},
                                 "data": {"name": "bioD"}},
                      "result": {"params": {"trainable_all_rows": flops_rows, "non_embedding": flops_rows - vocab * d_model},
                                 "train": train, "data": {"vocab_size": vocab}}})


def with_wall(record: Record, wall: float) -> Record:
    """``record`` with another wall time."""
    stored = record.to_dict()
    stored["result"]["train"]["wall_seconds"] = wall
    return Record.from_dict(stored)


def test_fit_recovers_the_rate_and_the_per_step_cost():
    rate, per_step = 20e9, 4e-3
    records = [fake_record(rows, tokens, steps, 6 * rows * tokens / rate + steps * per_step)
               for rows, tokens, steps in [(20_000, 10**7, 5_000), (40_000, 10**7, 1_000), (80_000, 2 * 10**7, 8_000),
                                           (10_000, 5 * 10**6, 20_000), (150_000, 10**7, 2_000)]]
    records.append(fake_record(20_000, 10**7, 5_000, 999.0, threads=2))  # another thread count: ignored
    records.append(fake_record(20_000, 10**7, 5_000, 0.5, device="cuda:0"))  # another device's prices: ignored
    model = fit_cost_model(records, threads=1)
    assert model.n_records == 5
    assert model.flops_per_second == pytest.approx(rate, rel=1e-6)
    assert model.seconds_per_step == pytest.approx(per_step, rel=1e-6)
    assert "fitted to 5 records" in model.basis


def test_fit_prices_attention_and_the_output_softmax_and_never_a_negative_price():
    """bioS in 512-token windows with a vocabulary of thousands costs 3–4× what 6·P·tokens says:
    the fit recovers each term's price from records that differ in context and vocabulary."""
    from kcl.cost import record_work

    rate, per_step, per_attention, per_logit = 60e9, 3e-3, 1 / 5e9, 1e-8
    shapes = [(20_000, 10**7, 5_000, 32, 400), (40_000, 10**7, 1_000, 512, 2_000), (80_000, 2 * 10**7, 8_000, 64, 400),
              (10_000, 5 * 10**6, 20_000, 32, 3_000), (150_000, 10**7, 2_000, 256, 1_000), (30_000, 10**7, 3_000, 512, 200)]
    records = []
    for rows, tokens, steps, context, vocab in shapes:
        record = fake_record(rows, tokens, steps, 0.0, context=context, vocab=vocab)
        w = record_work(record)
        records.append(with_wall(record, w.flops / rate + w.steps * per_step + w.attention * per_attention
                                 + w.logits * per_logit))
    model = fit_cost_model(records, threads=1)
    assert model.flops_per_second == pytest.approx(rate, rel=1e-6)
    assert model.seconds_per_step == pytest.approx(per_step, rel=1e-6)
    assert model.seconds_per_attention_flop == pytest.approx(per_attention, rel=1e-6)
    assert model.seconds_per_logit == pytest.approx(per_logit, rel=1e-6)
    assert "attention at 5.0 GFLOP/s" in model.basis
    two = fit_cost_model(records, threads=1, terms=("flops", "steps"))
    assert two.seconds_per_attention_flop == 0 and two.seconds_per_logit == 0
    faster = [with_wall(r, record_work(r).flops / rate - record_work(r).steps * per_step + 50.0)
              for r in records]  # steps that make things faster: the fit drops the term instead of pricing it below 0
    model = fit_cost_model(faster, threads=1)
    assert model.seconds_per_step >= 0 and model.seconds_per_attention_flop >= 0 and model.seconds_per_logit >= 0


def test_too_few_records_fall_back_to_the_defaults():
    records = [fake_record(20_000, 10**7, 5_000, 60.0, threads=None) for _ in range(3)]  # old: counted as 2
    model = fit_cost_model(records + [as_record({"key": "not a run"})], threads=2)
    assert model == CostModel(threads=2) and model.basis.startswith("default")


def test_machine_model_reads_a_results_folder(tmp_path):
    for i in range(6):
        (tmp_path / "sweep").mkdir(exist_ok=True)
        rows, steps = 10_000 * (i + 1), 1_000 * (6 - i)
        record = fake_record(rows, 10**7, steps, 6 * rows * 10**7 / 30e9 + steps * 2e-3)
        (tmp_path / "sweep" / f"{i}.json").write_text(json.dumps(record.to_dict()))
    (tmp_path / "sweep" / "broken.json").write_text("{")
    (tmp_path / "sweep" / "latest.json").write_text(json.dumps({"ranks": []}))  # a benchmark, not a record
    model = machine_cost_model(1, str(tmp_path))
    assert model.n_records == 6 and model.flops_per_second == pytest.approx(30e9, rel=1e-6)


def test_estimate_counts_the_steps_and_the_flops():
    config = RunConfig(data=DataConfig(name="bioD", n_people=50, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10)),
                       model=ModelSpec(n_layer=1, n_head=2, d_model=16), train=TrainConfig(exposures=10, batch_size=5))
    from kcl.config import build

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


@pytest.mark.parametrize("packing, d_model", [("per_bio", 16), ("concat", 16), ("concat", None)])
def test_the_estimate_sees_the_work_its_record_will_show(packing, d_model):
    """``run.estimated_work`` (from a config, before the run) and ``cost.record_work`` (from the
    record, after it) describe the same run: two routes to one number must agree. ``d_model=None``
    (the paper's GPT2-ℓ-h width, 64 per head: every gpu sweep) once made both raise."""
    from dataclasses import asdict

    from kcl.cost import record_work
    from kcl.run import estimated_work, run

    config = RunConfig(data=DataConfig(name="bioD", n_people=40, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10)),
                       model=ModelSpec(n_layer=1, n_head=2, d_model=d_model),
                       train=TrainConfig(exposures=4, batch_size=4, packing=packing, window=64))
    record = as_record({"config": json.loads(json.dumps(asdict(config))), "result": run(config, progress=False)})
    before, after = estimated_work(config), record_work(record)
    assert after.steps == pytest.approx(before.steps, rel=0.1)
    # the plan takes full batches of full sequences; a run this small ends on a partial one (about 10%
    # fewer tokens), and attention grows with tokens × context, so it moves about twice as much
    for term, rel in (("flops", 0.15), ("logits", 0.15), ("attention", 0.3)):
        assert getattr(after, term) == pytest.approx(getattr(before, term), rel=rel), term


def test_holdout_report_estimates_each_store_from_the_others():
    """A sweep whose runs cost twice what the other sweeps' prices say shows a ratio of 2."""
    rate, per_step = 20e9, 4e-3

    def wall(rows, tokens, steps):
        return 6 * rows * tokens / rate + steps * per_step

    shapes = [(20_000, 10**7, 5_000), (40_000, 10**7, 1_000), (80_000, 2 * 10**7, 8_000),
              (10_000, 5 * 10**6, 20_000), (150_000, 10**7, 2_000), (30_000, 10**7, 3_000)]
    stores = {"a": [fake_record(*s, wall(*s)) for s in shapes[:3]],
              "b": [fake_record(*s, wall(*s)) for s in shapes[3:]],
              "slow": [fake_record(60_000, 10**7, 4_000, 2 * wall(60_000, 10**7, 4_000))],
              "other threads": [fake_record(60_000, 10**7, 4_000, 1.0, threads=2)]}
    rows = {row["store"]: row for row in holdout_report(stores, threads=1)}
    assert set(rows) == {"a", "b", "slow"}   # nothing on 1 thread in "other threads"
    assert rows["slow"]["actual / estimate"] == pytest.approx(2.0, abs=0.01)
    assert rows["slow"]["runs"] == 1 and rows["a"]["data"] == "bioD"


def test_fit_prices_a_step_that_outgrows_the_cache():
    """The same shape in larger batches costs more per token (the steps diagnostic: batch 4 trains
    about 1.5× faster per token than batch 24 on this CPU): the spill term recovers that price, and
    without it the fit cannot follow the batch."""
    from kcl.cost import record_work

    rate, per_logit, per_spill = 60e9, 1e-8, 1e-9
    records = []
    for rows, context, vocab, batch in [(20_000, 32, 400, 4), (20_000, 32, 400, 48), (80_000, 512, 2_000, 4),
                                        (80_000, 512, 2_000, 24), (40_000, 128, 1_000, 8), (150_000, 256, 3_000, 12)]:
        tokens = 10**7
        record = fake_record(rows, tokens, tokens // (batch * context), 0.0, context=context, vocab=vocab)
        w = record_work(record)
        records.append(with_wall(record, w.flops / rate + w.logits * per_logit + w.spill * per_spill))
    model = fit_cost_model(records, threads=1)
    assert model.seconds_per_spill == pytest.approx(per_spill, rel=1e-6)
    assert model.seconds_per_logit == pytest.approx(per_logit, rel=1e-6)
    small, large = records[2], records[3]
    assert model.seconds(record_work(large)) > 1.2 * model.seconds(record_work(small))  # same tokens, batch 24 vs 4
    without = fit_cost_model(records, threads=1, terms=("flops", "attention", "logits", "steps"))
    assert without.seconds_per_spill == 0
    assert "per 1000 tokens a step" in model.basis


def test_a_data_parallel_run_is_priced_as_one_rank_share():
    """Each of ``ranks`` processes takes every step on its share of the tokens: the estimate
    halves the per-token terms, keeps the per-step one, and a record made so reads the same way."""
    from kcl.cost import record_work

    config = RunConfig(data=DataConfig(name="bioD", n_people=50, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10)),
                       model=ModelSpec(n_layer=1, n_head=2, d_model=16), train=TrainConfig(exposures=10, batch_size=6))
    tokens_only = CostModel(flops_per_second=1e6)
    assert estimated_seconds(config, cost=tokens_only, ranks=2) == pytest.approx(
        estimated_seconds(config, cost=tokens_only) / 2)
    steps_only = CostModel(flops_per_second=1e30, seconds_per_step=1.0)
    assert estimated_seconds(config, cost=steps_only, ranks=2) == pytest.approx(estimated_seconds(config, cost=steps_only))
    alone, split = fake_record(20_000, 10**7, 5_000, 100.0), fake_record(20_000, 10**7, 5_000, 50.0, processes=2)
    a, b = record_work(alone), record_work(split)
    assert (b.flops, b.logits, b.steps) == (a.flops / 2, a.logits / 2, a.steps)
    assert b.spill == pytest.approx(a.spill / 4)  # half the tokens, each step half as wide


def test_compiled_speedups_come_from_the_bench_record(tmp_path):
    """The plan of a compiled sweep quotes the bench's measured speed-ups; none measured: []."""
    bench = tmp_path / "latest.json"
    assert compiled_speedups(bench) == []
    bench.write_text(json.dumps({"ranks": [{"run": "a", "compiled_speedup": 1.25}, {"run": "b"},
                                           {"run": "c", "compiled_speedup": 1.04}]}))
    assert compiled_speedups(bench) == [1.25, 1.04]
    bench.write_text("{not json")
    assert compiled_speedups(bench) == []
