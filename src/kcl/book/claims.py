"""The first page's table of claims: every chapter's deciding verdicts in one table.

Each chapter's notebook glues its own compact table (``stats.headline_styled``); the first page
gathers the same rows (``stats.headline_frame``) into one table, computed from the records when the
book is built (``python -m kcl.book.assets``), by the same calls the notebooks make. Each chapter
module says how its verdicts are read in ``FIRST_PAGE``: by notebook, the sections and how many of
them the first page shows (the deciding protocol's first; result 2 adds the newest judged one while
its deciding protocol holds its verdict back).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Callable

import pandas as pd

import kcl.book
from kcl.book import stats
from kcl.book.stats import Section

#: how a chapter's verdicts are read: (sections from the committed records, how many the first page shows)
Reader = Callable[[str], tuple[list[Section], int]]


def readers() -> dict[str, Reader]:
    """Every chapter module's ``FIRST_PAGE`` (notebook name: its reader), gathered from the book
    layer's modules that define one (read from their source, so that no other module is
    imported), so that a new chapter adds its rows by its own module alone."""
    found: dict[str, Reader] = {}
    for module in pkgutil.iter_modules(kcl.book.__path__):
        path = Path(module.module_finder.path) / f"{module.name}.py"
        if module.ispkg or "\nFIRST_PAGE = " not in path.read_text(encoding="utf-8"):
            continue
        for name, reader in importlib.import_module(f"kcl.book.{module.name}").FIRST_PAGE.items():
            if name in found:
                raise ValueError(f"two modules read chapter {name!r}'s verdicts for the first page")
            found[name] = reader
    return found


#: the table's columns: the chapter's name leads the claim of its first row
COLUMNS = ["claim", "paper", "ours [95% interval]", "per non-embedding parameter", "verdict"]


def chapter_label(name: str) -> str:
    """A chapter's short name in the table: "Result 5", "Reference", "Random strings"."""
    number = re.fullmatch(r"result(\d+)", name)
    return f"Result {number.group(1)}" if number else name.replace("_", " ").capitalize()


def claims_frame(names: list[str], profile: str = "cpu") -> pd.DataFrame:
    """Every named chapter's first-page rows (``stats.headline_frame``), in order, each led by its
    chapter's name (``chapter``) and notebook (``notebook``)."""
    found = readers()
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValueError(f"chapters whose module gives no FIRST_PAGE reading of their verdicts: {unknown}")
    frames = []
    for name in names:
        sections, count = found[name](profile)
        frame = stats.headline_frame(sections, profile, count)
        frame.insert(0, "notebook", name)
        frame.insert(1, "chapter", chapter_label(name))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _cell(text) -> str:
    """A table cell's text: one line, an interval unbroken, markdown's emphasis marks taken literally."""
    return stats.unbroken_intervals(" ".join(str(text).split())).replace("*", "\\*")


def short_pending(claim: str) -> str:
    """A held-back verdict's note as one short line of the table: its count of missing runs, or its
    text up to the command in parentheses (the chapter's page gives the whole note)."""
    missing = re.search(r"— ([\d,]+ runs? of .+?) still missing", claim)
    if missing:
        return f"Pending: {missing.group(1)} still missing"
    return claim.split(" (`")[0].split(" (the page")[0].rstrip(".")


def claims_markdown(frame: pd.DataFrame) -> str:
    """``claims_frame`` as one MyST list-table (class ``kcl-claims``): each chapter's name, linked to
    its page, leads the claim of its first row."""
    rows, previous = [COLUMNS], None
    for row in frame.to_dict("records"):
        claim = _cell(short_pending(row["claim"]) if row["verdict"] == stats.WAITING else row["claim"])
        if row["notebook"] != previous:
            claim = f"**{{doc}}`{row['chapter']} <../notebooks/{row['notebook']}>`**: {claim}"
        previous = row["notebook"]
        rows.append([claim, *(_cell(row[f]) for f in ("target", stats.OURS, stats.NON_EMBEDDING, "verdict"))])
    body = "\n".join("* " + "\n".join(f"  - {cell}" if cell else "  -" for cell in row)[2:] for row in rows)
    return f"```{{list-table}}\n:header-rows: 1\n:class: kcl-claims\n\n{body}\n```\n"
