"""Executors: where a sweep's missing runs train when not on this machine's own processes.

``kcl.sweep.run_sweep`` decides what is missing; an executor trains it elsewhere and hands back the
records. Each remote job runs ``StoredRun``: the same ``kcl.run.run`` (a ``run_fn``) and the same
``kcl.store.ResultStore`` as a local sweep, so it writes the same atomic, keyed record into the
same store, returns a record already stored instead of training again, and resumes a run whose
worker died from its in-run checkpoint. The store and the checkpoint folder must therefore be on
storage every worker shares.

* ``submitit``: each missing run is one task of a Slurm job array (``AutoExecutor.map_array``);
  a job that reaches its time limit or is preempted is requeued and resumes from its checkpoint.
* ``ray``: each missing run is one task on an existing Ray cluster (``ray.init(address=...)``);
  Ray retries a task whose worker died, and the retry resumes from its checkpoint.

Both libraries are the optional extra ``kcl[cluster]``, imported only when asked for.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from kcl.record import Record
from kcl.store import ResultStore, config_key
from kcl.sweep import _duration, _threads, check_workers

EXECUTORS = ("local", "submitit", "ray")
EXTRA = "pip install 'kcl[cluster]'"


class StoredRun:
    """One remote job: run ``config`` with ``run_fn`` and store its record in the store at ``root``,
    or return the record already there (a job requeued after it finished trains nothing)."""

    def __init__(self, root: str | Path, run_fn: Callable[[Any], dict]):
        self.root = str(root)
        self.run_fn = run_fn

    def __call__(self, config) -> Record:
        store = ResultStore(self.root)
        if store.has(config):
            return store.get(config)
        with _threads(_allotted_cores()):
            return store.put(config, self.run_fn(config))

    def checkpoint(self, config):
        """submitit calls this when the job times out or is preempted: the same job is requeued,
        and its run resumes from its in-run checkpoint."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, config)


def _allotted_cores() -> int | None:
    """The cores a job may use where OMP_NUM_THREADS does not say (Slurm pins a job to its
    ``cpus_per_task``; without this, training would start a thread per core of the whole node)."""
    if "OMP_NUM_THREADS" in os.environ or not hasattr(os, "sched_getaffinity"):
        return None
    return len(os.sched_getaffinity(0))


def _import(module: str, executor: str):
    """``module``, or a one-line ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"--executor {executor} needs {module}, which is not installed: {EXTRA}") from err


def parse_options(pairs: Iterable[str]) -> dict:
    """``--executor-option KEY=VALUE`` pairs → a dict, values read as YAML scalars (``4``, ``true``)."""
    options = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"--executor-option takes KEY=VALUE (e.g. timeout_min=600 or num_cpus=2), got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


class ClusterExecutor:
    """What the engines share: submit the missing runs, then collect their records as they finish."""

    name = ""

    def submit(self, store: ResultStore, configs: list, run_fn: Callable[[Any], dict]) -> list:
        """Start one job per config; returns their handles, in the configs' order."""
        raise NotImplementedError

    def completed(self, handles: list) -> Iterator:
        """The handles as their jobs end (finished, failed or cancelled)."""
        raise NotImplementedError

    def result(self, handle) -> Record:
        """A finished job's record; raises the job's error if it failed."""
        raise NotImplementedError

    def cancel(self, handles: list) -> None:
        """Stop the jobs still running (each keeps its last in-run checkpoint)."""
        raise NotImplementedError

    def run(self, store: ResultStore, configs: list, run_fn: Callable[[Any], dict],
            log: Callable[[str], Any] = print) -> dict:
        """Train ``configs`` as jobs and return their records by key. If a job fails, the others
        still finish and are stored, then its error is raised. Interrupted (Ctrl-C), the jobs
        still running are cancelled: the next sweep resumes them from their checkpoints."""
        t0 = time.monotonic()
        handles: list = []
        try:
            with _interrupt_held():
                handles = self.submit(store, configs, run_fn)
            log(f"submitted {len(handles)} run{'' if len(handles) == 1 else 's'} ({self.where(handles)})")
            return self._collect(handles, configs, log, t0)
        except KeyboardInterrupt:
            self.cancel(handles)
            raise

    def where(self, handles: list) -> str:
        """Where the jobs went, in words, for the log."""
        return self.name

    def _collect(self, handles: list, configs: list, log, t0: float) -> dict:
        order = {id(h): i for i, h in enumerate(handles)}
        n, out, error = len(handles), {}, None
        for handle in self.completed(handles):
            i = order[id(handle)]
            key = config_key(configs[i])
            try:
                out[key] = self.result(handle)
            except Exception as err:  # noqa: BLE001 -- raised once the others are done
                error = error or err
                log(f"[{i + 1}/{n}] failed {key}: {err}")
                continue
            log(f"[{i + 1}/{n}] stored {key} ({_duration(time.monotonic() - t0)} since submitted)")
        if error is not None:
            raise error
        return out


class SubmititExecutor(ClusterExecutor):
    """Each run one task of a Slurm job array (``cluster="local"``: processes on this machine, as
    submitit's local executor runs them). ``folder``: submitit's job files and logs, shared storage;
    ``options``: ``AutoExecutor.update_parameters`` (``timeout_min``, ``cpus_per_task``,
    ``gpus_per_node``, ``slurm_partition``, ``slurm_array_parallelism``, ...)."""

    name = "submitit"

    def __init__(self, folder: str | Path, options: dict | None = None, cluster: str = "slurm",
                 poll_seconds: float | None = None):
        submitit = _import("submitit", self.name)
        if cluster == "slurm" and submitit.SlurmExecutor.affinity() <= 0:
            raise ValueError("--executor submitit submits to Slurm, and no Slurm is found here (srun); run kcl on "
                             "the cluster's login node, or try it on this machine with --executor-option cluster=local")
        self.folder = Path(folder).resolve() / "%j"
        self.poll_seconds = poll_seconds or (10.0 if cluster == "slurm" else 1.0)  # Slurm's queue is not for hammering
        self.executor = submitit.AutoExecutor(folder=self.folder, cluster=cluster)
        try:
            self.executor.update_parameters(**{"name": "kcl", **(options or {})})
        except (NameError, AssertionError, ValueError, TypeError) as err:  # submitit's checks of a parameter
            raise ValueError(f"--executor-option: {str(err).splitlines()[0]}") from err

    def submit(self, store, configs, run_fn):
        with _interrupt_reaches_children():
            return self.executor.map_array(StoredRun(store.root.resolve(), run_fn), configs)

    def completed(self, handles):
        from submitit.helpers import as_completed

        return as_completed(handles, poll_frequency=self.poll_seconds)

    def result(self, handle) -> Record:
        return handle.result()

    def cancel(self, handles) -> None:
        for job in handles:
            if not job.done():
                job.cancel(check=False)

    def where(self, handles) -> str:
        array = handles[0].job_id.split("_")[0] if handles else "none"
        return f"{self.executor.cluster} job array {array}; logs in {self.folder.parent}"


class RayExecutor(ClusterExecutor):
    """Each run one task on the Ray cluster at ``address`` ("auto": the one this machine belongs
    to), or on the one this process is already connected to. ``options``: the tasks' Ray options
    (``num_cpus``, default 1, which also sets their OMP_NUM_THREADS; ``num_gpus``; ``max_retries``:
    a task whose worker died is rerun from its checkpoint, 3 times by default)."""

    name = "ray"

    def __init__(self, address: str = "auto", options: dict | None = None):
        self.ray = _import("ray", self.name)
        if not self.ray.is_initialized():
            _connect(self.ray, address)
        try:
            self.task = self.ray.remote(_call).options(**{"num_cpus": 1, **(options or {})})
        except (ValueError, TypeError) as err:
            raise ValueError(f"--executor-option: {err}") from err

    def submit(self, store, configs, run_fn):
        job = StoredRun(store.root.resolve(), run_fn)
        return [self.task.remote(job, config) for config in configs]

    def completed(self, handles):
        pending = list(handles)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            yield from (h for h in handles if h in done)

    def result(self, handle) -> Record:
        return self.ray.get(handle)

    def cancel(self, handles) -> None:
        for ref in handles:
            self.ray.cancel(ref, force=True)

    def where(self, handles) -> str:
        return f"Ray cluster with {self.ray.cluster_resources().get('CPU', 0):.0f} CPUs"


@contextlib.contextmanager
def _interrupt_held():
    """A Ctrl-C that lands while jobs start is held until ``submit`` returns and then acted on as
    this process would have (raised, or ignored where SIGINT was ignored), so that ``run`` knows
    every job it must cancel. Off the main thread (no handler can be set), or where SIGINT's handler
    was not set from Python, it does nothing."""
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None:  # off the main thread, or a handler not set from Python: nothing to hold it with
        yield
        return
    caught: list = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if not caught or previous == signal.SIG_IGN:
        return
    if callable(previous):
        previous(signal.SIGINT, caught[0])  # Python's default handler raises KeyboardInterrupt
        return
    raise KeyboardInterrupt  # SIG_DFL would end the process: stop, but after ``run`` cancels


@contextlib.contextmanager
def _interrupt_reaches_children():
    """submitit's local jobs are stopped by SIGINT (``LocalJob.cancel``). A process started in the
    background by a shell without job control (``kcl sweep ... &`` in a script) has SIGINT ignored,
    and its children inherit that, so their cancel would be lost; while jobs start, this process
    takes SIGINT by Python's default handler, so that they start with SIGINT's default action."""
    main = threading.current_thread() is threading.main_thread()
    ignored = main and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call(job: StoredRun, config) -> dict:
    """A Ray task: ``job(config)``."""
    return job(config)


def _connect(ray, address: str) -> None:
    """``ray.init(address=address)``, or a ValueError naming --ray-address when no cluster answers
    there (probed first: Ray itself would retry an unreachable address for minutes)."""
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    host, _, port = target.removeprefix("ray://").rpartition(":")
    if host and port.isdigit():
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as err:
            raise ValueError(f"--ray-address {target}: no Ray cluster answers there ({err}); start one with "
                             f"`ray start --head` and pass its address") from err
    try:
        ray.init(address=address)
    except ConnectionError as err:
        raise ValueError(f"--ray-address {address}: {err}") from err


def make_executor(name: str = "local", *, checkpoint_dir: str | Path | None = None, ray_address: str = "auto",
                  options: dict | None = None, workers: int = 1) -> ClusterExecutor | None:
    """The executor ``name`` (``EXECUTORS``) ready to take runs, or None for ``local`` (this
    machine's processes, ``run_sweep``'s own path). Bad input fails here, before any work: an unknown
    name, ``workers`` > 1 with a cluster, an extra not installed, no Slurm, no Ray cluster at
    ``ray_address``, a bad option. A cluster executor needs ``checkpoint_dir`` (shared storage),
    where a run whose worker died resumes."""
    if name not in EXECUTORS:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    check_workers(workers, name)
    if name == "local":
        return None
    if checkpoint_dir is None:
        raise ValueError(f"--executor {name} needs --checkpoints DIR on storage every worker shares: "
                         f"a run whose worker died resumes from its checkpoint there")
    options = dict(options or {})
    if name == "submitit":
        return SubmititExecutor(Path(checkpoint_dir) / "submitit", options, cluster=options.pop("cluster", "slurm"))
    return RayExecutor(ray_address, options)
