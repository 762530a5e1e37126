"""A stored record as a type: ``Record`` (one run's config, result and provenance) and the typed
views of what its result says (``Result``, its ``Params`` and ``Training``).

A record is stored as JSON, ``<store>/<key>.json`` (``kcl.store.ResultStore``), with the top-level
fields of ``Record`` in that order. ``Record.from_dict`` reads the stored dict and
``Record.to_dict`` gives it back unchanged, so a record read and written again keeps its bytes and
its key. The config stays the stored dict (``kcl.config.config_from_dict`` makes a ``RunConfig``
of it); ``data``, ``model`` and ``train`` are its parts. The result's typed accessors name what
readers use (R and its interval, the parameter count, the training's time); every other field of
the stored result is there too, as in a mapping (``record.result["loss_by_position"]``,
``record.result.get("moe", {})``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

#: the top-level fields of a stored record, in the order they are written
FIELDS = ("key", "semantics_version", "config_class", "config", "result", "created", "kcl_version", "git_commit")


class RecordError(ValueError):
    """A dict that is not a record: a field missing or unexpected, or of the wrong type."""


class _View(Mapping):
    """A read-only mapping over a part of a stored result, with typed accessors in subclasses."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any]):
        if not isinstance(fields, Mapping):
            raise RecordError(f"{type(self).__name__} needs a mapping, got {type(fields).__name__}")
        object.__setattr__(self, "_fields", fields)

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __getitem__(self, name: str):
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._fields)!r})"

    def __reduce__(self):
        return type(self), (self._fields,)

    def to_dict(self) -> dict:
        """The stored mapping (a deep copy)."""
        return copy.deepcopy(dict(self._fields))


class Params(_View):
    """A result's parameter count (``kcl.params``): the paper's count ``total``, ``non_embedding``,
    the ``embedding`` part and ``trainable_all_rows`` (every embedding row, used or not)."""

    __slots__ = ()

    @property
    def total(self) -> int:
        return self._fields["total"]

    @property
    def non_embedding(self) -> int:
        return self._fields["non_embedding"]

    @property
    def embedding(self) -> int:
        return self._fields["embedding"]

    @property
    def trainable_all_rows(self) -> int:
        return self._fields["trainable_all_rows"]


class Training(_View):
    """What a run's training reported (``kcl.train``): its steps, tokens and wall time, and where it
    ran. ``threads`` is None in records made before it was recorded; ``processes`` is 1 and
    ``compiled`` False where a record leaves them out."""

    __slots__ = ()

    @property
    def steps(self) -> int:
        return self._fields["steps"]

    @property
    def tokens(self) -> int:
        return self._fields["tokens"]

    @property
    def wall_seconds(self) -> float:
        return self._fields["wall_seconds"]

    @property
    def tokens_per_second(self) -> float:
        return self._fields["tokens_per_second"]

    @property
    def device(self) -> str:
        return self._fields["device"]

    @property
    def threads(self) -> int | None:
        return self._fields.get("threads")

    @property
    def processes(self) -> int:
        return self._fields.get("processes", 1)

    @property
    def compiled(self) -> bool:
        return self._fields.get("compiled", False)


class Result(_View):
    """What a run measured (``kcl.run.run``): the bits it stores, R = bits / P and its bootstrap
    interval, R^max, R per non-embedding parameter, accuracy, the parameter count (``params``) and
    the training (``train``). Every field of the stored result is reachable as in a mapping."""

    __slots__ = ()

    @property
    def R(self) -> float:
        return self._fields["R"]

    @property
    def R_ci(self) -> tuple[float, float] | None:
        """R's bootstrap interval over people, None where it was measured without one."""
        ci = self._fields.get("R_ci")
        return None if ci is None else (ci[0], ci[1])

    @property
    def R_max(self) -> float:
        return self._fields["R_max"]

    @property
    def R_non_embedding(self) -> float:
        return self._fields["R_non_embedding"]

    @property
    def bits(self) -> float:
        return self._fields["bits"]

    @property
    def max_bits(self) -> float:
        return self._fields["max_bits"]

    @property
    def accuracy_mean(self) -> float:
        return self._fields["accuracy_mean"]

    @property
    def params(self) -> Params:
        return Params(self._fields["params"])

    @property
    def train(self) -> Training:
        return Training(self._fields["train"])


_TYPES = {"key": (str,), "semantics_version": (int,), "config_class": (str,), "config": (dict,),
          "result": (dict,), "created": (str,), "kcl_version": (str,), "git_commit": (str, type(None))}


@dataclass(frozen=True)
class Record:
    """One stored run: its key, the semantics version it was measured under, its config class and
    config (the stored dict), its ``Result``, and provenance (time, kcl version, git commit).
    Frozen; the config and result are the stored mappings, to be read, not changed."""

    key: str
    semantics_version: int
    config_class: str
    config: dict
    result: Result
    created: str
    kcl_version: str
    git_commit: str | None

    def __post_init__(self):
        if not isinstance(self.result, Result):
            object.__setattr__(self, "result", Result(self.result))

    def __hash__(self) -> int:
        return hash(self.key)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Record:
        """The record of a stored dict (``FIELDS``, each of its type); a RecordError naming the
        field that is missing, unexpected or of the wrong type. The dict's config and result are
        kept, not copied."""
        if not isinstance(d, Mapping):
            raise RecordError(f"a record is a JSON object, got {type(d).__name__}")
        key = d.get("key")
        where = f"record {key}" if isinstance(key, str) else "record"
        missing = [f for f in FIELDS if f not in d]
        if missing:
            raise RecordError(f"{where} has no {', '.join(repr(f) for f in missing)} "
                              f"(a record has {', '.join(FIELDS)})")
        extra = [f for f in d if f not in FIELDS]
        if extra:
            raise RecordError(f"{where} has unexpected field(s) {', '.join(repr(f) for f in extra)}")
        for name, types in _TYPES.items():
            value = d[name]
            if not isinstance(value, types) or (name == "semantics_version" and isinstance(value, bool)):
                raise RecordError(f"{where}: {name!r} must be {' or '.join(t.__name__ for t in types)}, "
                                  f"got {type(value).__name__}")
        return cls(**{f: d[f] for f in FIELDS})

    def to_dict(self) -> dict:
        """The stored dict (a deep copy, fields in their stored order): ``from_dict(r.to_dict()) == r``."""
        out = {f: getattr(self, f) for f in FIELDS}
        out["result"] = self.result._fields
        return copy.deepcopy(out)

    @property
    def data(self) -> dict:
        """The config's data part (``kcl.data.DataConfig`` as stored)."""
        return self.config["data"]

    @property
    def model(self) -> dict:
        """The config's model part (``kcl.models.ModelConfig`` as stored; ``kcl.records.model_label``)."""
        return self.config["model"]

    @property
    def train(self) -> dict:
        """The config's training part (``kcl.train.TrainConfig`` as stored): rate, batch, seed,
        exposures. What the training reported is ``result.train``."""
        return self.config["train"]


def records_under(folder: str | Path) -> list[Record]:
    """Every record stored under ``folder`` and its subfolders, whatever its semantics version, by
    path; the JSON files there that are not records (a benchmark, a measurement beside its models)
    and unreadable ones are left out. The cost models read every run ever made this way."""
    out = []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            out.append(Record.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):  # RecordError is a ValueError
            continue
    return out
