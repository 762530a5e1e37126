"""``KCLTransformer``: one configurable decoder-only transformer for every arch of the paper.

Pre-norm blocks, rotary position embeddings (no position matrix), no dropout [P §2.3, fact sheet §5.1].
GPT2 family: LayerNorm with bias, biased linears, GELU MLP, tied embeddings. LLaMA family: RMSNorm,
no biases, gated SiLU MLP, untied head; Mistral adds GQA. Parameter names are what ``kcl.params``
and ``kcl.models.hf`` key on: ``tok_emb``, ``blocks.i.{norm1,attn.qkv,attn.out,norm2,mlp.*}``,
``norm_f``, ``lm_head``.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from kcl.models.config import ModelConfig


# -- rotary embeddings ----------------------------------------------------------------------------
def rotary_tables(cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [max_seq_len, rotary_dim], computed exactly as HF's GPT-NeoX/LLaMA rotary (float32)."""
    r = cfg.rotary_dim
    inv_freq = 1.0 / (cfg.rotary_base ** (torch.arange(0, r, 2, dtype=torch.float) / r))
    freqs = torch.arange(cfg.max_seq_len, dtype=torch.float)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first rotary_dim channels of each head ("rotate_half", GPT-NeoX convention).

    x: [B, heads, T, head_dim]; cos/sin: [T, rotary_dim]. Channels past rotary_dim pass through
    (rotary_pct < 1, GPT-NeoX partial rotary, Part 3.1 App. B).
    """
    r = cos.shape[-1]
    rot = x[..., :r]
    x1, x2 = rot.chunk(2, dim=-1)
    out = rot * cos + torch.cat((-x2, x1), dim=-1) * sin
    return out if r == x.shape[-1] else torch.cat((out, x[..., r:]), dim=-1)


# -- layers ---------------------------------------------------------------------------------------
def make_norm(cfg: ModelConfig) -> nn.Module:
    if cfg.norm_kind == "layernorm":  # GPT2: LayerNorm with trainable bias [fact sheet §5.1]
        return nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
    return nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)  # LLaMA/Mistral: no LayerNorm bias


class Attention(nn.Module):
    """Causal self-attention with a fused QKV projection laid out as [q heads | k heads | v heads]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head, self.n_kv, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.qkv = nn.Linear(cfg.d_model, (cfg.n_head + 2 * cfg.n_kv_head) * cfg.head_dim, bias=cfg.bias)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        h, kv = self.n_head, self.n_kv
        qkv = self.qkv(x).view(B, T, h + 2 * kv, self.head_dim).transpose(1, 2)
        qk = apply_rotary(qkv[:, : h + kv], cos, sin)  # q and k rotated in one op
        q, k, v = qk[:, :h], qk[:, h:], qkv[:, h + kv:]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kv < h)
        return self.out(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    """Standard d→m→d MLP: GELU with bias (GPT2, GPT2_{1/4}) or SiLU without bias (llama_std_mlp)."""

    def __init__(self, cfg: ModelConfig, act: str):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, cfg.d_mlp, bias=cfg.bias)
        self.proj = nn.Linear(cfg.d_mlp, cfg.d_model, bias=cfg.bias)
        # exact (erf) GELU = HF's hidden_act "gelu", the GPT-NeoX default; SiLU for llama_std_mlp
        self.act = F.gelu if act == "gelu" else F.silu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.act(self.fc(x)))


class GatedMLP(nn.Module):
    """LLaMA/Mistral GatedMLP V(σ(W1 x)·(W2 x)), SiLU [P App. B]; W1 and W2 fused into ``fc`` as [gate; up]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, 2 * cfg.d_mlp, bias=False)
        self.proj = nn.Linear(cfg.d_mlp, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.fc(x).chunk(2, dim=-1)
        return self.proj(F.silu(gate) * up)


class MoE(nn.Module):
    """GPT2-MoE [P §9, App. D]: n_experts experts d→d_mlp→d (GELU, biases), a linear router, top-k.

    Each expert takes at most ceil(cf · tokens · top_k / n_experts) assignments (cf = the training or the
    eval capacity factor); the rest are dropped, so those tokens get only the residual. Priority is
    GShard/tutel style: all first choices before second choices, then token order in the batch.
    ``last_stats`` holds the tokens, capacity and dropped assignments of the last forward; ``aux_loss``
    the Switch load-balancing loss (not added to the LM loss by the model itself).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        E, d, m = cfg.n_experts, cfg.d_model, cfg.d_mlp
        self.router = nn.Linear(d, E, bias=False)
        self.w1 = nn.Parameter(torch.empty(E, m, d))
        self.b1 = nn.Parameter(torch.zeros(E, m))
        self.w2 = nn.Parameter(torch.empty(E, d, m))
        self.b2 = nn.Parameter(torch.zeros(E, d))
        self.last_stats: dict = {}
        self.aux_loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, E, k = x.shape, self.cfg.n_experts, self.cfg.moe_top_k
        x = x.reshape(-1, shape[-1])
        N = x.shape[0]
        probs = F.softmax(self.router(x).float(), dim=-1)  # [N, E]
        gate, expert = probs.topk(k, dim=-1)  # [N, k]
        if k > 1:
            gate = gate / gate.sum(-1, keepdim=True)
        cap = self.cfg.capacity(N, self.training)
        flat_expert = expert.t().reshape(-1)  # [k·N], choice-major: first choices have priority
        flat_gate = gate.t().reshape(-1).to(x.dtype)
        by_expert, order = torch.sort(flat_expert, stable=True)  # grouped by expert, priority kept
        counts = torch.bincount(flat_expert, minlength=E)
        slot = torch.arange(k * N, device=x.device) - (torch.cumsum(counts, 0) - counts)[by_expert]
        kept = slot < cap  # an expert's assignments past its capacity are dropped
        a, e, slot = order[kept], by_expert[kept], slot[kept]
        tok = a % N
        # every expert at once: its kept tokens in rows of a [E, width, d] buffer (zero rows pad the
        # experts that took fewer), one batched matmul per weight instead of a loop over experts
        counts_list = counts.tolist()
        width = min(cap, max(counts_list))
        buf = x.new_zeros(E, width, x.shape[-1])
        buf[e, slot] = x[tok]
        hdn = F.gelu(torch.baddbmm(self.b1[:, None, :], buf, self.w1.transpose(1, 2)))
        y = torch.baddbmm(self.b2[:, None, :], hdn, self.w2.transpose(1, 2))
        out = torch.zeros_like(x)
        out.index_add_(0, tok, y[e, slot] * flat_gate[a, None])
        self.last_stats = {"tokens": N, "capacity": cap, "assignments": k * N,
                           "dropped": sum(max(0, c - cap) for c in counts_list)}
        frac = counts.to(probs.dtype) / (k * N)
        self.aux_loss = E * (frac * probs.mean(0)).sum()
        return out.view(shape)


class Block(nn.Module):
    """Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)) (no MLP and no norm2 for GPT2_0)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1 = make_norm(cfg)
        self.attn = Attention(cfg)
        kind = cfg.mlp_kind
        self.norm2 = None if kind == "none" else make_norm(cfg)
        self.mlp = {"standard": lambda: MLP(cfg, cfg.activation), "std_silu": lambda: MLP(cfg, cfg.activation),
                    "gated": lambda: GatedMLP(cfg), "moe": lambda: MoE(cfg), "none": lambda: None}[kind]()

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cos, sin)
        if self.mlp is not None:
            x = x + self.mlp(self.norm2(x))
        return x


# -- the model ------------------------------------------------------------------------------------
class KCLTransformer(nn.Module):
    """Decoder-only LM: ``forward(idx [B,T]) -> logits [B,T,V]`` (float)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = make_norm(cfg)
        # tied: the head is the embedding matrix itself, so there is one tensor [P App. B item 2]
        self.lm_head = None if cfg.tie_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rotary_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The config's ``init``. ``gpt2``: N(0, init_std) weights, zero biases, unit norms; residual
        output projections scaled by 1/sqrt(2·n_layer). ``torch``: each module's own PyTorch default
        (embedding N(0, 1), Kaiming-uniform linear layers; MoE experts as ``gpt2``).
        ``embedding_unit``: ``gpt2`` with the embedding N(0, 1). Deterministic given
        ``torch.manual_seed`` (fixed module order)."""
        if self.config.init == "torch":
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.Embedding, nn.LayerNorm, nn.RMSNorm)):
                    module.reset_parameters()
                elif isinstance(module, MoE):
                    self._gpt2_moe(module)
            return
        self._gpt2_init()
        if self.config.init == "embedding_unit":
            nn.init.normal_(self.tok_emb.weight, 0.0, 1.0)

    def _gpt2_moe(self, module) -> None:
        std = self.config.init_std
        nn.init.normal_(module.w1, 0.0, std)
        nn.init.normal_(module.w2, 0.0, std / math.sqrt(2 * self.config.n_layer))
        nn.init.zeros_(module.b1)
        nn.init.zeros_(module.b2)

    def _gpt2_init(self) -> None:
        std = self.config.init_std
        resid_std = std / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                out_proj = name.endswith(("attn.out", "mlp.proj"))
                nn.init.normal_(module.weight, 0.0, resid_std if out_proj else std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.LayerNorm, nn.RMSNorm)):
                nn.init.ones_(module.weight)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, MoE):
                self._gpt2_moe(module)

    @property
    def head_weight(self) -> torch.Tensor:
        return self.tok_emb.weight if self.lm_head is None else self.lm_head.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        if T > self.config.max_seq_len:
            raise ValueError(f"sequence length {T} exceeds ModelConfig.max_seq_len={self.config.max_seq_len}")
        x = self.tok_emb(idx)
        cos, sin = self.rope_cos[:T].to(x.dtype), self.rope_sin[:T].to(x.dtype)
        for block in self.blocks:
            x = block(x, cos, sin)
        return F.linear(self.norm_f(x), self.head_weight)

    def moe_aux_loss(self) -> torch.Tensor:
        """Sum of the MoE load-balancing losses of the last forward (0 without MoE layers)."""
        losses = [b.mlp.aux_loss for b in self.blocks if isinstance(b.mlp, MoE)]
        return torch.stack(losses).sum() if losses else torch.zeros((), device=self.tok_emb.weight.device)


def build_model(cfg: ModelConfig) -> KCLTransformer:
    """A freshly initialized model (seed with ``torch.manual_seed`` first for reproducibility)."""
    return KCLTransformer(cfg)


@contextlib.contextmanager
def counting_routing(model: nn.Module):
    """Within the block, the expert assignments and the dropped assignments of every forward of
    ``model``'s MoE layers, added up in the dict it yields (live: read it inside the block or after;
    empty for a model without MoE layers). Training and the measurement both count this way."""
    counts: dict = {}

    def add(module, _inputs, _output):
        counts["assignments"] = counts.get("assignments", 0) + module.last_stats["assignments"]
        counts["dropped"] = counts.get("dropped", 0) + module.last_stats["dropped"]

    hooks = [m.register_forward_hook(add) for m in model.modules() if isinstance(m, MoE)]
    try:
        yield counts
    finally:
        for hook in hooks:
            hook.remove()
