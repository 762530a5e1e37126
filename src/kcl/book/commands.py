"""``kcl chapter``: the book's command, added to ``kcl`` through the entry point group
``kcl.commands`` (pyproject.toml), so that the engine's command line never imports the book.

    kcl chapter result1 [--dry-run] [--workers 2]        # pilot, main sweep, reruns
    kcl chapter result2 --dry-run                         # a chapter with versions: its deciding protocol (v4)
    kcl chapter result2 --version v3 --dry-run            # another version, kept readable on the page
    kcl chapter --list                                     # every chapter, its versions and which decides
    kcl chapter result2-v4 --where data.name=bioS         # only some of its runs (fit a session)
    kcl chapter result2-v4 --under-way                    # its runs in progress, on their checkpoints
    kcl chapter result2-v4 --executor ray --checkpoints /shared/ckpt   # its missing runs on a Ray cluster
"""

from __future__ import annotations

import sys

from kcl.book.chapter_list import VERSIONS, resolve, short_title, versions_of
from kcl.book.chapters import CHAPTERS, chapter_parts, config_filter
from kcl.book.positions import position_frame, position_shares
from kcl.book.progress import chapter_plan, runs_under_way
from kcl.cli import (COMPILE_HELP, RANKS_HELP, add_executor_args, executor_from_args, import_every_module, ranks_arg,
                     workers_arg)
from kcl.cost import compiled_speedups
from kcl.parallel import check_ranks
from kcl.records import summary_line
from kcl.store import MissingResultsError, config_key, record_of


class ChapterCommand:
    """``kcl chapter NAME``: train what a chapter misses, price it (--dry-run), or measure its runs
    under way (--under-way)."""

    name = "chapter"

    @staticmethod
    def add_parser(subparsers) -> None:
        chapter = subparsers.add_parser("chapter", help="train what a chapter misses: its pilot, main sweep and reruns")
        chapter.add_argument("name", nargs="?", help="a chapter of kcl.book.chapter_list.CHAPTERS, e.g. result1; "
                             "for a chapter with protocol versions (--list), its deciding version")
        chapter.add_argument("--version", help="a protocol version of the chapter (v2, v3, ...: --list names them)")
        chapter.add_argument("--list", action="store_true", help="list the chapters, their versions and which decides")
        chapter.add_argument("--profile", default="cpu", choices=["cpu", "gpu", "smoke"])
        chapter.add_argument("--dry-run", action="store_true", help="print what is missing, train nothing")
        chapter.add_argument("--under-way", action="store_true",
                             help="measure the runs under way on their last checkpoints (seconds each; nothing stored)")
        chapter.add_argument("--checkpoints", default="checkpoints", help="folder for in-run checkpoints (never committed)")
        chapter.add_argument("--workers", type=workers_arg, default=1, help="runs at once, each on cpu_count/N threads")
        chapter.add_argument("--ranks", type=ranks_arg, default=1, help=RANKS_HELP)
        chapter.add_argument("--compile", action="store_true", help=COMPILE_HELP)
        chapter.add_argument("--where", action="append", default=[], metavar="KEY=V1,V2",
                             help="train only the runs whose config has KEY in these values, e.g. "
                                  "data.name=bioS,bioS-simple or train.seed=1 (repeatable: all must hold), "
                                  "to fit a session; the rest stay missing, and reruns follow only from "
                                  "what is stored")
        add_executor_args(chapter)

    @staticmethod
    def run(args) -> int:
        if args.list:
            print("\n".join(chapter_list_lines()))
            return 0
        if args.name is None:
            print("kcl: name a chapter (kcl chapter --list shows them)", file=sys.stderr)
            return 2
        try:
            protocol = resolve(args.name, args.version)
        except ValueError as err:
            print(f"kcl: {err}", file=sys.stderr)
            return 2
        if (found := versions_of(protocol)) is not None:
            print(f"{found[0].chapter}: protocol {found[1]} ({protocol})", file=sys.stderr)
        args.name = protocol
        try:
            check_ranks(args.ranks, args.workers)
            where = config_filter(args.where)
            if args.under_way:
                found = runs_under_way(args.name, args.profile, checkpoint_dir=args.checkpoints)
                print("\n".join(_under_way_line(c, r) for c, r in found) or f"no runs under way in {args.checkpoints}/")
                return 0
            if args.dry_run:
                if where:
                    print(f"only the runs with {' and '.join(args.where)} (--where):")
                print("\n".join(chapter_plan(args.name, args.profile, workers=args.workers,
                                              checkpoint_dir=args.checkpoints, ranks=args.ranks, where=where)))
                if args.compile:
                    fast = compiled_speedups()
                    print("the estimates price eager training; " + (
                        f"compiled runs trained {min(fast):.2f}–{max(fast):.2f}× as fast in `kcl bench --only ranks`"
                        if fast else "no compiled speed-up is measured yet (`kcl bench --only ranks`)"))
                return 0
            executor = executor_from_args(args)
            import_every_module()
            parts = chapter_parts(args.name, args.profile, allow_train=True, progress=False,
                                  checkpoint_dir=args.checkpoints, workers=args.workers, ranks=args.ranks,
                                  compiled=args.compile, where=where, executor=executor)
        except MissingResultsError as err:
            print(f"kcl: {err}", file=sys.stderr)
            return 1
        except (ValueError, ImportError) as err:  # a bad flag, or e.g. the pilot's best rate at its edge
            print(f"kcl: {err}", file=sys.stderr)
            return 2
        for part, records in parts.items():
            for record in records:
                print(f"{part:6s} {summary_line(record)}")
        return 0



COMMAND = ChapterCommand()


def chapter_list_lines() -> list[str]:
    """``kcl chapter --list``: every chapter by name and title; a chapter with versions (its name is
    also its oldest protocol's) lists them oldest first and marks the deciding one; a later version
    is listed under its chapter only."""
    later = {name for v in VERSIONS.values() for _, name in v.protocols} - set(VERSIONS)
    lines = []
    for name, ch in CHAPTERS.items():
        if name in VERSIONS:
            v = VERSIONS[name]
            lines.append(f"{name:18s} {short_title(v.protocol()).split(',')[0]}, in versions: " + ", ".join(
                f"{label} = {p}{' (decides)' if label == v.deciding else ''}" for label, p in v.protocols))
        elif name not in later:
            lines.append(f"{name:18s} {ch.title}")
    return lines


def _under_way_line(config, result: dict) -> str:
    """A run under way, measured on its checkpoint (``kcl.book.progress.runs_under_way``)."""
    at, ci = result["checkpoint"], result["R_ci"]
    line = (f"{config_key(config)}  {config.label()}: {at['share']:.0%} trained (step {at['step']:,} of "
            f"{at['total_steps']:,}, about {at['exposures']:.0f} exposures); so far R={result['R']:.3f} "
            f"[{ci[0]:.3f}, {ci[1]:.3f}] R_max={result['R_max']:.3f} acc={result['accuracy_mean']:.3f}")
    frame = position_frame([record_of(config, result)])
    shares = position_shares(frame)
    if len(shares) == 2:
        first, later = shares.values()
        line += f"; of the attributes' maximum, {first:.0%} where named, {later:.0%} where 'he'/'she'"
    return line
