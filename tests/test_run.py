import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kcl.cli import main
from kcl.config import config_from_dict, expand_sweep
from kcl.run import run
from kcl.store import ResultStore, config_key

TINY = {
    "data": {"name": "bioD", "n_people": 40, "K": 2, "C": 2, "D": 4, "L": 1, "T": 6, "pools": [10, 10, 10]},
    "model": {"arch": "gpt2", "n_layer": 1, "n_head": 2, "d_model": 16},
    "train": {"exposures": 30, "batch_size": 8, "lr": 0.01, "packing": "per_bio"},
    "bootstrap": 50,
}


def write_sweep(path: Path, store: Path, base=TINY, grid=None) -> Path:
    import yaml
    path.write_text(yaml.safe_dump({"store": str(store), "base": base, "grid": grid or {}}))
    return path


def test_run_end_to_end_gives_a_complete_record():
    result = run(config_from_dict(TINY), progress=False)
    assert result["params"]["total"] > 0 and result["R_max"] > 0
    assert result["R"] <= result["R_max"] + 1e-9
    assert set(result["accuracy"]) == {"ID1", "ID2"}
    assert result["train"]["steps"] == 150 and result["train"]["tokens_per_second"] > 0
    assert result["R_ci"][0] <= result["R"] <= result["R_ci"][1]
    by_position = result["loss_by_position"]  # bioD: K = 2 value sentences per bio, in random order
    assert set(by_position) == {"ID1", "ID2"} and all(sum(v["people"]) == 40 for v in by_position.values())


def test_a_sweep_file_can_ask_for_compiled_training(tmp_path, capsys):
    import yaml

    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store")
    spec = yaml.safe_load(sweep.read_text())
    sweep.write_text(yaml.safe_dump({**spec, "compiled": "yes"}))
    assert main(["run", str(sweep)]) == 2
    assert "'compiled' must be true or false" in capsys.readouterr().err
    sweep.write_text(yaml.safe_dump({**spec, "compiled": True}))
    assert main(["run", str(sweep), "--no-progress", "--set", "train.exposures=2"]) == 0
    (record,) = ResultStore(tmp_path / "store").records()
    assert record.result.train.compiled is True


def test_sweep_expansion_and_bad_fields():
    configs = expand_sweep({"base": TINY, "grid": {"train.lr": [0.01, 0.02], "model.n_layer": [1, 2]}})
    assert len(configs) == 4 and len({config_key(c) for c in configs}) == 4
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        config_from_dict({**TINY, "train": {"exposure": 3}})


def test_cli_runs_stores_and_skips_finished(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store", grid={"train.lr": [0.01, 0.02]})
    assert main(["sweep", str(sweep), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 runs missing" in out
    assert len(list((tmp_path / "store").glob("*.json"))) == 2
    assert main(["sweep", str(sweep), "--no-progress"]) == 0
    assert "0 of 2 runs missing" in capsys.readouterr().out
    assert main(["show", str(tmp_path / "store")]) == 0
    assert capsys.readouterr().out.count("R=") == 2


def test_cli_refuses_a_bad_knob_before_any_work(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store")
    assert main(["run", str(sweep), "--set", "data.K=0"]) == 2
    assert "K must be in [1" in capsys.readouterr().err
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").glob("*.json"))


@pytest.mark.slow  # starts kcl in a process of its own, twice
def test_a_killed_run_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL a training run after its first checkpoint; the rerun resumes and matches."""
    base = {**TINY, "train": {**TINY["train"], "exposures": 400}}
    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store", base=base)
    ckpts = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "kcl", "run", str(sweep), "--checkpoints", str(ckpts),
           "--checkpoint-every", "0.5", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(ckpts.glob("*.pt")):
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = list(ckpts.glob("*.pt"))
    assert saved, "no checkpoint was written before the kill"
    import torch
    step_at_kill = torch.load(saved[0], weights_only=False)["state"]["step"]
    assert 0 < step_at_kill < 2000
    from kcl.run import checkpoint_progress  # what `kcl chapter --dry-run` reports of a run under way
    assert checkpoint_progress(config_from_dict(base), ckpts) == pytest.approx(step_at_kill / 2000)
    saved_state = torch.load(saved[0], weights_only=False)
    del saved_state["state"]["total_steps"]  # as written before checkpoints kept it: the plan's total
    torch.save(saved_state, saved[0])
    assert checkpoint_progress(config_from_dict(base), ckpts) == pytest.approx(step_at_kill / 2000)
    assert checkpoint_progress(config_from_dict(TINY), ckpts) is None
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    record = ResultStore(tmp_path / "store").records()[0]
    assert record.result.train.steps == 2000
    assert not list(ckpts.glob("*.pt"))  # removed once the record exists
    # the same config trained without interruption gives the same bits
    fresh = write_sweep(tmp_path / "f.yaml", tmp_path / "fresh", base=base)
    assert subprocess.run(cmd[:4] + [str(fresh), "--no-progress"], env=env, capture_output=True).returncode == 0
    again = ResultStore(tmp_path / "fresh").records()[0]
    assert again.result.bits == pytest.approx(record.result.bits, rel=1e-9)


def test_yaml_numbers_written_as_strings_are_read_as_numbers():
    # YAML 1.1 reads 1e-3 as a string; the config coerces it, and rejects what is not a number
    cfg = config_from_dict({"train": {"lr": "1e-3", "eps": "1e-8", "betas": [0.9, "0.999"]}})
    assert cfg.train.lr == 0.001 and cfg.train.eps == 1e-8 and cfg.train.betas == (0.9, 0.999)
    with pytest.raises(ValueError, match="TrainConfig.lr must be a number"):
        config_from_dict({"train": {"lr": "fast"}})


def test_grid_keys_can_vary_together():
    spec = {"base": {"data": {"name": "bioD", "n_people": 40, "pools": [10, 10, 10]}},
            "grid": {"data.n_people, train.batch_size": [[30, 8], [40, 16]], "train.lr": [0.001, 0.002]}}
    configs = expand_sweep(spec)
    assert [(c.data.n_people, c.train.batch_size, c.train.lr) for c in configs] == [
        (30, 8, 0.001), (30, 8, 0.002), (40, 16, 0.001), (40, 16, 0.002)]
    with pytest.raises(ValueError, match="takes lists of 2 values"):
        expand_sweep({"grid": {"data.n_people, train.batch_size": [[30]]}})


def test_show_names_a_missing_path(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nowhere")]) == 2
    assert "no store or record" in capsys.readouterr().err


def test_chapter_command_rejects_unknown_chapters(capsys):
    assert main(["chapter", "result99"]) == 2
    assert "result1" in capsys.readouterr().err


def test_chapter_command_plans_a_chapter_without_a_pilot(capsys):
    assert main(["chapter", "result4-bios", "--version", "v1", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("main  results/result4-bios:")
    assert "result4-bios: protocol v1 (result4-bios)" in out.err


def test_a_chapter_name_means_its_deciding_version(capsys):
    assert main(["chapter", "result2", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("main  results/result2-v4:")
    assert main(["chapter", "result2", "--version", "v3", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("main  results/result2-v3:")


@pytest.mark.parametrize("args, says", [
    (["result2", "--version", "v9"], "chapter 'result2' has no version 'v9'; its versions: v2, v3, v4"),
    (["result1", "--version", "v2"], "chapter 'result1' has one protocol"),
    ([], "name a chapter"),
])
def test_chapter_command_refuses_a_bad_version_in_one_line(args, says, capsys):
    assert main(["chapter", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_chapter_list_names_each_chapter_once_and_its_deciding_version(capsys):
    assert main(["chapter", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert len(names) == len(set(names)) and "result2-v4" not in names and "result1" in names
    result2 = next(line for line in lines if line.startswith("result2 "))
    assert "v4 = result2-v4 (decides)" in result2 and "v3 = result2-v3," in result2


def test_chapter_command_refuses_a_bad_where_before_any_work(capsys):
    assert main(["chapter", "result2-v3", "--dry-run", "--where", "data.nme=bioS"]) == 2
    assert "--where 'data.nme' is not a config field" in capsys.readouterr().err


def test_an_moe_run_records_its_dropped_assignments():
    """Training at capacity factor 0.5 must drop assignments, and the record says how many; the
    measurement at evaluation capacity 8 drops none."""
    config = config_from_dict({**TINY, "model": {"arch": "gpt2_moe", "n_layer": 1, "n_head": 2, "d_model": 16,
                                                 "options": {"n_experts": 4, "moe_capacity_factor": 0.5}},
                               "train": {**TINY["train"], "exposures": 3}})
    result = run(config, progress=False)
    trained, measured = result["train"]["moe"], result["moe"]
    assert trained["assignments"] >= result["train"]["tokens"]  # one layer, top-1: every input position once
    assert 0.5 <= trained["dropped_share"] == trained["dropped"] / trained["assignments"] < 1
    assert measured["dropped"] == 0 and measured["assignments"] > 0 and measured["dropped_share"] == 0
