"""bioD(N, K, C, D, L, T) (paper Definition 2.2) and keyed random strings (a calibration control).

bioD: N names drawn without replacement from the name pools; for each of K attributes a
diversity set 𝒟_a of D distinct strings in 𝒯^L; each person's value of attribute a is C chunks
drawn uniformly and independently from 𝒟_a.

Text format (the paper leaves bioD's tokenization open, §3.3): each of the T symbols is one token
``<tI>``, each attribute name one token ``<IDk>``, each name part one token; a person's paragraph
is the name followed by the K attributes in random order, each as ``<IDk> v_1 … v_C`` where a
chunk v_i is L symbols, so a person's values take K·C·L tokens. Sequences are separated by the
end-of-text token.

Random strings: each person (a unique name, the key) is followed by ``length`` symbols drawn
uniformly from T. The data holds exactly H = N·length·log2 T bits beyond the keys, and the paper's
value-only bound (§3 warm-up) credits a model with N·(length·log2 T − loss/ln 2).
"""

from __future__ import annotations

import math

import numpy as np

from kcl.data.base import NAME, OTHER, VALUE, Bios, Dataset
from kcl.people import NamePools, check_count, draw_names
from kcl.tokenizer import Vocab


def draw_diversity_set(d: int, t: int, l: int, rng: np.random.Generator) -> np.ndarray:
    """D distinct strings of 𝒯^L, uniformly without replacement, as a (D, L) array of symbols."""
    space = t ** l  # exact Python integer
    if d > space:
        raise ValueError(f"D must be in [1, T^L = {space:,}], got {d:,}")
    if space <= 10_000_000:  # enumerable: sample indices, then write them in base T
        flat = rng.choice(space, size=d, replace=False)
        digits = [flat // t ** i % t for i in reversed(range(l))]
        return np.stack(digits, axis=1).astype(np.int64)
    chosen: dict[tuple, None] = {}
    while len(chosen) < d:
        for row in map(tuple, rng.integers(0, t, size=(2 * (d - len(chosen)) + 8, l))):
            chosen.setdefault(row, None)
            if len(chosen) == d:
                break
    return np.array(list(chosen), dtype=np.int64)


class _Keyed(Dataset):
    """Shared parts: unique names as keys, a symbol alphabet, fixed-length paragraphs."""

    def _setup_names(self, n_people: int, pools: NamePools, rng) -> list[str]:
        check_count("n_people (N)", n_people, 1, pools.n0)
        self.n_people, self.pools = n_people, pools
        self.names = draw_names(n_people, pools, rng)
        first, middle, last = pools.parts()
        return list(first) + list(middle) + list(last)

    def _name_ids(self) -> np.ndarray:
        """(N, 3) token ids of every person's first, middle and last name."""
        ids = [np.array([self.vocab.id(w) for w in pool]) for pool in self.pools.parts()]
        return np.stack([ids[j][self.names[:, j]] for j in range(3)], axis=1)

    def name_sequences(self) -> list[tuple[int, ...]]:
        """Token ids of the N people's full names."""
        return [tuple(row) for row in self._name_table.tolist()]

    def used_token_ids(self) -> np.ndarray:
        return np.unique(np.concatenate([[self.vocab.eos_id], self._name_table.ravel(), self._extra_used()]))


class BioD(_Keyed):
    """bioD(N, K, C, D, L, T), Definition 2.2."""

    #: the attributes' order in a paragraph: drawn again at every exposure (kcl's reading of the
    #: paper's "random sentence order"), drawn once per person and kept, or one order for everyone
    ORDERS = ("exposure", "person", "fixed")

    #: the reserved token that ``domain_token`` puts before every biography (the paper's
    #: "wikipedia.org", Result 12); the model is told nothing about it
    DOMAIN_TOKEN = "<domain>"

    def __init__(self, n_people: int, K: int, C: int, D: int, L: int, T: int, seed: int = 0,
                 pools: NamePools = NamePools(), order: str = "exposure", domain_token: bool = False):
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {', '.join(self.ORDERS)}, got {order!r}")
        for knob, value in (("K", K), ("C", C), ("L", L), ("T", T), ("D", D)):
            check_count(knob, value, 1)
        if D > T ** L:
            raise ValueError(f"D must be in [1, T^L = {T ** L:,}], got {D:,}")
        self.name = "bioD"
        self.K, self.C, self.D, self.L, self.T, self.seed, self.order = K, C, D, L, T, seed, order
        self.domain_token = domain_token
        rng = np.random.default_rng([seed, 0xB10D])
        words = self._setup_names(n_people, pools, rng)
        self.attributes = tuple(f"ID{k + 1}" for k in range(K))
        self.vocab = Vocab.build(words + [f"<{a}>" for a in self.attributes] + [f"<t{i}>" for i in range(T)]
                                 + ([self.DOMAIN_TOKEN] if domain_token else []))
        self._domain_id = self.vocab.id(self.DOMAIN_TOKEN) if domain_token else None
        self._attr_id0 = self.vocab.id("<ID1>")
        self._sym0 = self.vocab.id("<t0>")
        self.diversity = np.stack([draw_diversity_set(D, T, L, rng) for _ in range(K)])  # (K, D, L)
        self.value_chunks = rng.integers(0, D, size=(n_people, K, C))  # index into 𝒟_a
        # symbols of every value: (N, K, C*L)
        symbols = self.diversity[np.arange(K)[None, :, None], self.value_chunks]  # (N, K, C, L)
        self._value_table = (symbols.reshape(n_people, K, C * L) + self._sym0).astype(np.int32)
        self._name_table = self._name_ids().astype(np.int32)
        # one order per person, from its own stream so that the data above stays as it was
        self._person_order = np.argsort(np.random.default_rng([seed, 0x0DE7]).random((n_people, K)), axis=1)

    def value_sequences(self, attr: int) -> list[tuple[int, ...]]:
        """The D chunk strings of attribute ``attr`` (its diversity set), as token ids."""
        return [tuple(row) for row in (self.diversity[attr] + self._sym0).tolist()]

    @property
    def bio_length(self) -> int:
        return (1 if self.domain_token else 0) + 3 + self.K * (1 + self.C * self.L)

    def _extra_used(self) -> np.ndarray:
        return np.concatenate([np.arange(self._attr_id0, self._attr_id0 + self.K),
                               np.unique(self.diversity) + self._sym0,
                               [self._domain_id] if self.domain_token else []]).astype(np.int64)

    def render(self, people, rng, *, exposure=0, measure=False, with_meta=False) -> Bios:
        people = np.asarray(people, dtype=np.int64)
        n, K = len(people), self.K
        order = np.argsort(rng.random((n, K)), axis=1)  # random sentence order (§2.2)
        if self.order == "person":
            order = self._person_order[people]
        elif self.order == "fixed":
            order = np.broadcast_to(np.arange(K), (n, K))
        return self.paragraphs(self._name_table[people], self._value_table[people], order, people,
                               domain=self.domain_token, with_meta=with_meta)

    def paragraphs(self, names: np.ndarray, values: np.ndarray, order: np.ndarray, people: np.ndarray, *,
                   domain: bool = False, with_meta: bool = False) -> Bios:
        """Paragraphs of people given as token ids: ``names`` (n, 3), ``values`` (n, K, C·L) in
        attribute order, each paragraph's attribute ``order`` (n, K); ``domain``: the domain token
        first. ``people`` labels them (the junk stream's people are no rows of the table)."""
        n, K, CL = len(names), self.K, self.C * self.L
        attr_tok = (order + self._attr_id0)[:, :, None]
        body = np.concatenate([attr_tok, values[np.arange(n)[:, None], order]], axis=2).reshape(n, K * (1 + CL))
        head = np.full((n, 1), self._domain_id) if domain else np.zeros((n, 0), np.int64)
        tokens = np.concatenate([head, names, body], axis=1)
        length = tokens.shape[1]
        out = Bios(tokens=tokens.ravel().astype(np.int32), offsets=np.arange(n + 1) * length,
                   person=np.asarray(people).astype(np.int32))
        if with_meta:
            h = head.shape[1]
            per_attr = lambda first, fill: np.concatenate(
                [np.full((n, K, 1), first), np.broadcast_to(fill, (n, K, CL))], axis=2).reshape(n, -1)
            role = np.concatenate([np.full((n, h), OTHER), np.full((n, 3), NAME),
                                   per_attr(OTHER, np.full((n, K, 1), VALUE))], axis=1)
            attr = np.concatenate([np.full((n, h + 3), -1), per_attr(-1, order[:, :, None])], axis=1)
            chunk_of = np.repeat(np.arange(self.C), self.L)[None, None, :]
            chunk = np.concatenate([np.full((n, h + 3), -1), per_attr(-1, chunk_of)], axis=1)
            out.role, out.attr = role.ravel().astype(np.int8), attr.ravel().astype(np.int8)
            out.chunk, out.alt = chunk.ravel().astype(np.int16), np.full(n * length, -1, np.int32)
        return out

    def max_bits(self) -> dict:
        """N·log2(N0/N) + N·K·C·log2 D + K·D·log2(T^L/D) (Definition 4.1, R^max numerator)."""
        N, K, C, D, L, T = self.n_people, self.K, self.C, self.D, self.L, self.T
        name = N * math.log2(self.pools.n0 / N)
        value = N * K * C * math.log2(D)
        diversity = K * D * (L * math.log2(T) - math.log2(D))
        return {"name": name, "value": value, "diversity": diversity, "total": name + value + diversity,
                "per_attribute": {a: N * C * math.log2(D) for a in self.attributes}}

    def bits(self, losses) -> dict:
        """Definition 4.1 with p1 = loss_name, p2 = loss_value, p3 = loss_value1 (nats), unclipped.

        ``losses``: "name" (N,), "value" (N, K) summed over a value's C chunks, "value1" (N, K)
        summed over its first chunk.
        """
        N, K, C, D, L, T, ln2 = self.n_people, self.K, self.C, self.D, self.L, self.T, math.log(2)
        p1 = float(np.mean(losses["name"]))
        p2 = float(np.mean(losses["value"]))
        p3 = float(np.mean(losses["value1"]))
        name = N * (math.log2(self.pools.n0) - p1 / ln2)
        value = N * K * (C * math.log2(D) - p2 / ln2)
        diversity = K * D * (L * math.log2(T) - math.log2(D) - p3 / ln2)
        if D == T ** L:
            # 𝒟_a is then all of 𝒯^L: fixed, known a priori, 0 bits (log2 C(T^L, D) = 0). The
            # exact bound's factor (T^L − D) vanishes, so Theorem 3.2 has no diversity term here.
            diversity = 0.0
        per_attr = {a: N * (C * math.log2(D) - float(np.mean(losses["value"][:, k])) / ln2)
                    for k, a in enumerate(self.attributes)}
        return {"name": name, "value": value, "diversity": diversity, "total": name + value + diversity,
                "per_attribute": per_attr}

    def counted_attributes(self) -> tuple[int, ...]:
        return tuple(range(self.K))


class RandomStrings(_Keyed):
    """Keyed uniformly random strings: N names, each followed by ``length`` symbols out of T."""

    def __init__(self, n_people: int, length: int, T: int, seed: int = 0, pools: NamePools = NamePools()):
        check_count("length", length, 1)
        check_count("T", T, 2)
        self.name, self.length, self.T, self.seed = "random", length, T, seed
        rng = np.random.default_rng([seed, 0x5157])
        words = self._setup_names(n_people, pools, rng)
        self.attributes = ("string",)
        self.vocab = Vocab.build(words + [f"<t{i}>" for i in range(T)])
        self._sym0 = self.vocab.id("<t0>")
        self.strings = rng.integers(0, T, size=(n_people, length))
        self._name_table = self._name_ids().astype(np.int32)

    def _extra_used(self) -> np.ndarray:
        return np.unique(self.strings) + self._sym0

    def value_sequences(self, attr: int) -> list[tuple[int, ...]]:
        """Every symbol (each symbol of a string is uniform over the alphabet)."""
        return [(self._sym0 + i,) for i in range(self.T)]

    def render(self, people, rng, *, exposure=0, measure=False, with_meta=False) -> Bios:
        people = np.asarray(people, dtype=np.int64)
        n, length = len(people), 3 + self.length
        tokens = np.concatenate([self._name_table[people], self.strings[people] + self._sym0], axis=1)
        out = Bios(tokens=tokens.ravel().astype(np.int32), offsets=np.arange(n + 1) * length,
                   person=people.astype(np.int32))
        if with_meta:
            row = lambda a, b: np.tile(np.array([a] * 3 + [b] * self.length), n)
            out.role, out.attr = row(NAME, VALUE).astype(np.int8), row(-1, 0).astype(np.int8)
            out.chunk = np.tile(np.array([-1] * 3 + list(range(self.length))), n).astype(np.int16)
            out.alt = np.full(n * length, -1, np.int32)
        return out

    def max_bits(self) -> dict:
        h = self.n_people * self.length * math.log2(self.T)
        return {"name": 0.0, "value": h, "diversity": 0.0, "total": h, "per_attribute": {"string": h}}

    def bits(self, losses) -> dict:
        """The value-only bound N·log2(T^length / e^loss) (paper §3, warm-up); keys are given."""
        value = self.n_people * (self.length * math.log2(self.T) - float(np.mean(losses["value"])) / math.log(2))
        return {"name": 0.0, "value": value, "diversity": 0.0, "total": value, "per_attribute": {"string": value}}

    def counted_attributes(self) -> tuple[int, ...]:
        return (0,)
