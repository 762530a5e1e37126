"""Word-level vocabularies built from the data, with no downloads.

The paper tokenizes bioS with GPT2's BPE and counts only the 3,275 tokens that occur (App. A).
A tiny CPU model cannot afford a 3K-row embedding beside a 30K-parameter body, so kcl builds a
word-level vocabulary from exactly the words its generators can emit: a name part is one token,
a year is one token (as in GPT2, paper fn 18), punctuation is one token. Which tokens a data set
actually uses is recorded by the data set (``used_token_ids``) and is what the parameter count
includes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

EOS = "<|endoftext|>"
PAD = "<pad>"
SPECIALS = (EOS, PAD)
_WORD = re.compile(r"\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Split text into word tokens: runs of letters/digits, and single punctuation marks."""
    return _WORD.findall(text)


class TokenList:
    """What every vocabulary answers from its ``tokens`` (id → token) and ``index`` (token → id):
    ids 0 and 1 are the end-of-text and pad tokens."""

    tokens: list[str]
    index: dict[str, int]
    eos_id = 0
    pad_id = 1

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def id(self, token: str) -> int:
        return self.index[token]


class Vocab(TokenList):
    """A fixed token list; ids are positions. Ids 0 and 1 are the end-of-text and pad tokens."""

    def __init__(self, tokens: Iterable[str]):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the special tokens {SPECIALS}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.tokens = tokens
        self.index = {tok: i for i, tok in enumerate(tokens)}

    @classmethod
    def build(cls, words: Iterable[str]) -> "Vocab":
        """Specials first, then every distinct word in order of first appearance."""
        seen = dict.fromkeys(SPECIALS)
        for word in words:
            seen.setdefault(word, None)
        return cls(seen)

    @classmethod
    def from_texts(cls, texts: Iterable[str], extra: Iterable[str] = ()) -> "Vocab":
        return cls.build([w for t in texts for w in split_words(t)] + list(extra))

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[w] for w in split_words(text)]
        except KeyError as err:
            raise KeyError(f"word {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> str:
        out = ""
        for i in ids:
            tok = self.tokens[int(i)]
            glue = not out or (len(tok) == 1 and not tok.isalnum() and tok not in "&(") or out[-1] in "'(-/"
            out += tok if glue else " " + tok
        return out

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.tokens, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        return cls(json.loads(Path(path).read_text()))

    def to_hf(self):
        """A transformers ``PreTrainedTokenizerFast`` with the same ids (for exported models)."""
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast

        tok = Tokenizer(models.WordLevel(vocab=dict(self.index), unk_token=PAD))
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(_WORD.pattern), behavior="isolated")])
        return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD,
                                       bos_token=EOS, unk_token=PAD)
