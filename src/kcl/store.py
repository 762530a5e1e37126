"""Results store: one JSON record per run, keyed by a hash of its config.

A *run* is an instance of a config dataclass (any dataclass; ``kcl.run.RunConfig`` in practice).
Its record lives at ``<root>/<config_key(config)>.json`` and holds the config, the result dict
returned by the run, and provenance (time, kcl version, git commit); it is read back as a
``kcl.record.Record``, which gives back the stored dict unchanged. Records are written
atomically, so a sweep killed at any moment leaves only complete records, and rerunning the
sweep computes exactly the runs that are missing.

``SEMANTICS_VERSION`` is an explicit, hand-maintained version of what a record *means*: the data
generation and the measurement. Bump it by hand whenever a code change alters what is measured
for an unchanged config (a different data distribution, tokenizer, loss or bits formula, ...).
Refactors, speed-ups and new config fields with backward-compatible defaults do not bump it; such a
field is declared with ``metadata=KEYED_WHEN_SET`` and enters keys and records only when set away
from its default, so every record written before it existed keeps its key (``config_dict``).
The version is part of every key, so after a bump no old record is reused: old records become
*stale* (reported by ``ResultStore.stale``) and the affected runs show up as missing.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import secrets
import socket
import subprocess
import time
import warnings
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable

import kcl
from kcl.record import Record, RecordError

SEMANTICS_VERSION: int = 1

# The metadata of a config field added after records existed: keyed only when set (``config_dict``).
KEYED_WHEN_SET = {"kcl_keyed_when_set": True}

_TMP_SUFFIX = ".tmp"
_TMP_MAX_AGE = 24 * 3600  # seconds after which any temp file counts as abandoned


class MissingResultsError(RuntimeError):
    """Records are missing and the caller does not allow training (``allow_train=False``).
    ``stage``: which part of a larger plan the missing runs belong to, where the caller that knows
    it sets it (a chapter's walk: ``kcl.book.chapters``); None otherwise."""

    def __init__(self, message: str, missing: list, stage: str | None = None):
        super().__init__(message)
        self.missing = missing
        self.stage = stage


class StaleRecordWarning(UserWarning):
    """A record was ignored: unreadable, or written under another ``SEMANTICS_VERSION``."""


# -- keys -----------------------------------------------------------------------------------------
def _check_config(config) -> None:
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"a config must be a dataclass instance, got {type(config).__name__}: {config!r}")


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def config_dict(config) -> dict:
    """``dataclasses.asdict`` of a config (nested configs too) without its ``KEYED_WHEN_SET``
    fields that hold their default: what keys and records are made of."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.metadata.get("kcl_keyed_when_set") and _jsonable(value) == _jsonable(_default(f)):
            continue
        is_config = dataclasses.is_dataclass(value) and not isinstance(value, type)
        out[f.name] = config_dict(value) if is_config else copy.deepcopy(value)
    return out


def _finite(obj):
    """``obj`` with every non-finite float (numpy's too) in its dicts and lists replaced by None."""
    if hasattr(obj, "dtype") and hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
        obj = obj.item()  # a numpy scalar
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _jsonable(obj):
    """A JSON-safe, canonical copy: tuples/sets → lists, non-finite floats → strings, Paths → str."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)  # 'nan', 'inf', '-inf'
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(config_dict(obj))
    if isinstance(obj, Enum):
        return _jsonable(obj.value)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_jsonable(v) for v in obj), key=_canonical)
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return _jsonable(obj.item())
    raise TypeError(f"cannot represent {obj!r} ({type(obj).__name__}) in a config record")


def _canonical(obj) -> str:
    """Sorted-key, compact JSON; floats use Python's shortest round-trip repr (stable)."""
    return json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _identity(config_class: str, config_dict) -> str:
    """What a config *is*, independent of the semantics version (used to find stale records)."""
    return _canonical({"class": config_class, "config": config_dict})


def config_key(config) -> str:
    """16 hex digits of sha256 over the config's class name, fields and ``SEMANTICS_VERSION``."""
    _check_config(config)
    payload = {"class": type(config).__name__, "config": config_dict(config),
               "semantics_version": SEMANTICS_VERSION}
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """Short hash of the checkout holding the kcl source, or None (no git, not a repository)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


# -- atomic files ---------------------------------------------------------------------------------
def _host_tag() -> str:
    return socket.gethostname().replace(".", "_")[:32] or "host"


def temp_path(path: Path) -> Path:
    """A hidden temp file beside ``path`` for an atomic write, ``.<name>.<host>.<pid>.<token>.tmp``:
    ``ResultStore.clean_temp`` removes it once its writer is gone."""
    return path.with_name(f".{path.name}.{_host_tag()}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory, fsync, then ``os.replace`` onto ``path``.

    Readers see the old file or the new one, never a partial one. The temp name
    ``.<name>.<host>.<pid>.<token>.tmp`` is hidden and never ends in ``.json``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (best effort; not possible on every platform)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def write_json_atomic(path: str | Path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically (see ``_atomic_write_text``)."""
    path = Path(path)
    _atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")
    return path


def kept_measurement(path: str | Path, measure: Callable[[], dict] | None = None) -> dict | None:
    """A measurement of a stored model kept as JSON at ``path`` (quantized, extracted, ...): read
    back; where missing, ``measure()`` written atomically and returned if given, else None."""
    path = Path(path)
    if not path.is_file():
        if measure is None:
            return None
        write_json_atomic(path, measure())
    return json.loads(path.read_text(encoding="utf-8"))


def _record_dict(config, result: dict) -> dict:
    """The fields of the record of ``config`` with ``result``, made now at this commit."""
    _check_config(config)
    if not isinstance(result, dict):
        raise TypeError(f"a result must be a dict, got {type(result).__name__}")
    return {
        "key": config_key(config),
        "semantics_version": SEMANTICS_VERSION,
        "config_class": type(config).__name__,
        "config": _jsonable(config_dict(config)),
        "result": result,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kcl_version": kcl.__version__,
        "git_commit": git_commit(),
    }


def record_of(config, result: dict) -> Record:
    """The record of ``config`` with ``result`` as ``ResultStore.put`` makes it, not stored (its
    result as given, not yet through JSON): a run measured on its checkpoint reads this way."""
    return Record.from_dict(_record_dict(config, result))


def record_text(record: dict) -> str:
    """The text of a record's file (``ResultStore.put``; ``kcl.record.Record.to_dict`` gives a stored
    record's dict back): JSON indented by one, strict (browsers' JSON.parse rejects NaN: a non-finite
    float of a result becomes null), with a final newline."""
    return json.dumps(_finite(record), indent=1, default=_jsonable, allow_nan=False) + "\n"


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that owns a temp file may still be writing it."""
    try:
        _, host, pid, _, _ = tmp.name.rsplit(".", 4)
        pid = int(pid)
    except ValueError:
        return False
    if time.time() - tmp.stat().st_mtime > _TMP_MAX_AGE:
        return False
    if os.name != "posix" or host != _host_tag():
        return True  # cannot check another machine's (or a non-POSIX) process: wait for the age limit
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# -- the store ------------------------------------------------------------------------------------
class ResultStore:
    """A folder of records, ``<root>/<key>.json``, one per config."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    def path(self, config) -> Path:
        return self.root / f"{config_key(config)}.json"

    def _load(self, path: Path, *, report: bool) -> Record | None:
        """A current record, or None (missing, unreadable or stale; warned about if ``report``)."""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            if report:
                warnings.warn(f"ignoring unreadable record {path}: {err}", StaleRecordWarning, stacklevel=3)
            return None
        version = record.get("semantics_version") if isinstance(record, dict) else None
        if version != SEMANTICS_VERSION:
            if report:
                warnings.warn(f"ignoring stale record {path}: semantics_version {version}, "
                              f"current {SEMANTICS_VERSION}", StaleRecordWarning, stacklevel=3)
            return None
        try:
            return Record.from_dict(record)
        except RecordError as err:
            if report:
                warnings.warn(f"ignoring unreadable record {path}: {err}", StaleRecordWarning, stacklevel=3)
            return None

    def get(self, config) -> Record | None:
        """The config's record, or None if missing or stale (stale ones are warned about)."""
        return self._load(self.path(config), report=True)

    def has(self, config) -> bool:
        return self._load(self.path(config), report=False) is not None

    def put(self, config, result: dict) -> Record:
        """Write (atomically) and return the record of ``config`` with ``result``."""
        text = record_text(_record_dict(config, result))  # fails before any file exists
        record = Record.from_dict(json.loads(text))  # what a later get() returns, e.g. numpy scalars as plain numbers
        _atomic_write_text(self.root / f"{record.key}.json", text)
        return record

    def _record_paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*.json") if not p.name.startswith("."))

    def records(self, include_stale: bool = False) -> list[Record] | list[dict]:
        """All current records, as ``Record`` objects (temp files, unreadable and stale ones skipped).

        ``include_stale``: every readable JSON file of the store instead, stale ones included, as
        the dicts stored: a record of another ``SEMANTICS_VERSION`` may have another shape, and
        only its version, config class and config are read from it (``stale``)."""
        out = []
        for path in self._record_paths():
            if include_stale:
                try:
                    out.append(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError) as err:
                    warnings.warn(f"ignoring unreadable record {path}: {err}", StaleRecordWarning)
            elif (record := self._load(path, report=False)) is not None:
                out.append(record)
        return out

    def stale(self, configs: Iterable) -> list:
        """The configs (deduplicated, in order) with no current record but one from another
        ``SEMANTICS_VERSION``: rerun them to bring the store up to date."""
        wanted = {}
        for config in _unique(configs):
            if not self.has(config):
                wanted[_identity(type(config).__name__, config_dict(config))] = config
        found = set()
        for record in self.records(include_stale=True):
            if isinstance(record, dict) and record.get("semantics_version") != SEMANTICS_VERSION:
                found.add(_identity(record.get("config_class"), record.get("config")))
        return [config for ident, config in wanted.items() if ident in found]

    def clean_temp(self) -> list[Path]:
        """Delete temp files left by killed writers (live writers' files are kept); returns them."""
        removed = []
        if self.root.is_dir():
            for tmp in self.root.glob(f".*{_TMP_SUFFIX}"):
                try:
                    if not _writer_alive(tmp):
                        tmp.unlink()
                        removed.append(tmp)
                except FileNotFoundError:
                    pass  # its writer finished or someone else cleaned it
        return removed

    def to_frame(self):
        """A tidy pandas DataFrame: one row per record, provenance columns, ``config.*`` columns
        and the scalar ``result.*`` fields (nested dicts flattened with dots; lists dropped)."""
        import pandas as pd

        rows = []
        for record in self.records():
            row = {k: getattr(record, k) for k in ("key", "semantics_version", "config_class", "created",
                                                   "kcl_version", "git_commit")}
            for name, value in _flatten(record.config, "config.").items():
                row[name] = json.dumps(value) if isinstance(value, list) else value  # keep in a CSV cell
            row.update({k: v for k, v in _flatten(record.result, "result.").items()
                        if v is None or isinstance(v, (bool, int, float, str))})
            rows.append(row)
        return pd.DataFrame(rows)

    def export_csv(self, path: str | Path) -> Path:
        """Write ``to_frame()`` as CSV (atomically) and return the path."""
        path = Path(path)
        _atomic_write_text(path, self.to_frame().to_csv(index=False))
        return path


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _unique(configs: Iterable) -> list:
    """Configs deduplicated by key, first occurrence kept (validates each one)."""
    seen, out = set(), []
    for config in configs:
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            out.append(config)
    return out
