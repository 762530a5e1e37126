"""Every figure a page states comes from the records when the book is built: the prose of the
chapters' notebooks and of the book's pages types none by hand. A figure with three decimals (how
the book states R, bits per parameter, and intervals) in prose fails here. The paper's own figures
have one or two decimals and may be quoted; the protocol page (book/protocol.md) records what was
known when each rule was written, and keeps its figures as written then."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TYPED = re.compile(r"(?<![\w.·])\d\.\d{3,}(?![\w])")


def prose() -> dict[str, str]:
    texts = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[str(path.relative_to(ROOT))] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for path in sorted((ROOT / "book").glob("*.md")):
        if path.name != "protocol.md":
            texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return texts


@pytest.mark.parametrize("page", sorted(prose()))
def test_no_figure_is_typed_by_hand(page):
    text = prose()[page]
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code: parameters and commands, not figures
    text = re.sub(r"`[^`]*`", "", text)
    found = [text[max(0, m.start() - 40): m.end() + 10].replace("\n", " ") for m in TYPED.finditer(text)]
    assert not found, f"{page} types figures by hand: {found}"


def test_the_check_catches_a_typed_figure():
    assert TYPED.search("R = 0.119 [0.114, 0.124]") and not TYPED.search("about 2 bits, 1.3× worse, 2.5·10⁻³")
