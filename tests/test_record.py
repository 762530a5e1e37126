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
from kcl.store import config_key, record_text

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
