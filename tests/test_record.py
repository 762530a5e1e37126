"""The typed record (kcl.record): every committed record reads as a ``Record`` and gives back its file
byte for byte and its key; a dict that is not a record fails naming the field."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

import kcl
from kcl.config import config_from_dict
from kcl.record import FIELDS, Params, Record, RecordError, Result, Training, records_under
from kcl.store import ResultStore, StaleRecordWarning, config_key, record_text

RESULTS = Path(kcl.__file__).resolve().parents[2] / "results"


def committed() -> list[tuple[Path, str]]:
    """Every committed record file (under results/) and its text; other JSON files there are left out."""
    out = []
    for path in sorted(RESULTS.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if "result" in json.loads(text):
            out.append((path, text))
    return out


def test_every_committed_record_round_trips_byte_for_byte_with_its_key():
    files = committed()
    assert len(files) > 300
    for path, text in files:
        stored = json.loads(text)
        record = Record.from_dict(stored)
        assert record.to_dict() == stored and list(record.to_dict()) == list(stored) == list(FIELDS), path
        assert record_text(record.to_dict()) == text, path  # what ResultStore.put writes for it
        assert record.key == path.stem == config_key(config_from_dict(record.config)), path
    assert len(records_under(RESULTS)) == len(files)  # the benchmark and the quantized measurements left out


def test_the_typed_accessors_read_the_stored_result():
    record = ResultStore(RESULTS / "reference").records()[0]
    stored = json.loads((RESULTS / "reference" / f"{record.key}.json").read_text())
    r = record.result
    assert isinstance(r, Result) and isinstance(r.params, Params) and isinstance(r.train, Training)
    assert (r.R, r.R_max, r.R_non_embedding, r.accuracy_mean, r.bits) == tuple(
        stored["result"][k] for k in ("R", "R_max", "R_non_embedding", "accuracy_mean", "bits"))
    assert r.R_ci == tuple(stored["result"]["R_ci"]) and r.params.total == stored["result"]["params"]["total"]
    assert (r.train.steps, r.train.wall_seconds) == (stored["result"]["train"]["steps"],
                                                     stored["result"]["train"]["wall_seconds"])
    assert r["loss_per_attribute"] == stored["result"]["loss_per_attribute"]  # every other field, by name
    assert (record.data, record.model, record.train) == tuple(stored["config"][k] for k in ("data", "model", "train"))


def test_optional_fields_have_their_defaults():
    record = Record.from_dict(_made({"result": {"R": 1.0, "train": {"wall_seconds": 1.0}}}))
    assert record.result.R_ci is None and record.result.get("moe", {}) == {}
    assert (record.result.train.threads, record.result.train.processes, record.result.train.compiled) == (None, 1, False)
    with pytest.raises(KeyError, match="R_max"):
        record.result.R_max


def _made(changes: dict) -> dict:
    base = {"key": "k", "semantics_version": 1, "config_class": "RunConfig", "config": {}, "result": {},
            "created": "", "kcl_version": kcl.__version__, "git_commit": None}
    return {**base, **changes}


def test_a_dict_that_is_not_a_record_fails_naming_the_field():
    missing = _made({})
    del missing["result"]
    with pytest.raises(RecordError, match="record k has no 'result'"):
        Record.from_dict(missing)
    with pytest.raises(RecordError, match="unexpected field.*'extra'"):
        Record.from_dict(_made({"extra": 1}))
    with pytest.raises(RecordError, match="'config' must be dict, got list"):
        Record.from_dict(_made({"config": []}))
    with pytest.raises(RecordError, match="JSON object"):
        Record.from_dict([1, 2])
    assert issubclass(RecordError, ValueError)


def test_a_record_is_frozen_and_not_a_dict():
    record = Record.from_dict(_made({"result": {"R": 1.0}}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.key = "other"
    with pytest.raises(TypeError):
        record["result"]
    with pytest.raises(TypeError):
        record.result["R"] = 2.0
    assert pickle.loads(pickle.dumps(record)) == record and hash(record) == hash("k")


def test_a_stored_file_that_is_no_record_is_warned_about_and_skipped(tmp_path):
    from test_store import Cfg  # tests/ is on sys.path

    store = ResultStore(tmp_path)
    record = store.put(Cfg(), {"v": 1})
    broken = record.to_dict()
    del broken["created"]
    store.path(Cfg()).write_text(json.dumps(broken))
    with pytest.warns(StaleRecordWarning, match="has no 'created'"):
        assert store.get(Cfg()) is None
    assert store.records() == []
