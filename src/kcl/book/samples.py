"""Generated examples of the data sets, as text or as HTML with the knowledge tokens marked.

The book's data page and the explorer call these at build time, so every example shown is real
generator output (``kcl.data``), decoded with the data set's vocabulary.
"""

from __future__ import annotations

import html

import numpy as np

from kcl.data import GENDER, NAME, VALUE, DataConfig, make_dataset

ROLE_STYLE = {NAME: ("name", "#1f5fa8"), VALUE: ("value", "#b5420b"), GENDER: ("gender", "#2e7d32")}


def render(config: DataConfig, n: int = 3, seed: int = 0, measure: bool = False):
    """(dataset, bios): ``n`` people's paragraphs, with the role of every token."""
    dataset = make_dataset(config)
    people = np.arange(min(n, dataset.n_people))
    return dataset, dataset.render(people, np.random.default_rng(seed), measure=measure, with_meta=True)


def sample_text(config: DataConfig, n: int = 3, seed: int = 0) -> list[str]:
    """``n`` rendered paragraphs of a data set config, decoded to text."""
    dataset, bios = render(config, n, seed)
    return [dataset.vocab.decode(bios.bio(i)) for i in range(len(bios))]


def marked_html(config: DataConfig, n: int = 2, seed: int = 0, measure: bool = False,
                max_tokens: int | None = None) -> str:
    """HTML of ``n`` paragraphs with name, value and gender tokens coloured (the tokens whose loss
    the measurement sums, paper Remark 3.1) and a legend; paragraphs longer than ``max_tokens``
    are cut with an ellipsis."""
    dataset, bios = render(config, n, seed, measure)
    vocab = dataset.vocab
    paragraphs = []
    for i in range(len(bios)):
        sl = slice(bios.offsets[i], bios.offsets[i + 1])
        tokens, roles = bios.tokens[sl], bios.role[sl]
        shown = len(tokens) if max_tokens is None else min(len(tokens), max_tokens)
        pieces = []
        for j in range(shown):
            # the text decode() adds for token j depends only on the token before it
            piece = vocab.decode(tokens[j - 1: j + 1])[len(vocab.decode(tokens[j - 1: j])):] if j else vocab.decode(tokens[:1])
            space, word = (" ", piece[1:]) if piece.startswith(" ") else ("", piece)
            word = html.escape(word)
            if roles[j] in ROLE_STYLE:
                label, colour = ROLE_STYLE[roles[j]]
                word = f'<span style="color:{colour};font-weight:600" title="{label}">{word}</span>'
            pieces.append(space + word)
        more = f" … ({len(tokens) - shown:,} more tokens)" if shown < len(tokens) else ""
        paragraphs.append(f'<p style="font-family:monospace;font-size:0.9em">{"".join(pieces)}{more}</p>')
    legend = " · ".join(f'<span style="color:{c};font-weight:600">{label}</span>' for label, c in ROLE_STYLE.values())
    return f'<div class="kcl-sample">{"".join(paragraphs)}<p><small>knowledge tokens: {legend}</small></p></div>'
