"""The first page's table of claims (kcl.book.claims): one row per deciding claim of every chapter,
each chapter linked once; the book test checks it against each chapter's own compact table."""

from pathlib import Path

import pandas as pd
import pytest

from kcl.book import claims, stats
from kcl.book.assets import chapter_notebooks

ROOT = Path(__file__).resolve().parents[1]


def test_every_chapter_of_the_book_has_a_reading_of_its_verdicts():
    assert sorted(claims.readers()) == sorted(chapter_notebooks(ROOT))


def test_an_unknown_chapter_is_refused_before_any_record_is_read():
    with pytest.raises(ValueError, match="result99"):
        claims.claims_frame(["result99"])


def frame() -> pd.DataFrame:
    rows = [("result1", "peak R(F)", "≥ 2", "1.489 [0.063, 2.914]", "2.179", "reproduced"),
            ("result1", "R / R^max | at most 1.8", "≈ 1", "0.800 [0.798, 0.801]", "", "partly reproduced"),
            ("result5", "Pending: Result 5: other architectures — 4 runs of its rate pilot still "
                        "missing (`kcl chapter result5 --dry-run`)", "", "", "", stats.WAITING)]
    out = pd.DataFrame(rows, columns=["notebook", "claim", "target", stats.OURS, stats.NON_EMBEDDING, "verdict"])
    out.insert(1, "chapter", out["notebook"].map(claims.chapter_label))
    return out


def test_the_table_links_each_chapter_on_its_first_row_and_keeps_every_figure():
    text = claims.claims_markdown(frame())
    assert text.startswith("```{list-table}\n:header-rows: 1\n:class: kcl-claims\n\n") and text.endswith("```\n")
    rows = text.split("\n\n", 1)[1].removesuffix("```\n").split("\n* ")
    assert len(rows) == 1 + 3 and rows[0].startswith("* - claim\n  - paper\n  - ours [95% interval]")
    assert rows[1] == ("- **{doc}`Result 1 <../notebooks/result1>`**: peak R(F)\n  - ≥ 2\n  - 1.489 [0.063,\u00a02.914]\n"
                       "  - 2.179\n  - reproduced")
    assert rows[2].startswith("- R / R^max | at most 1.8\n")  # the same chapter: no second link
    assert "\n  -\n" in rows[2]  # an empty cell stays a cell
    assert rows[3].startswith("- **{doc}`Result 5 <../notebooks/result5>`**: Pending: 4 runs of its rate pilot still missing\n")
    assert rows[3].endswith(f"\n  -\n  -\n  -\n  - {stats.WAITING}\n")


@pytest.mark.parametrize("note, short", [
    ("Protocol v4: Pending: the verdict waits for the whole sweep (the page's \"Still running\" lists what is left).",
     "Protocol v4: Pending: the verdict waits for the whole sweep"),
    ("Pending: 3 of protocol v4's runs are not stored yet (`kcl chapter result2-v4 --dry-run`); the models are "
     "measured once they are.", "Pending: 3 of protocol v4's runs are not stored yet"),
    ("Pending: Result 10: junk data — 66 runs of the recipe pilot `recipe-100` it waits for still missing, and any "
     "stages after it follow (`kcl chapter result10 --dry-run` lists them)",
     "Pending: 66 runs of the recipe pilot `recipe-100` it waits for still missing"),
    ("Pending: Result 12: a domain token — 1 run of its main sweep still missing, and any stages after it follow",
     "Pending: 1 run of its main sweep still missing"),
])
def test_a_held_back_verdict_reads_as_one_short_line(note, short):
    assert claims.short_pending(note) == short


def test_chapter_labels():
    assert [claims.chapter_label(n) for n in ("result12", "reference", "random_strings")] == [
        "Result 12", "Reference", "Random strings"]


def test_every_chapters_rows_are_read_from_the_committed_records_as_its_page_judges_them():
    """Each chapter module's FIRST_PAGE reader on the committed records: its rows in the book's
    order, each judged row one of the verdicts committed in tests/snapshots/verdicts.json for that
    chapter (figure, interval and verdict), each held-back row a waiting one."""
    import json

    from verdict_snapshot import SNAPSHOT

    names = chapter_notebooks(ROOT)
    frame = claims.claims_frame(names)
    assert list(frame["notebook"].unique()) == names
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for row in frame.to_dict("records"):
        cells = [row["target"], row[stats.OURS], row[stats.NON_EMBEDDING], row["verdict"]]
        if row["verdict"] == stats.WAITING:
            assert cells[:3] == ["", "", ""], row["notebook"]
        else:
            assert cells in [r[2:] for r in committed[row["notebook"]]], (row["notebook"], row["claim"])
