"""The verdicts of the chapters, committed twice: as rows of text (the glue ``verdicts`` each
chapter makes for the first page) in tests/snapshots/verdicts.json, and as the outputs of each
chapter notebook's verdict cell (tagged ``nbval-check-output``), which ``make test`` re-executes
with ``pytest --nbval-lax`` on the committed records.

    python tests/verdict_snapshot.py DIR    # rewrite both from DIR/<chapter>.ipynb (executed notebooks:
                                            # papermill, cpu profile; `make verdicts` runs them)

The book test compares the tables of every build with the snapshot, and nbval compares each verdict
cell's output: a move of code that changes a claim, a figure, an interval or a verdict fails them. A
change of the records or of a verdict rule rewrites both in the same commit, where the diff shows
what changed.
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


CHECKED = "nbval-check-output"  # the tag of the one cell per chapter notebook whose output nbval compares


def checked_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if CHECKED in c.get("metadata", {}).get("tags", [])]


def commit_verdict_outputs(executed: Path, notebook: Path) -> None:
    """Copy the outputs and execution count of the verdict cell of an executed notebook into the
    committed one (the same cell by id); every other cell keeps no output."""
    ran = {c["id"]: c for c in checked_cells(json.loads(executed.read_text(encoding="utf-8")))}
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in checked_cells(nb):
        if cell["id"] not in ran:
            raise LookupError(f"{executed} has no executed cell {cell['id']} (its verdict cell)")
        # an object's address differs at every run (nbval reads it through tests/nbval-sanitize.cfg)
        cell["outputs"] = json.loads(re.sub(r"at 0x[0-9a-f]+", "at 0xADDRESS", json.dumps(ran[cell["id"]]["outputs"])))
        cell["execution_count"] = ran[cell["id"]]["execution_count"]  # nbval compares only cells that ran
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write(folder: Path) -> None:
    snapshot = {name: glued_verdicts(Path(folder) / f"{name}.ipynb") for name in chapter_notebooks(ROOT)}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in chapter_notebooks(ROOT):
        commit_verdict_outputs(Path(folder) / f"{name}.ipynb", ROOT / "notebooks" / f"{name}.ipynb")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
