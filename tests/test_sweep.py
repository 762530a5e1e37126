"""Sweeps: plans and their cost, resuming after a kill, and runs in parallel workers."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import kcl.sweep as sweep_mod
from kcl.record import Record
from kcl.store import MissingResultsError, ResultStore, config_key
from kcl.sweep import plan, run_sweep
from test_store import Cfg, Counter, _python  # the store's test configs (tests/ is on sys.path)


def test_plan_counts_dedup_and_summary(tmp_path):
    store = ResultStore(tmp_path)
    configs = [Cfg(i=i) for i in range(10)]
    for c in configs[:7]:
        store.put(c, {})
    p = plan(store, configs + [Cfg(i=8), Cfg(i=0)], cost_fn=lambda c: 250.0)
    assert p.done == configs[:7] and p.missing == configs[7:]
    assert p.cost_seconds == 750.0
    assert p.summary() == "3 of 10 runs missing; estimated 12.5 min on this machine"
    assert plan(store, configs).cost_seconds is None
    assert "no cost estimate" in plan(store, configs).summary()
    assert plan(store, configs[:7]).summary().startswith("0 of 7 runs missing")
    # two runs at once share the work, but never finish before the longest run
    assert plan(store, configs, cost_fn=lambda c: 250.0, workers=2).cost_seconds == 375.0
    assert plan(store, configs, cost_fn=lambda c: 100.0 * c.i, workers=8).cost_seconds == 900.0


def test_plan_costs_only_what_runs_under_way_have_left(tmp_path):
    store = ResultStore(tmp_path)
    configs = [Cfg(i=i) for i in range(3)]
    store.put(configs[0], {})
    shares = {1: 0.75}  # config 1 has a checkpoint three quarters through, config 2 none
    p = plan(store, configs, cost_fn=lambda c: 400.0, trained_share_fn=lambda c: shares.get(c.i))
    assert p.under_way == {config_key(configs[1]): 0.75}
    assert p.cost_seconds == 100.0 + 400.0
    assert p.summary() == ("2 of 3 runs missing (1 under way, trained 75% by their checkpoints); "
                           "estimated 8.3 min on this machine")


def test_run_sweep_logs_plan_first_and_returns_in_input_order(tmp_path):
    store = ResultStore(tmp_path)
    store.put(Cfg(i=1), {"i": 1, "sq": 1})
    events = []

    def run_fn(config):
        events.append(("run", config.i))
        return {"i": config.i, "sq": config.i ** 2}

    configs = [Cfg(i=3), Cfg(i=1), Cfg(i=2), Cfg(i=3)]
    records = run_sweep(store, configs, run_fn, cost_fn=lambda c: 1.0, log=lambda m: events.append(m))
    assert "2 of 3 runs missing" in events[0]
    assert [e for e in events if isinstance(e, tuple)] == [("run", 3), ("run", 2)]
    assert [r.result["i"] for r in records] == [3, 1, 2, 3]
    assert all(store.has(c) for c in configs)


def test_dry_run_never_runs(tmp_path):
    store = ResultStore(tmp_path)
    store.put(Cfg(i=1), {"i": 1})
    run_fn, logs = Counter(), []
    records = run_sweep(store, [Cfg(i=0), Cfg(i=1)], run_fn, dry_run=True, log=logs.append)
    assert run_fn.calls == [] and [r.config["i"] for r in records] == [1]
    assert "1 of 2 runs missing" in logs[0]
    assert not store.has(Cfg(i=0))


def test_allow_train_false_raises_with_hint(tmp_path):
    store = ResultStore(tmp_path)
    store.put(Cfg(i=1), {"i": 1})
    run_fn = Counter()
    with pytest.raises(MissingResultsError, match=r"2 of 3 runs missing.*make results-reference") as err:
        run_sweep(store, [Cfg(i=0), Cfg(i=1), Cfg(i=2)], run_fn, allow_train=False,
                  recompute_hint="make results-reference", log=lambda *_: None)
    assert err.value.missing == [Cfg(i=0), Cfg(i=2)] and run_fn.calls == []
    records = run_sweep(store, [Cfg(i=1)], run_fn, allow_train=False, log=lambda *_: None)
    assert [r.result for r in records] == [{"i": 1}]  # nothing missing: fine


@pytest.mark.slow  # starts processes
def test_sigkilled_sweep_keeps_finished_records_and_resumes(tmp_path):
    root = tmp_path / "store"
    proc = _python(f"""
        import time
        from kcl.store import ResultStore
        from kcl.sweep import run_sweep
        from test_store import Cfg
        def run_fn(config):
            time.sleep(0.3)
            return {{"i": config.i, "sq": config.i ** 2}}
        run_sweep(ResultStore({str(root)!r}), [Cfg(i=i) for i in range(6)], run_fn, log=lambda *a: None)
    """)
    deadline = time.monotonic() + 30
    try:
        while len(list(root.glob("*.json"))) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "sweep subprocess too slow"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    configs = [Cfg(i=i) for i in range(6)]
    store = ResultStore(root)
    finished = []
    for path in root.glob("*.json"):
        record = Record.from_dict(json.loads(path.read_text()))  # every record parses
        i = record.config["i"]
        assert record.result == {"i": i, "sq": i * i} and path.stem == config_key(Cfg(i=i))
        finished.append(i)
    assert 2 <= len(finished) < 6

    run_fn = Counter()
    records = run_sweep(store, configs, run_fn, log=lambda *_: None)
    assert sorted(c.i for c in run_fn.calls) == sorted(set(range(6)) - set(finished))
    assert [r.result["sq"] for r in records] == [i * i for i in range(6)]
    assert len(store.records()) == 6 and not list(root.glob(".*.tmp"))


@pytest.mark.slow  # starts processes
def test_parallel_workers_store_every_record_in_input_order(tmp_path):
    """``workers=2``: spawned processes each store their own record; the result is the same as one
    at a time. (``dataclasses.asdict`` and kcl's DataConfig are importable in a spawned worker.)"""
    import dataclasses

    from kcl.data import DataConfig

    store = ResultStore(tmp_path)
    configs = [DataConfig(n_people=10 + i) for i in range(3)]
    store.put(configs[1], dataclasses.asdict(configs[1]))
    logs = []
    records = run_sweep(store, configs, dataclasses.asdict, workers=2, log=logs.append)
    assert "2 of 3 runs missing" in logs[0] and "2 at a time" in logs[0]
    assert [r.result["n_people"] for r in records] == [10, 11, 12] and all(isinstance(r, Record) for r in records)
    assert len(store.records()) == 3 and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow  # starts processes
def test_parallel_worker_error_is_raised_and_stores_nothing(tmp_path):
    import operator

    from kcl.data import DataConfig

    store = ResultStore(tmp_path)
    with pytest.raises(TypeError, match="subscriptable"):
        run_sweep(store, [DataConfig(n_people=10), DataConfig(n_people=11)], operator.itemgetter(0), workers=2,
                  log=lambda *_: None)
    assert store.records() == []


def record_pid_then_sleep(config) -> dict:
    """A worker's slow job for the test below: leave its pid in $KCL_TEST_PIDS, then sleep."""
    (Path(os.environ["KCL_TEST_PIDS"]) / str(os.getpid())).touch()
    time.sleep(120)
    return {}


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\tZ" not in next(line for line in status.read_text().splitlines() if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.slow  # starts processes
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_workers_exit_when_their_sweep_is_killed(tmp_path):
    """A sweep killed by SIGKILL leaves no worker training on (each watches its parent)."""
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = _python(f"""
        from kcl.data import DataConfig
        from kcl.store import ResultStore
        from kcl.sweep import run_sweep
        from test_sweep import record_pid_then_sleep
        run_sweep(ResultStore({str(tmp_path / "store")!r}), [DataConfig(n_people=10), DataConfig(n_people=11)],
                  record_pid_then_sleep, workers=2, log=lambda *a: None)
    """, env_extra={"KCL_TEST_PIDS": str(pids)})
    deadline = time.monotonic() + 60
    try:
        while len(list(pids.iterdir())) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "workers too slow to start"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    workers = [int(p.name) for p in pids.iterdir()]
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), f"workers {workers} outlived their sweep"


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_sweep(ResultStore(tmp_path), [Cfg()], Counter(), workers=0, log=lambda *_: None)


def test_worker_threads_bind_training_too(monkeypatch):
    """A worker's thread limit holds inside ``kcl.train.train``, which takes every core unless
    OMP_NUM_THREADS says otherwise."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    try:
        sweep_mod._limit_threads(1)
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_a_lone_run_of_several_workers_trains_on_a_workers_share_of_the_cores(tmp_path, monkeypatch):
    """One missing run with ``workers=2`` trains in the sweep's own process: on half the cores, as
    a worker would (on all of them, two such sweeps side by side oversubscribed two cores), and
    the threads are given back afterwards."""
    import torch

    monkeypatch.setattr(sweep_mod.os, "cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    seen = []

    def run_fn(config):
        seen.append((torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")))
        return {"i": config.i}

    run_sweep(ResultStore(tmp_path), [Cfg(i=1)], run_fn, workers=2, log=lambda _: None)
    run_sweep(ResultStore(tmp_path), [Cfg(i=2)], run_fn, workers=1, log=lambda _: None)
    assert seen == [(2, "2"), (before, None)]
    assert torch.get_num_threads() == before and "OMP_NUM_THREADS" not in os.environ


@pytest.mark.slow  # starts processes
def test_idle_workers_take_more_configs_which_are_stored_not_returned(tmp_path):
    import dataclasses

    from kcl.data import DataConfig

    store = ResultStore(tmp_path)
    main = [DataConfig(n_people=10 + i) for i in range(3)]
    extra = [DataConfig(n_people=20), main[0]]   # a config of the sweep itself is never run twice
    asked = []

    def more():
        asked.append(len(store.records()))
        return extra if len(asked) == 1 else []

    records = run_sweep(store, main, dataclasses.asdict, workers=2, log=lambda *_: None, more=more)
    assert [r.result["n_people"] for r in records] == [10, 11, 12]
    assert store.get(DataConfig(n_people=20)).result["n_people"] == 20
    assert len(store.records()) == 4 and asked and asked[0] >= 2   # asked only once the queue ran dry


@pytest.mark.slow  # starts processes
def test_a_worker_idle_from_the_start_takes_more_configs(tmp_path):
    """One config left for two workers: the other worker asks ``more`` at once, not only once the
    first run has finished (the resumed result1-bios sweep left a core idle for its last hour)."""
    import dataclasses

    from kcl.data import DataConfig

    store = ResultStore(tmp_path)
    asked = []

    def more():
        asked.append(len(store.records()))
        return [DataConfig(n_people=20)] if len(asked) == 1 else []

    run_sweep(store, [DataConfig(n_people=10)], dataclasses.asdict, workers=2, log=lambda *_: None, more=more)
    assert asked[0] == 0 and store.get(DataConfig(n_people=20)) is not None


def test_a_lone_run_is_priced_on_the_threads_it_will_train_on(monkeypatch):
    """``kcl chapter --workers 1`` with OMP_NUM_THREADS=1 trains each run on one thread
    (``kcl.train.train`` keeps the setting), so its plan prices one thread; workers share the cores."""
    from kcl.sweep import run_threads, threads_per_worker

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert run_threads(1) == 1
    assert run_threads(2) == threads_per_worker(2) == max(1, (os.cpu_count() or 1) // 2)
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert run_threads(1) == (os.cpu_count() or 1)
