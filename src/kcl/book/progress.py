"""How far a chapter has got, read from its stored records and checkpoints; trains nothing.

``chapter_plan`` lists what ``kcl chapter`` would still run and its estimated cost
(``kcl chapter NAME --dry-run``), ``runs_under_way`` measures the runs that have a checkpoint but
no record yet (``--under-way``), and ``stored_so_far`` gives a chapter page the records it has while
its sweep is still running, so that the page can show them, say what is missing, and hold back its
verdict (``kcl.book.chapters.chapter_parts`` is the complete, verdict-ready view).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kcl.book.chapter_list import command_name, short_title
from kcl.book.chapters import (CHAPTERS, _rerun_kinds, _rerun_parts, _store_of, _sweep_file, chapter_sweep,
                               repo_root, walk)
from kcl.book.regime import provisional
from kcl.record import Record
from kcl.store import _jsonable, _unique, MissingResultsError, ResultStore, config_dict
from kcl.sweep import Plan, plan
from kcl.book.chapters import chapter_parts
from kcl.book.law import by_data_type, chart_data_label
from kcl.run import checkpoint_progress, measure_checkpoint, sweep_cost


@dataclass
class _StoredSweeps:
    """How far a chapter's stored records decide its sweeps, read without training (``_stored_sweeps``;
    ``chapter_parts`` walks the same way but trains the pilot, the main sweep and then all reruns)."""

    pilot: tuple[ResultStore, list, dict] | None  # (store, configs, spec); None without a pilot
    grid: list | None  # the pilot's rates: None without a pilot or while it is incomplete
    main: tuple[ResultStore, list, dict] | None  # (store, configs, spec); None while the pilot is incomplete
    reruns: dict[str, list]  # by part: ``follow_ups`` once the main sweep is stored, else ``ready_follow_ups``
    main_complete: bool = False


def _stored_sweeps(chapter: str, profile: str, root: str | Path | None) -> _StoredSweeps:
    """Pilot → main sweep (at the pilot's rates) → reruns, as far as the stored records decide them
    (``kcl.book.chapters.walk``, reading); a chapter waiting for a recipe pilot's regime shows that
    pilot's runs as its pilot."""

    state = walk(chapter, profile, root)
    if state.regime_state is not None and state.regime is None:
        return _StoredSweeps(pilot=_as_tuple(state.regime_state.stages["main"]), grid=None, main=None, reruns={})
    return _StoredSweeps(pilot=_as_tuple(state.stages.get("pilot")), grid=state.grid,
                         main=_as_tuple(state.stages.get("main")),
                         reruns={part: stage.configs for part, stage in state.reruns.items()},
                         main_complete=state.main_complete)


def _as_tuple(stage) -> tuple[ResultStore, list, dict] | None:
    return (stage.store, stage.configs, stage.spec) if stage else None


def chapter_plan(chapter: str, profile: str = "cpu", root: str | Path | None = None, workers: int = 1,
                 checkpoint_dir: str | Path | None = None, walk: _StoredSweeps | None = None,
                 ranks: int = 1, where: Callable[[object], bool] | None = None) -> list[str]:
    """What ``kcl chapter`` would run, part by part, with estimated wall times for ``workers``
    runs at once, each on ``ranks`` processes; trains nothing. Before the pilot has finished, the main sweep is costed at its
    base rate ×3 (its rates are not known yet) and the seed reruns are left out. Runs with a
    checkpoint in ``checkpoint_dir`` are shown under way and costed for what is left. ``walk``: the
    stored sweeps when the caller has read them already (``stored_so_far``); ``where``
    (``kcl.book.chapters.config_filter``): only the runs it accepts."""

    if profile == "smoke":
        raise ValueError("the smoke profile trains into a temporary folder; there is nothing to plan")
    under_way = functools.partial(checkpoint_progress, checkpoint_dir=checkpoint_dir) if checkpoint_dir else None

    def costed(store_: ResultStore, configs_) -> Plan:
        configs_ = [c for c in configs_ if where(c)] if where else configs_
        return plan(store_, configs_, sweep_cost(workers, ranks), workers, under_way)

    ch = CHAPTERS[chapter]
    if ch.superseded_by:
        return [f"{chapter} is stopped: its protocol was superseded by {ch.superseded_by} (book/protocol.md), so "
                f"nothing more of it runs; `kcl chapter {command_name(ch.superseded_by)} --dry-run` shows what is left there"]
    root_path = repo_root(root)
    walk = walk or _stored_sweeps(chapter, profile, root)
    lines = []
    if walk.pilot:
        store, configs, spec = walk.pilot
        lines.append(f"pilot {store.root.relative_to(root_path)}: {costed(store, configs).summary()}")
        if walk.main is None and ch.regime:
            return lines + [_before_regime(chapter, profile, root, costed)]
        if walk.main is None:
            _, spec, configs = chapter_sweep(chapter, profile, root, "main", lr_grid=[spec["base"]["train"]["lr"]])
            main = costed(ResultStore(_store_of(spec, chapter, root)), configs)
            cost = 3 * (main.cost_seconds or 0) / 3600
            lines.append(f"main  {spec['store']}: {3 * len(configs)} runs once the pilot has chosen its 3 rates; "
                         f"estimated {cost:.1f} h" + "".join(f"; then {what}" for what in _rerun_parts(ch)))
            return lines
    store, configs, spec = walk.main
    rates = f" (rates {walk.grid})" if walk.grid else ""
    lines.append(f"main  {store.root.relative_to(root_path)}{rates}: {costed(store, configs).summary()}")
    for part, configs_ in walk.reruns.items():  # all of them, or those of the finished groups so far
        if configs_:
            early = "" if walk.main_complete else " (decided by the groups finished so far)"
            lines.append(f"{part} {spec['store']}{early}: {costed(store, configs_).summary()}")
    if not walk.main_complete and _rerun_parts(ch):
        lines.append(f"{' and '.join(_rerun_parts(ch))}: the rest once the main sweep is complete")
    return lines


def _before_regime(chapter: str, profile: str, root, costed) -> str:
    """The plan line of a chapter's main sweep while its recipe pilot has not chosen the regime:
    costed at the sweep file's own batch size, GPT-2's initialisation and base rate."""
    stand_in = provisional(_sweep_file(chapter, profile, root, "main")[1])
    _, spec, configs = chapter_sweep(chapter, profile, root, "main", regime=stand_in)
    main = costed(ResultStore(_store_of(spec, chapter, root)), configs)
    return (f"main  {spec['store']}: {len(configs)} runs once `{CHAPTERS[chapter].regime}` has chosen the "
            f"regime; estimated {(main.cost_seconds or 0) / 3600:.1f} h at batch {stand_in.batch_size} (the "
            f"regime's batch changes it)" + "".join(f"; then {what}" for what in _rerun_parts(CHAPTERS[chapter])))


def runs_under_way(chapter: str, profile: str = "cpu", root: str | Path | None = None,
                   checkpoint_dir: str | Path = "checkpoints") -> list[tuple]:
    """``(config, result)`` for every run of the chapter that is not stored yet but has an in-run
    checkpoint, the result measured on that checkpoint (``kcl.run.measure_checkpoint``: mid-
    schedule, never a record). The runs looked for: the pilot's, the main sweep's once the pilot
    has chosen its rates, and the reruns that may already have started (``ready_follow_ups``, or
    all of ``follow_ups`` once the main sweep is stored)."""

    if profile == "smoke":
        raise ValueError("the smoke profile trains into a temporary folder; it has no runs under way")
    walk = _stored_sweeps(chapter, profile, root)
    looked_for = [(walk.pilot[0], c) for c in walk.pilot[1]] if walk.pilot else []
    if walk.main:
        store, configs, _ = walk.main
        reruns = [c for part in walk.reruns.values() for c in part]
        looked_for += [(store, c) for c in _unique(configs + reruns)]
    return _measure_on_checkpoints(looked_for, checkpoint_dir)


def _measure_on_checkpoints(looked_for: list[tuple], checkpoint_dir) -> list[tuple]:
    """``(config, checkpoint measurement)`` of the ``(store, config)`` pairs not stored yet that
    have a checkpoint."""

    out = []
    for store, config in looked_for:
        if not store.has(config):
            result = measure_checkpoint(config, checkpoint_dir)
            if result is not None:
                out.append((config, result))
    return out


#: the title of a chart of the runs stored so far (``StoredSoFar``), on every page that draws one
SO_FAR_TITLE = "Stored so far: each point the best of the rates stored for it (seed 0; no verdict yet)"


@dataclass
class StoredSoFar:
    """A chapter's records stored so far, by part (named as ``chapter_parts`` names them), and the
    runs known to be missing: the main sweep's, and the reruns its finished groups already decide.
    Reruns that only a complete main sweep decides are not known yet, so not counted."""

    chapter: str
    parts: dict[str, list[Record]]
    missing: dict[str, list]  # part → configs without a record
    complete: bool  # main sweep and every rerun stored: ``chapter_parts`` would return without training
    plan: list[str]  # ``chapter_plan`` for 2 runs at once: what is left, part by part, and its estimated cost

    @property
    def superseded_by(self) -> str | None:
        """The chapter of the later protocol this one stopped for (None while it runs)."""
        return CHAPTERS[self.chapter].superseded_by

    def summary(self) -> str:
        """How many runs of each part are stored, of how many known so far."""
        counts = [f"{part}: {len(self.parts.get(part, []))} of {len(self.parts.get(part, [])) + len(missing)}"
                  for part, missing in self.missing.items() if self.parts.get(part) or missing]
        return "; ".join(counts)

    def note(self) -> str:
        """A page's banner while its sweep runs (Markdown): what is stored, by part and by data set,
        what the figures below are, that the verdict waits, and what is left with its estimated cost;
        for a chapter superseded by a later protocol, that it stopped with these records."""

        by_data: dict[str, list[int]] = {}
        for stored, configs in ((1, [r.config for r in self.parts.get("main", [])]),
                                (0, [_jsonable(config_dict(c)) for c in self.missing.get("main", [])])):  # as a record keys it
            for config in configs:
                by_data.setdefault(chart_data_label(config), [0, 0])[1 - stored] += 1
        data_sets = ", ".join(f"{label}: {done} of {done + left}" for label, (done, left) in by_data.items()) or "none yet"
        successor = self.superseded_by
        if successor:
            return (f"**Stopped.** This protocol's runs stopped where they stand, superseded by "
                    f"{short_title(successor)} (the protocol page, its latest dated section). Runs stored: "
                    f"{self.summary()}; main runs by data set: {data_sets}. "
                    "The figures below show these records: each point is its best of the rates stored, seed 0, "
                    "with its 95% bootstrap interval over the people (or strings) of its data. They get no verdict.")
        more = " (more reruns follow as the main sweep completes)" if self.missing.get("main") else ""
        return (f"**Still running.** Runs stored so far: {self.summary()}{more}. Main runs by data set: "
                f"{data_sets}. The figures below show only what is stored: each point is its best of the "
                f"rates stored so far, seed 0 (an interval, where one is drawn, is its 95% bootstrap interval "
                f"over the people (or strings) of its data). A verdict waits for every run it reads (the finding above says what is judged so far). What is left, estimated for 2 runs at "
                f"once on the machine that built this page (`kcl chapter {command_name(self.chapter)} --dry-run --workers 2`; the cost model prices "
                f"eager runs, and a compiled one, `--compile`, trains faster):\n\n"
                + "\n".join(f"- {line}" for line in self.plan))

    def verdict_note(self) -> str:
        """What a page says in place of its verdict while it holds the verdict back (Markdown)."""
        successor = self.superseded_by
        if successor:
            return ("*No verdict: this protocol stopped before its sweep was complete; "
                    f"{short_title(successor)}'s records decide.*")
        return "*Pending: the verdict waits for the whole sweep (the page's \"Still running\" lists what is left).*"


def parts_or_so_far(chapter: str, profile: str = "cpu", *, allow_train: bool = False,
                    root: str | Path | None = None) -> tuple[dict[str, list[Record]], StoredSoFar | None]:
    """A chapter's records by part and None when its sweeps are complete (``chapter_parts``, which
    trains what is missing if ``allow_train``); else the records stored so far and their
    ``StoredSoFar`` (show them, with its ``note``, and hold back the verdict). Raises
    ``MissingResultsError`` (naming the command that computes them) while no main run is stored."""

    try:
        return chapter_parts(chapter, profile, allow_train=allow_train, root=root, log=lambda _: None), None
    except MissingResultsError:
        if profile == "smoke":  # it trains into a temporary folder: nothing is stored to show
            raise
        so_far = stored_so_far(chapter, profile, root)
        if not so_far.parts["main"]:  # nothing of the main sweep to show yet: say what is missing
            raise
        return so_far.parts, so_far


def shown_so_far(chapter: str, profile: str = "cpu", *, allow_train: bool = False, root: str | Path | None = None
                 ) -> tuple[dict[str, list[Record]] | None, StoredSoFar | None, str]:
    """``parts_or_so_far`` for a page section that leans on another chapter: ``(parts, running, "")``
    once any run of its main sweep is stored (``running`` None when complete), else ``(None, None,
    a sentence saying so and naming the commands)``."""

    try:
        parts, running = parts_or_so_far(chapter, profile, allow_train=allow_train, root=root)
    except MissingResultsError:
        return None, None, (f"*Pending: {CHAPTERS[chapter].title} — no run of its main sweep is stored yet "
                            f"(`kcl chapter {command_name(chapter)} --dry-run` lists them with their estimated cost; "
                            f"`kcl chapter {command_name(chapter)} --workers 2` computes them).*")
    return parts, running, ""


def data_type_point(chapter: str, name: str, profile: str = "cpu", *, allow_train: bool = False,
                    root: str | Path | None = None) -> tuple[dict | None, list[Record], str]:
    """One data set's point of a chapter whose other data sets may still run (result 2's bioS for
    results 1 and 4): ``(head, main records of that data set, what its verdict waits for)``. Once
    its main runs and seed reruns are stored, ``head`` is ``law.headline`` over them and the wait is
    ""; while only its seeds are missing, ``head`` is seed 0 at its best rate (show it, judge
    nothing); while its main runs are missing, ``head`` is None. For a chapter ``superseded_by``
    a later protocol, the later chapter's point as soon as it has one; until then this chapter's
    (seed 0), with the later one's wait."""
    successor = CHAPTERS[chapter].superseded_by
    if not successor:
        return _own_point(chapter, name, profile, allow_train, root)
    later = data_type_point(successor, name, profile, allow_train=allow_train, root=root)
    if later[0] is not None:
        return later
    # the stopped chapter trains nothing more, so its own records are only read
    head, main, _ = _own_point(chapter, name, profile, False, root)
    if head is None:
        return later
    shown = short_title(chapter)
    return head, main, f"{later[2]} (until then the point shown is {shown}'s, stopped: seed 0 at its best rate)"


def _own_point(chapter: str, name: str, profile: str, allow_train: bool, root) -> tuple[dict | None, list[Record], str]:
    """``data_type_point`` of the chapter's own records."""

    try:
        parts, running = parts_or_so_far(chapter, profile, allow_train=allow_train, root=root)
    except MissingResultsError:
        return None, [], f"the {name} runs of {short_title(chapter)}"

    def of(records: list) -> list:
        return [r for r in records if r.data["name"] == name]

    missing = {part: [c for c in running.missing[part] if c.data.name == name] for part in ("main", "seeds")
               } if running else {"main": [], "seeds": []}
    main = of(parts["main"])
    if missing["main"] or not main:
        return None, main, f"the {name} runs of {short_title(chapter)}"
    if missing["seeds"]:
        return by_data_type(main, [])[name], main, f"the seed reruns of {short_title(chapter)}'s {name} point"
    return by_data_type(main, of(parts["seeds"]))[name], main, ""


def stored_so_far(chapter: str, profile: str = "cpu", root: str | Path | None = None) -> StoredSoFar:
    """The records a chapter has stored so far (``StoredSoFar``); trains nothing. For a page whose
    sweep is still running: it shows these and says what is missing, with no verdict yet."""
    if profile == "smoke":
        raise ValueError("the smoke profile trains into a temporary folder; it stores nothing to read so far")
    walk = _stored_sweeps(chapter, profile, root)
    parts: dict[str, list[Record]] = {}
    missing: dict[str, list] = {}

    def read(part: str, store: ResultStore, configs: list) -> None:
        records = [store.get(c) for c in configs]
        parts[part] = [r for r in records if r is not None]
        missing[part] = [c for c, r in zip(configs, records) if r is None]

    if walk.pilot:
        read("pilot", walk.pilot[0], walk.pilot[1])
    rerun_parts = list(_rerun_kinds(CHAPTERS[chapter]))  # every one; empty where nothing decides it yet
    for part in ["main", *rerun_parts]:  # while the pilot runs, the main sweep is not decided yet
        parts[part], missing[part] = [], []
    if walk.main:
        store, configs, _ = walk.main
        read("main", store, configs)
        for part in rerun_parts:
            read(part, store, walk.reruns.get(part, []))
    complete = walk.main_complete and not any(missing.values())
    checkpoints = repo_root(root) / "checkpoints"  # runs under way here are costed for what is left
    return StoredSoFar(chapter=chapter, parts=parts, missing=missing, complete=complete,
                       plan=chapter_plan(chapter, profile, root, workers=2, walk=walk,
                                         checkpoint_dir=checkpoints if checkpoints.is_dir() else None))
