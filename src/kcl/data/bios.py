"""bioS, bioS-simple and the bioR proxy: biographies of the people table (paper §2.2).

* **bioS(N)**: every exposure renders a fresh biography — one template per attribute drawn from
  ~50, the six sentences in random order, the full name in the first sentence and the pronoun
  after it.
* **bioS-simple(N)**: one fixed biography per person, the same text at every exposure.
* **bioR-proxy(N, M)**: M fixed rewrites per person, from larger template pools, in varied order,
  with irrelevant filler sentences that differ per rewrite (between ``fillers`` = (at least, at
  most) per rewrite; none with (0, 0), and then no filler word is in the vocabulary). The paper
  used 40 LLaMA2 rewrites; no LLM runs here, so this is a *proxy*. Its sentence templates are
  bioS's ~50 per attribute and ~66 more of its own (``templates="bioS+bioR"``), or bioS's alone
  (``templates="bioS"``).

Measurement texts put the employer before the company city: the city is a function of the
employer, so in the other order it would give the employer away and inflate its bits.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources

import numpy as np

from kcl.data.base import GENDER, NAME, OTHER, VALUE, Bios, Dataset
from kcl.people import (DAYS, FIRST_YEAR, KNOWLEDGE_ATTRIBUTES, MONTHS, N_YEARS, PRONOUNS,
                        SENTENCE_ATTRIBUTES, NamePools, draw_people, value_lists)
from kcl.subword import TOKENIZER_FILES, load_subword
from kcl.tokenizer import Vocab, split_words

ATTRIBUTES = KNOWLEDGE_ATTRIBUTES + ("company_city",)  # order of the ``attr`` marks
_SENTENCE_ATTR_INDEX = tuple(ATTRIBUTES.index(a) for a in SENTENCE_ATTRIBUTES)
_EMPLOYER, _COMPANY_CITY = SENTENCE_ATTRIBUTES.index("employer"), SENTENCE_ATTRIBUTES.index("company_city")


#: the bioR proxy's template pools: bioS's and its own (result 2's), or bioS's alone
TEMPLATE_POOLS = ("bioS+bioR", "bioS")
#: the vocabularies a biography can be tokenized with: word level (``kcl.tokenizer``) or a trained
#: subword tokenizer (``kcl.subword``)
TOKENIZERS = ("word",) + tuple(TOKENIZER_FILES)


@lru_cache(maxsize=None)
def _templates(pool: str, attribute: str) -> tuple[str, ...]:
    """Sentence templates of one pool ("bios" or "bior") for one attribute (or "filler")."""
    path = resources.files("kcl").joinpath("data", "templates", pool, f"{attribute}.txt")
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _value_strings() -> dict[str, list[str]]:
    lists = value_lists()
    return {"birth_city": list(lists.cities), "university": list(lists.universities),
            "major": list(lists.majors), "employer": list(lists.employers),
            "company_city": list(lists.employer_cities)}


class Biographies(Dataset):
    """bioS, bioS-simple or the bioR proxy over one people table."""

    KINDS = ("bioS", "bioS-simple", "bioR-proxy")

    def __init__(self, kind: str, n_people: int, seed: int = 0, pools: NamePools = NamePools(),
                 rewrites: int = 40, fillers: tuple[int, int] = (1, 3), templates: str = "bioS+bioR",
                 tokenizer: str = "word"):
        if kind not in self.KINDS:
            raise ValueError(f"data set must be one of {self.KINDS}, got {kind!r}")
        if kind == "bioR-proxy" and (not isinstance(rewrites, int) or rewrites < 1):
            raise ValueError(f"rewrites (M) must be an integer >= 1, got {rewrites!r}")
        if templates not in TEMPLATE_POOLS:
            raise ValueError(f"templates must be one of {', '.join(TEMPLATE_POOLS)}, got {templates!r}")
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}")
        self.tokenizer = tokenizer
        self.name, self.kind, self.seed, self.pools = kind, kind, seed, pools
        self.attributes = ATTRIBUTES
        self.people = draw_people(n_people, seed, pools)
        self._gender = self.people["gender"].to_numpy()  # read per biography: a pandas lookup each time is slow
        self.n_people = n_people
        self.rewrites = rewrites if kind == "bioR-proxy" else 1
        self.fillers = fillers
        own_pool = kind == "bioR-proxy" and templates == "bioS+bioR"
        self.template_pool = {a: _templates("bios", a) + (_templates("bior", a) if own_pool else ())
                              for a in SENTENCE_ATTRIBUTES}
        self.filler_pool = _templates("bior", "filler") if kind == "bioR-proxy" and fillers[1] > 0 else ()
        self._build_vocab()
        self._fixed: dict[int, Bios] = {}

    # -- vocabulary and pre-tokenized pieces ---------------------------------------------------
    def _build_vocab(self) -> None:
        """The vocabulary and every piece of text pre-tokenized. Pieces carry the spaces they have
        in the text (a word-level vocabulary ignores them; a subword one needs them)."""
        first, middle, last = self.pools.parts()
        values = _value_strings()
        self.vocab = vocab = self._word_vocab(values) if self.tokenizer == "word" else load_subword(self.tokenizer)
        enc = lambda text: tuple(vocab.encode(text))
        self._name_parts = tuple([enc(" " + w) for w in pool] for pool in (first, middle, last))
        fp, mp, lp = self._name_parts
        self._name_ids = [fp[a] + mp[b] + lp[c]
                          for a, b, c in self.people[["first", "middle", "last"]].itertuples(index=False)]
        self._poss_suffix = enc("'s")
        self._pronoun = [(_single(enc(" " + s), s), _single(enc(" " + p), p)) for s, p in PRONOUNS]
        t = self.people
        keys = list(zip(t.birth_month, t.birth_day, t.birth_year))
        dates = {key: enc(_date_text(*key)) for key in set(keys)}
        by_attr = {"birth_date": [dates[key] for key in keys]}
        for attr, column in (("birth_city", "birth_city"), ("university", "university"),
                             ("major", "major"), ("employer", "employer"), ("company_city", "employer")):
            encoded = [enc(" " + s) for s in values[attr]]
            by_attr[attr] = [encoded[i] for i in t[column]]
        self._values = [by_attr[a] for a in SENTENCE_ATTRIBUTES]
        self._templates = [[self._parse(t) for t in self.template_pool[a]] for a in SENTENCE_ATTRIBUTES]
        self._filler = [self._parse(t) for t in self.filler_pool]

    def _word_vocab(self, values: dict[str, list[str]]) -> Vocab:
        """Every word the generator can emit, in a fixed order (the ids of earlier records)."""
        first, middle, last = self.pools.parts()
        words = [w for pool in (first, middle, last) for w in pool]
        words += [w for pair in PRONOUNS for w in pair] + split_words("'s")
        words += list(MONTHS) + [str(d) for d in range(1, 29)] + [","]
        words += [str(y) for y in range(1900, 2100)]
        for strings in values.values():
            words += [w for s in strings for w in split_words(s)]
        for pool in list(self.template_pool.values()) + [self.filler_pool]:
            words += [w for t in pool for w in split_words(t.replace("{subj}", "").replace("{poss}", "")
                                                           .replace("{value}", ""))]
        return Vocab.build(words)

    def _parse(self, template: str) -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
        """(possessive head?, tokens between head and value, tokens after the value)."""
        head = "{poss}" if template.startswith("{poss}") else "{subj}"
        if not template.startswith(head):
            raise ValueError(f"template must start with {{subj}} or {{poss}}: {template!r}")
        pre, _, post = template[len(head):].partition("{value}")
        return head == "{poss}", tuple(self.vocab.encode(pre.rstrip())), tuple(self.vocab.encode(post))

    # -- rendering -----------------------------------------------------------------------------
    def render(self, people, rng, *, exposure=0, measure=False, with_meta=False) -> Bios:
        people = np.asarray(people)
        if self.kind == "bioS":
            return self._render_fresh(people, rng, measure=measure, with_meta=with_meta)
        fixed = self._fixed_texts(exposure % self.rewrites)
        return _take(fixed, people, with_meta)

    def _fixed_texts(self, rewrite: int) -> Bios:
        """Rewrite number ``rewrite`` of every person (seeded, employer before company city)."""
        if rewrite not in self._fixed:
            rng = np.random.default_rng([self.seed, 0xF1, rewrite])
            self._fixed[rewrite] = self._render_fresh(np.arange(self.n_people), rng, measure=True,
                                                      with_meta=True, filler=bool(self.filler_pool))
        return self._fixed[rewrite]

    def _render_fresh(self, people, rng, *, measure, with_meta, filler=False) -> Bios:
        n, k = len(people), len(SENTENCE_ATTRIBUTES)
        order = np.argsort(rng.random((n, k)), axis=1)
        if measure:  # employer before company city (see module docstring)
            pos = np.argsort(order, axis=1)
            swap = pos[:, _COMPANY_CITY] < pos[:, _EMPLOYER]
            rows = np.nonzero(swap)[0]
            order[rows, pos[rows, _EMPLOYER]] = _COMPANY_CITY
            order[rows, pos[rows, _COMPANY_CITY]] = _EMPLOYER
        sizes = np.array([len(t) for t in self._templates])
        choice = (rng.random((n, k)) * sizes).astype(np.int64)
        if filler:
            lo, hi = self.fillers
            n_fill = rng.integers(lo, hi + 1, n)
            fill_ids = rng.integers(0, len(self._filler), (n, hi))
            fill_pos = rng.integers(1, k + 1, (n, hi))  # inserted after sentence pos-1 (never first)
        pieces = []
        for i, p in enumerate(people):
            fills = {}
            if filler:
                for j in range(n_fill[i]):
                    fills.setdefault(int(fill_pos[i, j]), []).append(int(fill_ids[i, j]))
            pieces.append(self._render_one(int(p), order[i], choice[i], fills))
        return Bios.from_lists(pieces, people, with_meta)

    def _render_one(self, p: int, order, choice, fills: dict) -> dict:
        tokens, role, attr, alt = [], [], [], []
        gender = int(self._gender[p])
        pronoun_seen = False

        def emit(ids, r=OTHER, a=-1, other=-1):
            tokens.extend(ids)
            role.extend([r] * len(ids))
            attr.extend([a] * len(ids))
            alt.extend([other] * len(ids))

        def head(possessive: bool, first: bool):
            nonlocal pronoun_seen
            if first:
                emit(self._name_ids[p], NAME)
                if possessive:
                    emit(self._poss_suffix)
            else:
                form = 1 if possessive else 0
                tok, other = self._pronoun[gender][form], self._pronoun[1 - gender][form]
                if pronoun_seen:
                    emit((tok,))
                else:  # the first pronoun carries the gender bit (Def. 4.3, fn 12)
                    emit((tok,), GENDER, KNOWLEDGE_ATTRIBUTES.index("gender"), other)
                    pronoun_seen = True

        for j, s in enumerate(order):
            possessive, pre, post = self._templates[s][choice[s]]  # choice is per attribute
            head(possessive, j == 0)
            emit(pre)
            emit(self._values[s][p], VALUE, _SENTENCE_ATTR_INDEX[s])
            emit(post)
            for f in fills.get(j + 1, ()):
                possessive, body, _ = self._filler[f]
                head(possessive, False)
                emit(body)
        n = len(tokens)
        return {"tokens": tokens, "role": role, "attr": attr, "alt": alt, "chunk": [-1] * n}

    # -- accounting ----------------------------------------------------------------------------
    def used_token_ids(self) -> np.ndarray:
        used = {self.vocab.eos_id}
        used.update(t for ids in self._name_ids for t in ids)
        used.update(t for values in self._values for ids in values for t in ids)
        used.update(t for pair in self._pronoun for t in pair)
        used.update(self._poss_suffix)
        for parsed in self._templates + [self._filler]:
            used.update(t for _, pre, post in parsed for t in pre + post)
        return np.array(sorted(used), dtype=np.int64)

    def name_sequences(self) -> list[tuple[int, ...]]:
        """Token ids of the N people's full names."""
        return list(self._name_ids)

    def name_part_sequences(self) -> tuple[list[tuple[int, ...]], ...]:
        """Token ids of every first, middle and last name of the pools (a name is one of each)."""
        return self._name_parts

    def value_sequences(self, attr: int) -> list[tuple[int, ...]]:
        """Token ids of every possible value of attribute ``attr`` (its whole value set)."""
        name = ATTRIBUTES[attr]
        vocab = self.vocab
        if name == "birth_date":
            return [tuple(vocab.encode(_date_text(m, d, y)))
                    for m in range(len(MONTHS)) for d in range(1, DAYS + 1) for y in range(FIRST_YEAR, FIRST_YEAR + N_YEARS)]
        if name == "gender":
            return [(s,) for s, _ in self._pronoun]
        return sorted({tuple(vocab.encode(" " + v)) for v in _value_strings()[name]})

    def attribute_sizes(self) -> dict[str, int]:
        return value_lists().attribute_sizes

    def max_bits(self) -> dict:
        """N·log2(N0/N) + N·log2 S0 (Definition 4.3, R^max numerator)."""
        n, sizes = self.n_people, self.attribute_sizes()
        per_attr = {a: n * math.log2(sizes[a]) for a in KNOWLEDGE_ATTRIBUTES}
        name = n * math.log2(self.pools.n0 / n)
        return {"name": name, "value": sum(per_attr.values()), "diversity": 0.0,
                "total": name + sum(per_attr.values()), "per_attribute": per_attr}

    def bits(self, losses) -> dict:
        """N·log2(N0/e^p1) + N·log2(S0/e^p2) (Definition 4.3); never clipped at zero.

        ``losses["name"]`` is the per-person name loss (nats), ``losses["value"]`` the per-person,
        per-attribute value loss (N × attributes, nats; company city is not counted).
        """
        n, sizes, ln2 = self.n_people, self.attribute_sizes(), math.log(2)
        name = n * (math.log2(self.pools.n0) - float(np.mean(losses["name"])) / ln2)
        per_attr = {}
        for a in KNOWLEDGE_ATTRIBUTES:
            mean_loss = float(np.mean(losses["value"][:, ATTRIBUTES.index(a)]))
            per_attr[a] = n * (math.log2(sizes[a]) - mean_loss / ln2)
        value = sum(per_attr.values())
        return {"name": name, "value": value, "diversity": 0.0, "total": name + value,
                "per_attribute": per_attr}

    def counted_attributes(self) -> tuple[int, ...]:
        return tuple(ATTRIBUTES.index(a) for a in KNOWLEDGE_ATTRIBUTES)


def _date_text(month: int, day: int, year: int) -> str:
    """A birth date as the text renders it, from the people table's columns (month as an index)."""
    return f" {MONTHS[month]} {day}, {year}"


def _single(ids: tuple[int, ...], word: str) -> int:
    """The one token of ``word``: the gender bit is read at a pronoun as a two-way choice between
    two tokens, so each pronoun must be one token."""
    if len(ids) != 1:
        raise ValueError(f"the pronoun {word!r} must be one token of the vocabulary, got {len(ids)}")
    return ids[0]


def _take(bios: Bios, people: np.ndarray, with_meta: bool) -> Bios:
    """The bios of ``people`` (in that order) out of a pre-rendered batch indexed by person."""
    starts, ends = bios.offsets[people], bios.offsets[people + 1]
    lengths = ends - starts
    index = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    out = Bios(tokens=bios.tokens[index], offsets=np.concatenate([[0], np.cumsum(lengths)]),
               person=people.astype(np.int32))
    if with_meta:
        out.role, out.attr, out.chunk, out.alt = (bios.role[index], bios.attr[index],
                                                  bios.chunk[index], bios.alt[index])
    return out
