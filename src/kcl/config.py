"""A run's configuration: data, model and training knobs (``RunConfig``), built from sweep files.

A sweep file (YAML) holds a ``base`` config and a ``grid`` of dotted keys; ``load_sweep`` reads
it, ``expand_sweep`` makes the product, ``config_from_dict`` reads a config back from a record,
and ``build`` makes a config's data set and freshly initialized model.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
import yaml

from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model, default_width
from kcl.train import TrainConfig


@dataclass(frozen=True)
class ModelSpec:
    """A model without its vocabulary size (that comes from the data set)."""

    arch: str = "gpt2"
    n_layer: int = 2
    n_head: int = 2
    d_model: int | None = None  # None: 64·n_head, the paper's GPT2-ℓ-h
    options: tuple[tuple[str, Any], ...] = ()  # further ModelConfig fields, e.g. (("n_experts", 8),)

    def __post_init__(self):
        self.model_config(vocab_size=2)  # every model knob checked now, with the vocabulary to come

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(arch=self.arch, vocab_size=vocab_size, n_layer=self.n_layer, n_head=self.n_head,
                           d_model=self.d_model, **dict(self.options))

    def label(self) -> str:
        width = self.d_model or default_width(self.n_head)
        return f"{self.arch}-{self.n_layer}-{self.n_head}" + ("" if self.d_model is None else f"-d{width}")


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=TrainConfig)
    measure_seed: int = 1234
    renderings: int = 1  # measurement texts per person, averaged
    bootstrap: int = 1000

    def label(self) -> str:
        return f"{self.data.label()} {self.model.label()} E={self.train.exposures} lr={self.train.lr:g}"


def build(config: RunConfig):
    """The data set and a freshly initialized model (seeded by the training seed)."""
    dataset = make_dataset(config.data)
    return dataset, fresh_model(config, len(dataset.vocab))


def fresh_model(config: RunConfig, vocab_size: int):
    """``config``'s model, freshly initialized (seeded by the training seed), for ``vocab_size`` tokens."""
    torch.manual_seed(config.train.seed)
    return build_model(config.model.model_config(vocab_size))


# -- configs from plain dicts (YAML sweep files, the command line) -------------------------------
def _coerce(cls_name: str, key: str, hint, value):
    """Numbers written as YAML strings (``1e-3`` is a string in YAML 1.1) become numbers."""
    if hint in (float, "float", float | None, "float | None") and isinstance(value, (str, int)) \
            and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{cls_name}.{key} must be a number, got {value!r}") from None
    if hint in (int, "int") and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{cls_name}.{key} must be an integer, got {value!r}") from None
    return value


@functools.cache
def _fields_of(cls) -> tuple[dict, frozenset]:
    """A config class's type hints and field names (resolving hints is slow; pages build thousands of configs)."""
    return typing.get_type_hints(cls), frozenset(f.name for f in dataclasses.fields(cls))


def _build_dataclass(cls, values: dict):
    hints, names = _fields_of(cls)
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}; allowed: {sorted(names)}")
    kwargs = {}
    for key, value in values.items():
        if isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        if key == "options" and isinstance(value, dict):
            value = tuple(sorted(value.items()))
        if key == "betas" and isinstance(value, tuple):
            value = tuple(_coerce(cls.__name__, key, float, v) for v in value)
        kwargs[key] = _coerce(cls.__name__, key, hints.get(key), value)
    return cls(**kwargs)


def config_from_dict(values: dict) -> RunConfig:
    """``{"data": {...}, "model": {...}, "train": {...}, "renderings": 1, ...}`` → RunConfig."""
    values = dict(values)
    parts = {"data": DataConfig, "model": ModelSpec, "train": TrainConfig}
    kwargs = {key: _build_dataclass(cls, values.pop(key, {}) or {}) for key, cls in parts.items()}
    return _build_dataclass(RunConfig, {**values, **kwargs}) if values else RunConfig(**kwargs)


def set_path(values: dict, dotted: str, value) -> dict:
    """Set ``values["train"]["lr"]`` from ``"train.lr"``, returning a new nested dict."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    keys = dotted.split(".")
    node = out
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


def expand_sweep(spec: dict) -> list[RunConfig]:
    """A sweep: ``base`` (a config dict) and ``grid`` (dotted keys → lists), the full product.

    A grid key may name several fields at once, separated by commas, with one list of values per
    entry; they vary together, e.g. ``"data.n_people, train.batch_size": [[500, 64], [1000, 128]]``.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a sweep file holds a mapping (base:, grid:, store:), got a {type(spec).__name__}")
    base, grid = spec.get("base", {}) or {}, spec.get("grid", {}) or {}
    for part, value in (("base", base), ("grid", grid)):
        if not isinstance(value, dict):
            raise ValueError(f"the sweep file's {part!r} must be a mapping, got a {type(value).__name__}")
    axes = []
    for key, entries in grid.items():
        fields = [k.strip() for k in str(key).split(",")]
        if not isinstance(entries, (list, tuple)) or not entries:
            raise ValueError(f"grid entry {key!r} must be a non-empty list")
        if len(fields) > 1:
            for entry in entries:
                if not isinstance(entry, (list, tuple)) or len(entry) != len(fields):
                    raise ValueError(f"grid entry {key!r} takes lists of {len(fields)} values, got {entry!r}")
            axes.append([tuple(zip(fields, entry)) for entry in entries])
        else:
            axes.append([((fields[0], entry),) for entry in entries])
    configs = []
    for combo in itertools.product(*axes):
        values = base
        for pairs in combo:
            for key, value in pairs:
                values = set_path(values, key, value)
        configs.append(config_from_dict(values))
    return configs


def load_sweep(path: str | Path, overrides: Iterable[str] = ()) -> tuple[dict, list[RunConfig]]:
    """A sweep file's spec and its configs, with ``overrides`` (``KEY=VALUE``, as ``kcl run --set``)
    set on its base; a ValueError names what is wrong with the file or a value."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: {'a folder, not a sweep file' if file.is_dir() else 'no such sweep file'}")
    try:
        spec = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{path} is not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must hold a mapping (base:, grid:, store:), got a {type(spec).__name__}")
    base = spec.get("base", {}) or {}
    if not isinstance(base, dict):
        raise ValueError(f"{path}: 'base' must be a mapping, got a {type(base).__name__}")
    for item in overrides:
        key, _, raw = item.partition("=")
        if not _ or not key:
            raise ValueError(f"--set takes key=value (for example train.lr=0.003), got {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ValueError(f"--set {key}: {raw!r} is not a value (a number, a word, or [a, list])") from None
        base = set_path(base, key, value)
    spec["base"] = base
    return spec, expand_sweep(spec)


def sweep_compiled(spec: dict) -> bool:
    """A sweep file's ``compiled: true``: its runs train through ``torch.compile`` (``kcl.train``),
    however they are started (the compile diagnostic's compiled half)."""
    value = spec.get("compiled", False)
    if not isinstance(value, bool):
        raise ValueError(f"a sweep file's 'compiled' must be true or false, got {value!r}")
    return value
