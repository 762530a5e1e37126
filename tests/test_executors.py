"""Executors: a sweep's missing runs as submitit jobs (its local executor standing in for Slurm) and
as tasks on a local Ray cluster store the records a local sweep stores, skip finished runs, and a
run whose worker was killed resumes from its checkpoint. Bad flags fail before any work."""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time

import pytest
import torch

import kcl.executors as executors
from kcl.cli import main
from kcl.config import expand_sweep
from kcl.executors import RayExecutor, StoredRun, SubmititExecutor, make_executor
from kcl.record import Record
from kcl.run import run, weights_file
from kcl.store import ResultStore, config_key
from kcl.sweep import _near, _threads, run_sweep
from test_run import TINY, write_sweep  # tests/ is on sys.path

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it

SMOKE = expand_sweep({"base": TINY, "grid": {"train.lr": [0.01, 0.02]}})  # two runs of a second or two
LONG = expand_sweep({"base": {**TINY, "train": {**TINY["train"], "exposures": 600}}})[0]  # 3000 steps: seconds
TIMING = {"measure_seconds", "train.wall_seconds", "train.tokens_per_second"}


def deterministic(record: Record) -> dict:
    """A record's key, config and result without its timing fields: what any executor must match."""
    result = record.result.to_dict()
    for path in TIMING:
        *parents, name = path.split(".")
        node = result
        for parent in parents:
            node = node[parent]
        node.pop(name)
    return {"key": record.key, "config": record.config, "result": result}


def runner(store: ResultStore, checkpoints=None):
    """The ``run_fn`` of a sweep into ``store``, as the command line builds it."""
    return functools.partial(run, progress=False, checkpoint_dir=checkpoints, checkpoint_every=0.2,
                             weights_dir=store.root)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Every run here on one thread (this process, the jobs and the Ray workers it starts), so that
    records match bit for bit whatever the machine's core count."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        with _threads(1):
            yield


@pytest.fixture(scope="module")
def local_records(tmp_path_factory, one_thread):
    """The smoke sweep and the long run trained here, by the local path: the records to match."""
    store = ResultStore(tmp_path_factory.mktemp("local"))
    records = run_sweep(store, SMOKE + [LONG], runner(store), log=lambda _: None)
    return store, {r.key: r for r in records}


@pytest.fixture(scope="module")
def ray_cluster(one_thread):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(params=["submitit", "ray"])
def engine(request, tmp_path):
    if request.param == "submitit":
        # an hour's limit: under load a job may pass submitit's local default of 2 minutes, and the requeue that
        # follows (resumed from its checkpoint, as it should be) would cut the loss curve a second time
        return SubmititExecutor(tmp_path / "submitit", {"timeout_min": 60}, cluster="local", poll_seconds=0.2)
    request.getfixturevalue("ray_cluster")
    return RayExecutor()


# -- bad input, before any work -------------------------------------------------------------------
def test_bad_executor_flags_fail_before_any_work(tmp_path, capsys):
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()  # else the executor would use that cluster, not the address
    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store")
    for flags, message in [
        (["--executor", "ray", "--ray-address", "127.0.0.1:1"], "--ray-address 127.0.0.1:1: no Ray cluster answers"),
        (["--executor", "ray", "--workers", "2"], "--workers 2 runs configs at once on this machine"),
        (["--executor", "ray", "--executor-option", "num_cpus"], "--executor-option takes KEY=VALUE"),
        (["--executor", "submitit", "--executor-option", "cluster=local", "--executor-option", "cpus=2"],
         "--executor-option: Parameter 'cpus' need"),
        (["--executor", "submitit"], "no Slurm is found here"),
    ]:
        assert main(["sweep", str(sweep), "--no-progress", "--checkpoints", str(tmp_path / "ckpt"), *flags]) == 2
        assert message in capsys.readouterr().err, flags
    with pytest.raises(SystemExit):
        main(["sweep", str(sweep), "--executor", "dask"])
    assert "argument --executor: invalid choice: 'dask'" in capsys.readouterr().err
    assert main(["chapter", "result1", "--executor", "ray", "--ray-address", "127.0.0.1:1"]) == 2
    assert "no Ray cluster answers" in capsys.readouterr().err
    assert not (tmp_path / "store").exists() and not ray.is_initialized()


def test_a_missing_extra_names_it(monkeypatch):
    real = executors.importlib.import_module

    def without_ray(name):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name)

    monkeypatch.setattr(executors.importlib, "import_module", without_ray)
    with pytest.raises(ImportError, match=r"--executor ray needs ray, which is not installed: pip install 'kcl\[cluster\]'"):
        make_executor("ray", checkpoint_dir="ckpt")


def test_make_executor_checks_its_input(tmp_path):
    assert make_executor("local") is None
    with pytest.raises(ValueError, match="--executor must be one of local, submitit, ray, got 'dask'"):
        make_executor("dask")
    with pytest.raises(ValueError, match="--executor ray needs --checkpoints DIR"):
        make_executor("ray")
    from kcl.book.chapters import chapter_parts

    with pytest.raises(ValueError, match="--executor must be one of"):
        chapter_parts("result1", "smoke", allow_train=True, executor="dask")


def test_a_stored_run_is_not_trained_again(tmp_path):
    store = ResultStore(tmp_path)
    stored = store.put(SMOKE[0], {"R": 1.0})

    def never(config):
        raise AssertionError("trained a stored run")

    assert StoredRun(tmp_path, never)(SMOKE[0]) == stored


# -- the engines ----------------------------------------------------------------------------------
def test_an_engine_stores_what_a_local_sweep_stores_and_skips_it_next_time(engine, local_records, tmp_path):
    local_store, local = local_records
    store = ResultStore(tmp_path / "store")
    lines = []
    records = run_sweep(store, SMOKE, runner(store), executor=engine, log=lines.append)
    assert "2 of 2 runs missing" in lines[0] and lines[1].startswith("submitted 2 runs")
    assert [r.key for r in records] == [config_key(c) for c in SMOKE]
    for config, record in zip(SMOKE, records):
        assert deterministic(record) == deterministic(local[config_key(config)])
        assert store.get(config) == record  # stored by the job, the same record it returned
        assert weights_file(config, store.root).read_bytes() == weights_file(config, local_store.root).read_bytes()
    lines.clear()
    assert run_sweep(store, SMOKE, runner(store), executor=engine, log=lines.append) == records
    # the store as the log names it (relative where the working directory is at most one level down)
    assert lines == [f"{_near(store.root)}: 0 of 2 runs missing; nothing to run"]


def test_kcl_sweep_submits_its_missing_runs(local_records, tmp_path, capsys):
    """The command line's path: flags → executor → jobs storing into the sweep file's store."""
    _, local = local_records
    sweep = write_sweep(tmp_path / "s.yaml", tmp_path / "store")  # SMOKE's first run
    flags = ["--no-progress", "--checkpoints", str(tmp_path / "ckpt"), "--executor", "submitit",
             "--executor-option", "cluster=local", "--executor-option", "timeout_min=60"]
    assert main(["sweep", str(sweep), *flags]) == 0
    assert "submitted 1 run (local job array" in capsys.readouterr().out
    (record,) = ResultStore(tmp_path / "store").records()
    assert deterministic(record) == deterministic(local[config_key(SMOKE[0])])


def test_a_killed_worker_resumes_from_its_checkpoint(engine, local_records, tmp_path):
    _, local = local_records
    store, checkpoints = ResultStore(tmp_path / "store"), tmp_path / "ckpt"
    ckpt = checkpoints / f"{config_key(LONG)}.pt"
    (job,) = engine.submit(store, [LONG], runner(store, checkpoints))
    deadline = time.monotonic() + 600  # a worker's start (importing torch) is slow on a loaded machine
    while not ckpt.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ckpt.exists(), "the job saved no checkpoint within 10 minutes"
    engine.cancel([job])  # the worker dies mid-run, its checkpoint left behind
    list(engine.completed([job]))  # ended, and with no record
    assert not store.has(LONG), "the job finished: the kill did not reach it"
    saved = torch.load(ckpt, weights_only=False)
    assert 0 < saved["state"]["step"] < saved["state"]["total_steps"] == 3000
    saved["state"]["elapsed"] += 1000.0  # a mark: a run resumed from this checkpoint counts these seconds
    torch.save(saved, ckpt)
    (record,) = run_sweep(store, [LONG], runner(store, checkpoints), executor=engine, log=lambda _: None)
    assert record.result.train.wall_seconds > 1000  # resumed, not started afresh
    # the same run: the loss curve's one point whose averaging window the kill cut averages the
    # steps after the resume only (kcl.train restarts the window); everything else bit for bit
    resumed, uninterrupted = deterministic(record), deterministic(local[config_key(LONG)])
    curves = [r["result"]["train"].pop("loss_curve") for r in (resumed, uninterrupted)]
    assert resumed == uninterrupted
    assert [step for step, _ in curves[0]] == [step for step, _ in curves[1]]
    assert sum(a != b for a, b in zip(*curves)) <= 1
    assert not ckpt.exists()  # removed once the record exists


def test_a_page_that_may_train_sends_its_missing_runs_where_train_with_says(tmp_path):
    """A notebook's ``executor`` and ``checkpoints`` parameters (``chapters.train_with``): its
    chapter's missing runs go to that executor; without ``allow_train`` only the name is checked."""
    from kcl.book import chapters

    chapters.train_with("submitit", tmp_path / "ckpt", options={"cluster": "local", "timeout_min": 5})
    try:
        parts = chapters.chapter_parts("bios-simple", "smoke", allow_train=True, store=tmp_path / "store",
                                       log=lambda _: None)
    finally:
        chapters.train_with("local")
    assert len(parts["main"]) == 1 and any((tmp_path / "ckpt" / "submitit").iterdir())  # trained as a job
    assert chapters._TRAINING_PLACE == {"executor": "local", "checkpoint_dir": None}
    chapters.train_with("ray", allow_train=False)  # nothing trains: no cluster is looked for
    assert chapters._TRAINING_PLACE["executor"] == "local"
    with pytest.raises(ValueError, match="executor must be one of local, submitit, ray, got 'dask'"):
        chapters.train_with("dask", allow_train=False)
    with pytest.raises(ValueError, match="needs --checkpoints DIR"):
        chapters.train_with("submitit")


def test_a_sweep_chapter_page_trains_where_train_with_says(tmp_path):
    """The chapters that are one sweep (``chapters.chapter_records``: the reference run, the
    diagnostics) take the same parameters."""
    from kcl.book import chapters

    chapters.train_with("submitit", tmp_path / "ckpt", options={"cluster": "local", "timeout_min": 5})
    try:
        (record,) = chapters.chapter_records("reference", "smoke", allow_train=True, store=tmp_path / "store",
                                             log=lambda _: None)
    finally:
        chapters.train_with("local")
    assert record.result.R is not None and any((tmp_path / "ckpt" / "submitit").iterdir())



def test_submit_starts_its_jobs_with_sigint_at_its_default(tmp_path, monkeypatch):
    """A process started with ``&`` by a shell without job control has SIGINT ignored, which its
    children inherit; submitit cancels a local job by SIGINT, so ``SubmititExecutor.submit``
    starts its jobs with SIGINT's default action, and kcl itself keeps ignoring it."""
    probe = [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"]

    def inherits_ignored() -> str:
        return subprocess.run(probe, capture_output=True, text=True).stdout.strip()

    engine = SubmititExecutor(tmp_path / "submitit", cluster="local")
    seen = []
    monkeypatch.setattr(engine.executor, "map_array", lambda fn, configs: seen.append(inherits_ignored()))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert inherits_ignored() == "True"  # what a job started outside submit inherits
        engine.submit(ResultStore(tmp_path / "store"), [], runner(ResultStore(tmp_path / "store")))
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # kcl itself keeps ignoring it
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == ["False"]


def test_run_starts_its_jobs_with_sigint_at_its_default_too(tmp_path, monkeypatch):
    """Through ``run``, whose hold on Ctrl-C (a Python handler) stands where SIGINT was ignored while
    the jobs start: a started program gets SIGINT's default action all the same."""
    probe = [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"]
    engine = SubmititExecutor(tmp_path / "submitit", cluster="local")
    seen = []

    def started(fn, configs):
        seen.append(subprocess.run(probe, capture_output=True, text=True).stdout.strip())
        return []

    monkeypatch.setattr(engine.executor, "map_array", started)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert engine.run(ResultStore(tmp_path / "store"), [], runner(ResultStore(tmp_path / "store")),
                          log=lambda _: None) == {}
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == ["False"]


class _StartsTwoJobs(executors.ClusterExecutor):
    """An engine whose submission is interrupted by Ctrl-C after its first job has started."""

    name = "fake"

    def __init__(self):
        self.started, self.cancelled = [], []

    def submit(self, store, configs, run_fn):
        self.started.append("job-a")
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the jobs start
        self.started.append("job-b")
        return list(self.started)

    def completed(self, handles):
        return iter(())

    def cancel(self, handles):
        self.cancelled += handles


def test_a_ctrl_c_while_jobs_start_cancels_every_job_that_started(tmp_path):
    engine = _StartsTwoJobs()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if pytest runs in the background
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.run(ResultStore(tmp_path), [], lambda config: {}, log=lambda _: None)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is given back
    finally:
        signal.signal(signal.SIGINT, previous)
    assert engine.cancelled == ["job-a", "job-b"] and engine.started == ["job-a", "job-b"]


def test_a_ctrl_c_while_jobs_start_is_still_ignored_where_sigint_is(tmp_path):
    engine = _StartsTwoJobs()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert engine.run(ResultStore(tmp_path), [], lambda config: {}, log=lambda _: None) == {}
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert engine.cancelled == []
