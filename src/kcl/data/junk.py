"""Junk people for bioD: a population of any size N′, none of it built in memory (Results 10–11).

Junk person j (0 ≤ j < N′) is a pure function of (seed, j): its name parts and value chunks come
from a counter-based hash (SplitMix64) of the seed, j and the field, so any junk person is rendered
on demand and the same in every run, resumed or not. Junk people are bioD people of the same form
as the useful ones: the same name pools, attributes, value chunks from the same diversity sets and
the same vocabulary. A junk name is never a useful person's name (a colliding draw is redrawn);
two junk people may share a name (N′ may exceed the pools' N0), each with values of its own.

The training stream (``kcl.train.round_sequences``) adds junk biographies to each round so that
they make ``share`` of its biography tokens; each is a uniform draw from the N′ junk people. With
N′ far above the junk biographies of a whole run ("random junk", the paper's N′ = 100M), each junk
person appears about once or never; with a small N′ ("repetitive junk", the paper's N′ = 1K), each
appears many times.
"""

from __future__ import annotations

import numpy as np

from kcl.data.base import Bios

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on an array of uint64: a bijection that scrambles every bit."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class JunkPeople:
    """N′ junk people of a bioD data set, rendered on demand (see the module docstring)."""

    #: the fields a junk person's hash is keyed by: 3 name parts, then K·C value chunks, from here
    _VALUE_FIELD = 3
    _REDRAW_FIELD = 1 << 20  # name redraws after a collision with a useful name

    def __init__(self, dataset, n_people: int, share: float, seed: int = 0):
        if not isinstance(n_people, int) or isinstance(n_people, bool) or n_people < 1:
            raise ValueError(f"junk_people (N') must be an integer >= 1, got {n_people!r}")
        if not 0 < share < 1:
            raise ValueError(f"junk_share must be in (0, 1), got {share!r}")
        self.dataset, self.n_people, self.share = dataset, n_people, share
        pools = dataset.pools
        if dataset.n_people >= pools.n0:
            raise ValueError(f"junk people need names the useful people leave free: n_people (N) must be below "
                             f"the name pools' N0 = {pools.n0:,}, got {dataset.n_people:,}")
        self._key = splitmix64(np.array([seed, 0x7A4C], dtype=np.uint64)).sum(dtype=np.uint64)
        sizes = (pools.first, pools.middle, pools.last)
        self._sizes = np.array(sizes, dtype=np.uint64)
        names = dataset.names.astype(np.int64)
        self._useful = set(((names[:, 0] * sizes[1] + names[:, 1]) * sizes[2] + names[:, 2]).tolist())
        self._part_ids = [np.array([dataset.vocab.id(w) for w in pool]) for pool in dataset.pools.parts()]

    def _draw(self, people: np.ndarray, field: int, modulus) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = splitmix64(splitmix64(people.astype(np.uint64) ^ self._key) + np.uint64(field))
        return (h % np.asarray(modulus, dtype=np.uint64)).astype(np.int64)

    def names(self, people: np.ndarray) -> np.ndarray:
        """(n, 3) pool indices of the junk people's first, middle and last names."""
        people = np.asarray(people, dtype=np.int64)
        parts = np.stack([self._draw(people, f, self._sizes[f]) for f in range(3)], axis=1)
        sizes = self._sizes.astype(np.int64)
        redraw = 0
        while True:
            flat = (parts[:, 0] * sizes[1] + parts[:, 1]) * sizes[2] + parts[:, 2]
            clash = np.fromiter((v in self._useful for v in flat.tolist()), bool, len(flat))
            if not clash.any():
                return parts
            redraw += 1
            base = self._REDRAW_FIELD * redraw
            parts[clash] = np.stack([self._draw(people[clash], base + f, self._sizes[f]) for f in range(3)], axis=1)

    def chunks(self, people: np.ndarray) -> np.ndarray:
        """(n, K, C) indices into each attribute's diversity set."""
        d = self.dataset
        people = np.asarray(people, dtype=np.int64)
        fields = self._VALUE_FIELD + np.arange(d.K * d.C)
        drawn = np.stack([self._draw(people, int(f), d.D) for f in fields], axis=1)
        return drawn.reshape(len(people), d.K, d.C)

    def render(self, people: np.ndarray, rng: np.random.Generator) -> Bios:
        """One exposure of each junk person in ``people``: bioD paragraphs with the attributes in a
        fresh random order, no domain token (it marks useful data only); marked person -1."""
        d = self.dataset
        people = np.asarray(people, dtype=np.int64)
        n = len(people)
        parts = self.names(people)
        names = np.stack([self._part_ids[j][parts[:, j]] for j in range(3)], axis=1)
        symbols = d.diversity[np.arange(d.K)[None, :, None], self.chunks(people)]  # (n, K, C, L)
        values = symbols.reshape(n, d.K, d.C * d.L) + d._sym0
        order = np.argsort(rng.random((n, d.K)), axis=1)
        return d.paragraphs(names, values, order, np.full(n, -1), domain=False)

    @property
    def bio_length(self) -> int:
        """Tokens of a junk biography: a useful one's, without the domain token."""
        return self.dataset.bio_length - (1 if self.dataset.domain_token else 0)

    def bios_for(self, useful_tokens: int) -> int:
        """Junk biographies to add to a round whose useful biographies hold ``useful_tokens``
        tokens, so that junk makes ``share`` of the round's biography tokens."""
        return max(1, round(useful_tokens * self.share / (1 - self.share) / self.bio_length))

    def round_bios(self, useful_tokens: int, rng: np.random.Generator) -> Bios:
        """A round's junk biographies: ``bios_for(useful_tokens)`` uniform draws of junk people."""
        return self.render(rng.integers(0, self.n_people, self.bios_for(useful_tokens)), rng)
