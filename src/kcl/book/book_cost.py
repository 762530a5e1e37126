"""What the whole book costs: every chapter's runs priced from scratch, before any of them exists.

Each chapter of ``kcl.book.chapter_list.CHAPTERS`` is priced as ``kcl chapter NAME`` would run it on
an empty store: its learning-rate pilot, then its main sweep, then every rerun (seeds, seed × rate,
one rate beyond an edge) in one pool. A part's wall time is its runs' estimated seconds
(``kcl.run.estimated_seconds``: the cost model fitted to the committed records, on each run's
``kcl.run.estimated_work``, computed once for runs that differ in learning rate only) shared by
``WORKERS`` runs at once, never shorter than its longest run (``kcl.sweep.plan``'s rule); the parts
run in turn. A run that two chapters share (the same store and config: one pilot serves results 1
and 3) is priced once, under the first chapter that runs it.

What a chapter's records have not decided yet is priced provisionally, and the row says so:

* rates from a pilot not yet run (``train.lr: from_pilot``): the sweep file's base rate and its
  halves and doubles, three rates, as the pilot will give;
* a regime not yet chosen (``Chapter.regime``): the sweep file's own batch size and base rate
  (``kcl.book.progress._before_regime`` prices the same);
* reruns of a main sweep not yet stored: each seed group's seed reruns priced at the mean of that
  group's main runs (× its rates with ``seed_all_rates``); runs beyond an edge rate, which only the
  main sweep's peaks decide, are not priced.

The same runs on a GPU are priced by the throughput the records made on a GPU reached
(``gpu_cost_model``), one run at a time; with no such record the table says so.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kcl.book.chapter_list import CHAPTERS, Chapter, short_title
from kcl.book.chapters import FROM_PILOT, _store_of, _sweep_file, chapter_sweep, follow_ups, stored_regime
from kcl.book.law import group_key
from kcl.book.regime import Regime, provisional
from kcl.book.stats import lr_grid_from_pilot
from kcl.cost import CostModel, machine_cost_model, record_work
from kcl.paths import repo_root
from kcl.record import Record, records_under
from kcl.run import estimated_work
from kcl.store import ResultStore, _jsonable, config_key
from kcl.sweep import threads_per_worker

WORKERS = 2  # runs at once, as the Makefile's ``chapters`` target trains them
GROUPS = ("deciding", "superseded", "diagnostic")  # the table's groups, in its order
GROUP_TITLES = {"deciding": "chapters (each one's deciding protocol)", "superseded": "superseded protocols",
                "diagnostic": "diagnostics"}
NO_GPU = "no GPU record yet"


def group_of(chapter: str) -> str:
    """The table's group of a chapter: ``superseded`` (``Chapter.superseded_by``), ``diagnostic``
    (a title starting with "Diagnostic") or ``deciding``."""
    ch = CHAPTERS[chapter]
    if ch.superseded_by:
        return "superseded"
    return "diagnostic" if ch.title.startswith("Diagnostic") else "deciding"


# -- one run's price --------------------------------------------------------------------------------
def _rate_free(config):
    """``config`` at a fixed learning rate: the rate changes no step, token or parameter, so runs
    that differ only in it cost the same and are priced once."""
    return dataclasses.replace(config, train=dataclasses.replace(config.train, lr=1.0))


@functools.lru_cache(maxsize=None)
def _work(config):
    return estimated_work(config)


def run_work(config):
    """What one run computes (``kcl.run.estimated_work``), shared by runs that differ in rate only."""
    return _work(_rate_free(config))


def cpu_cost_model(workers: int = WORKERS) -> CostModel:
    """The cost model of one of ``workers`` runs at once on this machine (``kcl.run.sweep_cost``'s)."""
    return machine_cost_model(threads_per_worker(workers))


# -- the GPU's throughput -----------------------------------------------------------------------------
def _on_gpu(record: Record) -> bool:
    train = record.result.get("train")
    return isinstance(train, dict) and str(train.get("device", "")).startswith("cuda") and "wall_seconds" in train


@functools.lru_cache(maxsize=4)
def gpu_cost_model(results: str | Path | None = None) -> tuple[CostModel, str] | None:
    """A FLOPs-only cost model at the effective rate a GPU reached, and its basis in words: over
    the training records made on a GPU (``train.device`` cuda…), their FLOPs (``kcl.cost.record_work``)
    over their wall seconds; without such records, ``kcl bench``'s training cases where its record
    was taken on a GPU (6 · parameters · tokens/s). None where neither exists."""
    results = Path(results) if results is not None else repo_root() / "results"
    gpu = [r for r in records_under(results) if _on_gpu(r)]
    if gpu:
        flops = sum(record_work(r).flops for r in gpu)
        wall = sum(r.result.train.wall_seconds for r in gpu)
        return CostModel(flops_per_second=flops / wall), f"{len(gpu)} GPU training records: {flops / wall / 1e9:,.1f} GFLOP/s"
    try:
        bench = json.loads((results / "bench" / "latest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cases = [c for c in bench.get("training", []) if c.get("kcl_tokens_per_s")]
    if not bench.get("machine", {}).get("cuda") or not cases:
        return None
    rate = float(np.median([6.0 * c["params"] * c["kcl_tokens_per_s"] for c in cases]))
    return CostModel(flops_per_second=rate), f"kcl bench on a GPU: {rate / 1e9:,.1f} GFLOP/s (median of its cases)"


# -- a chapter's runs from scratch ------------------------------------------------------------------
@dataclass
class Part:
    """One stage of a chapter (pilot, main, reruns): its runs as (store, config), and, for reruns a
    main sweep has not decided yet, their provisional prices (``estimated``)."""

    name: str
    runs: list = field(default_factory=list)  # (store folder, config)
    estimated: list = field(default_factory=list)  # (cpu seconds, gpu seconds or None) of provisional runs


@dataclass
class ChapterRuns:
    """What a chapter runs from scratch, part by part, and what of it is provisional, in words."""

    chapter: str
    parts: list[Part]
    provisional: list[str]


def _three_rates(spec: dict) -> list[float]:
    """A provisional rate grid: the sweep file's base rate, its half and its double."""
    lr = float(spec["base"]["train"]["lr"])
    return [float(f"{lr / 2:.3g}"), lr, float(f"{lr * 2:.3g}")]


def _pilot(chapter: str, ch: Chapter, root, notes: list[str]) -> tuple[Part | None, list[float] | None]:
    """The learning-rate pilot's runs and the main sweep's rates (provisional while it is not stored)."""
    if not ch.pilot:
        return None, None
    _, spec, configs = chapter_sweep(chapter, "cpu", root, "pilot")
    store = _store_of(spec, chapter, root)
    records = [ResultStore(store).get(c) for c in configs]
    part = Part("pilot", [(store, c) for c in configs])
    main_spec = _sweep_file(chapter, "cpu", root, "main")[1]
    if (main_spec.get("grid") or {}).get("train.lr") != FROM_PILOT:
        return part, None
    if all(records):
        try:
            return part, lr_grid_from_pilot(records)
        except ValueError:  # its best rate at an edge: the pilot is widened before the main sweep runs
            pass
    notes.append("rates: the pilot's are not stored yet (its base rate ×½, ×1, ×2)")
    return part, _three_rates(main_spec)


def _regime(chapter: str, ch: Chapter, root, notes: list[str]) -> Regime | None:
    """The regime a chapter trains at: the recipe pilot's, or, while it has not chosen one, the
    sweep file's batch size and base rate (provisional)."""
    if not ch.regime:
        return None
    chosen = stored_regime(chapter, "cpu", root)
    if chosen is not None:
        return chosen
    stand_in = provisional(_sweep_file(chapter, "cpu", root, "main")[1])
    notes.append(f"regime: `{ch.regime}` has not chosen it (the sweep file's batch {stand_in.batch_size})")
    return stand_in


def _provisional_reruns(ch: Chapter, main: list, price) -> list[tuple[float, float | None]]:
    """Estimated (cpu, gpu) seconds of the seed reruns of a main sweep not yet stored: per seed group,
    one run per seed (per seed and rate with ``seed_all_rates``) at the mean of the group's main runs."""
    if not ch.seeds:
        return []
    groups: dict = {}
    for config in main:
        as_dict = _jsonable(dataclasses.asdict(config))
        groups.setdefault(group_key(as_dict, ch.seed_group), []).append(price(config))
    out = []
    for prices in groups.values():
        cpu = float(np.mean([p[0] for p in prices]))
        gpu = None if prices[0][1] is None else float(np.mean([p[1] for p in prices]))
        out += [(cpu, gpu)] * (len(ch.seeds) * (3 if ch.seed_all_rates else 1))
    return out


def _rerun_note(ch: Chapter) -> str:
    """What of a chapter's reruns is estimated while its main sweep is not stored, in words."""
    said = []
    if ch.seeds:
        said.append("seeds at the mean of each group's main runs")
    if ch.edge_rates or ch.recipe_edges:
        said.append("edge rates not priced")
    return f"reruns: the main sweep is not stored ({'; '.join(said)})"


def chapter_runs(chapter: str, root: str | Path | None = None, price=None) -> ChapterRuns:
    """A chapter's runs from scratch in the cpu profile (module docstring): pilot, main sweep,
    reruns; ``price`` (config → (cpu seconds, gpu seconds or None)) prices the reruns a main sweep
    has not decided yet."""
    ch = CHAPTERS[chapter]
    notes: list[str] = []
    pilot, grid = _pilot(chapter, ch, root, notes)
    regime = _regime(chapter, ch, root, notes)
    _, spec, configs = chapter_sweep(chapter, "cpu", root, "main", lr_grid=grid, regime=regime)
    store = _store_of(spec, chapter, root)
    parts = ([pilot] if pilot else []) + [Part("main", [(store, c) for c in configs])]
    records = [ResultStore(store).get(c) for c in configs]
    reruns = Part("reruns")
    if all(records) and not notes:
        reruns.runs = [(store, c) for part in follow_ups(chapter, records).values() for c in part]
    elif ch.seeds or ch.edge_rates or ch.recipe_edges:  # reruns of some kind (``chapters._rerun_kinds``)
        reruns.estimated = _provisional_reruns(ch, configs, price) if price else []
        notes.append(_rerun_note(ch))
    if reruns.runs or reruns.estimated:
        parts.append(reruns)
    return ChapterRuns(chapter, parts, notes)


# -- the book's price -------------------------------------------------------------------------------
@dataclass
class ChapterCost:
    """One chapter's price from scratch: its runs (those another chapter runs first left out and
    counted in ``shared``), its wall hours on this machine and on a GPU (None: no GPU record)."""

    chapter: str
    group: str
    runs: int
    shared: int
    cpu_hours: float
    gpu_hours: float | None
    provisional: list[str]


def part_wall(seconds: list[float], workers: int) -> float:
    """A part's wall seconds with ``workers`` runs at once: their sum shared out, never shorter than
    the longest (``kcl.sweep.plan``'s rule)."""
    return max(sum(seconds) / workers, max(seconds, default=0.0))


def price_book(root: str | Path | None = None, workers: int = WORKERS) -> list[ChapterCost]:
    """Every chapter of ``CHAPTERS``, in its order, priced from scratch (module docstring)."""
    cpu = cpu_cost_model(workers)
    gpu = gpu_cost_model(str(repo_root(root) / "results"))

    def price(config) -> tuple[float, float | None]:
        work = run_work(config)
        return cpu.seconds(work), (gpu[0].seconds(work) if gpu else None)

    seen: set = set()
    out = []
    for name in CHAPTERS:
        runs = chapter_runs(name, root, price)
        cpu_s, gpu_s, count, shared = 0.0, 0.0, 0, 0
        for part in runs.parts:
            fresh = [(store, c) for store, c in part.runs if (str(store), config_key(c)) not in seen]
            shared += len(part.runs) - len(fresh)
            seen.update((str(store), config_key(c)) for store, c in fresh)
            prices = [price(c) for _, c in fresh] + part.estimated
            count += len(prices)
            cpu_s += part_wall([p[0] for p in prices], workers)
            gpu_s += sum(p[1] or 0.0 for p in prices)
        out.append(ChapterCost(name, group_of(name), count, shared, cpu_s / 3600,
                               gpu_s / 3600 if gpu else None, runs.provisional))
    return out


def gpu_basis(root: str | Path | None = None) -> str:
    """What the GPU column is priced by, or ``NO_GPU``."""
    gpu = gpu_cost_model(str(repo_root(root) / "results"))
    return gpu[1] if gpu else NO_GPU


def totals(costs: list[ChapterCost]) -> dict[str, tuple[float, float | None]]:
    """(cpu hours, gpu hours or None) per group and for the whole book (``"book"``)."""
    out = {}
    for group in (*GROUPS, "book"):
        members = [c for c in costs if group in ("book", c.group)]
        gpu = [c.gpu_hours for c in members]
        out[group] = (sum(c.cpu_hours for c in members),
                      None if any(g is None for g in gpu) else sum(gpu))
    return out


def cost_frame(costs: list[ChapterCost]) -> pd.DataFrame:
    """The table: one row per chapter, grouped (``GROUPS``), then one total per group and the book's."""
    rows = []
    for group in GROUPS:
        for c in (c for c in costs if c.group == group):
            rows.append({"group": GROUP_TITLES[group], "chapter": c.chapter, "title": short_title(c.chapter),
                         "runs": c.runs, "shared": c.shared, "hours here": c.cpu_hours,
                         "hours on a GPU": c.gpu_hours,
                         "priced": "provisional: " + "; ".join(c.provisional) if c.provisional else "exact"})
    for group, (cpu, gpu) in totals(costs).items():
        members = [c for c in costs if group in ("book", c.group)]
        rows.append({"group": "total", "chapter": "", "title": GROUP_TITLES.get(group, "the whole book"),
                     "runs": sum(c.runs for c in members), "shared": sum(c.shared for c in members),
                     "hours here": cpu, "hours on a GPU": gpu, "priced": ""})
    return pd.DataFrame(rows)


def _gpu_hours(hours: float | None) -> str:
    return NO_GPU if hours is None or hours != hours else f"{hours:,.2f}"


def basis_lines(root: str | Path | None = None, workers: int = WORKERS) -> list[str]:
    """What the table's hours are priced by, in words (``kcl book-cost`` and the Performance page)."""
    return [f"hours here: {workers} run(s) at once on this machine, each on {threads_per_worker(workers)} thread(s), "
            f"by the cost model ({cpu_cost_model(workers).basis}); a chapter's pilot, main sweep and reruns in turn; "
            "eager training (a compiled sweep trains faster)",
            f"hours on a GPU: one run at a time, by {gpu_basis(root)}",
            "shared: runs another chapter runs first (the same store and config), priced under it"]


def cost_lines(costs: list[ChapterCost], root: str | Path | None = None, workers: int = WORKERS) -> list[str]:
    """``kcl book-cost``'s output: one block per group, its total, the book's total, and the basis."""
    lines = []
    for group in GROUPS:
        members = [c for c in costs if c.group == group]
        frame = pd.DataFrame([{"chapter": c.chapter, "runs": c.runs, "shared": c.shared,
                               "hours here": f"{c.cpu_hours:,.1f}", "hours on a GPU": _gpu_hours(c.gpu_hours),
                               "priced": "provisional: " + "; ".join(c.provisional) if c.provisional else "exact"}
                              for c in members])
        cpu, gpu = totals(costs)[group]
        lines += [f"{GROUP_TITLES[group]}:", frame.to_string(index=False),
                  f"total: {sum(c.runs for c in members)} runs, {cpu:,.1f} h here, on a GPU: {_gpu_hours(gpu)}", ""]
    cpu, gpu = totals(costs)["book"]
    lines.append(f"the whole book: {sum(c.runs for c in costs)} runs, {cpu:,.1f} h here "
                 f"({cpu / 24:,.1f} days), on a GPU: {_gpu_hours(gpu)}")
    return lines + basis_lines(root, workers)
