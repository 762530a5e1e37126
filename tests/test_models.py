"""kcl.models: every arch builds and trains, causality, MoE capacity, config validation, and
parity with transformers (GPT-NeoX, Llama, Mistral) in both directions and through save_pretrained."""

import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
import torch.nn.functional as F

from kcl.models import ARCHS, KCLTransformer, ModelConfig, build_model, gpt2_lh
from kcl.models.transformer import MoE, counting_routing

V, T = 50, 16


def tiny(arch: str, **kw) -> ModelConfig:
    moe = {"n_experts": 4} if arch == "gpt2_moe" else {}
    return ModelConfig(**{"arch": arch, "vocab_size": V, "n_layer": 2, "n_head": 4, "d_model": 32,
                          "max_seq_len": 32, **moe, **kw})


def randomize(model: torch.nn.Module, seed: int = 0, std: float = 0.3) -> None:
    """Large random values everywhere (norms and biases too), so that any layout mistake shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)


def tokens(batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, V, (batch, T), generator=torch.Generator().manual_seed(seed))


# -- every arch -------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_forward_backward_every_arch(arch):
    torch.manual_seed(0)
    model = build_model(tiny(arch))
    assert isinstance(model, KCLTransformer)
    x = tokens()
    logits = model(x)
    assert logits.shape == (2, T, V) and logits.dtype == torch.float32
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), x[:, 1:].reshape(-1))
    loss.backward()
    assert math.isfinite(loss.item())
    # every parameter gets a gradient (MoE: experts with no tokens may get none)
    missing = [n for n, p in model.named_parameters() if p.grad is None and ".mlp.w" not in n and ".mlp.b" not in n]
    assert not missing


@pytest.mark.parametrize("arch", ARCHS)
def test_causal(arch):
    torch.manual_seed(0)
    model = build_model(tiny(arch)).eval()
    randomize(model)
    x = tokens(batch=1)
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % V
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :10], b[:, :10], atol=1e-6, rtol=0)
    assert (a[:, 10:] - b[:, 10:]).abs().max() > 1e-3


def test_init_is_deterministic_and_tied():
    torch.manual_seed(3)
    a = build_model(tiny("gpt2"))
    torch.manual_seed(3)
    b = build_model(tiny("gpt2"))
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and torch.equal(pa, pb)
    assert a.lm_head is None and a.head_weight is a.tok_emb.weight  # tied: one tensor
    assert build_model(tiny("llama")).lm_head is not None  # untied by default


def test_arch_defaults():
    c = gpt2_lh(12, 12, 3275)
    assert (c.d_model, c.head_dim, c.rotary_pct, c.rotary_dim) == (768, 64, 0.25, 16)
    assert (c.tie_embeddings, c.d_mlp, c.n_kv_head) == (True, 3072, 12)
    assert c.name() == "gpt2-12-12"
    assert ModelConfig(arch="llama", vocab_size=V, n_layer=1, n_head=12).d_mlp == 2048  # 3·d·I = 8d²
    assert ModelConfig(arch="mistral", vocab_size=V, n_layer=1, n_head=12).d_mlp == 2688  # 3·d·I = 10.5d²
    assert ModelConfig(arch="llama", vocab_size=V, n_layer=1, n_head=4).tie_embeddings is False
    kv = {h: ModelConfig(arch="mistral", vocab_size=V, n_layer=1, n_head=h).n_kv_head for h in (8, 12, 5, 6, 1)}
    assert kv == {8: 4, 12: 4, 5: 1, 6: 2, 1: 1}
    assert ModelConfig(arch="llama", vocab_size=V, n_layer=1, n_head=8).n_kv_head == 8
    c2 = tiny("gpt2_moe")
    assert ModelConfig.from_dict(c2.to_dict()) == c2


def test_the_width_rule_is_read_the_same_everywhere():
    """d_model=None means 64 per head [P §2.3] in the model, in run names and in the run table."""
    import dataclasses

    from kcl.records import model_label, model_width
    from kcl.config import ModelSpec

    for spec in (ModelSpec(n_layer=2, n_head=3), ModelSpec(n_layer=2, n_head=2, d_model=32)):
        built = spec.model_config(vocab_size=V)
        as_stored = dataclasses.asdict(spec)
        assert model_width(as_stored) == built.d_model
        assert model_label(as_stored).split()[1] == f"d={built.d_model}"
        assert spec.label() == built.name()


def test_the_run_table_imports_without_torch():
    """``kcl.book.catalog`` (the book's run table) reads the width rule without loading torch."""
    import subprocess
    import sys

    code = "import sys, kcl.book.catalog; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kw, knob", [
    ({"arch": "bert"}, "arch"), ({"n_layer": 0}, "n_layer"), ({"n_head": 0}, "n_head"),
    ({"vocab_size": 0}, "vocab_size"), ({"d_model": 30}, "d_model"), ({"d_model": 12}, "d_model"),
    ({"n_kv_head": 3}, "n_kv_head"), ({"rotary_pct": 0.0}, "rotary_pct"), ({"rotary_pct": 1.5}, "rotary_pct"),
    ({"rotary_pct": 0.1}, "rotary_pct"), ({"moe_top_k": 5}, "moe_top_k"), ({"moe_top_k": 0}, "moe_top_k"),
    ({"n_experts": 0}, "n_experts"), ({"moe_capacity_factor": 0}, "moe_capacity_factor"),
    ({"init_std": -1.0}, "init_std"),
])
def test_bad_config_names_the_knob(kw, knob):
    with pytest.raises(ValueError, match=knob):
        tiny(kw.pop("arch", "gpt2_moe"), **kw)


def test_bad_config_messages():
    with pytest.raises(ValueError, match="gpt2_quarter_mlp"):  # unknown arch lists the allowed ones
        tiny("gpt3")
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({**tiny("gpt2").to_dict(), "dropout": 0.1})
    with pytest.raises(ValueError, match="max_seq_len"):
        build_model(tiny("gpt2", max_seq_len=8))(tokens())


# -- MoE --------------------------------------------------------------------------------------------
def moe_reference(moe: MoE, x: torch.Tensor, cap: int) -> torch.Tensor:
    """Per-token loop: choice-major, then token order; an expert takes its first ``cap`` assignments."""
    cfg, x = moe.cfg, x.reshape(-1, x.shape[-1])
    probs = F.softmax(moe.router(x), -1)
    gate, expert = probs.topk(cfg.moe_top_k, -1)
    if cfg.moe_top_k > 1:
        gate = gate / gate.sum(-1, keepdim=True)  # k = 1: the raw router probability (Switch)
    out, load = torch.zeros_like(x), [0] * cfg.n_experts
    for j in range(cfg.moe_top_k):
        for t in range(x.shape[0]):
            e = int(expert[t, j])
            load[e] += 1
            if load[e] <= cap:
                hdn = F.gelu(x[t] @ moe.w1[e].T + moe.b1[e])
                out[t] += gate[t, j] * (hdn @ moe.w2[e].T + moe.b2[e])
    return out


@pytest.mark.parametrize("top_k", [1, 2])
@pytest.mark.parametrize("cf", [0.25, 100.0])
def test_moe_matches_reference_and_capacity(top_k, cf):
    torch.manual_seed(0)
    cfg = tiny("gpt2_moe", moe_top_k=top_k, moe_capacity_factor=cf)
    moe = MoE(cfg).train()
    randomize(moe, std=0.5)
    x = torch.randn(2, T, cfg.d_model)
    with torch.no_grad():
        out = moe(x)
    n = 2 * T
    cap = math.ceil(cf * n * top_k / cfg.n_experts)
    assert moe.last_stats["capacity"] == cap and moe.last_stats["tokens"] == n
    if cf < 1:
        assert moe.last_stats["dropped"] > 0
    else:
        assert moe.last_stats["dropped"] == 0
    with torch.no_grad():
        torch.testing.assert_close(out.reshape(n, -1), moe_reference(moe, x, cap), atol=1e-5, rtol=1e-5)


def test_moe_dropped_tokens_pass_through_residual_only():
    torch.manual_seed(0)
    cfg = tiny("gpt2_moe", n_experts=2, moe_capacity_factor=1e-9)  # capacity 1 per expert
    moe = MoE(cfg).train()
    randomize(moe)
    with torch.no_grad():
        out = moe(torch.randn(1, T, cfg.d_model)).reshape(T, -1)
    assert moe.last_stats["capacity"] == 1
    nonzero = (out.abs().sum(-1) > 0).sum().item()
    assert nonzero == T - moe.last_stats["dropped"] <= 2


def test_moe_eval_uses_eval_capacity_factor():
    torch.manual_seed(0)
    model = build_model(tiny("gpt2_moe", moe_capacity_factor=0.1, moe_eval_capacity_factor=8.0))
    randomize(model)
    x = tokens()
    model.train()
    model(x)
    moe = model.blocks[0].mlp
    assert moe.last_stats["capacity"] == math.ceil(0.1 * 2 * T / 4) and moe.last_stats["dropped"] > 0
    model.eval()
    with torch.no_grad():
        model(x)
    assert moe.last_stats["capacity"] == math.ceil(8.0 * 2 * T / 4) and moe.last_stats["dropped"] == 0
    aux = model.moe_aux_loss()
    assert aux.ndim == 0 and 0 < aux.item() < 4  # Switch load-balancing loss, E·Σ f_e·P_e


# -- transformers parity ----------------------------------------------------------------------------
HF_CASES = {
    "gpt2": dict(),  # → GPTNeoX, rotary on 1/4 of the head dim
    "gpt2_quarter_mlp": dict(),
    "gpt2_full_rotary": dict(rotary_pct=1.0, rotary_base=500.0),
    "llama": dict(d_model=64),  # head dim 16, d_mlp = round(8·64/3) = 171
    "mistral": dict(n_head=8, d_model=64),  # GQA: 4 KV heads for 8 query heads
    "mistral_2kv_untied_eps": dict(n_head=4, n_kv_head=2, norm_eps=1e-6, d_model=64),
}


def case_config(case: str) -> ModelConfig:
    arch = "gpt2" if case == "gpt2_full_rotary" else case.split("_2kv")[0]
    return tiny(arch, **HF_CASES[case])


@pytest.mark.parametrize("case", HF_CASES)
def test_hf_parity_ours_to_hf_and_back(case):
    from kcl.models import from_hf, to_hf

    cfg = case_config(case)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    randomize(model)
    hf = to_hf(model)
    expected = {"gpt2": "GPTNeoXForCausalLM", "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM"}
    assert type(hf).__name__ == expected[cfg.arch.split("_")[0]]
    if cfg.arch == "mistral":
        assert hf.config.num_key_value_heads < hf.config.num_attention_heads and hf.config.sliding_window is None
    x = tokens()
    with torch.no_grad():
        ours = model(x)
        assert ours.std() > 0.1  # not a degenerate comparison
        torch.testing.assert_close(hf(x).logits, ours, atol=1e-5, rtol=1e-5)
        back = from_hf(hf)
        assert back.config == cfg
        torch.testing.assert_close(back(x), ours, atol=1e-6, rtol=0)


@pytest.mark.parametrize("case", ["gpt2", "llama", "mistral"])
def test_hf_parity_hf_to_ours(case):
    """Start from a transformers model built from its own config (HF init), then convert."""
    import transformers

    from kcl.models import from_hf

    common = dict(vocab_size=V, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=32, bos_token_id=0, eos_token_id=0, pad_token_id=1)
    if case == "gpt2":
        hf_cfg = transformers.GPTNeoXConfig(**common, intermediate_size=256, use_parallel_residual=False,
                                            tie_word_embeddings=True, hidden_act="gelu",
                                            rope_parameters={"rope_theta": 10000.0, "partial_rotary_factor": 0.25})
        hf = transformers.GPTNeoXForCausalLM(hf_cfg)
    elif case == "llama":
        hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common, intermediate_size=100,
                                                                    rms_norm_eps=1e-5))
    else:
        hf = transformers.MistralForCausalLM(transformers.MistralConfig(
            **common, intermediate_size=224, num_key_value_heads=2, sliding_window=None))
    randomize(hf)
    hf.eval()
    model = from_hf(hf)
    assert model.config.arch == case
    if case == "llama":
        assert model.config.d_mlp == 100 and model.config.norm_eps == 1e-5
    if case == "mistral":
        assert model.config.n_kv_head == 2 and model.config.d_mlp == model.config.d_model * 7 // 2
    x = tokens()
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf(x).logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["gpt2", "mistral"])
def test_save_pretrained_round_trip(arch, tmp_path):
    import transformers

    from kcl.models import export_pretrained, load_pretrained

    torch.manual_seed(0)
    model = build_model(tiny(arch, n_head=8, d_model=64)).eval()
    randomize(model)
    export_pretrained(model, tmp_path / "m")
    assert (tmp_path / "m" / "config.json").exists()
    loaded = load_pretrained(tmp_path / "m")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    x = tokens()
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        torch.testing.assert_close(hf(x).logits, model(x), atol=1e-5, rtol=1e-5)
    assert loaded.config == model.config


@pytest.mark.parametrize("arch", ["gpt2_no_mlp", "llama_std_mlp", "gpt2_moe"])
def test_export_unsupported_arch_raises(arch):
    from kcl.models import to_hf

    with pytest.raises(NotImplementedError, match=arch):
        to_hf(build_model(tiny(arch)))


def test_hf_unsupported_features_raise():
    import transformers

    from kcl.models import from_hf, to_hf

    with pytest.raises(NotImplementedError, match="rotary_pct"):
        to_hf(build_model(tiny("llama", rotary_pct=0.5)))
    hf = transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(
        vocab_size=V, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        bos_token_id=0, eos_token_id=0))  # use_parallel_residual defaults to True
    with pytest.raises(NotImplementedError, match="use_parallel_residual"):
        from_hf(hf)


def test_the_initialisations_differ_where_they_say_and_keep_old_keys():
    import torch

    from kcl.config import ModelSpec, RunConfig
    from kcl.models import ModelConfig, build_model
    from kcl.store import config_key

    def built(init):
        torch.manual_seed(0)
        return build_model(ModelConfig(arch="gpt2", vocab_size=50, n_layer=2, n_head=2, d_model=32, init=init))

    gpt2, torch_default, unit = built("gpt2"), built("torch"), built("embedding_unit")
    assert abs(gpt2.tok_emb.weight.std().item() - 0.02) < 0.005
    assert abs(torch_default.tok_emb.weight.std().item() - 1.0) < 0.15
    assert abs(unit.tok_emb.weight.std().item() - 1.0) < 0.15
    weights = {n: dict(m.named_parameters()) for n, m in (("gpt2", gpt2), ("torch", torch_default), ("unit", unit))}
    name = next(k for k in weights["gpt2"] if k.startswith("blocks.0") and k.endswith("weight") and weights["gpt2"][k].dim() == 2)
    assert abs(weights["unit"][name].std().item() - 0.02) < 0.005  # the rest of embedding_unit is GPT-2's
    bound = 1 / 32 ** 0.5  # Kaiming-uniform(a=√5) on a fan-in of 32: U(-1/√32, 1/√32)
    assert weights["torch"][name].abs().max().item() <= bound + 1e-6 and weights["torch"][name].std().item() > 0.1
    assert config_key(RunConfig()) == config_key(RunConfig(model=ModelSpec(options=())))
    assert config_key(RunConfig()) != config_key(RunConfig(model=ModelSpec(options=(("init", "torch"),))))
    with pytest.raises(ValueError, match="init"):
        ModelConfig(arch="gpt2", vocab_size=50, n_layer=1, n_head=2, d_model=32, init="xavier")


# -- MoE against transformers' Switch Transformers sparse MLP ----------------------------------------
def switch_sparse_mlp(moe: MoE, capacity: int):
    """transformers' SwitchTransformersSparseMLP (top-1 router, ``capacity`` per expert) holding
    ``moe``'s router and expert weights (its experts have no biases: ``moe``'s must be zero)."""
    from transformers import SwitchTransformersConfig
    from transformers.models.switch_transformers.modeling_switch_transformers import SwitchTransformersSparseMLP

    cfg = moe.cfg
    config = SwitchTransformersConfig(num_experts=cfg.n_experts, expert_capacity=capacity, d_model=cfg.d_model,
                                      d_ff=cfg.d_mlp, dense_act_fn="gelu", router_bias=False,
                                      router_jitter_noise=0.0, dropout_rate=0.0, router_dtype="float32")
    switch = SwitchTransformersSparseMLP(config).eval()
    with torch.no_grad():
        switch.router.classifier.weight.copy_(moe.router.weight)
        for e in range(cfg.n_experts):
            switch.experts[f"expert_{e}"].wi.weight.copy_(moe.w1[e])
            switch.experts[f"expert_{e}"].wo.weight.copy_(moe.w2[e])
    return switch


@pytest.mark.parametrize("capacity_factor", [2.0, 8.0])
def test_moe_matches_switch_transformers(capacity_factor):
    """Top-1 routing with a capacity per expert, the dropped tokens and the load-balancing loss
    equal transformers' Switch Transformers layer's on one group of tokens (Switch counts capacity
    per sequence; kcl over the whole batch, so the batch is one sequence here). The router favours
    one expert, so that at capacity factor 2 tokens are dropped."""
    from transformers.models.switch_transformers.modeling_switch_transformers import load_balancing_loss_func

    torch.manual_seed(0)
    n_tokens = 64
    cfg = tiny("gpt2_moe", n_experts=8, moe_capacity_factor=capacity_factor, max_seq_len=n_tokens)
    moe = MoE(cfg).train()
    randomize(moe, std=0.5)
    with torch.no_grad():
        moe.b1.zero_()
        moe.b2.zero_()
    x = torch.randn(1, n_tokens, cfg.d_model)
    x[..., 0] += 2.0
    with torch.no_grad():
        moe.router.weight[0, 0] += 3.0  # most tokens choose expert 0
        out = moe(x)
        capacity = cfg.capacity(n_tokens, training=True)
        assert moe.last_stats["capacity"] == capacity
        expected = switch_sparse_mlp(moe, capacity)(x)
        probs = F.softmax(moe.router(x), -1)
        switch_aux = load_balancing_loss_func(probs, probs.argmax(-1))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    dropped = int((expected.abs().sum(-1) == 0).sum())
    assert moe.last_stats["dropped"] == dropped
    assert (dropped > 0) == (capacity_factor == 2.0)
    torch.testing.assert_close(moe.aux_loss, switch_aux)


def test_routing_is_counted_over_every_forward_and_every_moe_layer():
    torch.manual_seed(0)
    model = build_model(tiny("gpt2_moe", moe_capacity_factor=0.1)).train()
    randomize(model)
    with counting_routing(model) as counts:
        model(tokens())
        first = [dict(b.mlp.last_stats) for b in model.blocks]
        model(tokens())
    second = [b.mlp.last_stats for b in model.blocks]
    assert counts == {k: sum(s[k] for s in first + second) for k in ("assignments", "dropped")}
    assert counts["dropped"] > 0 and counts["assignments"] == 2 * 2 * first[0]["tokens"]  # 2 forwards, 2 layers
    model(tokens())  # outside the block: not counted
    assert counts["assignments"] == 2 * 2 * first[0]["tokens"]
    with counting_routing(build_model(tiny("gpt2"))) as dense:
        pass
    assert dense == {}


def test_a_standard_mlps_activation_is_an_option():
    silu = build_model(tiny("llama_std_mlp"))
    gelu = build_model(tiny("llama_std_mlp", mlp_act="gelu"))
    assert silu.blocks[0].mlp.act is F.silu and gelu.blocks[0].mlp.act is F.gelu
    assert build_model(tiny("gpt2")).blocks[0].mlp.act is F.gelu
    assert build_model(tiny("gpt2", mlp_act="silu")).blocks[0].mlp.act is F.silu
    for bad in ({"arch": "llama", "mlp_act": "gelu"}, {"arch": "gpt2", "mlp_act": "relu"}):
        with pytest.raises(ValueError, match="mlp_act"):
            tiny(bad.pop("arch"), **bad)
