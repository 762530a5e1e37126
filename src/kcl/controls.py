"""Control predictors with known answers, to validate the bit measurement end to end.

* ``uniform``: knows the value sets but nothing about the people — every full name of the N0 is
  equally likely, every value of an attribute's value set equally likely, each gender 1/2.
  Under Definition 4.3 it stores exactly 0 bits.
* ``oracle``: knows the people table — a name is one of the N people (uniform), and every value
  and gender token is certain. Under Definitions 4.1/4.3 it reaches R = R^max exactly.

They produce per-token losses in the same layout as ``capacity.token_losses``, so the same
aggregation and formulas are exercised. Multi-token values are scored with a prefix tree: the
probability of a token is the share of the value set that continues the prefix with it.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from kcl.data import GENDER, NAME, VALUE, Bios, Dataset


def _prefix_counts(sequences) -> Counter:
    """How many sequences start with each prefix; a whole sequence ``s`` also counts at
    ``s + ("end",)``."""
    counts = Counter()
    for seq in sequences:
        seq = tuple(seq)
        for j in range(len(seq) + 1):
            counts[seq[:j]] += 1
        counts[seq + ("end",)] += 1
    return counts


def _span_losses(span: np.ndarray, counts: Counter) -> np.ndarray:
    """−log P(token | prefix) along one value span, under the uniform-over-the-set distribution."""
    out = np.empty(len(span))
    for j in range(len(span)):
        out[j] = math.log(counts[tuple(span[:j])] / counts[tuple(span[: j + 1])])
    return out


def _spans(mask: np.ndarray, key: np.ndarray):
    """Runs of consecutive True in ``mask`` that share ``key`` (start, end, key)."""
    idx = np.nonzero(mask)[0]
    if not len(idx):
        return
    breaks = np.nonzero((np.diff(idx) != 1) | (np.diff(key[idx]) != 0))[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks + 1, [len(idx)]])
    for s, e in zip(starts, ends):
        yield idx[s], idx[e - 1] + 1, key[idx[s]]


def _name_part_sequences(dataset: Dataset) -> list[list[tuple[int, ...]]]:
    """The token sequences of every first, middle and last name of the data set's pools: its own
    where it has them (subword tokens), else one token per name part (word-level, bioD)."""
    if hasattr(dataset, "name_part_sequences"):
        return [list(pool) for pool in dataset.name_part_sequences()]
    return [[(dataset.vocab.id(w),) for w in pool] for pool in dataset.pools.parts()]


def _name_span_losses(span: np.ndarray, parts: list[Counter]) -> np.ndarray:
    """Losses along a full name under independent uniform first, middle and last names: the span
    is read part by part, each part's tokens scored in its pool's prefix tree. The pools' token
    sequences form prefix codes, so each part ends where its pool's tree has a whole name."""
    not_a_name = f"a name span of {len(span)} tokens is not one first, middle and last name of the pools"
    out, start = np.empty(len(span)), 0
    for counts in parts:
        end = start + 1
        while end <= len(span) and counts[tuple(span[start:end])] and not counts[tuple(span[start:end]) + ("end",)]:
            end += 1
        if end > len(span) or not counts[tuple(span[start:end])]:
            raise ValueError(not_a_name)
        out[start:end] = _span_losses(span[start:end], counts)
        start = end
    if start != len(span):
        raise ValueError(not_a_name)
    return out


def control_losses(dataset: Dataset, bios: Bios, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-token losses and greedy correctness of the ``uniform`` or ``oracle`` predictor."""
    if kind not in ("uniform", "oracle"):
        raise ValueError(f"control kind must be 'uniform' or 'oracle', got {kind!r}")
    loss = np.zeros(len(bios.tokens))
    correct = np.ones(len(bios.tokens), bool)
    person = np.repeat(bios.person, bios.lengths)
    # names: uniform over all N0 names (each part uniform over its pool), or over the N people
    if kind == "uniform":
        parts = [_prefix_counts(pool) for pool in _name_part_sequences(dataset)]
        for start, end, _ in _spans(bios.role == NAME, person):
            loss[start:end] = _name_span_losses(bios.tokens[start:end], parts)
        correct[bios.role == NAME] = False
    else:
        counts = _prefix_counts(dataset.name_sequences())
        for start, end, _ in _spans(bios.role == NAME, person):
            loss[start:end] = _span_losses(bios.tokens[start:end], counts)
    gender = bios.role == GENDER
    loss[gender] = math.log(2) if kind == "uniform" else 0.0
    if kind == "uniform":
        correct[gender] = False
        counts = {}
        # value spans: one per (person, attribute, chunk) run; the chunk mark splits bioD values
        key = person.astype(np.int64) * 1_000_000 + bios.attr.astype(np.int64) * 1000 + bios.chunk
        for start, end, _ in _spans(bios.role == VALUE, key):
            a = int(bios.attr[start])
            if a not in counts:
                counts[a] = _prefix_counts(dataset.value_sequences(a))
            loss[start:end] = _span_losses(bios.tokens[start:end], counts[a])
            correct[start:end] = False
    return loss, correct
