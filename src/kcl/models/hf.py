"""Conversion between ``KCLTransformer`` and transformers models (same weights → same logits).

* GPT2 family with rotary [P §2.3, Part 3.1 App. B] → ``GPTNeoXForCausalLM`` with sequential residuals
  (``use_parallel_residual=False``), partial rotary, exact-erf GELU (``hidden_act="gelu"``, what our
  ``F.gelu`` computes), biases, tied embeddings. ``gpt2_quarter_mlp`` is the same with
  ``intermediate_size=d``.
* ``llama`` → ``LlamaForCausalLM``; ``mistral`` → ``MistralForCausalLM`` (GQA, ``sliding_window=None``).
* ``gpt2_no_mlp``, ``llama_std_mlp`` and ``gpt2_moe`` have no transformers counterpart: NotImplementedError.

Layouts: our fused QKV is [all q heads | all k heads | all v heads]; HF GPT-NeoX's is per head
[q_i, k_i, v_i]; LLaMA/Mistral have separate q/k/v projections. Both sides use the "rotate_half"
rotary convention, so no q/k permutation is needed. Our gated MLP ``fc`` is [gate; up].
"""

from __future__ import annotations

from pathlib import Path

import torch

from kcl.models.config import ModelConfig
from kcl.models.transformer import KCLTransformer, build_model

HF_ARCHS = {"gpt2": "gpt_neox", "gpt2_quarter_mlp": "gpt_neox", "llama": "llama", "mistral": "mistral"}


def _neox_qkv_to_hf(t: torch.Tensor, h: int, hd: int) -> torch.Tensor:
    return t.unflatten(0, (3, h, hd)).transpose(0, 1).flatten(0, 2).contiguous()


def _neox_qkv_from_hf(t: torch.Tensor, h: int, hd: int) -> torch.Tensor:
    return t.unflatten(0, (h, 3, hd)).transpose(0, 1).flatten(0, 2).contiguous()


def _key_map(cfg: ModelConfig) -> dict[str, str]:
    """Our parameter name → HF name, for the tensors that map one to one."""
    neox = HF_ARCHS[cfg.arch] == "gpt_neox"
    base, layers = ("gpt_neox", "gpt_neox.layers") if neox else ("model", "model.layers")
    m = {"tok_emb.weight": f"{base}.embed_in.weight" if neox else f"{base}.embed_tokens.weight",
         "norm_f.weight": f"{base}.final_layer_norm.weight" if neox else f"{base}.norm.weight"}
    if neox:
        m["norm_f.bias"] = f"{base}.final_layer_norm.bias"
    for i in range(cfg.n_layer):
        ours, theirs = f"blocks.{i}", f"{layers}.{i}"
        norms = ("weight", "bias") if neox else ("weight",)
        for p in norms:
            m[f"{ours}.norm1.{p}"] = f"{theirs}.input_layernorm.{p}"
            m[f"{ours}.norm2.{p}"] = f"{theirs}.post_attention_layernorm.{p}"
        if neox:
            for p in ("weight", "bias"):
                m[f"{ours}.attn.out.{p}"] = f"{theirs}.attention.dense.{p}"
                m[f"{ours}.mlp.fc.{p}"] = f"{theirs}.mlp.dense_h_to_4h.{p}"
                m[f"{ours}.mlp.proj.{p}"] = f"{theirs}.mlp.dense_4h_to_h.{p}"
        else:
            m[f"{ours}.attn.out.weight"] = f"{theirs}.self_attn.o_proj.weight"
            m[f"{ours}.mlp.proj.weight"] = f"{theirs}.mlp.down_proj.weight"
    return m


def _check_exportable(cfg: ModelConfig) -> None:
    if cfg.arch not in HF_ARCHS:
        raise NotImplementedError(
            f"arch {cfg.arch!r} has no transformers counterpart; exportable archs: {sorted(HF_ARCHS)}")
    if cfg.arch in ("llama", "mistral") and cfg.rotary_pct != 1.0:
        raise NotImplementedError(f"HF {cfg.arch} rotates the full head dim; rotary_pct={cfg.rotary_pct} "
                                  "cannot be exported")


def _hf_config(cfg: ModelConfig, **overrides):
    import transformers

    common = dict(vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, num_hidden_layers=cfg.n_layer,
                  num_attention_heads=cfg.n_head, intermediate_size=cfg.d_mlp,
                  max_position_embeddings=cfg.max_seq_len, initializer_range=cfg.init_std,
                  tie_word_embeddings=cfg.tie_embeddings, attention_dropout=0.0,
                  # kcl's vocabulary: id 0 is <|endoftext|> (bos and eos), id 1 is <pad>
                  bos_token_id=0, eos_token_id=0, pad_token_id=1 if cfg.vocab_size > 1 else None,
                  kcl_arch=cfg.arch)
    common.update(overrides)
    if HF_ARCHS[cfg.arch] == "gpt_neox":
        return transformers.GPTNeoXConfig(
            **common, hidden_act="gelu", use_parallel_residual=False, layer_norm_eps=cfg.norm_eps,
            attention_bias=True, hidden_dropout=0.0,
            rope_parameters={"rope_type": "default", "rope_theta": float(cfg.rotary_base),
                             "partial_rotary_factor": float(cfg.rotary_pct)})
    cls = transformers.LlamaConfig if cfg.arch == "llama" else transformers.MistralConfig
    extra = {"attention_bias": False, "mlp_bias": False} if cfg.arch == "llama" else {"sliding_window": None}
    return cls(**common, **extra, hidden_act="silu", rms_norm_eps=cfg.norm_eps, num_key_value_heads=cfg.n_kv_head,
               head_dim=cfg.head_dim, rope_parameters={"rope_type": "default", "rope_theta": float(cfg.rotary_base)})


def to_hf(model: KCLTransformer, **config_overrides):
    """An equivalent transformers model (eval mode, same dtype). ``config_overrides`` go to the HF
    config (e.g. ``eos_token_id``)."""
    import transformers

    cfg = model.config
    _check_exportable(cfg)
    hf_cfg = _hf_config(cfg, **config_overrides)
    cls = {"gpt_neox": transformers.GPTNeoXForCausalLM, "llama": transformers.LlamaForCausalLM,
           "mistral": transformers.MistralForCausalLM}[HF_ARCHS[cfg.arch]]
    hf = cls(hf_cfg)
    ours = {k: v.detach() for k, v in model.state_dict().items()}
    sd = {theirs: ours[k] for k, theirs in _key_map(cfg).items()}
    h, kv, hd, m = cfg.n_head, cfg.n_kv_head, cfg.head_dim, cfg.d_mlp
    for i in range(cfg.n_layer):
        qkv_w = ours[f"blocks.{i}.attn.qkv.weight"]
        if HF_ARCHS[cfg.arch] == "gpt_neox":
            pre = f"gpt_neox.layers.{i}.attention.query_key_value"
            sd[f"{pre}.weight"] = _neox_qkv_to_hf(qkv_w, h, hd)
            sd[f"{pre}.bias"] = _neox_qkv_to_hf(ours[f"blocks.{i}.attn.qkv.bias"], h, hd)
        else:
            pre = f"model.layers.{i}"
            q, k, v = qkv_w.split([h * hd, kv * hd, kv * hd])
            sd.update({f"{pre}.self_attn.q_proj.weight": q, f"{pre}.self_attn.k_proj.weight": k,
                       f"{pre}.self_attn.v_proj.weight": v})
            gate, up = ours[f"blocks.{i}.mlp.fc.weight"].split([m, m])
            sd.update({f"{pre}.mlp.gate_proj.weight": gate, f"{pre}.mlp.up_proj.weight": up})
    sd["lm_head.weight"] = model.head_weight.detach()  # the embedding itself when tied
    hf.load_state_dict(sd, strict=True)
    if cfg.tie_embeddings:
        assert hf.lm_head.weight is hf.get_input_embeddings().weight, "HF did not tie the embeddings"
    return hf.to(device=model.tok_emb.weight.device, dtype=model.tok_emb.weight.dtype).eval()


def _config_from_hf(c) -> ModelConfig:
    """Our config for a supported transformers config; NotImplementedError for what we lack."""
    kind = c.model_type
    rope = dict(getattr(c, "rope_parameters", None) or {})
    if rope.get("rope_type", "default") != "default":
        raise NotImplementedError(f"rope_type {rope.get('rope_type')!r} is not supported (only 'default')")
    d, h = c.hidden_size, c.num_attention_heads
    common = dict(vocab_size=c.vocab_size, n_layer=c.num_hidden_layers, n_head=h, d_model=d,
                  d_mlp=c.intermediate_size, max_seq_len=c.max_position_embeddings,
                  rotary_base=float(rope.get("rope_theta", 10000.0)), tie_embeddings=bool(c.tie_word_embeddings),
                  init_std=c.initializer_range)
    if kind == "gpt_neox":
        if c.use_parallel_residual:
            raise NotImplementedError("GPT-NeoX with use_parallel_residual=True is not the paper's GPT2")
        if c.hidden_act != "gelu" or not c.attention_bias:
            raise NotImplementedError(f"GPT-NeoX needs hidden_act='gelu' and attention_bias=True; got "
                                      f"{c.hidden_act!r}, {c.attention_bias}")
        arch = getattr(c, "kcl_arch", None)
        arch = arch if arch in ("gpt2", "gpt2_quarter_mlp") else ("gpt2_quarter_mlp" if c.intermediate_size == d
                                                                 else "gpt2")
        return ModelConfig(arch=arch, rotary_pct=float(rope.get("partial_rotary_factor", 1.0)),
                           norm_eps=c.layer_norm_eps, **common)
    if kind in ("llama", "mistral"):
        if c.hidden_act != "silu":
            raise NotImplementedError(f"{kind} with hidden_act={c.hidden_act!r} (need 'silu')")
        if getattr(c, "attention_bias", False) or getattr(c, "mlp_bias", False):
            raise NotImplementedError(f"{kind} with attention_bias/mlp_bias is not supported")
        if (getattr(c, "head_dim", None) or d // h) != d // h:
            raise NotImplementedError(f"{kind} with head_dim={c.head_dim} != hidden_size/heads={d // h}")
        window = getattr(c, "sliding_window", None)
        if window is not None and window < c.max_position_embeddings:
            raise NotImplementedError(f"sliding_window={window} < max_position_embeddings is not supported")
        return ModelConfig(arch=kind, rotary_pct=1.0, n_kv_head=c.num_key_value_heads or h, norm_eps=c.rms_norm_eps,
                           **common)
    raise NotImplementedError(f"model_type {kind!r} is not supported; supported: gpt_neox, llama, mistral")


def from_hf(hf_model) -> KCLTransformer:
    """Our model with the weights of a transformers GPTNeoX/Llama/Mistral causal LM (eval mode)."""
    cfg = _config_from_hf(hf_model.config)
    theirs = {k: v.detach() for k, v in hf_model.state_dict().items()}
    model = build_model(cfg)
    sd = {ours: theirs[k] for ours, k in _key_map(cfg).items()}
    h, hd = cfg.n_head, cfg.head_dim
    for i in range(cfg.n_layer):
        if HF_ARCHS[cfg.arch] == "gpt_neox":
            pre = f"gpt_neox.layers.{i}.attention.query_key_value"
            sd[f"blocks.{i}.attn.qkv.weight"] = _neox_qkv_from_hf(theirs[f"{pre}.weight"], h, hd)
            sd[f"blocks.{i}.attn.qkv.bias"] = _neox_qkv_from_hf(theirs[f"{pre}.bias"], h, hd)
        else:
            pre = f"model.layers.{i}"
            sd[f"blocks.{i}.attn.qkv.weight"] = torch.cat(
                [theirs[f"{pre}.self_attn.{p}_proj.weight"] for p in "qkv"])
            sd[f"blocks.{i}.mlp.fc.weight"] = torch.cat(
                [theirs[f"{pre}.mlp.gate_proj.weight"], theirs[f"{pre}.mlp.up_proj.weight"]])
    if not cfg.tie_embeddings:
        sd["lm_head.weight"] = theirs["lm_head.weight"]
    model.load_state_dict(sd, strict=True)
    return model.to(hf_model.dtype).eval()


def export_pretrained(model: KCLTransformer, path: str | Path, **config_overrides) -> Path:
    """``to_hf(model).save_pretrained(path)``: loadable with ``AutoModelForCausalLM.from_pretrained``."""
    path = Path(path)
    to_hf(model, **config_overrides).save_pretrained(path)
    return path


def load_pretrained(path: str | Path) -> KCLTransformer:
    """Inverse of ``export_pretrained`` (any saved GPTNeoX/Llama/Mistral causal LM we support)."""
    from transformers import AutoModelForCausalLM

    return from_hf(AutoModelForCausalLM.from_pretrained(Path(path)))
