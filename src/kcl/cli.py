"""The ``kcl`` command: train and measure one config, run a sweep file, print records.

    kcl run sweeps/reference.yaml                 # one config (the sweep's first), stored
    kcl run sweeps/reference.yaml --set train.lr=0.003
    kcl sweep sweeps/reference.yaml [--dry-run]   # every config of the sweep, resumable
    kcl sweep sweeps/reference.yaml --executor submitit --checkpoints /shared/ckpt   # as a Slurm job array
    kcl sweep sweeps/reference.yaml --executor ray --ray-address HOST:6379            # on a Ray cluster
    kcl show results/reference                    # the records of a store, one line each
    kcl show results/reference/<key>.json         # one record in full
    kcl chapter result1 [--dry-run]               # a chapter of the book: pilot, main sweep, reruns
    kcl bench                                     # throughput benchmark → results/bench/latest.json
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import importlib
import pkgutil
from importlib.metadata import entry_points

import kcl

from kcl.bench_record import SECTIONS, run_bench
from kcl.config import load_sweep, sweep_compiled
from kcl.executors import EXECUTORS, make_executor, parse_options
from kcl.parallel import check_ranks
from kcl.records import summary_line
from kcl.run import checkpoint_progress, run, sweep_cost
from kcl.store import ResultStore, write_json_atomic
from kcl.sweep import run_sweep


def import_every_module() -> None:
    """Import every kcl module now, so that a sweep that runs for hours keeps the code it started
    with: its parent process would otherwise import some modules later, after ``src/`` may have
    changed, and mix old and new code. Spawned workers import the code afresh, each consistent."""
    for module in pkgutil.walk_packages(kcl.__path__, "kcl."):
        if module.name == "kcl.__main__":  # importing it would run the command line
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra (the docs' sphinx helpers) that training never uses
            pass


def _plugin_commands() -> list:
    """Commands other packages add to ``kcl`` (entry points of the group ``kcl.commands``: an object
    with ``name``, ``add_parser(subparsers)`` and ``run(args) -> int``); the book adds ``chapter``.
    The engine names none of them."""
    return [ep.load() for ep in sorted(entry_points(group="kcl.commands"), key=lambda ep: ep.name)]


def positive(flag: str, meaning: str):
    """An argparse type: a positive integer, or an error naming ``flag`` and what it counts."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag} takes a positive integer ({meaning}), got {text!r}")
        return value
    return parse


workers_arg = positive("--workers", "runs at once")
ranks_arg = positive("--ranks", "processes per run")
RANKS_HELP = ("processes per run, data parallel (kcl.parallel): one run on all cores ends sooner, but less is "
              "done in all than by --workers (see the Performance page); with --workers 1")


def add_executor_args(parser) -> None:
    """``--executor`` and its options, shared by ``kcl sweep`` and ``kcl chapter``."""
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="where missing runs train: local (this machine), submitit (one Slurm array job each) "
                             "or ray (one task each on a Ray cluster); the last two need kcl[cluster], and "
                             "--checkpoints and the store on storage every worker shares")
    parser.add_argument("--ray-address", default="auto", metavar="ADDRESS",
                        help="the Ray cluster of --executor ray (default auto: the one this machine belongs to)")
    parser.add_argument("--executor-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a job option: submitit's update_parameters (timeout_min=600, cpus_per_task=4, "
                             "slurm_partition=gpu, cluster=local to try it here) or a Ray task's (num_cpus=2, num_gpus=1)")


def executor_from_args(args):
    """The executor the flags ask for (None: local), connected and checked before any work."""
    return make_executor(args.executor, checkpoint_dir=args.checkpoints, ray_address=args.ray_address,
                         options=parse_options(args.executor_option), workers=args.workers)


COMPILE_HELP = ("train through torch.compile: the same fp32 run up to float rounding, about 1.2x faster for "
                "result 2's small batches (kcl bench --only variants); compiling takes about half a minute")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kcl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "train and measure one config (the sweep file's first)"),
                            ("sweep", "train and measure every config of a sweep file, skipping finished ones")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("sweep_file")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a base field, e.g. train.lr=0.003 or data.n_people=500")
        p.add_argument("--store", help="results folder (default: the file's 'store', else results/adhoc)")
        p.add_argument("--checkpoints", default="checkpoints", help="folder for in-run checkpoints (never committed)")
        p.add_argument("--checkpoint-every", type=float, default=300.0, metavar="SECONDS",
                       help="seconds between in-run checkpoints")
        p.add_argument("--device", default="auto")
        p.add_argument("--dry-run", action="store_true", help="print the plan and cost, train nothing")
        p.add_argument("--no-progress", action="store_true")
        p.add_argument("--workers", type=workers_arg, default=1,
                       help="runs at once, each on cpu_count/N threads (2 on 2 cores: see the Performance page)")
        p.add_argument("--ranks", type=ranks_arg, default=1, help=RANKS_HELP)
        p.add_argument("--compile", action="store_true", help=COMPILE_HELP)
        if name == "sweep":
            add_executor_args(p)
    commands = {command.name: command for command in _plugin_commands()}  # the book's ``kcl chapter``
    for command in commands.values():
        command.add_parser(sub)
    show = sub.add_parser("show", help="print a record, or one line per record of a store")
    show.add_argument("path")
    bench = sub.add_parser("bench", help="throughput benchmark: training, transformers, measurement, data")
    bench.add_argument("--out", default="results/bench/latest.json", help="where the record goes")
    bench.add_argument("--seconds", type=float, default=3.0, help="timing window per training case")
    bench.add_argument("--no-hf", action="store_true", help="skip the transformers comparison")
    bench.add_argument("--quick", action="store_true", help="one model and shape (a smoke check)")
    bench.add_argument("--only", choices=SECTIONS,
                       help="rerun one section into the existing record at --out, keeping the others")
    args = parser.parse_args(argv)

    if args.command == "bench":

        previous = None
        if args.only:
            if not Path(args.out).is_file():
                print(f"kcl: --only {args.only} updates an existing record, and there is none at {args.out}; "
                      f"run `kcl bench` first", file=sys.stderr)
                return 2
            previous = json.loads(Path(args.out).read_text())
        record = run_bench(seconds=args.seconds, hf=not args.no_hf, quick=args.quick, only=args.only,
                           previous=previous)
        write_json_atomic(Path(args.out), record)
        print(f"wrote {args.out}")
        return 0


    if args.command in commands:
        return commands[args.command].run(args)

    if args.command == "show":
        path = Path(args.path)
        if not path.exists():
            print(f"kcl: no store or record at {path} (nothing has been stored there yet?)", file=sys.stderr)
            return 2
        if path.is_dir():
            for record in ResultStore(path).records():
                print(summary_line(record))
            return 0
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            record = None
        if not isinstance(record, dict) or not {"key", "config", "result"} <= set(record):
            print(f"kcl: {path} is not a record (a JSON file with key, config and result; "
                  f"`kcl show FOLDER` lists a store's records)", file=sys.stderr)
            return 2
        print(json.dumps(record, indent=2))
        return 0


    try:
        spec, configs = load_sweep(args.sweep_file, args.set)
        compiled = args.compile or sweep_compiled(spec)
    except (ValueError, TypeError) as err:
        print(f"kcl: bad config: {err}", file=sys.stderr)
        return 2
    if args.command == "run":
        configs = configs[:1]
    try:
        check_ranks(args.ranks, args.workers, args.device)
        executor = executor_from_args(args) if args.command == "sweep" and not args.dry_run else None
    except (ValueError, ImportError) as err:
        print(f"kcl: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:
        import_every_module()
    # absolute paths: a cluster's workers do not share this process's working directory
    store = ResultStore(Path(args.store or spec.get("store") or "results/adhoc").resolve())
    checkpoints = Path(args.checkpoints).resolve()
    progress = not args.no_progress and args.workers == 1 and executor is None  # bars of parallel runs would interleave
    records = run_sweep(store, configs,
                        functools.partial(run, checkpoint_dir=checkpoints, checkpoint_every=args.checkpoint_every,
                                          progress=progress, device=args.device, ranks=args.ranks,
                                          compiled=compiled, weights_dir=store.root),
                        cost_fn=sweep_cost(args.workers, args.ranks), dry_run=args.dry_run, workers=args.workers,
                        trained_share_fn=functools.partial(checkpoint_progress, checkpoint_dir=checkpoints),
                        executor=executor)
    for record in records:
        print(summary_line(record))
    return 0
