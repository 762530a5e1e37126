"""What a chapter notebook calls: its records for a profile and its controls (the verdicts: results
1–4 by ``kcl.book.stats.judge``, the calibration chapter by ``kcl.book.calibration.verdict``).

A chapter (``kcl.book.chapter_list.CHAPTERS``) names one sweep file per profile:

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

from kcl.book.chapter_list import CHAPTERS, Chapter, command_name  # noqa: F401 (the registry, read through here)
from kcl.book.law import capacity_runs, edge_rate_configs, group_key, moved_peak_seed_configs, seed_configs, seed_rate_configs
from kcl.book.regime import Regime, apply_to_configs, apply_to_spec, choose, recipe_edge_configs
from kcl.book.stats import _without, lr_grid_from_pilot
from kcl.capacity import capacity, measurement_bios, person_losses
from kcl.config import RunConfig, _coerce, config_from_dict, expand_sweep, set_path, sweep_compiled
from kcl.controls import control_losses
from kcl.data import make_dataset
from kcl.executors import EXECUTORS, make_executor
from kcl.parallel import check_ranks
from kcl.paths import repo_root
from kcl.record import Record
from kcl.run import checkpoint_progress, estimated_seconds, run, sweep_cost
from kcl.store import MissingResultsError, ResultStore, _jsonable, config_key
from kcl.sweep import run_sweep

PROFILES = ("smoke", "cpu", "gpu")


FROM_PILOT = "from_pilot"  # a sweep file's ``train.lr`` grid that the chapter's pilot decides


def chapter_sweep(chapter: str, profile: str = "cpu", root: str | Path | None = None,
                  part: str = "main", lr_grid: list[float] | None = None,
                  regime: Regime | None = None) -> tuple[Path, dict, list]:
    """(sweep file, its spec with the profile applied, its configs) of a chapter's ``part``
    (``main``, or ``pilot`` for the learning-rate pilot).

    A main sweep whose ``train.lr`` grid is ``from_pilot`` takes ``lr_grid``: the protocol's rule
    applied to the pilot's records (``kcl.book.stats.lr_grid_from_pilot``; ``chapter_parts`` does this).
    A chapter that takes a recipe pilot's regime (``Chapter.regime``) takes ``regime``: its batch
    size, initialisation and rates (``kcl.book.regime``; ``chapter_parts`` chooses it).
    """
    path, spec = _sweep_file(chapter, profile, root, part)
    ch = CHAPTERS[chapter]
    if profile == "smoke":
        base = spec.get("base", {})
        for key, value in ch.smoke.items():
            base = set_path(base, key, value)
        grid = ch.smoke_grid if part == "main" else {k: v for k, v in ch.smoke_grid.items() if k == "train.lr"}
        spec = {**spec, "base": base, "grid": grid}
    elif ch.regime and part == "main":
        if regime is None:
            raise ValueError(f"{path.name}: its batch size, initialisation and rates come from the regime of "
                             f"`{ch.regime}`; run `kcl chapter {command_name(chapter)}` (it runs that pilot first) or pass regime")
        spec = apply_to_spec(spec, regime, path.name, biography_tokens(spec))
        return path, spec, apply_to_configs(expand_sweep(spec), regime)
    elif (spec.get("grid") or {}).get("train.lr") == FROM_PILOT:
        if lr_grid is None:
            raise ValueError(f"{path.name}: its learning rates come from the chapter's pilot; run "
                             f"`kcl chapter {command_name(chapter)}` (or pass lr_grid)")
        spec = {**spec, "grid": {**spec["grid"], "train.lr": list(lr_grid)}}
    return path, spec, expand_sweep(spec)


def biography_tokens(spec: dict) -> float | None:
    """The mean biography length in tokens of a sweep's base data (one measurement rendering of
    every person), where it packs biographies into windows; else None (not needed)."""
    if (spec.get("base") or {}).get("train", {}).get("packing") != "concat":
        return None
    dataset = make_dataset(config_from_dict({"data": spec["base"]["data"]}).data)
    return float(dataset.render(range(dataset.n_people), np.random.default_rng(0), measure=True).lengths.mean())


def stored_regime(chapter: str, profile: str = "cpu", root: str | Path | None = None) -> Regime | None:
    """The regime a chapter takes (``Chapter.regime``), from its recipe pilot's stored records; None
    while the pilot (or its edge runs) is incomplete, or for a chapter that takes none."""
    if not CHAPTERS[chapter].regime or profile == "smoke":
        return None
    return walk(CHAPTERS[chapter].regime, profile, root).decided_regime()


def _sweep_file(chapter: str, profile: str, root: str | Path | None, part: str) -> tuple[Path, dict]:
    """The sweep file of a chapter's ``part`` for ``profile`` (smoke reads the cpu file) and its spec
    as written."""
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; choose one of {', '.join(CHAPTERS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    ch = CHAPTERS[chapter]
    files = {"main": ch.sweeps, "pilot": ch.pilot}.get(part)
    if not files:
        raise ValueError(f"chapter {chapter!r} has no part {part!r}")
    path = repo_root(root) / files["gpu" if profile == "gpu" else "cpu"]
    return path, yaml.safe_load(path.read_text()) or {}


SMOKE_STORE_ENV = "KCL_SMOKE_STORE"


def _smoke_store(chapter: str) -> str:
    """Where the smoke profile trains: a fresh temporary folder, or ``$KCL_SMOKE_STORE/<chapter>``
    when that is set, so that notebooks reading each other's chapters (result 4 reads results 1
    and 2) train each smoke sweep once per test session instead of once per notebook."""
    shared = os.environ.get(SMOKE_STORE_ENV)
    if shared:
        return str(Path(shared) / chapter)
    if chapter not in _SMOKE_STORES:  # one per chapter and process: a page reads its smoke runs again
        _SMOKE_STORES[chapter] = tempfile.mkdtemp(prefix=f"kcl-smoke-{chapter}-")
    return _SMOKE_STORES[chapter]


_SMOKE_STORES: dict[str, str] = {}


def main_store(chapter: str, profile: str = "cpu", root: str | Path | None = None) -> Path:
    """The folder of a chapter's main sweep (its records and their weights) in ``profile``."""
    if profile == "smoke":
        return Path(_smoke_store(chapter)) / "main"
    _, spec = _sweep_file(chapter, profile, root, "main")
    return _store_of(spec, chapter, root)


def _store_of(spec: dict, chapter: str, root: str | Path | None) -> Path:
    """Where a sweep's records live: its file's ``store``, else ``results/<chapter>``."""
    return repo_root(root) / spec.get("store", f"results/{chapter}")


def follow_ups(chapter: str, main_records: list[Record]) -> dict[str, list]:
    """The reruns a chapter derives from its complete main sweep, by part name: ``seeds`` (the
    peak at other seeds), ``seed_rates`` (the seed-rates addendum: every seed × rate) and
    ``edge_rates`` (the edge-rates addendum: one rate beyond an edge peak). All go into the main store."""
    return {part: configs_of(main_records) for part, (configs_of, _) in _rerun_kinds(CHAPTERS[chapter]).items()}


def _rerun_kinds(ch: Chapter) -> dict[str, tuple[Callable[[list], list], str | None]]:
    """The rerun parts of ``ch``: name → (main records → configs, the part in words for a plan, or
    None where another part's words say it). ``follow_ups`` and ``_rerun_parts`` both read it."""

    seed_words = f"{len(ch.seeds)} seed rerun{'' if len(ch.seeds) == 1 else 's'} per peak" + (" at every rate" if ch.seed_all_rates else "")
    candidates = capacity_runs if ch.peak_at_capacity else list
    kinds = {"seeds": (lambda main: seed_configs(candidates(main), ch.seeds, ch.seed_group),
                       seed_words if ch.seeds else None)}
    if ch.seed_all_rates:
        kinds["seed_rates"] = (lambda main: seed_rate_configs(candidates(main), ch.seeds, ch.seed_group), None)
    if ch.edge_rates:
        kinds["edge_rates"] = (edge_rate_configs, "one rate beyond the grid for each setting that peaks at its edge")
    if ch.edge_group:
        kinds["group_edges"] = (lambda main: _not_in(edge_rate_configs(main, ch.edge_group),
                                                     edge_rate_configs(main) if ch.edge_rates else []),
                                "by the addendum, one rate beyond for each group that peaks at its edge, its moved peak at the seeds")
    if ch.recipe_edges:
        kinds["recipe_edges"] = (recipe_edge_configs, "one rate beyond the grid, every seed, for each recipe best at its edge")
    return kinds


def _not_in(configs: list, others: list) -> list:
    """``configs`` without those ``others`` already holds (the same run twice is one run)."""
    taken = set(map(config_key, others))
    return [c for c in configs if config_key(c) not in taken]


def ready_follow_ups(chapter: str, configs: list, store: ResultStore) -> dict[str, list]:
    """The follow-up reruns (``follow_ups``, by part) that may start before the whole main sweep is
    done: those of the groups whose main runs are all stored. A group is a ``seed_group`` value, else
    a data setting (the config without model and rate), the unit ``follow_ups`` reruns per. Chapters
    whose reruns depend on the sweep's overall peak (seeds without a group, or every seed × rate)
    get none."""

    if not _reruns_per_group(CHAPTERS[chapter]):
        return {}
    stored = [[store.get(c) for c in members] for members in grouped(chapter, configs).values()]
    ready = [r for records in stored if all(records) for r in records]
    return follow_ups(chapter, ready) if ready else {}


def _reruns_per_group(ch: Chapter) -> bool:
    """Whether ``ch``'s reruns follow from each group's main runs alone (not from the sweep's overall peak)."""
    return not (ch.seed_all_rates or ch.recipe_edges or (ch.seeds and not ch.seed_group))


def group_of(chapter: str, config) -> str:
    """The group ``config`` belongs to: the unit whose main runs decide its reruns (``follow_ups``),
    a ``seed_group`` value, else a data setting (the config without model and rate); one group for
    the whole sweep where the reruns follow from its overall peak."""
    ch = CHAPTERS[chapter]
    if not _reruns_per_group(ch):
        return ""
    as_dict = _jsonable(dataclasses.asdict(config))
    return str(group_key(as_dict, ch.seed_group)) if ch.seed_group else _without(as_dict, "model", "train.lr")


def grouped(chapter: str, configs: list) -> dict[str, list]:
    """``configs`` by their group (``group_of``), each group's in their order."""
    groups: dict[str, list] = {}
    for config in configs:
        groups.setdefault(group_of(chapter, config), []).append(config)
    return groups


#: a rerun part in words, for what a group lacks (``finished_groups``)
_PART_WORDS = {"main": "main runs", "seeds": "peak's seed reruns", "seed_rates": "seed reruns at every rate",
               "edge_rates": "runs one rate beyond the grid", "group_edges": "runs one rate beyond its edge",
               "recipe_edges": "runs one rate beyond the grid"}


def finished_groups(chapter: str, configs: list, store) -> tuple[dict[str, list[Record]], dict[str, str]]:
    """The records of each group of ``configs`` (``group_of``) whose main runs and reruns are all
    stored, by part ("main" and each rerun part of the chapter), and, for every other group, what it
    lacks in words ("2 of its peak's seed reruns"). A page may judge a finished group while the
    chapter's other groups still train (results 11 and 12 read result 10's finished settings).
    Chapters whose addendum reruns a moved peak at its seeds (``edge_group``) are refused: that
    stage follows the addendum's runs, not ``follow_ups``."""
    if CHAPTERS[chapter].edge_group:
        raise ValueError(f"finished_groups does not read {chapter}'s addendum stage (edge_group: its moved "
                         "peaks' seed reruns); read the chapter with chapter_parts")
    parts: dict[str, list[Record]] = {"main": [], **{part: [] for part in _rerun_kinds(CHAPTERS[chapter])}}
    lacking: dict[str, str] = {}
    for group, group_configs in grouped(chapter, configs).items():
        found = {"main": [store.get(c) for c in group_configs]}
        if all(found["main"]):
            found.update({part: [store.get(c) for c in reruns]
                          for part, reruns in follow_ups(chapter, found["main"]).items()})
        missing = [f"{sum(r is None for r in records)} of its {_PART_WORDS.get(part, part)}"
                   for part, records in found.items() if not all(records)]
        if missing:
            lacking[group] = ", ".join(missing)
            continue
        for part, records in found.items():
            parts[part] += records
    return parts, lacking


def early_follow_ups(chapter: str, configs: list, store: ResultStore) -> list:
    """``ready_follow_ups`` as one list, for ``kcl.sweep.run_sweep``'s ``more``: a worker that would
    sit idle near the main sweep's end takes these."""
    return [c for reruns in ready_follow_ups(chapter, configs, store).values() for c in reruns]


#: where the pages train what a chapter misses when they may (``allow_train``): ``train_with`` sets it
_TRAINING_PLACE: dict = {"executor": "local", "checkpoint_dir": None}


def train_with(executor: str = "local", checkpoints: str | Path | None = None, *, allow_train: bool = True,
               ray_address: str = "auto", options: dict | None = None) -> None:
    """Where the pages' ``allow_train=True`` trains a chapter's missing runs, as ``kcl chapter
    --executor --checkpoints`` does: ``local`` (this machine), ``submitit`` (a Slurm job array) or
    ``ray`` (an existing Ray cluster at ``ray_address``), with ``checkpoints`` on storage every
    worker shares. A notebook calls it with its parameters; without ``allow_train`` nothing trains,
    so only the name is checked. Bad input fails here, before any page trains."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    made = make_executor(executor, checkpoint_dir=checkpoints, ray_address=ray_address, options=options) \
        if allow_train else None
    _TRAINING_PLACE.update(executor=made or "local", checkpoint_dir=checkpoints if made else None)


def chapter_records(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                    store: str | Path | None = None, root: str | Path | None = None,
                    progress: bool = False, log: Callable[[str], object] = print) -> list[Record]:
    """The records of a chapter's sweep for ``profile``; trains only what is missing, and only
    if ``allow_train``, where ``train_with`` said (default: here). The smoke profile uses a fresh
    temporary store unless ``store`` is given."""

    path, spec, configs = chapter_sweep(chapter, profile, root)
    if store is None:
        store = _smoke_store(chapter) if profile == "smoke" else _store_of(spec, chapter, root)
    relative = path.relative_to(repo_root(root))
    hint = f"`kcl sweep {relative}` (or `make {chapter}`)" if profile != "smoke" else "the smoke profile trains"
    compiled = sweep_compiled(spec)
    executor, checkpoints = _TRAINING_PLACE["executor"], _TRAINING_PLACE["checkpoint_dir"]
    return run_sweep(ResultStore(store), configs,
                     functools.partial(run, progress=progress, compiled=compiled, checkpoint_dir=checkpoints),
                     cost_fn=estimated_seconds, log=log, allow_train=allow_train, recompute_hint=hint,
                     executor=None if executor == "local" or not allow_train else executor)


def chapter_parts(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                  store: str | Path | None = None, root: str | Path | None = None,
                  progress: bool = False, log: Callable[[str], object] | None = None,
                  checkpoint_dir: str | Path | None = None, workers: int = 1, ranks: int = 1,
                  compiled: bool = False, where: Callable[[object], bool] | None = None,
                  executor=None) -> dict[str, list[Record]]:
    """A chapter's records: ``{"pilot": [...], "main": [...], "seeds": [...]}``, in that order
    (no ``"pilot"`` for a chapter without one, whose sweep file lists its rates): the pilot's best
    learning rate and its ×½ and ×2 neighbours are the main sweep's rates (book/protocol.md), and
    the seeds rerun the main sweep's peak; with ``seed_all_rates``,
    ``"seed_rates"`` reruns it at every seed and rate (each seed's own best rate); with ``edge_rates``,
    ``"edge_rates"`` adds one rate beyond an edge peak (``follow_ups``). Trains only what is missing,
    and only if ``allow_train`` (never for a chapter ``superseded_by`` another, outside the smoke
    profile: ``ValueError``); with ``checkpoint_dir`` a killed run resumes where it stopped;
    ``workers`` runs that many configs at once (``kcl.sweep.run_sweep``; the reruns of every part
    share one pool, the seeds' first); ``ranks`` trains each on
    that many processes (``kcl.parallel``: the same run, sooner), one or the other; ``compiled``
    trains through ``torch.compile`` (``kcl.train.train``). ``where`` (``config_filter``) trains and
    returns only the runs it accepts: the rest stay missing, so the reruns come only from what is
    stored (all of the main sweep, else the groups whose main runs are all there), never from
    the chosen runs alone. ``log`` (default: ``print`` when it may train, else nothing) takes the
    plan's lines. ``executor``: where missing runs train, ``local`` (this machine), ``submitit`` or
    ``ray`` (``kcl.executors.make_executor``, with ``checkpoint_dir`` on shared storage), or an
    executor already made; without one, where ``train_with`` said (default: ``local``), with its
    checkpoints where ``checkpoint_dir`` is not given."""

    if executor is None:
        executor = _TRAINING_PLACE["executor"]
        checkpoint_dir = checkpoint_dir if checkpoint_dir is not None else _TRAINING_PLACE["checkpoint_dir"]
    check_ranks(ranks, workers)
    if isinstance(executor, str):
        executor = make_executor(executor, checkpoint_dir=checkpoint_dir, workers=workers) if allow_train else None
    if checkpoint_dir is not None:  # absolute: a cluster's workers do not share this process's working directory
        checkpoint_dir = Path(checkpoint_dir).resolve()
    if log is None:  # a page reading stored records says nothing; a run that trains reports its plan
        log = print if allow_train else (lambda _: None)
    ch = CHAPTERS[chapter]
    if allow_train and ch.superseded_by and profile != "smoke":
        raise ValueError(f"chapter {chapter!r} is stopped: its protocol was superseded by {ch.superseded_by!r} "
                         f"(book/protocol.md), so it trains nothing more; run `kcl chapter {command_name(ch.superseded_by)}`")
    under_way = functools.partial(checkpoint_progress, checkpoint_dir=checkpoint_dir) if checkpoint_dir else None
    hint = f"`kcl chapter {command_name(chapter)}`" if profile != "smoke" else "the smoke profile trains"
    trainer = _Trainer(where, functools.partial(run, progress=progress and workers == 1 and executor is None,
                                                checkpoint_dir=checkpoint_dir, ranks=ranks),
                       compiled, dict(cost_fn=sweep_cost(workers, ranks), log=log, allow_train=allow_train,
                                      recompute_hint=hint, workers=workers, trained_share_fn=under_way,
                                      executor=executor))
    state = walk(chapter, profile, root, trainer, store=store)
    return {part: [r for c, r in zip(stage.configs, stage.records) if where is None or where(c)]
            for part, stage in state.stages.items()}


@dataclass
class Stage:
    """One part of a chapter's walk: the store its records live in, every config it needs, each
    one's record (None: not stored) and the sweep spec they come from."""

    store: ResultStore
    configs: list
    records: list
    spec: dict

    @property
    def complete(self) -> bool:
        return all(self.records)


@dataclass
class ChapterState:
    """How far a chapter's records decide its sweeps: its stages in walk order (``pilot``, ``main``,
    then each rerun part), the pilot's rates, the regime it takes and the recipe pilot's own state
    while that decides. ``walk`` makes it; the training (``chapter_parts``), the plan (``kcl chapter
    --dry-run``) and the pages read it."""

    chapter: str
    stages: dict[str, Stage] = field(default_factory=dict)
    grid: list | None = None
    regime: Regime | None = None
    regime_state: "ChapterState | None" = None
    main_complete: bool = False

    def records(self, part: str) -> list[Record]:
        """The stored records of ``part`` (none where it has no stage yet)."""
        stage = self.stages.get(part)
        return [r for r in stage.records if r is not None] if stage else []

    @property
    def reruns(self) -> dict[str, Stage]:
        return {part: stage for part, stage in self.stages.items() if part not in ("pilot", "main")}

    @property
    def complete(self) -> bool:
        return self.main_complete and all(stage.complete for stage in self.reruns.values())

    def decided_regime(self) -> Regime | None:
        """For a recipe pilot's state: the regime its records choose, once all of them are stored."""
        if not self.complete:
            return None
        return choose(self.records("main") + self.records("recipe_edges"))


def _read(part: str, store: ResultStore, configs: list, spec: dict, more=None) -> list:
    """The walk's reading policy: each config's stored record, or None."""
    return [store.get(c) for c in configs]


class _Trainer:
    """The walk's training policy: train the missing runs ``where`` accepts (all without it) through
    ``kcl.sweep.run_sweep``; every config's record (the others' as stored)."""

    def __init__(self, where, run_fn, compiled: bool, sweep_options: dict):
        self.where, self.run_fn, self.compiled, self.options = where, run_fn, compiled, sweep_options

    def chosen(self, configs) -> list:
        return [c for c in configs if self.where(c)] if self.where else list(configs)

    def unfiltered(self) -> "_Trainer":
        """The same policy for every run (a recipe pilot that another chapter's runs wait for)."""
        return _Trainer(None, self.run_fn, self.compiled, self.options)

    def __call__(self, part: str, store: ResultStore, configs: list, spec: dict, more=None) -> list:
        run_fn = functools.partial(self.run_fn, compiled=self.compiled or sweep_compiled(spec or {}),
                                   weights_dir=store.root)
        chosen = self.chosen(configs)
        try:
            trained = run_sweep(store, chosen, run_fn, more=(lambda: self.chosen(more())) if more else None,
                                **self.options)
        except MissingResultsError as err:
            err.stage = part  # the walk's stage the missing runs belong to (``parts_or_pending`` names it)
            raise
        by_key = dict(zip(map(config_key, chosen), trained))
        return [by_key.get(config_key(c)) or store.get(c) for c in configs]


def walk(chapter: str, profile: str = "cpu", root: str | Path | None = None, fetch=_read,
         store: str | Path | None = None) -> ChapterState:
    """The one walk of a chapter: pilot → (a recipe pilot's regime) → main sweep → reruns, each stage
    decided by the records before it and fetched by ``fetch`` (``_read``: what is stored; a
    ``_Trainer``: train what is missing first). Stops where a stage that decides the next is
    incomplete; the reruns come from the whole main sweep, else from its groups whose runs are all
    stored (``ready_follow_ups``). ``store``: one folder for every part (the smoke profile's)."""

    ch = CHAPTERS[chapter]
    state = ChapterState(chapter)
    if store is None and profile == "smoke":
        store = _smoke_store(chapter)

    def folder(spec: dict, part: str) -> Path:
        return Path(store) / part if store is not None else _store_of(spec, chapter, root)

    def stage(part: str, spec: dict, configs: list, at: Path, more=None) -> Stage:
        records = ResultStore(at)
        state.stages[part] = Stage(records, list(configs), fetch(part, records, configs, spec, more), spec)
        return state.stages[part]

    if ch.pilot:
        _, spec, configs = chapter_sweep(chapter, profile, root, "pilot")
        pilot = stage("pilot", spec, configs, folder(spec, "pilot"))
        if not pilot.complete:  # the main sweep's rates are not known yet
            return state
        state.grid = None if profile == "smoke" else lr_grid_from_pilot(pilot.records)
    if ch.regime and profile != "smoke":  # the recipe pilot first: its regime sets batch, init and rates
        try:
            state.regime_state = walk(ch.regime, profile, root, fetch.unfiltered() if isinstance(fetch, _Trainer) else fetch)
        except MissingResultsError as err:
            err.stage = "regime"
            raise
        state.regime = state.regime_state.decided_regime()
        if state.regime is None:
            return state
    _, spec, configs = chapter_sweep(chapter, profile, root, "main", lr_grid=state.grid, regime=state.regime)
    at = folder(spec, "main")
    # a worker that would sit idle near the sweep's end starts the reruns of its finished groups
    main = stage("main", spec, configs, at, more=lambda: early_follow_ups(chapter, configs, ResultStore(at)))
    state.main_complete = main.complete
    reruns = follow_ups(chapter, main.records) if main.complete else ready_follow_ups(chapter, configs, main.store)
    # every kind of rerun depends on the main sweep alone: one pool fetches them all, so that with
    # workers > 1 a seed rerun and an edge rate run side by side
    together = list({config_key(c): c for configs_ in reruns.values() for c in configs_}.values())
    fetched = dict(zip(map(config_key, together), fetch("reruns", main.store, together, spec) if together else []))
    for part, configs_ in reruns.items():
        state.stages[part] = Stage(main.store, list(configs_), [fetched[config_key(c)] for c in configs_], spec)
    beyond = [state.stages[part] for part in ("group_edges", "edge_rates") if part in state.stages]
    if ch.edge_group and main.complete and all(s.complete for s in beyond):  # a group's peak that moved, at the seeds
        moved = moved_peak_seed_configs(main.records, state.records("group_edges") + state.records("edge_rates"),
                                        ch.seeds, ch.edge_group)
        if moved:
            stage("group_edge_seeds", spec, moved, main.store.root)
        else:
            state.stages["group_edge_seeds"] = Stage(main.store, [], [], spec)
    return state


def config_filter(conditions: list[str]) -> Callable[[object], bool] | None:
    """``kcl chapter --where``: conditions ``KEY=V1,V2`` (a dotted field of ``kcl.run.RunConfig`` such
    as ``data.name`` or ``train.seed``, and the values it may take) → whether a run's config meets
    them all; None without conditions. It picks which of a chapter's runs train now, e.g. those that
    fit a session; it never changes which runs the chapter needs. Bad input: ``ValueError``."""
    import math
    import typing


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

    try:
        return chapter_parts(chapter, profile, allow_train=allow_train, log=log), ""
    except MissingResultsError as err:  # pilot, main sweep, reruns in turn: only the first incomplete is counted
        missing = (f"{_runs(len(err.missing))} of {stage_words(chapter, err.stage)} still missing, "
                   f"and any stages after "
                   f"it follow (`kcl chapter {command_name(chapter)} --dry-run` lists them with their estimated cost; "
                   f"`kcl chapter {command_name(chapter)} --workers 2` computes them)")
        return None, f"*Pending: {CHAPTERS[chapter].title} — {missing}; this part appears once they are committed.*"


def stage_words(chapter: str, stage: str | None) -> str:
    """A stage of ``walk`` in words, for a pending note: the recipe pilot a chapter waits for, its
    rate pilot, its main sweep or its reruns (any other part)."""
    if stage == "regime":
        return f"the recipe pilot `{CHAPTERS[chapter].regime}` it waits for"
    return {"pilot": "its rate pilot", "main": "its main sweep", None: "its first incomplete stage"}.get(stage, "its reruns")


def parts_with_baseline(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                        baseline: str | None = None,
                        keep: Callable[[list[Record]], list[Record]] = lambda records: records) -> tuple[dict | None, str]:
    """A chapter's records as ``{"main": [...], "seeds": [...]}`` (its main sweep with any rates
    beyond the grid; its seed reruns), with the records of the chapter ``baseline`` that ``keep``
    keeps added (a chapter compared with another's points: GPT2 for results 5-7 and 9 at 100
    exposures, no junk for results 11 and 12); or None and the sentence saying what is pending,
    its own first (``parts_or_pending``)."""
    chapters = [chapter] + ([baseline] if baseline else [])
    out = {"main": [], "seeds": []}
    for i, name in enumerate(chapters):
        parts, pending = parts_or_pending(name, profile, allow_train=allow_train)
        if parts is None:
            return None, pending
        chosen = (lambda records: records) if i == 0 else keep
        out["main"] += chosen(list(parts["main"]) + list(parts.get("edge_rates", [])))
        out["seeds"] += chosen(list(parts.get("seeds", [])))
        if "group_edges" in parts:  # the results 5-7 addendum's runs, shown beside the committed figures
            out.setdefault("beyond", []).extend(chosen(list(parts.get("group_edges", []))))
            out.setdefault("beyond_seeds", []).extend(chosen(list(parts.get("group_edge_seeds", []))))
    return out, ""


def pilot_records(chapter: str, profile: str = "cpu") -> list[Record]:
    """The learning-rate pilot's records that exist so far (trains nothing; may be incomplete)."""
    _, spec, configs = chapter_sweep(chapter, profile, part="pilot")
    store = ResultStore(_store_of(spec, chapter, None))
    return [r for r in (store.get(c) for c in configs) if r is not None]


def record_config(record: Record):
    """The ``RunConfig`` a record was made from."""

    return config_from_dict(record.config)


def controls(record: Record) -> dict:
    """The uniform and oracle predictors measured on the record's data set and parameter count:
    ``{"uniform": capacity(...), "oracle": capacity(...)}`` (see ``kcl.controls``). Trains nothing."""

    config = record_config(record)
    dataset = make_dataset(config.data)
    bios = measurement_bios(dataset, config.measure_seed, 1)[0]
    out = {}
    for kind in ("uniform", "oracle"):
        loss, correct = control_losses(dataset, bios, kind)
        losses = person_losses(bios, loss, correct, dataset.n_people, len(dataset.attributes))
        out[kind] = capacity(dataset, losses, record.result.params.to_dict(), bootstrap=0)
    return out


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _rerun_parts(ch: Chapter) -> list[str]:
    """What ``follow_ups`` will add once the main sweep is complete, in words."""
    return [words for _, words in _rerun_kinds(ch).values() if words]
