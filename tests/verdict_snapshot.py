"""The verdict tables of the chapters as rows of text, read from executed notebooks (the glue
``verdicts`` each chapter makes for the first page), and their committed snapshot.

    python tests/verdict_snapshot.py DIR    # rewrite tests/snapshots/verdicts.json from DIR/<chapter>.ipynb
                                            # (executed notebooks: papermill, cpu profile, or a book build's
                                            # _build/jupyter_execute/notebooks)

The book test compares the tables of every build with the snapshot: a move of code that changes a
claim, a figure, an interval or a verdict fails it. A change of the records or of a verdict rule
rewrites the snapshot in the same commit, where the diff shows what changed.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

from kcl.book.assets import chapter_notebooks

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "snapshots" / "verdicts.json"


def table_rows(table_html: str) -> list[list[str]]:
    """The cells of an HTML table, row by row, as plain text (tags dropped, entities read)."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return rows


def glued_verdicts(notebook: Path) -> list[list[str]]:
    """The rows of the ``verdicts`` table glued by an executed notebook."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            glue = out.get("metadata", {}).get("scrapbook", {})
            if glue.get("name") == "verdicts":
                return table_rows(out["data"][glue.get("mime_prefix", "") + "text/html"])
    raise LookupError(f"{notebook} glues no 'verdicts' table")


def write(folder: Path) -> None:
    snapshot = {name: glued_verdicts(Path(folder) / f"{name}.ipynb") for name in chapter_notebooks(ROOT)}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
