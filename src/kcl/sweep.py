"""Sweeps: which runs of a list of configs are missing, what they will cost, and running them.

``run_sweep`` trains only what ``kcl.store.ResultStore`` lacks and stores each record as soon as
its run finishes, so a sweep killed at any moment loses nothing finished and resumes where it
stopped. ``workers > 1`` runs several configs at once in spawned processes, each on its share of
the cores (``kcl bench`` measures when that pays off).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from kcl.record import Record
from kcl.store import MissingResultsError, ResultStore, _check_config, _unique, config_key


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class Plan:
    """What a sweep would do: finished and missing configs (unique, in order) and the cost."""

    done: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    cost_seconds: float | None = None  # cost_fn over missing, shared by the workers; None without a cost_fn
    stale: list = field(default_factory=list)  # missing configs with a record from another version
    under_way: dict = field(default_factory=dict)  # config key → share trained (from its checkpoint)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.missing)

    def summary(self) -> str:
        """E.g. "3 of 10 runs missing; estimated 12.5 min on this machine"."""
        text = f"{len(self.missing)} of {self.total} runs missing"
        if self.stale:
            text += f" ({len(self.stale)} stale: older semantics_version)"
        if self.under_way:
            shares = ", ".join(f"{share:.0%}" for share in self.under_way.values())
            text += f" ({len(self.under_way)} under way, trained {shares} by their checkpoints)"
        if not self.missing:
            return text + "; nothing to run"
        if self.cost_seconds is None:
            return text + "; no cost estimate"
        return text + f"; estimated {_duration(self.cost_seconds)} on this machine"


def _near(path) -> str:
    """``path`` relative to the working directory where it is in it or one level up (a notebook runs in
    notebooks/: "../results/result1"), else as it is: a page prints no machine's paths."""
    near = os.path.relpath(path)
    return near if not near.startswith(os.path.join("..", "..")) else str(path)


def plan(store: ResultStore, configs: Iterable, cost_fn: Callable[[Any], float] | None = None,
         workers: int = 1, trained_share_fn: Callable[[Any], float | None] | None = None) -> Plan:
    """Split ``configs`` into done and missing, and estimate the missing ones' wall time in seconds:
    ``cost_fn`` (one run's seconds) summed and shared by ``workers`` runs at once (never shorter
    than the longest run). ``trained_share_fn`` gives the share of a missing run already trained (its
    checkpoint, ``kcl.run.checkpoint_progress``) or None; only the rest is costed."""
    result = Plan()
    for config in _unique(configs):
        (result.done if store.has(config) else result.missing).append(config)
    if trained_share_fn is not None:
        shares = {config_key(c): trained_share_fn(c) for c in result.missing}
        result.under_way = {key: share for key, share in shares.items() if share is not None}
    if cost_fn is not None:
        costs = [cost_fn(config) * (1 - result.under_way.get(config_key(config), 0.0)) for config in result.missing]
        result.cost_seconds = float(max(sum(costs) / workers, max(costs, default=0.0)))
    if result.missing:
        result.stale = store.stale(result.missing)
    return result


def threads_per_worker(workers: int = 1) -> int:
    """The torch threads each of ``workers`` runs at once gets: the cores shared out evenly."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_threads(workers: int = 1) -> int:
    """The torch threads each run of a sweep trains on: ``threads_per_worker``, except that a lone
    run (one worker) keeps an OMP_NUM_THREADS set in the environment, as ``kcl.train.train`` does."""
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if workers == 1 and omp.isdigit() and int(omp) > 0:
        return int(omp)
    return threads_per_worker(workers)


def _limit_threads(threads: int, parent_pid: int | None = None) -> None:
    """A sweep worker's initializer: ``threads`` torch threads (one per core it is meant to use).
    OMP_NUM_THREADS too, which ``kcl.train.train`` respects instead of taking every core. With
    ``parent_pid``, the worker also exits once that process is gone (``_exit_with_parent``)."""
    _set_threads(threads, str(threads))
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


@contextlib.contextmanager
def _threads(threads: int | None):
    """``threads`` torch threads (and OMP_NUM_THREADS, which ``kcl.train.train`` respects) inside the
    block, as ``_limit_threads`` gives a worker; both restored after it. None: unchanged."""
    if threads is None:
        yield
        return
    before = _set_threads(threads, str(threads))
    try:
        yield
    finally:
        _set_threads(*before)


def _set_threads(threads: int, omp_num_threads: str | None) -> tuple[int, str | None]:
    """Set torch's threads and OMP_NUM_THREADS (None: unset); returns both as they were."""
    import torch

    before = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    if omp_num_threads is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = omp_num_threads
    torch.set_num_threads(threads)
    return before


def _exit_with_parent(parent_pid: int, every: float = 2.0) -> None:
    """Exit this process soon after ``parent_pid`` stops being its parent. A sweep killed by a
    signal it cannot handle (SIGTERM, SIGKILL) would otherwise leave its workers training on, for
    hours, on the cores the next sweep needs. A worker that exits mid-run loses nothing stored: its
    record is written only when its run finishes, and its checkpoint is resumed next time."""
    import threading

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="kcl-exit-with-parent", daemon=True).start()


def _run_and_store(root: str, run_fn: Callable[[Any], dict], config) -> tuple[dict, float]:
    """A worker's job: run one config and store its record itself, so that a record is never lost
    with its parent process. Returns the record as its stored dict (``Record.to_dict``: plain data
    that any parent reads, even one started under an older kcl) and the wall seconds."""
    t0 = time.monotonic()
    record = ResultStore(root).put(config, run_fn(config))
    return record.to_dict(), time.monotonic() - t0


def check_workers(workers: int, executor: str = "local") -> None:
    """``workers`` is a positive integer, and above 1 only on this machine (``executor`` local): a
    cluster decides itself how many runs it trains at once. Else a ValueError naming the flags."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if workers > 1 and executor != "local":
        raise ValueError(f"--workers {workers} runs configs at once on this machine; with --executor {executor} "
                         f"the cluster decides how many run at once (leave --workers at 1)")


def run_sweep(store: ResultStore, configs: Iterable, run_fn: Callable[[Any], dict],
              cost_fn: Callable[[Any], float] | None = None, dry_run: bool = False,
              log: Callable[[str], Any] = print, allow_train: bool = True,
              recompute_hint: str | None = None, workers: int = 1,
              more: Callable[[], list] | None = None,
              trained_share_fn: Callable[[Any], float | None] | None = None,
              executor: Any = None) -> list[Record]:
    """Run what is missing, store each record as soon as it finishes, return the records.

    The plan summary is logged before anything runs. ``dry_run`` returns the existing records
    (input order, missing ones left out) without running. ``allow_train=False`` raises
    ``MissingResultsError`` if anything is missing, naming ``recompute_hint`` as the command that
    recomputes it. Otherwise returns one record per input config, in input order.

    ``workers > 1`` runs that many configs at once, each in its own process with
    ``cpu_count // workers`` torch threads (``run_fn`` must then be picklable, e.g. a
    ``functools.partial`` of a module-level function). Tiny models are limited by per-operator
    overhead, so on 2 cores two one-thread runs get more done than one two-thread run
    (``kcl bench`` measures the gain; the Performance page shows it).

    ``more`` (with ``workers > 1``): called whenever a worker would otherwise sit idle, it returns
    further configs that may run now (e.g. reruns of the groups whose sweep is complete). They are
    stored like the others but not returned: the caller's next sweep finds them in the store.
    ``trained_share_fn``: see ``plan``.

    ``executor`` (``kcl.executors.make_executor``; None: this machine, as above) trains the missing
    runs elsewhere, as jobs on a Slurm array or tasks on a Ray cluster, each storing its own record;
    ``workers`` and ``more`` then do not apply (the cluster decides how many run at once).
    """
    check_workers(workers, executor.name if executor is not None else "local")
    configs = list(configs)
    for config in configs:
        _check_config(config)
    store.clean_temp()
    todo = plan(store, configs, cost_fn, workers, trained_share_fn)
    log(f"{_near(store.root)}: {todo.summary()}" + (f" ({workers} at a time)" if workers > 1 and todo.missing else ""))
    if dry_run:
        return [r for r in (store.get(c) for c in configs) if r is not None]
    if todo.missing and not allow_train:
        hint = recompute_hint or "run the sweep with allow_train=True (e.g. `kcl sweep <sweep file>`)"
        raise MissingResultsError(f"{len(todo.missing)} of {todo.total} runs missing from {store.root}; "
                                  f"to recompute them: {hint}", todo.missing)
    by_key = {}
    n = len(todo.missing)
    if executor is not None and n:
        by_key.update(executor.run(store, todo.missing, run_fn, log))
    elif workers > 1 and (n > 1 or (n and more)):
        by_key.update(_run_parallel(store, todo.missing, run_fn, workers if more else min(workers, n), log, more))
    else:
        # a lone run of ``workers > 1`` trains here, on its share of the cores as a worker would: on
        # all of them, two such sweeps side by side would each take every core and crowd each other
        with _threads(threads_per_worker(workers) if workers > 1 else None):
            for i, config in enumerate(todo.missing, 1):
                key = config_key(config)
                log(f"[{i}/{n}] running {key}")
                t0 = time.monotonic()
                by_key[key] = store.put(config, run_fn(config))
                log(f"[{i}/{n}] stored {key} ({_duration(time.monotonic() - t0)})")
    records = []
    for config in configs:
        key = config_key(config)
        if key not in by_key:
            by_key[key] = store.get(config)
        records.append(by_key[key])
    return records


def _run_parallel(store: ResultStore, missing: list, run_fn, workers: int, log,
                  more: Callable[[], list] | None = None) -> dict:
    """Run ``missing`` on ``workers`` spawned processes; each stores its own record on finishing.
    When the queue is empty and a worker is free, ``more()`` may add configs (not yet stored,
    queued or running); their records are stored but not returned.

    Spawned, not forked: a fork of a process whose OpenMP pool has run can hang. If one run fails,
    the others already started finish and are stored, then the error is raised."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    threads = threads_per_worker(workers)
    n, out, error = len(missing), {}, None
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_limit_threads,
                             initargs=(threads, os.getpid())) as pool:
        queue = list(enumerate(missing, 1))
        running = {}
        wanted = {config_key(c) for c in missing}

        def label(i: int) -> str:
            return f"[{i}/{n}]" if i else "[early]"

        def submit():
            i, config = queue.pop(0)
            log(f"{label(i)} running {config_key(config)}")
            running[pool.submit(_run_and_store, str(store.root), run_fn, config)] = (i, config)

        def fill():
            while queue and len(running) < workers and error is None:
                submit()

        def top_up():  # the queue first; a worker still idle then asks ``more`` (also at the start)
            fill()
            if more is not None and not queue and len(running) < workers and error is None:
                busy = {config_key(c) for _, c in running.values()}
                queue.extend((0, c) for c in _unique(more())
                             if config_key(c) not in busy and not store.has(c))
                fill()

        top_up()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i, config = running.pop(future)
                try:
                    stored, seconds = future.result()
                except BaseException as err:  # noqa: BLE001 -- re-raised once the others are done
                    error = error or err
                    log(f"{label(i)} failed {config_key(config)}: {err}")
                    continue
                record = Record.from_dict(stored)
                if record.key in wanted:
                    out[record.key] = record
                log(f"{label(i)} stored {record.key} ({_duration(seconds)})")
            top_up()
    if error is not None:
        raise error
    return out
