"""What every generator produces: token ids with the knowledge spans marked (paper Remark 3.1).

A rendered biography is a run of token ids. Beside every token the generator records its *role*
(template text, name, attribute value, gender pronoun), which attribute and which chunk of the
value it belongs to, and — for the gender pronoun — the other gender's token at that place. The
measurement sums the loss over exactly the knowledge tokens using these marks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from kcl.tokenizer import Vocab

# Token roles.
OTHER, NAME, VALUE, GENDER = 0, 1, 2, 3


@dataclass
class Bios:
    """A batch of rendered biographies, concatenated; bio i is ``slice(offsets[i], offsets[i+1])``."""

    tokens: np.ndarray  # int32, all bios back to back (no separators)
    offsets: np.ndarray  # int64, len n+1
    person: np.ndarray  # int32, the person of each bio
    role: np.ndarray | None = None  # int8 per token: OTHER / NAME / VALUE / GENDER
    attr: np.ndarray | None = None  # int8 per token: attribute index, -1 outside values
    chunk: np.ndarray | None = None  # int16 per token: chunk index inside a bioD value, -1 elsewhere
    alt: np.ndarray | None = None  # int32 per token: the other gender's token at a GENDER token, else -1

    def __len__(self) -> int:
        return len(self.person)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def bio(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]: self.offsets[i + 1]]

    @staticmethod
    def from_lists(pieces: list[dict], person: np.ndarray, with_meta: bool) -> "Bios":
        """Concatenate per-bio dicts of arrays (keys: tokens, role, attr, chunk, alt)."""
        lengths = np.fromiter((len(p["tokens"]) for p in pieces), dtype=np.int64, count=len(pieces))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        cat = lambda key, dtype: np.concatenate([np.asarray(p[key], dtype=dtype) for p in pieces])
        out = Bios(tokens=cat("tokens", np.int32), offsets=offsets, person=np.asarray(person, np.int32))
        if with_meta:
            out.role, out.attr = cat("role", np.int8), cat("attr", np.int8)
            out.chunk, out.alt = cat("chunk", np.int16), cat("alt", np.int32)
        return out


class Dataset(ABC):
    """A knowledge data set: a fixed people table and a way to render it as token ids.

    Subclasses define the rendering and the bit formulas; training and measurement only use
    this interface.
    """

    name: str
    vocab: Vocab
    n_people: int
    #: attribute names in the order of the ``attr`` marks
    attributes: tuple[str, ...]
    #: junk people mixed into the training stream (``kcl.data.junk.JunkPeople``), or None
    junk = None

    @abstractmethod
    def render(self, people: np.ndarray, rng: np.random.Generator, *, measure: bool = False,
               with_meta: bool = False) -> Bios:
        """Render one exposure of each person in ``people`` (in that order).

        ``measure=True`` renders the texts the measurement uses (for example, employer before
        company city; the fixed text of bioS-simple).
        """

    @abstractmethod
    def used_token_ids(self) -> np.ndarray:
        """Ids of the tokens that occur in this data set: the embedding rows the count includes."""

    @abstractmethod
    def bits(self, losses: dict[str, np.ndarray]) -> dict:
        """Bits of knowledge credited to a model from its per-person losses (nats)."""

    @abstractmethod
    def max_bits(self) -> dict:
        """Bits of knowledge a perfect model stores (R^max numerator), by term."""

    def describe(self) -> dict:
        out = {"name": self.name, "n_people": self.n_people, "vocab_size": len(self.vocab),
               "used_tokens": int(len(self.used_token_ids()))}
        if self.junk is not None:
            out["junk"] = {"people": self.junk.n_people, "share": self.junk.share}
        return out
