"""Parameter accounting: the P in R(F) = bits / P [P §4, App. A "Model sizes"; fact sheet §4.5]."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import nn


def _group(name: str) -> str:
    """Group of a parameter of a ``KCLTransformer`` by its name."""
    if name.startswith("tok_emb."):
        return "embedding"
    if name.startswith("lm_head."):
        return "lm_head"
    if ".attn." in name:
        return "attention"
    if ".mlp." in name:
        return "mlp"
    if "norm" in name:
        return "norms"
    raise ValueError(f"parameter {name!r} belongs to no parameter group")


def count_parameters(model: nn.Module, used_token_ids: Iterable[int] | None = None) -> dict:
    """The paper's parameter count P, with a per-group breakdown.

    Convention (fixed; it reproduces the paper's sizes, e.g. GPT2-12-12 = 87.57M ≈ "88M"): all
    trainable parameters, with the token embedding limited to the rows of tokens that occur in the
    data (``used_token_ids``; all rows if None), a tied embedding/LM-head matrix counted once, and an
    untied LM head counted in full over the same used rows [P App. A; fact sheet §4.5]. MoE counts all
    experts [P §9].

    Returns ints: ``embedding`` (used rows · d), ``lm_head`` (0 if tied), ``attention``, ``mlp``
    (experts + router for MoE, detailed in ``moe``), ``norms``, ``total`` (their sum),
    ``non_embedding`` (total − embedding − lm_head), ``trainable_all_rows`` (plain sum of trainable
    parameters with the full vocabulary) and ``used_tokens``.
    """
    if not hasattr(model, "tok_emb") or not hasattr(model, "blocks"):
        raise TypeError(f"count_parameters expects a KCLTransformer, got {type(model).__name__} "
                        "(convert a transformers model with kcl.models.from_hf first)")
    emb = model.tok_emb.weight
    vocab, d = emb.shape
    if used_token_ids is None:
        n_used = vocab
    else:
        ids = used_token_ids
        if not isinstance(ids, (np.ndarray, list, tuple)) and not hasattr(ids, "numpy"):
            ids = list(ids)  # sets, generators
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if len(ids) and (ids[0] < 0 or ids[-1] >= vocab):
            raise ValueError(f"used_token_ids must lie in [0, vocab_size={vocab}); got {ids[0]}..{ids[-1]}")
        n_used = len(ids)
    groups = dict.fromkeys(("embedding", "lm_head", "attention", "mlp", "norms"), 0)
    moe = {"experts": 0, "router": 0}
    trainable = 0
    for name, p in model.named_parameters():  # a shared (tied) tensor is listed once
        if not p.requires_grad:
            continue
        trainable += p.numel()
        group = _group(name)
        if group in ("embedding", "lm_head"):
            rows = p.shape[0]
            if rows != vocab or p.numel() != vocab * d:
                raise ValueError(f"{name} has shape {tuple(p.shape)}, expected ({vocab}, {d})")
            groups[group] += n_used * d  # rows limited to the used tokens
        else:
            groups[group] += p.numel()
            if group == "mlp" and ".mlp.router." in name:
                moe["router"] += p.numel()
            elif group == "mlp" and name.rsplit(".", 1)[-1] in ("w1", "b1", "w2", "b2"):
                moe["experts"] += p.numel()
    total = sum(groups.values())
    assert total == sum(groups[k] for k in ("embedding", "lm_head", "attention", "mlp", "norms"))
    out = {**groups, "total": total, "non_embedding": total - groups["embedding"] - groups["lm_head"],
           "trainable_all_rows": trainable, "used_tokens": int(n_used)}
    if moe["experts"]:
        cfg = model.config
        active = moe["experts"] * cfg.moe_top_k // cfg.n_experts + moe["router"]
        out["moe"] = {**moe, "active_mlp": active, "active_total": total - groups["mlp"] + active}
    return out


def computed_parameters(counts: dict) -> int:
    """The parameters a token's forward and backward pass use, every embedding row counted (the
    cost model's P) from a ``count_parameters`` dict: all trainable ones for a dense model; for MoE
    the experts only in the share top_k / n_experts that a token is routed to."""
    moe = counts.get("moe")
    if not moe:
        return counts["trainable_all_rows"]
    return counts["trainable_all_rows"] - moe["experts"] + moe["active_mlp"] - moe["router"]
