"""``kcl plan`` and ``kcl book-cost``: the book's planning commands, added to ``kcl`` through the entry
point group ``kcl.commands`` (pyproject.toml), as ``kcl chapter`` is. Both train nothing.

    kcl plan bioD --N 1000 --K 4 --C 4 --D 64 --L 1 --T 64 --pools 100,100,100   # 1000 exposures
    kcl plan bioS --N 10000 --tokenizer bpe --exposures 100
    kcl plan bits --bits 2e6 --exposures 1000
    kcl book-cost [--workers 2]          # every chapter's runs priced from scratch
"""

from __future__ import annotations

import sys

from kcl.book.book_cost import WORKERS, cost_lines, price_book
from kcl.book.planner import KINDS, capacity_plan
from kcl.cli import workers_arg

KNOBS = ("N", "K", "C", "D", "L", "T", "pools", "tokenizer")


class PlanCommand:
    """``kcl plan DATA``: the data's bits, the parameters each law needs and the training time here
    (``kcl.book.planner.capacity_plan``). Every value is checked by the planner, so a bad one gets
    one line naming it and its range."""

    name = "plan"

    @staticmethod
    def add_parser(subparsers) -> None:
        plan = subparsers.add_parser("plan", help="how many parameters a data set's facts need, and how long "
                                                  "training takes here (the capacity planner)")
        plan.add_argument("data", help=f"what to plan for: {', '.join(KINDS)}")
        for knob, meaning in (("N", "people"), ("K", "bioD attributes"), ("C", "bioD chunks per value"),
                              ("D", "bioD diversity"), ("L", "bioD symbols per chunk"), ("T", "bioD alphabet")):
            plan.add_argument(f"--{knob}", metavar="INT", help=meaning)
        plan.add_argument("--pools", metavar="FIRST,MIDDLE,LAST", help="name pools (default 400,400,1000)")
        plan.add_argument("--tokenizer", metavar="word|bpe", help="bioS's tokens (default word)")
        plan.add_argument("--bits", metavar="B", help="with data 'bits': the bits of facts")
        plan.add_argument("--exposures", default="1000", metavar="E",
                          help="exposures per fact (default 1000; the paper's laws are at 1000 and 100)")

    @staticmethod
    def run(args) -> int:
        knobs = {knob: getattr(args, knob) for knob in KNOBS}
        try:
            plan = capacity_plan(args.data, args.exposures, args.bits, **knobs)
        except ValueError as err:
            print(f"kcl: {err}", file=sys.stderr)
            return 2
        print("\n".join(plan.lines()))
        return 0


class BookCostCommand:
    """``kcl book-cost``: what a rerun of every chapter from scratch costs (``kcl.book.book_cost``)."""

    name = "book-cost"

    @staticmethod
    def add_parser(subparsers) -> None:
        cost = subparsers.add_parser("book-cost", help="price a rerun of every chapter from scratch (pilots and "
                                                       "reruns included), here and on a GPU; trains nothing")
        cost.add_argument("--workers", type=workers_arg, default=WORKERS,
                          help=f"runs at once (default {WORKERS}, as `make chapters`)")

    @staticmethod
    def run(args) -> int:
        print("\n".join(cost_lines(price_book(workers=args.workers), workers=args.workers)))
        return 0


PLAN = PlanCommand()
BOOK_COST = BookCostCommand()
