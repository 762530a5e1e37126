"""The results store: keys, atomic records, staleness, plans and resumable sweeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import kcl
import kcl.store as store_mod
from kcl.record import Record, records_under
from kcl.store import ResultStore, StaleRecordWarning, config_key
from kcl.sweep import plan, run_sweep

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


def _python(code: str, env_extra: dict | None = None, **kwargs) -> subprocess.Popen:
    """A Python subprocess that imports kcl from this checkout and this folder's test modules."""
    paths = [SRC, str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **(env_extra or {})}
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


@dataclass(frozen=True)
class Later:  # Cfg with a field added after its records were written
    i: int = 0
    name: str = "a"
    inner: Inner = field(default_factory=Inner)
    tags: tuple = ("x", 1)
    extra: tuple = field(default=(1, 3), metadata=store_mod.KEYED_WHEN_SET)


def test_a_field_keyed_when_set_keeps_earlier_keys_and_records(tmp_path):
    Later.__name__ = "Cfg"  # the same class, before and after the field was added
    try:
        assert config_key(Later()) == config_key(Cfg()) and config_key(Later(i=2)) == config_key(Cfg(i=2))
        assert config_key(Later(extra=[1, 3])) == config_key(Cfg())  # a list is the same default
        assert config_key(Later(extra=(0, 0))) != config_key(Cfg())
        store = ResultStore(tmp_path)
        assert "extra" not in store.put(Later(), {}).config
        assert store.put(Later(extra=(0, 0)), {}).config["extra"] == [0, 0]
    finally:
        Later.__name__ = "Later"


def test_every_committed_record_keeps_its_key():
    from kcl.config import config_from_dict
    runs = [r for r in records_under(Path(SRC).parent / "results") if r.config_class == "RunConfig"]
    assert len(runs) > 100
    for record in runs:
        assert config_key(config_from_dict(record.config)) == record.key, record.key


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
    assert isinstance(record, Record) and isinstance(store.get(Cfg(i=2)), Record)
    assert store.has(Cfg(i=2)) and store.get(Cfg(i=2)) == record
    assert record.key == config_key(Cfg(i=2)) == store.path(Cfg(i=2)).stem
    assert record.semantics_version == store_mod.SEMANTICS_VERSION
    assert record.config_class == "Cfg"
    assert record.config == {"i": 2, "name": "a", "inner": {"width": 4, "lr": 1e-3}, "tags": ["x", 1]}
    assert record.result == {"bits": 1.5, "nested": {"a": 1}} and record.result.bits == 1.5
    assert record.created.endswith("+00:00")
    assert record.kcl_version == kcl.__version__
    assert record.git_commit is None or isinstance(record.git_commit, str)
    assert record.to_dict() == json.loads(store.path(Cfg(i=2)).read_text())  # the file, field for field


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
    assert store.get(Cfg()).result == {"v": 1}
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
    assert [r.key for r in store.records()] == [config_key(Cfg())]
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
    assert [r.result for r in store.records()] == [{"v": 22}]
    stale = store.records(include_stale=True)  # every record file, as the dicts stored
    assert len(stale) == 3 and all(isinstance(r, dict) for r in stale)
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


def test_records_are_strict_json_with_null_for_non_finite_numbers(tmp_path):
    """Browsers' JSON.parse rejects NaN: a result's NaN or infinity (numpy's too) is stored as null."""
    import numpy as np

    store = ResultStore(tmp_path)
    result = {"R": 1.5, "gap": float("nan"), "by": {"x": [np.float32("nan"), np.float64(2.0), float("inf")]}}
    record = store.put(Cfg(i=1), result)
    text = (tmp_path / f"{record.key}.json").read_text()
    strict = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in a record"))
    assert strict["result"]["gap"] is None and strict["result"]["by"]["x"] == [None, 2.0, None]
    assert record.result == strict["result"] and record.result.R == 1.5


def test_a_kept_measurement_is_measured_once_then_read(tmp_path):
    from kcl.store import kept_measurement

    path = tmp_path / "quantized" / "abc.json"
    calls = []

    def measure():
        calls.append(1)
        return {"R": 1.5}

    assert kept_measurement(path) is None and not path.exists()  # not asked to measure: nothing written
    assert kept_measurement(path, measure) == {"R": 1.5} and calls == [1]
    assert kept_measurement(path, measure) == {"R": 1.5} and calls == [1]  # read back, not measured again
    assert kept_measurement(path) == {"R": 1.5}
