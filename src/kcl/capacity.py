"""Bits of knowledge measured from loss (paper §3–4: Theorem 3.2, Definitions 4.1 and 4.3).

The model reads one measurement rendering of every person (``EOS`` + biography) and we sum its
cross-entropy (nats) over exactly the knowledge tokens (Remark 3.1):

* ``name``: the name tokens right after ``EOS`` — the model's loss of generating the name;
* ``value[:, a]``: the tokens of attribute a's value;
* ``value1[:, a]``: the tokens of its first chunk (bioD; the whole value elsewhere);
* the gender of bioS: the first pronoun, as a two-way choice between the two genders' forms at that
  place (−log softmax over the two logits). A plain cross-entropy there would also charge the
  model for not knowing which *template* comes next, which is no part of the person's knowledge.
  The two-way rule is still a valid predictor of the gender for the bound (Lemma F.1).

``capacity`` turns the losses into bits with the data set's formula, R(F) = bits / P and
R^max(F) = max bits / P, with a bootstrap interval over people. Nothing is clipped at zero: a model
worse than chance has negative bits. The exact-match accuracy per attribute is the share of people
whose value is the greedy continuation at every token (the paper's knowledge accuracy).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from kcl.data import GENDER, NAME, VALUE, Bios, Dataset


def measurement_bios(dataset: Dataset, seed: int = 1234, renderings: int = 1) -> list[Bios]:
    """The texts the measurement reads: fresh renderings (bioS), the fixed text (bioS-simple),
    rewrites 0..renderings-1 (bioR proxy); employer always before company city."""
    people = np.arange(dataset.n_people)
    return [dataset.render(people, np.random.default_rng([seed, 0x3EA5, r]), exposure=r, measure=True,
                           with_meta=True) for r in range(renderings)]


def eos_padded(bios: Bios, rows, eos: int, pad: int) -> np.ndarray:
    """Bios ``rows`` of ``bios`` as one int64 batch: ``EOS`` + each bio, padded to the longest."""
    lengths = bios.lengths
    seqs = np.full((len(rows), int(lengths[rows].max()) + 1), pad, np.int64)
    seqs[:, 0] = eos
    for row, i in enumerate(rows):
        seqs[row, 1: 1 + lengths[i]] = bios.bio(i)
    return seqs


@torch.no_grad()
def token_losses(model: torch.nn.Module, bios: Bios, eos: int, pad: int, batch_size: int = 256,
                 device: str | torch.device | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-token loss (nats) and greedy correctness for every token of ``bios``.

    Token t of bio i is predicted from ``EOS`` + the bio's tokens before it. GENDER tokens get the
    two-way loss against their ``alt`` token.
    """
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss = np.zeros(len(bios.tokens), np.float64)
    correct = np.zeros(len(bios.tokens), bool)
    lengths = bios.lengths
    order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        seqs = eos_padded(bios, idx, eos, pad)
        logits = model(torch.from_numpy(seqs[:, :-1]).to(device)).float()
        logp = torch.log_softmax(logits, dim=-1)
        targets = torch.from_numpy(seqs[:, 1:]).to(device)
        nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        hit = logits.argmax(-1) == targets
        for row, i in enumerate(idx):
            sl = slice(bios.offsets[i], bios.offsets[i + 1])
            n = lengths[i]
            loss[sl] = nll[row, :n].double().cpu().numpy()
            correct[sl] = hit[row, :n].cpu().numpy()
            gender = np.nonzero(bios.role[sl] == GENDER)[0]
            if len(gender):
                pos = torch.from_numpy(gender).to(device)
                pair = torch.stack([logits[row, pos, targets[row, pos]],
                                    logits[row, pos, torch.from_numpy(bios.alt[sl][gender]).long().to(device)]], -1)
                two_way = -torch.log_softmax(pair, -1)[:, 0]
                loss[sl.start + gender] = two_way.double().cpu().numpy()
                correct[sl.start + gender] = (pair[:, 0] > pair[:, 1]).cpu().numpy()
    model.train(was_training)
    return loss, correct


def person_losses(bios: Bios, loss: np.ndarray, correct: np.ndarray, n_people: int, n_attributes: int) -> dict:
    """Sum token losses into per-person name, value and first-chunk losses, and exact matches."""
    person_of_token = np.repeat(bios.person, bios.lengths)
    out = {"name": np.zeros(n_people), "value": np.zeros((n_people, n_attributes)),
           "value1": np.zeros((n_people, n_attributes)), "exact": np.ones((n_people, n_attributes), bool)}
    is_name = bios.role == NAME
    np.add.at(out["name"], person_of_token[is_name], loss[is_name])
    knowledge = (bios.role == VALUE) | (bios.role == GENDER)
    p, a = person_of_token[knowledge], bios.attr[knowledge].astype(np.int64)
    np.add.at(out["value"], (p, a), loss[knowledge])
    first = knowledge & (bios.chunk <= 0)  # chunk -1 (no chunks) or chunk 0
    np.add.at(out["value1"], (person_of_token[first], bios.attr[first].astype(np.int64)), loss[first])
    np.logical_and.at(out["exact"], (p, a), correct[knowledge])
    out["position"] = sentence_positions(bios, n_people, n_attributes)
    return out


def sentence_positions(bios: Bios, n_people: int, n_attributes: int) -> np.ndarray:
    """For each person and attribute, the rank of the sentence that states the value among the
    bio's value sentences (0: the first, whose subject is the full name; later ones refer to the
    person by pronoun, §2.2); -1 where the bio states no value of that attribute."""
    person_of_token = np.repeat(bios.person, bios.lengths)
    is_value = bios.role == VALUE
    first = np.full((n_people, n_attributes), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, (person_of_token[is_value], bios.attr[is_value].astype(np.int64)),
                  np.nonzero(is_value)[0])
    rank = np.argsort(np.argsort(first, axis=1, kind="stable"), axis=1, kind="stable")
    return np.where(first == np.iinfo(np.int64).max, -1, rank)


def loss_by_position(parts: list[dict], attributes: tuple[str, ...]) -> dict:
    """Mean value loss (bits per person) of each attribute by the position of its sentence
    (``sentence_positions``), pooled over the measurement renderings ``parts`` (``person_losses``
    of each): ``{attribute: {"loss_bits": [...], "people": [...]}}``, one entry per position;
    ``people`` counts persons × renderings, and a position nobody's value stands at has loss None
    (the company city never comes first: it follows the employer in measurement texts)."""
    out = {}
    for k, name in enumerate(attributes):
        positions = np.concatenate([p["position"][:, k] for p in parts])
        if (positions < 0).all():
            continue
        losses = np.concatenate([p["value"][:, k] for p in parts]) / math.log(2)
        counts = np.bincount(positions[positions >= 0])
        sums = np.bincount(positions[positions >= 0], weights=losses[positions >= 0], minlength=len(counts))
        out[name] = {"loss_bits": [float(s / c) if c else None for s, c in zip(sums, counts)],
                     "people": [int(c) for c in counts]}
    return out


def rendering_losses(model: torch.nn.Module, dataset: Dataset, seed: int = 1234, renderings: int = 1,
                     batch_size: int = 256) -> list[dict]:
    """``person_losses`` of ``model`` on each of the ``renderings`` measurement texts."""
    parts = []
    for bios in measurement_bios(dataset, seed, renderings):
        loss, correct = token_losses(model, bios, dataset.vocab.eos_id, dataset.vocab.pad_id, batch_size)
        parts.append(person_losses(bios, loss, correct, dataset.n_people, len(dataset.attributes)))
    return parts


def average_losses(parts: list[dict]) -> dict:
    """Per-person losses averaged over renderings (sentence positions differ between renderings,
    so they are left out: ``loss_by_position`` reads them per rendering)."""
    return {key: np.mean([p[key] for p in parts], axis=0) for key in parts[0] if key != "position"}


def measure_losses(model: torch.nn.Module, dataset: Dataset, seed: int = 1234, renderings: int = 1,
                   batch_size: int = 256) -> dict:
    """Per-person losses of ``model``, averaged over ``renderings`` measurement texts."""
    return average_losses(rendering_losses(model, dataset, seed, renderings, batch_size))


def capacity(dataset: Dataset, losses: dict, params: dict, *, bootstrap: int = 1000, seed: int = 0,
             level: float = 0.95) -> dict:
    """Bits, R(F) and R^max(F) under the parameter count ``params`` (from ``kcl.params``).

    The interval resamples the people with replacement and recomputes the bits (the data set's
    formula), ``bootstrap`` times; it is a percentile interval at ``level``.
    """
    bits = dataset.bits(losses)
    most = dataset.max_bits()
    total_p, non_embedding_p = params["total"], params["non_embedding"]
    counted = list(dataset.counted_attributes())
    out = {
        "bits": bits["total"], "bits_name": bits["name"], "bits_value": bits["value"],
        "bits_diversity": bits["diversity"], "bits_per_attribute": bits["per_attribute"],
        "max_bits": most["total"], "max_bits_name": most["name"], "max_bits_value": most["value"],
        "max_bits_diversity": most["diversity"],
        "R": bits["total"] / total_p, "R_max": most["total"] / total_p,
        "R_non_embedding": bits["total"] / non_embedding_p if non_embedding_p else math.nan,
        "R_max_non_embedding": most["total"] / non_embedding_p if non_embedding_p else math.nan,
        "params": params,
        "loss_name": float(np.mean(losses["name"])), "loss_value": float(np.mean(losses["value"][:, counted].sum(1))),
        "loss_value1": float(np.mean(losses["value1"][:, counted].sum(1))),
        "loss_per_attribute": {a: float(np.mean(losses["value"][:, k])) for k, a in enumerate(dataset.attributes)},
        "accuracy": {a: float(np.mean(losses["exact"][:, k])) for k, a in enumerate(dataset.attributes)},
    }
    out["accuracy_mean"] = float(np.mean([out["accuracy"][dataset.attributes[k]] for k in counted]))
    if bootstrap:
        rng = np.random.default_rng(seed)
        n = dataset.n_people
        draws = []
        for _ in range(bootstrap):
            pick = rng.integers(0, n, n)
            draws.append(dataset.bits({k: v[pick] for k, v in losses.items()})["total"])
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        out.update(bits_ci=[float(lo), float(hi)], R_ci=[float(lo) / total_p, float(hi) / total_p],
                   ci_level=level, bootstrap=bootstrap)
    return out
