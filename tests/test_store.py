"""The results store: keys, atomic records, staleness, plans and resumable sweeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import kcl
import kcl.store as store_mod
from kcl.store import (MissingResultsError, ResultStore, StaleRecordWarning, config_key, plan,
                       run_sweep)

SRC = str(Path(kcl.__file__).resolve().parents[1])


@dataclass(frozen=True)
class Inner:
    width: int = 4
    lr: float = 1e-3


@dataclass(frozen=True)
class Cfg:
    i: int = 0
    name: str = "a"
    inner: Inner = field(default_factory=Inner)
    tags: tuple = ("x", 1)


@dataclass(frozen=True)
class Other:  # same fields as Cfg, different class
    i: int = 0
    name: str = "a"
    inner: Inner = field(default_factory=Inner)
    tags: tuple = ("x", 1)


def _python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


class Counter:
    def __init__(self):
        self.calls = []

    def __call__(self, config):
        self.calls.append(config)
        return {"i": config.i, "sq": config.i ** 2}


# -- keys ---------------------------------------------------------------------------------------
def test_key_is_short_and_stable_across_processes():
    key = config_key(Cfg(i=3, inner=Inner(lr=0.1)))
    assert len(key) == 16 and int(key, 16) >= 0
    assert key == config_key(Cfg(i=3, inner=Inner(lr=0.1)))
    proc = _python("""
        from dataclasses import dataclass, field
        from kcl.store import config_key
        @dataclass(frozen=True)
        class Inner:
            width: int = 4
            lr: float = 1e-3
        @dataclass(frozen=True)
        class Cfg:
            i: int = 0
            name: str = "a"
            inner: Inner = field(default_factory=Inner)
            tags: tuple = ("x", 1)
        print(config_key(Cfg(i=3, inner=Inner(lr=0.1))))
    """)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip() == key


def test_key_changes_with_any_field_class_and_semantics_version(monkeypatch):
    base = Cfg()
    variants = [Cfg(i=1), Cfg(name="b"), Cfg(inner=Inner(width=5)), Cfg(inner=Inner(lr=1.1e-3)),
                Cfg(tags=("x", 2)), Cfg(tags=("x",)), Other()]
    keys = {config_key(base)} | {config_key(v) for v in variants}
    assert len(keys) == len(variants) + 1
    assert config_key(Cfg(tags=("x", 1))) == config_key(Cfg(tags=["x", 1]))  # tuples are lists
    before = config_key(base)
    monkeypatch.setattr(store_mod, "SEMANTICS_VERSION", store_mod.SEMANTICS_VERSION + 1)
    assert config_key(base) != before


def test_non_dataclass_configs_raise_type_error(tmp_path):
    store = ResultStore(tmp_path)
    for bad in ({"i": 1}, Cfg, 3):
        with pytest.raises(TypeError, match="dataclass"):
            config_key(bad)
    with pytest.raises(TypeError, match="dataclass"):
        store.put({"i": 1}, {})
    with pytest.raises(TypeError, match="dataclass"):
        run_sweep(store, [Cfg(), {"i": 1}], Counter(), log=lambda *_: None)
    with pytest.raises(TypeError, match="dict"):
        store.put(Cfg(), [1, 2])


# -- records ------------------------------------------------------------------------------------
def test_put_get_record_fields(tmp_path):
    store = ResultStore(tmp_path / "s")
    assert store.get(Cfg()) is None and not store.has(Cfg())
    record = store.put(Cfg(i=2), {"bits": 1.5, "nested": {"a": 1}})
    assert store.has(Cfg(i=2)) and store.get(Cfg(i=2)) == record
    assert record["key"] == config_key(Cfg(i=2)) == store.path(Cfg(i=2)).stem
    assert record["semantics_version"] == store_mod.SEMANTICS_VERSION
    assert record["config_class"] == "Cfg"
    assert record["config"] == {"i": 2, "name": "a", "inner": {"width": 4, "lr": 1e-3}, "tags": ["x", 1]}
    assert record["result"] == {"bits": 1.5, "nested": {"a": 1}}
    assert record["created"].endswith("+00:00")
    assert record["kcl_version"] == kcl.__version__
    assert record["git_commit"] is None or isinstance(record["git_commit"], str)


def test_put_is_atomic(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.put(Cfg(), {"v": 1})
    assert [p.name for p in tmp_path.iterdir()] == [store.path(Cfg()).name]  # no temp left

    def failing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(store_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        store.put(Cfg(), {"v": 2})  # overwrite fails mid-way
    with pytest.raises(OSError):
        store.put(Cfg(i=9), {"v": 9})  # new record fails mid-way
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [store.path(Cfg()).name]
    assert store.get(Cfg())["result"] == {"v": 1}
    with pytest.raises(TypeError):
        store.put(Cfg(i=5), {"v": object()})  # not serializable: nothing written
    assert not store.path(Cfg(i=5)).exists()


def test_temp_files_ignored_and_cleaned(tmp_path):
    store = ResultStore(tmp_path)
    store.put(Cfg(), {"v": 1})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = store_mod._host_tag()
    orphan = tmp_path / f".{config_key(Cfg(i=1))}.json.{host}.{dead.pid}.abcd1234.tmp"
    orphan.write_text('{"partial": ')
    live = tmp_path / f".{config_key(Cfg(i=2))}.json.{host}.{os.getpid()}.abcd1234.tmp"
    live.write_text('{"partial": ')
    assert [r["key"] for r in store.records()] == [config_key(Cfg())]
    assert store.clean_temp() == [orphan]
    assert not orphan.exists() and live.exists()


def test_semantics_version_change_makes_records_stale(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.put(Cfg(i=1), {"v": 1})
    store.put(Cfg(i=2), {"v": 2})
    monkeypatch.setattr(store_mod, "SEMANTICS_VERSION", store_mod.SEMANTICS_VERSION + 1)
    store.put(Cfg(i=2), {"v": 22})  # recomputed under the new version
    assert store.get(Cfg(i=1)) is None and not store.has(Cfg(i=1))
    assert store.stale([Cfg(i=1), Cfg(i=2), Cfg(i=3), Cfg(i=1)]) == [Cfg(i=1)]
    assert [r["result"] for r in store.records()] == [{"v": 22}]
    assert len(store.records(include_stale=True)) == 3
    p = plan(store, [Cfg(i=1), Cfg(i=2)])
    assert p.missing == [Cfg(i=1)] and p.stale == [Cfg(i=1)] and "1 stale" in p.summary()
    # a record with another version at the current path (hand-copied) is reported, not used
    path = store.path(Cfg(i=2))
    path.write_text(json.dumps({**json.loads(path.read_text()), "semantics_version": 0}))
    with pytest.warns(StaleRecordWarning, match="semantics_version 0"):
        assert store.get(Cfg(i=2)) is None
    path.write_text("{not json")
    with pytest.warns(StaleRecordWarning, match="unreadable"):
        assert store.get(Cfg(i=2)) is None


def test_to_frame_flattens_and_exports_csv(tmp_path):
    import pandas as pd

    store = ResultStore(tmp_path / "s")
    store.put(Cfg(i=1), {"bits": 1.5, "train": {"steps": 10, "loss": {"final": 0.25}}, "curve": [1, 2]})
    store.put(Cfg(i=2), {"bits": 2.5, "train": {"steps": 20, "loss": {"final": 0.5}}, "curve": [3]})
    df = store.to_frame().sort_values("config.i")
    assert {"key", "created", "git_commit", "config.i", "config.inner.lr", "config.tags", "result.bits",
            "result.train.steps", "result.train.loss.final"} <= set(df.columns)
    assert "result.curve" not in df.columns  # not a scalar
    assert df["result.train.loss.final"].tolist() == [0.25, 0.5]
    assert json.loads(df["config.tags"].iloc[0]) == ["x", 1]
    out = store.export_csv(tmp_path / "out" / "table.csv")
    back = pd.read_csv(out).sort_values("config.i")
    assert back["result.bits"].tolist() == [1.5, 2.5] and len(back) == 2
    assert ResultStore(tmp_path / "nowhere").to_frame().empty


# -- plans and sweeps ---------------------------------------------------------------------------
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
    assert [r["result"]["i"] for r in records] == [3, 1, 2, 3]
    assert all(store.has(c) for c in configs)


def test_dry_run_never_runs(tmp_path):
    store = ResultStore(tmp_path)
    store.put(Cfg(i=1), {"i": 1})
    run_fn, logs = Counter(), []
    records = run_sweep(store, [Cfg(i=0), Cfg(i=1)], run_fn, dry_run=True, log=logs.append)
    assert run_fn.calls == [] and [r["config"]["i"] for r in records] == [1]
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
    assert [r["result"] for r in records] == [{"i": 1}]  # nothing missing: fine


def test_sigkilled_sweep_keeps_finished_records_and_resumes(tmp_path):
    root = tmp_path / "store"
    proc = _python(f"""
        import time
        from dataclasses import dataclass, field
        from kcl.store import ResultStore, run_sweep
        @dataclass(frozen=True)
        class Inner:
            width: int = 4
            lr: float = 1e-3
        @dataclass(frozen=True)
        class Cfg:
            i: int = 0
            name: str = "a"
            inner: Inner = field(default_factory=Inner)
            tags: tuple = ("x", 1)
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
        record = json.loads(path.read_text())  # every record parses
        i = record["config"]["i"]
        assert record["result"] == {"i": i, "sq": i * i} and path.stem == config_key(Cfg(i=i))
        finished.append(i)
    assert 2 <= len(finished) < 6

    run_fn = Counter()
    records = run_sweep(store, configs, run_fn, log=lambda *_: None)
    assert sorted(c.i for c in run_fn.calls) == sorted(set(range(6)) - set(finished))
    assert [r["result"]["sq"] for r in records] == [i * i for i in range(6)]
    assert len(store.records()) == 6 and not list(root.glob(".*.tmp"))


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
    assert [r["result"]["n_people"] for r in records] == [10, 11, 12]
    assert len(store.records()) == 3 and not list(tmp_path.glob(".*.tmp"))


def test_parallel_worker_error_is_raised_and_stores_nothing(tmp_path):
    import operator

    from kcl.data import DataConfig

    store = ResultStore(tmp_path)
    with pytest.raises(TypeError, match="subscriptable"):
        run_sweep(store, [DataConfig(n_people=10), DataConfig(n_people=11)], operator.itemgetter(0), workers=2,
                  log=lambda *_: None)
    assert store.records() == []


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
        store_mod._limit_threads(1)
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
