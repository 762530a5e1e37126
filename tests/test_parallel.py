"""Data parallel training is the one-process run, batch for batch (kcl.parallel)."""

import numpy as np
import pytest
import torch

from kcl.parallel import check_ranks, train_data_parallel
from kcl.config import build, config_from_dict
from kcl.run import run
from kcl.train import shard_rows, train

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it

# 41 people, batch 8: the last batch of a one-exposure run has one row, so one rank gets none
ODD = {
    "data": {"name": "bioD", "n_people": 41, "K": 2, "C": 2, "D": 4, "L": 1, "T": 6, "pools": [10, 10, 10]},
    "model": {"arch": "gpt2", "n_layer": 1, "n_head": 2, "d_model": 16},
    "train": {"exposures": 6, "batch_size": 8, "lr": 0.01, "packing": "per_bio"},
    "bootstrap": 50,
}


def one_process(config, **kw):
    dataset, model = build(config)
    summary = train(model, dataset, config.train, progress=False, **kw)
    return summary, model.state_dict()


def assert_same_weights(a: dict, b: dict, tol: float = 1e-4):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=tol, atol=tol, msg=name)


def test_shard_rows_covers_the_batch_once_even_with_fewer_rows_than_ranks():
    batch = np.arange(10).reshape(5, 2)
    parts = [shard_rows(batch, (r, 2)) for r in range(2)]
    assert np.array_equal(np.concatenate(parts), batch) and [len(p) for p in parts] == [3, 2]
    assert [len(shard_rows(batch[:1], (r, 2))) for r in range(2)] == [1, 0]


def test_two_ranks_train_the_one_process_run():
    config = config_from_dict(ODD)
    alone, weights = one_process(config)
    split, split_weights = train_data_parallel(config, 2, progress=False)
    assert split["processes"] == 2 and split["threads"] >= 1
    assert (split["steps"], split["tokens"]) == (alone["steps"], alone["tokens"])
    assert_same_weights(weights, split_weights)
    for (step_a, loss_a), (step_b, loss_b) in zip(alone["loss_curve"], split["loss_curve"]):
        assert step_a == step_b and loss_a == pytest.approx(loss_b, rel=1e-4)


def test_a_rank_with_no_rows_still_steps_with_the_others():
    config = config_from_dict({**ODD, "train": {**ODD["train"], "exposures": 1}})  # 41 rows: 8·5 + 1
    alone, weights = one_process(config)
    split, split_weights = train_data_parallel(config, 2, progress=False)
    assert split["steps"] == alone["steps"] == 6
    assert_same_weights(weights, split_weights)


def test_a_data_parallel_checkpoint_resumes_in_one_process(tmp_path):
    config = config_from_dict(ODD)
    _, whole = one_process(config)
    ckpt = tmp_path / "run.pt"
    stopped, _ = train_data_parallel(config, 2, checkpoint=ckpt, progress=False, stop_after_steps=7)
    assert stopped["stopped"] and stopped["step"] == 7 and ckpt.exists()
    _, resumed = one_process(config, checkpoint=ckpt)
    assert_same_weights(whole, resumed)


def test_compiled_ranks_train_the_one_process_run():
    config = config_from_dict(ODD)
    _, weights = one_process(config)
    split, split_weights = train_data_parallel(config, 2, progress=False, compiled=True)
    assert split["processes"] == 2 and split["compiled"] is True
    assert_same_weights(weights, split_weights)


def test_run_with_two_ranks_records_them_and_measures_the_same_model():
    config = config_from_dict(ODD)
    alone, split = run(config, progress=False), run(config, progress=False, ranks=2)
    assert split["train"]["processes"] == 2 and "processes" not in alone["train"]
    assert split["R"] == pytest.approx(alone["R"], rel=1e-3, abs=1.0)


@pytest.mark.parametrize("ranks", [0, -1, 1.5, True, "2", 10_000])
def test_bad_ranks_are_refused_before_any_work(ranks):
    with pytest.raises(ValueError, match="ranks"):
        check_ranks(ranks, device="cpu")


def test_a_mixture_of_experts_is_not_split_over_ranks():
    moe = config_from_dict({**ODD, "model": {**ODD["model"], "arch": "gpt2_moe", "options": [["n_experts", 4]]}})
    with pytest.raises(ValueError, match="mixture of experts"):
        train_data_parallel(moe, 2, device="cpu")


def test_the_command_line_refuses_workers_and_ranks_together(tmp_path, capsys):
    import yaml

    from kcl.cli import main

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"store": str(tmp_path / "store"), "base": ODD, "grid": {}}))
    assert main(["sweep", str(sweep), "--workers", "2", "--ranks", "2"]) == 2
    assert "workers (2) and ranks (2)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sweep", str(sweep), "--ranks", "0"])
    assert "--ranks takes a positive integer" in capsys.readouterr().err
    assert main(["chapter", "result2-v3", "--dry-run", "--workers", "2", "--ranks", "2"]) == 2
    assert "workers (2) and ranks (2)" in capsys.readouterr().err
    assert main(["run", str(sweep), "--ranks", "2", "--no-progress"]) == 0
    (record,) = list((tmp_path / "store").glob("*.json"))
    assert '"processes": 2' in record.read_text()


def test_bench_ranks_times_the_real_run_three_ways():
    from kcl.parallel import bench_ranks

    (row,) = bench_ranks({"odd": (config_from_dict(ODD), 10)}, cores=2, compiled=False, log=lambda _: None)
    side = row["2_runs_at_once_each"]
    assert row["one_run_one_thread"] > 0 and side > 0 and row["one_run_2_ranks"] > 0
    assert row["run_speedup"] == pytest.approx(row["one_run_2_ranks"] / side, abs=0.006)  # rounded to 2 places
