"""kcl.params.count_parameters: the paper's P [P App. A; fact sheet §4.5]."""

import numpy as np
import pytest
import torch

from kcl.models import ARCHS, ModelConfig, build_model, gpt2_lh
from kcl.params import computed_parameters, count_parameters

GROUPS = ("embedding", "lm_head", "attention", "mlp", "norms")


def gpt2_formula(l: int, d: int, vocab: int) -> int:
    """P(ℓ, h) = ℓ·(12d² + 13d) + vocab·d + 2d [fact sheet §4.5]."""
    return l * (12 * d * d + 13 * d) + vocab * d + 2 * d


def test_gpt2_12_12_is_87_57M():
    """GPT2-small with the embedding restricted to bioS's 3275 tokens, tied: "88M" [P App. A]."""
    with torch.device("meta"):  # 124M parameters without allocating them
        model = build_model(gpt2_lh(12, 12, 50257))
    p = count_parameters(model, np.arange(3275))
    assert p["total"] == gpt2_formula(12, 768, 3275) == 87_571_200
    assert round(p["total"] / 1e6, 2) == 87.57
    assert p["lm_head"] == 0 and p["embedding"] == 3275 * 768
    assert p["trainable_all_rows"] == gpt2_formula(12, 768, 50257)  # the usual "124M"
    assert round(p["trainable_all_rows"] / 1e6) == 124


@pytest.mark.parametrize("l, h, millions", [(2, 2, 0.816), (1, 2, 0.618), (16, 8, 52.12), (20, 16, 255.3)])
def test_paper_model_sizes(l, h, millions):
    with torch.device("meta"):
        p = count_parameters(build_model(gpt2_lh(l, h, 3275)))
    assert abs(p["total"] / 1e6 - millions) / millions < 5e-4


def test_tiny_reference_model():
    model = build_model(ModelConfig(arch="gpt2", vocab_size=371, n_layer=2, n_head=2, d_model=32))
    p = count_parameters(model, range(371))
    assert p["total"] == 2 * (12 * 32**2 + 13 * 32) + 371 * 32 + 2 * 32 == 37_344
    assert p == count_parameters(model)  # all rows used
    assert p["trainable_all_rows"] == sum(q.numel() for q in model.parameters()) == 37_344


@pytest.mark.parametrize("arch", ARCHS)
def test_groups_sum_to_total(arch):
    model = build_model(ModelConfig(arch=arch, vocab_size=100, n_layer=2, n_head=4, d_model=32, n_experts=4))
    p = count_parameters(model, [0, 1, 5, 5, 7])  # duplicates count once
    assert p["used_tokens"] == 4
    assert p["total"] == sum(p[g] for g in GROUPS)
    assert p["non_embedding"] == p["total"] - p["embedding"] - p["lm_head"]
    assert p["embedding"] == 4 * 32
    assert p["trainable_all_rows"] == sum(q.numel() for q in model.parameters())
    assert p["trainable_all_rows"] - p["total"] == (96 if model.lm_head is None else 2 * 96) * 32


def test_untied_llama_counts_head_over_used_rows():
    d, vocab, used = 64, 500, 120
    model = build_model(ModelConfig(arch="llama", vocab_size=vocab, n_layer=2, n_head=4, d_model=d))
    p = count_parameters(model, torch.arange(used))
    assert p["embedding"] == p["lm_head"] == used * d
    assert p["attention"] == 2 * 4 * d * d  # 4d², no biases, no GQA
    assert p["mlp"] == 2 * 3 * d * round(8 * d / 3)  # ≈ 8d² [P App. B]
    assert p["norms"] == (2 * 2 + 1) * d  # RMSNorm: weight only
    assert p["trainable_all_rows"] == p["total"] + 2 * (vocab - used) * d


def test_mistral_and_moe_counts():
    d = 64
    m = count_parameters(build_model(ModelConfig(arch="mistral", vocab_size=50, n_layer=1, n_head=8, d_model=d)))
    assert m["mlp"] == 3 * d * int(3.5 * d)  # 10.5d² [P App. B]
    assert m["attention"] == 2 * d * d + 2 * d * (4 * 8)  # q and out d², k and v over 4 KV heads
    cfg = ModelConfig(arch="gpt2_moe", vocab_size=50, n_layer=1, n_head=1, d_model=d)
    p = count_parameters(build_model(cfg))
    experts, router = 32 * (2 * d * d + 2 * d), d * 32  # 32 experts d→d→d with biases [P §9]
    assert p["mlp"] == experts + router and p["moe"] == {
        "experts": experts, "router": router, "active_mlp": experts // 32 + router,
        "active_total": p["total"] - experts + experts // 32}
    assert computed_parameters(p) == p["trainable_all_rows"] - experts + experts // 32
    two = count_parameters(build_model(ModelConfig(arch="gpt2_moe", vocab_size=50, n_layer=1, n_head=1, d_model=d,
                                                   moe_top_k=2)))
    assert computed_parameters(two) == two["trainable_all_rows"] - experts + 2 * experts // 32
    assert computed_parameters(m) == m["trainable_all_rows"]


def test_bad_inputs():
    model = build_model(ModelConfig(arch="gpt2", vocab_size=10, n_layer=1, n_head=1, d_model=8))
    with pytest.raises(ValueError, match="used_token_ids"):
        count_parameters(model, [3, 10])
    with pytest.raises(TypeError, match="KCLTransformer"):
        count_parameters(torch.nn.Linear(2, 2))
