"""The ``kcl`` command: train and measure one config, run a sweep file, print records.

    kcl run sweeps/reference.yaml                 # one config (the sweep's first), stored
    kcl run sweeps/reference.yaml --set train.lr=0.003
    kcl sweep sweeps/reference.yaml [--dry-run]   # every config of the sweep, resumable
    kcl show results/reference                    # the records of a store, one line each
    kcl show results/reference/<key>.json         # one record in full
    kcl chapter result1 [--dry-run]               # a law chapter: its pilot, main sweep, seed reruns
    kcl bench                                     # throughput benchmark → results/bench/latest.json
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from pathlib import Path

import yaml


def _load_sweep(path: str, overrides: list[str]) -> tuple[dict, list]:
    from kcl.run import expand_sweep, set_path

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


def _import_every_module() -> None:
    """Import every kcl module now, so that a sweep that runs for hours keeps the code it started
    with. Its parent process imports some modules lazily (``kcl.law`` when a run finishes); were
    ``src/`` edited meanwhile, it would mix old and new modules (on 2026-11-30 a new ``kcl.law``
    asked the old ``kcl.catalog`` for a function it did not have yet, and the idle worker's rerun
    never started). Spawned workers import the code afresh, each consistent on its own."""
    import importlib
    import pkgutil

    import kcl

    for module in pkgutil.walk_packages(kcl.__path__, "kcl."):
        if module.name == "kcl.__main__":  # importing it would run the command line
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra (the docs' sphinx helpers) that training never uses
            pass


def _positive(flag: str, meaning: str):
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


_workers = _positive("--workers", "runs at once")
_ranks = _positive("--ranks", "processes per run")
RANKS_HELP = ("processes per run, data parallel (kcl.parallel): one run on all cores ends sooner, but less is "
              "done in all than by --workers (see the Performance page); with --workers 1")
COMPILE_HELP = ("train through torch.compile: the same fp32 run up to float rounding, about 1.2x faster for "
                "result 2's small batches (kcl bench --only variants); compiling takes about half a minute")


def _summary_line(record: dict) -> str:
    from kcl.catalog import data_name, model_label

    r, c = record["result"], record["config"]
    ci = r.get("R_ci")
    interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    return (f"{record['key']}  {data_name(c['data'])}(N={c['data']['n_people']}) {model_label(c['model'])} "
            f"E={c['train']['exposures']} lr={c['train']['lr']:g}  "
            f"R={r['R']:.3f}{interval} R_max={r['R_max']:.3f} R_nonemb={r['R_non_embedding']:.3f} "
            f"P={r['params']['total']:,} acc={r['accuracy_mean']:.3f} "
            f"{r['train']['wall_seconds']:.0f}s {r['train']['tokens_per_second']:.0f} tok/s")


def _under_way_line(config, result: dict) -> str:
    """A run under way, measured on its checkpoint (``kcl.progress.runs_under_way``)."""
    from kcl.positions import position_frame, position_shares
    from kcl.store import _jsonable, config_key

    at, ci = result["checkpoint"], result["R_ci"]
    line = (f"{config_key(config)}  {config.label()}: {at['share']:.0%} trained (step {at['step']:,} of "
            f"{at['total_steps']:,}, about {at['exposures']:.0f} exposures); so far R={result['R']:.3f} "
            f"[{ci[0]:.3f}, {ci[1]:.3f}] R_max={result['R_max']:.3f} acc={result['accuracy_mean']:.3f}")
    frame = position_frame([{"config": _jsonable(dataclasses.asdict(config)), "result": result}])
    shares = position_shares(frame)
    if len(shares) == 2:
        first, later = shares.values()
        line += f"; of the attributes' maximum, {first:.0%} where named, {later:.0%} where 'he'/'she'"
    return line


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
        p.add_argument("--workers", type=_workers, default=1,
                       help="runs at once, each on cpu_count/N threads (2 on 2 cores: see the Performance page)")
        p.add_argument("--ranks", type=_ranks, default=1, help=RANKS_HELP)
        p.add_argument("--compile", action="store_true", help=COMPILE_HELP)
    chapter = sub.add_parser("chapter", help="train what a chapter misses: its pilot, main sweep and reruns")
    chapter.add_argument("name", help="a chapter of kcl.chapter_list.CHAPTERS, e.g. result1")
    chapter.add_argument("--profile", default="cpu", choices=["cpu", "gpu", "smoke"])
    chapter.add_argument("--dry-run", action="store_true", help="print what is missing, train nothing")
    chapter.add_argument("--under-way", action="store_true",
                         help="measure the runs under way on their last checkpoints (seconds each; nothing stored)")
    chapter.add_argument("--checkpoints", default="checkpoints", help="folder for in-run checkpoints (never committed)")
    chapter.add_argument("--workers", type=_workers, default=1, help="runs at once, each on cpu_count/N threads")
    chapter.add_argument("--ranks", type=_ranks, default=1, help=RANKS_HELP)
    chapter.add_argument("--compile", action="store_true", help=COMPILE_HELP)
    chapter.add_argument("--where", action="append", default=[], metavar="KEY=V1,V2",
                         help="train only the runs whose config has KEY in these values, e.g. "
                              "data.name=bioS,bioS-simple or train.seed=1 (repeatable: all must hold), "
                              "to fit a session; the rest stay missing, and reruns follow only from "
                              "what is stored")
    show = sub.add_parser("show", help="print a record, or one line per record of a store")
    show.add_argument("path")
    bench = sub.add_parser("bench", help="throughput benchmark: training, transformers, measurement, data")
    bench.add_argument("--out", default="results/bench/latest.json", help="where the record goes")
    bench.add_argument("--seconds", type=float, default=3.0, help="timing window per training case")
    bench.add_argument("--no-hf", action="store_true", help="skip the transformers comparison")
    bench.add_argument("--quick", action="store_true", help="one model and shape (a smoke check)")
    bench.add_argument("--only", choices=["training", "threads", "ranks", "profile", "variants", "measurement", "pipeline"],
                       help="rerun one section into the existing record at --out, keeping the others")
    args = parser.parse_args(argv)

    if args.command == "bench":
        from kcl.bench import run_bench
        from kcl.store import write_json_atomic

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

    from kcl.store import MissingResultsError, ResultStore
    from kcl.sweep import run_sweep

    if args.command == "chapter":
        from kcl.chapters import CHAPTERS, chapter_parts, config_filter
        from kcl.parallel import check_ranks

        if args.name not in CHAPTERS:
            print(f"kcl: unknown chapter {args.name!r}; choose one of {', '.join(CHAPTERS)}", file=sys.stderr)
            return 2
        try:
            check_ranks(args.ranks, args.workers)
            where = config_filter(args.where)
            if args.under_way:
                from kcl.progress import runs_under_way

                found = runs_under_way(args.name, args.profile, checkpoint_dir=args.checkpoints)
                print("\n".join(_under_way_line(c, r) for c, r in found) or f"no runs under way in {args.checkpoints}/")
                return 0
            if args.dry_run:
                from kcl.progress import chapter_plan

                if where:
                    print(f"only the runs with {' and '.join(args.where)} (--where):")
                print("\n".join(chapter_plan(args.name, args.profile, workers=args.workers,
                                              checkpoint_dir=args.checkpoints, ranks=args.ranks, where=where)))
                if args.compile:
                    from kcl.cost import compiled_speedups

                    fast = compiled_speedups()
                    print("the estimates price eager training; " + (
                        f"compiled runs trained {min(fast):.2f}–{max(fast):.2f}× as fast in `kcl bench --only ranks`"
                        if fast else "no compiled speed-up is measured yet (`kcl bench --only ranks`)"))
                return 0
            _import_every_module()
            parts = chapter_parts(args.name, args.profile, allow_train=True, progress=False,
                                  checkpoint_dir=args.checkpoints, workers=args.workers, ranks=args.ranks,
                                  compiled=args.compile, where=where)
        except MissingResultsError as err:
            print(f"kcl: {err}", file=sys.stderr)
            return 1
        except ValueError as err:  # e.g. the pilot's best rate at its edge: widen the pilot first
            print(f"kcl: {err}", file=sys.stderr)
            return 2
        for part, records in parts.items():
            for record in records:
                print(f"{part:6s} {_summary_line(record)}")
        return 0

    if args.command == "show":
        path = Path(args.path)
        if not path.exists():
            print(f"kcl: no store or record at {path} (nothing has been stored there yet?)", file=sys.stderr)
            return 2
        if path.is_dir():
            for record in ResultStore(path).records():
                print(_summary_line(record))
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

    from kcl.chapters import sweep_compiled
    from kcl.parallel import check_ranks
    from kcl.run import checkpoint_progress, run, sweep_cost

    try:
        spec, configs = _load_sweep(args.sweep_file, args.set)
        compiled = args.compile or sweep_compiled(spec)
    except (ValueError, TypeError) as err:
        print(f"kcl: bad config: {err}", file=sys.stderr)
        return 2
    if args.command == "run":
        configs = configs[:1]
    try:
        check_ranks(args.ranks, args.workers, args.device)
    except ValueError as err:
        print(f"kcl: {err}", file=sys.stderr)
        return 2
    if not args.dry_run:
        _import_every_module()
    store = ResultStore(Path(args.store or spec.get("store") or "results/adhoc"))
    progress = not args.no_progress and args.workers == 1  # bars of parallel runs would interleave
    records = run_sweep(store, configs,
                        functools.partial(run, checkpoint_dir=args.checkpoints, checkpoint_every=args.checkpoint_every,
                                          progress=progress, device=args.device, ranks=args.ranks,
                                          compiled=compiled, weights_dir=store.root),
                        cost_fn=sweep_cost(args.workers, args.ranks), dry_run=args.dry_run, workers=args.workers,
                        trained_share_fn=functools.partial(checkpoint_progress, checkpoint_dir=args.checkpoints))
    for record in records:
        print(_summary_line(record))
    return 0
