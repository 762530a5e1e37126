"""What a chapter notebook calls: its records for a profile, its controls and its verdict.

A chapter names one sweep file per profile:

* ``smoke``: the chapter's sweep shrunk to a seconds-long config, trained into a temporary store
  (never ``results/``), so that tests exercise the whole path: sweep → run → record → charts;
* ``cpu``: the committed records of the sweep sized for a 2-core machine (``results/<store>``);
* ``gpu``: the sweep sized for a larger machine (the same file when a chapter has no larger one).

``chapter_records`` returns the records through ``kcl.sweep.run_sweep``, which prints how many runs
are missing and their estimated cost first. With ``allow_train=False`` (what the book build uses)
a missing or stale record raises ``MissingResultsError`` naming the command that recomputes it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from kcl.stats import _without
from kcl.store import ResultStore
from kcl.sweep import run_sweep

PROFILES = ("smoke", "cpu", "gpu")


@dataclass(frozen=True)
class Chapter:
    """A chapter: its sweep file per profile, the claim it checks and the threshold of its verdict."""

    title: str
    sweeps: dict  # profile ("cpu", "gpu") → sweep file, relative to the repository root
    claim: str
    threshold: float | None = None  # bits per parameter (paper count) the claim asks for; None: a diagnostic
    smoke: dict = field(default_factory=dict)  # dotted overrides that shrink the cpu sweep (smoke profile)
    smoke_grid: dict = field(default_factory=dict)  # the smoke profile's grid (default: none)
    pilot: dict = field(default_factory=dict)  # profile → learning-rate pilot sweep (kcl.stats.lr_grid_from_pilot)
    seeds: tuple[int, ...] = ()  # reruns of the peak point at these seeds (data and training seed)
    seed_group: str | None = None  # rerun each group's peak instead (a dotted field, e.g. data.name)
    seed_all_rates: bool = False  # also rerun the peak at every seed × every rate (law.seed_rate_configs)
    edge_rates: bool = False  # one rate beyond the grid where a setting's peak is at its edge (law.edge_rate_configs)
    superseded_by: str | None = None  # a later protocol's chapter: this one keeps its records and trains no more


# The smoke profile of the law chapters: 40 people, two tiny models, two rates, seconds in all.
_SMOKE_LAW = {"data.n_people": 40, "train.exposures": 10, "train.batch_size": 8, "bootstrap": 50}
_SMOKE_GRID = {"model.n_layer, model.n_head, model.d_model": [[1, 2, 16], [2, 2, 16]],
               "train.lr": [0.01, 0.02]}
# The smoke profile of the bioS chapters: 30 people, 4 exposures in 128-token windows.
_SMOKE_BIOS = {"data.n_people": 30, "train.exposures": 4, "train.batch_size": 4, "train.window": 128, "bootstrap": 50}
_SMOKE_BIOS_RATES = {"train.lr": [0.005, 0.01, 0.02]}

def _diagnostic(name: str, subject: str, question: str) -> Chapter:
    """A diagnostic (book/protocol.md, "Diagnostics"): no claim and no threshold; its sweep files
    are ``sweeps/diag-NAME.yaml`` and ``sweeps/gpu/diag-NAME.yaml``; bioS's smoke profile."""
    return Chapter(title=f"Diagnostic: {subject}",
                   sweeps={"cpu": f"sweeps/diag-{name}.yaml", "gpu": f"sweeps/gpu/diag-{name}.yaml"},
                   claim=f"none (a diagnostic, book/protocol.md): {question}", smoke=_SMOKE_BIOS)


CHAPTERS = {
    "reference": Chapter(
        title="Calibration: the reference benchmark and the controls",
        sweeps={"cpu": "sweeps/reference.yaml", "gpu": "sweeps/reference.yaml"},
        claim=("a 2-layer GPT2 (d = 32) trained for 1000 exposures on bioD(N=1000, K=4, C=4, D=T=64, L=1) "
               "stores at least 1.8 bits per parameter (issue 2's target; the paper's Result 3 reports "
               "a peak of 2 bits/param on bioD)"),
        threshold=1.8,
        smoke={"data.n_people": 60, "train.exposures": 20, "train.batch_size": 32, "bootstrap": 100},
    ),
    "result1": Chapter(
        title="Result 1: two bits per parameter at 1000 exposures",
        sweeps={"cpu": "sweeps/result1.yaml", "gpu": "sweeps/gpu/result1.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-1000.yaml", "gpu": "sweeps/gpu/pilot-lr-1000.yaml"},
        claim="after 1000 exposures the peak capacity ratio is at least 2 bits per parameter (Result 1)",
        threshold=2.0, seeds=(1, 2), seed_all_rates=True, smoke=_SMOKE_LAW, smoke_grid=_SMOKE_GRID,
    ),
    "result2": Chapter(
        title="Result 2: bioS, bioS-simple and the bioR proxy",
        # protocol v2 (2026-11-30): d = 32 at N = 4000; v1's sweeps/result2.yaml (d = 16) never ran.
        # Stopped after its six bioS and bioS-simple main runs: protocol v3 (2026-12-01) decides.
        sweeps={"cpu": "sweeps/result2-v2.yaml", "gpu": "sweeps/gpu/result2.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-bios.yaml", "gpu": "sweeps/gpu/pilot-lr-1000.yaml"},
        claim="bioS-simple and bioR also reach about 2 bits per parameter, slightly below bioS (Result 2)",
        threshold=2.0, seeds=(1, 2), seed_group="data.name", edge_rates=True, superseded_by="result2-v3",
        smoke=_SMOKE_BIOS, smoke_grid={"data.name": ["bioS", "bioS-simple", "bioR-proxy"], **_SMOKE_BIOS_RATES},
    ),
    "result2-v3": Chapter(
        title="Result 2, protocol v3: bioS, bioS-simple and the bioR proxy in at least 50K steps",
        # protocol v3 (2026-12-01): v2 with batch 8; its rates are listed in the sweep file (the
        # pilot rule on the steps diagnostic's batch-4 runs)
        sweeps={"cpu": "sweeps/result2-v3.yaml", "gpu": "sweeps/gpu/result2.yaml"},
        claim="bioS-simple and bioR also reach about 2 bits per parameter, slightly below bioS (Result 2)",
        threshold=2.0, seeds=(1, 2), seed_group="data.name", edge_rates=True,
        smoke=_SMOKE_BIOS, smoke_grid={"data.name": ["bioS", "bioS-simple", "bioR-proxy"], **_SMOKE_BIOS_RATES},
    ),
    "result1-bios": Chapter(
        title="Result 1(b) on bioS: result 2's bioS point below the capacity boundary",
        # addendum 2026-11-30 (book/protocol.md): N = 1000 and 2000 so that R^max ≤ 1.8
        sweeps={"cpu": "sweeps/result1-bios.yaml", "gpu": "sweeps/gpu/result1-bios.yaml"},
        claim="a model with R^max ≤ 1.8 is near-perfect, R ≈ R^max (Result 1(b)), on bioS",
        edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result3": Chapter(
        title="Result 3: the bioD knobs K, C, D, L, T",
        sweeps={"cpu": "sweeps/result3.yaml", "gpu": "sweeps/gpu/result3.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-1000.yaml", "gpu": "sweeps/gpu/pilot-lr-biod.yaml"},
        claim="on bioD, whatever K, C, D, L and T, GPT2 reaches a peak capacity ratio of at least 2 (Result 3)",
        threshold=2.0, edge_rates=True, smoke={**_SMOKE_LAW, "train.batch_size": 4},
        smoke_grid={"data.K, data.C, data.D, data.L, data.T, data.n_people":
                    [[1, 4, 64, 1, 64, 40], [4, 4, 64, 2, 64, 20]],
                    "model.n_layer, model.n_head, model.d_model": [[1, 2, 16]], "train.lr": [0.005, 0.01, 0.02]},
    ),
    "result4-bios": Chapter(
        title="Result 4 on bioS: result 2's bioS point at 100 exposures",
        sweeps={"cpu": "sweeps/result4-bios.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result4-bios-v2": Chapter(
        title="Result 4 on bioS, protocol v2: result 2's bioS point (d = 32) at 100 exposures",
        sweeps={"cpu": "sweeps/result4-bios-v2.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result4-bios-v3": Chapter(
        title="Result 4 on bioS, protocol v3: result 2's bioS point at 100 exposures in about 45K steps",
        # protocol v3 (2026-12-01): v2 in batch 1 (the steps diagnostic; Remark A.2), beside v2
        sweeps={"cpu": "sweeps/result4-bios-v3.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke={**_SMOKE_BIOS, "train.batch_size": 1}, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "bios-position": _diagnostic(
        "position", "result 4's best bioS point, retrained, with its bits by sentence position",
        "the retrained point must come back to its committed R"),
    "bios-pools": _diagnostic(
        "pools", "result 4's best bioS point with the paper's name pools (400 × 400 × 1000)",
        "does bioS store more when fewer people share a name token"),
    "bios-simple": _diagnostic(
        "simple", "result 4's best bioS point on bioS-simple (one fixed text per person)",
        "does a fixed text tie attributes to names sooner"),
    "bios-steps": _diagnostic(
        "steps", "result 1(b)'s bioS point at N = 2000 in smaller batches (2× and 6× the steps)",
        "do more steps at the same exposures store more bits"),
    "bior-fillers": _diagnostic(
        "fillers", "bioS and the bioR proxy with and without its filler sentences at N = 1000",
        "do the filler sentences cost the bioR proxy its bits"),
    "bior-templates": _diagnostic(
        "templates", "the bioR proxy without filler sentences on bioS's template pool alone at N = 1000",
        "of the gap left without fillers, how much is the proxy's larger template pool"),
    "compile": Chapter(
        title="Diagnostic: the reference run trained through torch.compile",
        sweeps={"cpu": "sweeps/diag-compile.yaml", "gpu": "sweeps/gpu/diag-compile.yaml"},
        claim="none (a diagnostic, book/protocol.md): does torch.compile change the bits a run stores",
        smoke=_SMOKE_LAW),
    "compile-eager": Chapter(
        title="Diagnostic: the reference run trained eagerly, beside the compiled one",
        sweeps={"cpu": "sweeps/diag-compile-eager.yaml", "gpu": "sweeps/gpu/diag-compile-eager.yaml"},
        claim="none (a diagnostic, book/protocol.md): the eager half of the compile diagnostic",
        smoke=_SMOKE_LAW),
    "result4-v2": Chapter(
        title="Result 4, protocol v2: 100 exposures in 25,000 steps",
        sweeps={"cpu": "sweeps/result4-v2.yaml", "gpu": "sweeps/gpu/result4.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-100-v2.yaml", "gpu": "sweeps/gpu/pilot-lr-100.yaml"},
        claim="after 100 exposures the peak capacity ratio is at least 1 bit per parameter (Result 4)",
        threshold=1.0, seeds=(1, 2), smoke={**_SMOKE_LAW, "train.exposures": 4, "train.batch_size": 2},
        smoke_grid=_SMOKE_GRID,
    ),
    "result4": Chapter(
        title="Result 4: one bit per parameter at 100 exposures",
        sweeps={"cpu": "sweeps/result4.yaml", "gpu": "sweeps/gpu/result4.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-100.yaml", "gpu": "sweeps/gpu/pilot-lr-100.yaml"},
        claim="after 100 exposures the peak capacity ratio is at least 1 bit per parameter (Result 4)",
        threshold=1.0, seeds=(1, 2), smoke={**_SMOKE_LAW, "train.exposures": 4}, smoke_grid=_SMOKE_GRID,
    ),
}


def repo_root(start: str | Path | None = None) -> Path:
    """The checkout holding ``sweeps/`` and ``pyproject.toml``: searched upwards from ``start``
    (default: the working directory), else the one this package was installed from (editable)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "sweeps").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    fallback = Path(__file__).resolve().parents[2]
    if (fallback / "sweeps").is_dir():
        return fallback
    raise FileNotFoundError(f"no kcl checkout (a folder with sweeps/ and pyproject.toml) above {here}")


FROM_PILOT = "from_pilot"  # a sweep file's ``train.lr`` grid that the chapter's pilot decides


def chapter_sweep(chapter: str, profile: str = "cpu", root: str | Path | None = None,
                  part: str = "main", lr_grid: list[float] | None = None) -> tuple[Path, dict, list]:
    """(sweep file, its spec with the profile applied, its configs) of a chapter's ``part``
    (``main``, or ``pilot`` for the learning-rate pilot).

    A main sweep whose ``train.lr`` grid is ``from_pilot`` takes ``lr_grid``: the protocol's rule
    applied to the pilot's records (``kcl.stats.lr_grid_from_pilot``; ``chapter_parts`` does this).
    """
    from kcl.run import expand_sweep, set_path

    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose one of {', '.join(CHAPTERS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    ch = CHAPTERS[chapter]
    files = {"main": ch.sweeps, "pilot": ch.pilot}.get(part)
    if not files:
        raise ValueError(f"chapter {chapter!r} has no part {part!r}")
    path = repo_root(root) / files["gpu" if profile == "gpu" else "cpu"]
    spec = yaml.safe_load(path.read_text()) or {}
    if profile == "smoke":
        base = spec.get("base", {})
        for key, value in ch.smoke.items():
            base = set_path(base, key, value)
        grid = ch.smoke_grid if part == "main" else {k: v for k, v in ch.smoke_grid.items() if k == "train.lr"}
        spec = {**spec, "base": base, "grid": grid}
    elif (spec.get("grid") or {}).get("train.lr") == FROM_PILOT:
        if lr_grid is None:
            raise ValueError(f"{path.name}: its learning rates come from the chapter's pilot; run "
                             f"`kcl chapter {chapter}` (or pass lr_grid)")
        spec = {**spec, "grid": {**spec["grid"], "train.lr": list(lr_grid)}}
    return path, spec, expand_sweep(spec)


SMOKE_STORE_ENV = "KCL_SMOKE_STORE"


def _smoke_store(chapter: str) -> str:
    """Where the smoke profile trains: a fresh temporary folder, or ``$KCL_SMOKE_STORE/<chapter>``
    when that is set, so that notebooks reading each other's chapters (result 4 reads results 1
    and 2) train each smoke sweep once per test session instead of once per notebook."""
    shared = os.environ.get(SMOKE_STORE_ENV)
    if shared:
        return str(Path(shared) / chapter)
    return tempfile.mkdtemp(prefix=f"kcl-smoke-{chapter}-")


def _store_of(spec: dict, chapter: str, root: str | Path | None) -> Path:
    """Where a sweep's records live: its file's ``store``, else ``results/<chapter>``."""
    return repo_root(root) / spec.get("store", f"results/{chapter}")


def follow_ups(chapter: str, main_records: list[dict]) -> dict[str, list]:
    """The reruns a chapter derives from its complete main sweep, by part name: ``seeds`` (the
    peak at other seeds), ``seed_rates`` (addendum 2026-11-29: every seed × rate) and
    ``edge_rates`` (addendum 2026-11-30: one rate beyond an edge peak). All go into the main store."""
    return {part: configs_of(main_records) for part, (configs_of, _) in _rerun_kinds(CHAPTERS[chapter]).items()}


def _rerun_kinds(ch: Chapter) -> dict[str, tuple[Callable[[list], list], str | None]]:
    """The rerun parts of ``ch``: name → (main records → configs, the part in words for a plan, or
    None where another part's words say it). ``follow_ups`` and ``_rerun_parts`` both read it."""
    from kcl.law import edge_rate_configs, seed_configs, seed_rate_configs

    seed_words = f"{len(ch.seeds)} seed rerun{'' if len(ch.seeds) == 1 else 's'} per peak" + (" at every rate" if ch.seed_all_rates else "")
    kinds = {"seeds": (lambda main: seed_configs(main, ch.seeds, ch.seed_group), seed_words if ch.seeds else None)}
    if ch.seed_all_rates:
        kinds["seed_rates"] = (lambda main: seed_rate_configs(main, ch.seeds), None)
    if ch.edge_rates:
        kinds["edge_rates"] = (edge_rate_configs, "one rate beyond the grid for each setting that peaks at its edge")
    return kinds


def ready_follow_ups(chapter: str, configs: list, store: ResultStore) -> dict[str, list]:
    """The follow-up reruns (``follow_ups``, by part) that may start before the whole main sweep is
    done: those of the groups whose main runs are all stored. A group is a ``seed_group`` value, else
    a data setting (the config without model and rate), the unit ``follow_ups`` reruns per. Chapters
    whose reruns depend on the sweep's overall peak (seeds without a group, or every seed × rate)
    get none."""
    from kcl.law import _field
    from kcl.store import _jsonable

    ch = CHAPTERS[chapter]
    if ch.seed_all_rates or (ch.seeds and not ch.seed_group):
        return {}

    def group(config) -> str:
        as_dict = _jsonable(dataclasses.asdict(config))
        return str(_field(as_dict, ch.seed_group)) if ch.seed_group else _without(as_dict, "model", "train.lr")

    records: dict[str, list] = {}
    for config in configs:
        records.setdefault(group(config), []).append(store.get(config))
    ready = [r for members in records.values() if all(members) for r in members]
    return follow_ups(chapter, ready) if ready else {}


def early_follow_ups(chapter: str, configs: list, store: ResultStore) -> list:
    """``ready_follow_ups`` as one list, for ``kcl.sweep.run_sweep``'s ``more``: a worker that would
    sit idle near the main sweep's end takes these."""
    return [c for reruns in ready_follow_ups(chapter, configs, store).values() for c in reruns]


def chapter_records(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                    store: str | Path | None = None, root: str | Path | None = None,
                    progress: bool = False, log: Callable[[str], object] = print) -> list[dict]:
    """The records of a chapter's sweep for ``profile``; trains only what is missing, and only
    if ``allow_train``. The smoke profile uses a fresh temporary store unless ``store`` is given."""
    from kcl.run import estimated_seconds, run

    path, spec, configs = chapter_sweep(chapter, profile, root)
    if store is None:
        store = _smoke_store(chapter) if profile == "smoke" else _store_of(spec, chapter, root)
    relative = path.relative_to(repo_root(root))
    hint = f"`kcl sweep {relative}` (or `make {chapter}`)" if profile != "smoke" else "the smoke profile trains"
    compiled = sweep_compiled(spec)
    return run_sweep(ResultStore(store), configs, lambda c: run(c, progress=progress, compiled=compiled),
                     cost_fn=estimated_seconds,
                     log=log, allow_train=allow_train, recompute_hint=hint)


def chapter_parts(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                  store: str | Path | None = None, root: str | Path | None = None,
                  progress: bool = False, log: Callable[[str], object] = print,
                  checkpoint_dir: str | Path | None = None, workers: int = 1, ranks: int = 1,
                  compiled: bool = False, where: Callable[[object], bool] | None = None) -> dict[str, list[dict]]:
    """A chapter's records: ``{"pilot": [...], "main": [...], "seeds": [...]}``, in that order
    (no ``"pilot"`` for a chapter without one, whose sweep file lists its rates): the pilot's best
    learning rate and its ×½ and ×2 neighbours are the main sweep's rates (book/protocol.md), and
    the seeds rerun the main sweep's peak; with ``seed_all_rates``,
    ``"seed_rates"`` reruns it at every seed and rate (each seed's own best rate); with ``edge_rates``,
    ``"edge_rates"`` adds one rate beyond an edge peak (``follow_ups``). Trains only what is missing,
    and only if ``allow_train`` (never for a chapter ``superseded_by`` another, outside the smoke
    profile: ``ValueError``); with ``checkpoint_dir`` a killed run resumes where it stopped;
    ``workers`` runs that many configs at once (``kcl.sweep.run_sweep``); ``ranks`` trains each on
    that many processes (``kcl.parallel``: the same run, sooner), one or the other; ``compiled``
    trains through ``torch.compile`` (``kcl.train.train``). ``where`` (``config_filter``) trains and
    returns only the runs it accepts: the rest stay missing, so the reruns come only from what is
    stored (all of the main sweep, else the groups whose main runs are all there), never from
    the chosen runs alone."""
    from kcl.parallel import check_ranks
    from kcl.run import checkpoint_progress, run, sweep_cost
    from kcl.stats import lr_grid_from_pilot

    check_ranks(ranks, workers)
    ch = CHAPTERS[chapter]
    if allow_train and ch.superseded_by and profile != "smoke":
        raise ValueError(f"chapter {chapter!r} is stopped: its protocol was superseded by {ch.superseded_by!r} "
                         f"(book/protocol.md), so it trains nothing more; run `kcl chapter {ch.superseded_by}`")
    under_way = functools.partial(checkpoint_progress, checkpoint_dir=checkpoint_dir) if checkpoint_dir else None
    if store is None and profile == "smoke":
        store = _smoke_store(chapter)
    hint = f"`kcl chapter {chapter}`" if profile != "smoke" else "the smoke profile trains"

    def store_of(spec, part) -> Path:
        return Path(store) / part if store is not None else _store_of(spec, chapter, root)

    def chosen(configs) -> list:
        return [c for c in configs if where(c)] if where else list(configs)

    def stored(folder: Path, configs) -> list:
        return [ResultStore(folder).get(c) for c in configs]

    def sweep(folder: Path, configs, more=None, spec=None) -> list[dict]:
        return run_sweep(ResultStore(folder), chosen(configs),
                         functools.partial(run, progress=progress and workers == 1, checkpoint_dir=checkpoint_dir,
                                           ranks=ranks, compiled=compiled or sweep_compiled(spec or {})),
                         cost_fn=sweep_cost(workers, ranks), log=log, allow_train=allow_train, recompute_hint=hint,
                         workers=workers, more=more, trained_share_fn=under_way)

    out: dict[str, list[dict]] = {}
    grid = None
    if ch.pilot:
        _, spec, configs = chapter_sweep(chapter, profile, root, "pilot")
        out["pilot"] = sweep(store_of(spec, "pilot"), configs, spec=spec)
        pilot = stored(store_of(spec, "pilot"), configs) if where else out["pilot"]
        if not all(pilot):  # only some of the pilot was chosen: the main sweep's rates are not known yet
            return out
        grid = None if profile == "smoke" else lr_grid_from_pilot(pilot)
    _, spec, configs = chapter_sweep(chapter, profile, root, "main", lr_grid=grid)
    main_store = store_of(spec, "main")
    # a worker that would sit idle near the sweep's end starts the reruns of its finished groups
    out["main"] = sweep(main_store, configs, spec=spec,
                        more=lambda: chosen(early_follow_ups(chapter, configs, ResultStore(main_store))))
    main = stored(main_store, configs) if where else out["main"]
    reruns_by_part = (follow_ups(chapter, main) if all(main)
                      else ready_follow_ups(chapter, configs, ResultStore(main_store)))
    for part, reruns in reruns_by_part.items():
        out[part] = sweep(main_store, reruns, spec=spec) if reruns else []
    return out


def sweep_compiled(spec: dict) -> bool:
    """A sweep file's ``compiled: true``: its runs train through ``torch.compile`` (``kcl.train``),
    however they are started (the compile diagnostic's compiled half)."""
    value = spec.get("compiled", False)
    if not isinstance(value, bool):
        raise ValueError(f"a sweep file's 'compiled' must be true or false, got {value!r}")
    return value


def config_filter(conditions: list[str]) -> Callable[[object], bool] | None:
    """``kcl chapter --where``: conditions ``KEY=V1,V2`` (a dotted field of ``kcl.run.RunConfig`` such
    as ``data.name`` or ``train.seed``, and the values it may take) → whether a run's config meets
    them all; None without conditions. It picks which of a chapter's runs train now, e.g. those that
    fit a session; it never changes which runs the chapter needs. Bad input: ``ValueError``."""
    import math
    import typing

    from kcl.run import RunConfig, _coerce

    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def matches(value, wanted) -> bool:
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, wanted))
        return math.isclose(value, wanted, rel_tol=1e-9) if numbers else value == wanted

    defaults = RunConfig()
    sections = {name: getattr(defaults, name) for name in field_names(RunConfig)
                if dataclasses.is_dataclass(getattr(defaults, name))}  # data, model, train
    tests = []
    for condition in conditions:
        key, equals, raw = condition.partition("=")
        part, _, name = key.strip().partition(".")
        if not equals or not raw.strip():
            raise ValueError(f"--where takes KEY=V1,V2 (for example data.name=bioS,bioS-simple), got {condition!r}")
        if part not in sections:
            raise ValueError(f"--where {key.strip()!r}: KEY must start with one of {', '.join(sections)} "
                             f"(for example train.seed)")
        if name not in field_names(sections[part]):
            raise ValueError(f"--where {key.strip()!r} is not a config field; allowed: "
                             f"{part}.<{'|'.join(field_names(sections[part]))}>")
        hint = typing.get_type_hints(type(sections[part]))[name]  # YAML 1.1 reads 2e-2 as a string
        values = [_coerce(type(sections[part]).__name__, name, hint, yaml.safe_load(v)) for v in raw.split(",")]
        tests.append((part, name, values))
    if not tests:
        return None
    return lambda config: all(any(matches(getattr(getattr(config, part), name), v) for v in values)
                              for part, name, values in tests)


def parts_or_pending(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                     log: Callable[[str], object] = lambda _: None) -> tuple[dict | None, str]:
    """A chapter's records by part (``chapter_parts``) and "", or None and a sentence saying what
    is missing and the command that computes it, while its records are incomplete. For the parts of
    a chapter that lean on another, unfinished one: the page says what is pending instead of failing
    the build or showing a partial figure. Quiet by default: the sentence says what a plan line would."""
    from kcl.store import MissingResultsError

    try:
        return chapter_parts(chapter, profile, allow_train=allow_train, log=log), ""
    except MissingResultsError as err:  # parts run in order: only the first incomplete one is counted
        missing = (f"{_runs(len(err.missing))} of its first incomplete part still missing, and any parts after "
                   f"it follow (`kcl chapter {chapter} --dry-run` lists them with their estimated cost; "
                   f"`kcl chapter {chapter} --workers 2` computes them)")
        return None, f"*Pending: {CHAPTERS[chapter].title} — {missing}; this part appears once they are committed.*"


def pilot_records(chapter: str, profile: str = "cpu") -> list[dict]:
    """The learning-rate pilot's records that exist so far (trains nothing; may be incomplete)."""
    _, spec, configs = chapter_sweep(chapter, profile, part="pilot")
    store = ResultStore(_store_of(spec, chapter, None))
    return [r for r in (store.get(c) for c in configs) if r is not None]


def record_config(record: dict):
    """The ``RunConfig`` a record was made from."""
    from kcl.run import config_from_dict

    return config_from_dict(record["config"])


def controls(record: dict) -> dict:
    """The uniform and oracle predictors measured on the record's data set and parameter count:
    ``{"uniform": capacity(...), "oracle": capacity(...)}`` (see ``kcl.controls``). Trains nothing."""
    from kcl.capacity import capacity, measurement_bios, person_losses
    from kcl.controls import control_losses
    from kcl.data import make_dataset

    config = record_config(record)
    dataset = make_dataset(config.data)
    bios = measurement_bios(dataset, config.measure_seed, 1)[0]
    out = {}
    for kind in ("uniform", "oracle"):
        loss, correct = control_losses(dataset, bios, kind)
        losses = person_losses(bios, loss, correct, dataset.n_people, len(dataset.attributes))
        out[kind] = capacity(dataset, losses, record["result"]["params"], bootstrap=0)
    return out


@dataclass(frozen=True)
class Verdict:
    """A claim checked against a measured figure and its interval."""

    threshold: float
    value: float
    low: float
    high: float

    @property
    def outcome(self) -> str:
        """``reproduced`` if the whole interval reaches the threshold, ``not reproduced`` if the
        whole interval is below it, else ``inconclusive``."""
        if self.low >= self.threshold:
            return "reproduced"
        if self.high < self.threshold:
            return "not reproduced"
        return "inconclusive"


def verdict(record: dict, threshold: float) -> Verdict:
    """The verdict on R (paper count) of one record against ``threshold`` bits/param."""
    from kcl.stats import r_interval

    r = record["result"]
    low, high = r_interval(r)
    if not (np.isfinite(r["R"]) and low <= r["R"] <= high):
        raise ValueError(f"record {record.get('key')}: R={r['R']} is not inside its interval [{low}, {high}]")
    return Verdict(threshold=threshold, value=r["R"], low=low, high=high)


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _rerun_parts(ch: Chapter) -> list[str]:
    """What ``follow_ups`` will add once the main sweep is complete, in words."""
    return [words for _, words in _rerun_kinds(ch).values() if words]
