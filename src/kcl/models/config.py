"""``ModelConfig``: every architecture of the paper as one validated dataclass.

Names follow the paper [P §2.3, App. A/B; fact sheet §5.1]: GPT2-ℓ-h has ℓ layers, h heads of
dimension 64 and hidden size d = 64h. ``d_model`` overrides the width for tiny CPU models.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

GPT2_FAMILY = ("gpt2", "gpt2_quarter_mlp", "gpt2_no_mlp", "gpt2_moe")
LLAMA_FAMILY = ("llama", "mistral", "llama_std_mlp")
ARCHS = GPT2_FAMILY + LLAMA_FAMILY
#: initialisations: GPT-2's (N(0, init_std) weights, residual projections scaled down), PyTorch's own
#: module defaults (embedding N(0, 1), Kaiming-uniform linear layers), or GPT-2's with the
#: embedding alone at N(0, 1) (the embedding's scale by itself)
INITS = ("gpt2", "torch", "embedding_unit")

#: activations of a standard d→m→d MLP: exact (erf) GELU, as GPT-2's, or SiLU, as LLaMA's
ACTIVATIONS = ("gelu", "silu")

# MLP kind per arch [P App. B]: "standard" d→4d→d (GELU, bias), "quarter" d→d→d, "none",
# "gated" V(σ(W1 x)·(W2 x)) with SiLU, "std_silu" d→4d→d SiLU without bias, "moe" experts d→d→d.
MLP_KIND = {"gpt2": "standard", "gpt2_quarter_mlp": "standard", "gpt2_no_mlp": "none", "gpt2_moe": "moe",
            "llama": "gated", "mistral": "gated", "llama_std_mlp": "std_silu"}


def default_width(n_head: int) -> int:
    """GPT2-ℓ-h's hidden size [P §2.3]: h heads of dimension 64. The one place the rule is written:
    ``ModelConfig`` fills ``d_model=None`` with it, and run names and the run table read it."""
    return 64 * n_head


def default_kv_heads(arch: str, n_head: int) -> int:
    """Mistral's GQA [fact sheet §5.1]: 4 KV groups if h ≡ 0 (mod 4), 1 if h is odd, else 2."""
    if arch != "mistral":
        return n_head
    return 4 if n_head % 4 == 0 else (1 if n_head % 2 else 2)


def default_d_mlp(arch: str, d: int) -> int:
    """Hidden width of the MLP (of one expert for MoE)."""
    if arch in ("gpt2", "llama_std_mlp"):
        return 4 * d  # 8d² parameters
    if arch in ("gpt2_quarter_mlp", "gpt2_moe"):
        return d  # GPT2_{1/4}: d→d→d; each MoE expert d→d→d [P App. B, §9]
    if arch == "llama":
        return round(8 * d / 3)  # gated: 3·d·I ≈ 8d² [P App. B]
    if arch == "mistral":
        return round(3.5 * d)  # gated: 3·d·I = 10.5d² [P App. B]
    return 0  # gpt2_no_mlp


def _check(ok: bool, knob: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"ModelConfig.{knob}={value!r} is invalid; allowed: {allowed}")


@dataclass
class ModelConfig:
    """One decoder-only transformer. ``None`` fields take the arch default (resolved in __post_init__)."""

    arch: str  # one of ARCHS
    vocab_size: int
    n_layer: int
    n_head: int
    d_model: int | None = None  # None → 64·n_head (GPT2-ℓ-h naming)
    rotary_base: float = 10000.0
    rotary_pct: float | None = None  # None → 0.25 GPT2 family (GPT-NeoX, Part 3.1 App. B), 1.0 llama/mistral
    tie_embeddings: bool | None = None  # None → True GPT2 family [P App. B], False llama/mistral
    n_kv_head: int | None = None  # None → n_head, or Mistral's GQA rule
    d_mlp: int | None = None  # None → arch default (see default_d_mlp)
    n_experts: int = 32  # gpt2_moe only [P §9]
    moe_top_k: int = 1
    moe_capacity_factor: float = 2.0  # training
    moe_eval_capacity_factor: float = 8.0  # evaluation (not self.training)
    max_seq_len: int = 512  # context length [P §2.3]
    init_std: float = 0.02
    init: str = "gpt2"  # one of INITS; a run sets it through model.options, so earlier keys stay
    mlp_act: str | None = None  # a standard MLP's activation, "gelu" or "silu"; None: the arch's (Result 7's step)
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        _check(self.arch in ARCHS, "arch", f"one of {list(ARCHS)}", self.arch)
        for knob in ("vocab_size", "n_layer", "n_head", "max_seq_len"):
            v = getattr(self, knob)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, knob, "an integer >= 1", v)
        if self.d_model is None:
            self.d_model = default_width(self.n_head)
        _check(isinstance(self.d_model, int) and self.d_model >= 1 and self.d_model % self.n_head == 0,
               "d_model", f"a positive multiple of n_head={self.n_head}", self.d_model)
        _check(self.head_dim % 2 == 0, "d_model", f"d_model/n_head even (head dim is {self.head_dim})",
               self.d_model)
        if self.rotary_pct is None:
            self.rotary_pct = 0.25 if self.arch in GPT2_FAMILY else 1.0
        _check(0 < self.rotary_pct <= 1, "rotary_pct", "0 < rotary_pct <= 1", self.rotary_pct)
        _check(self.rotary_dim >= 2 and self.rotary_dim % 2 == 0, "rotary_pct",
               f"int(head_dim*rotary_pct) even and >= 2 (head dim {self.head_dim} gives {self.rotary_dim})",
               self.rotary_pct)
        _check(self.rotary_base > 0, "rotary_base", "> 0", self.rotary_base)
        if self.tie_embeddings is None:
            self.tie_embeddings = self.arch in GPT2_FAMILY
        if self.n_kv_head is None:
            self.n_kv_head = default_kv_heads(self.arch, self.n_head)
        _check(isinstance(self.n_kv_head, int) and 1 <= self.n_kv_head <= self.n_head
               and self.n_head % self.n_kv_head == 0, "n_kv_head", f"a divisor of n_head={self.n_head}",
               self.n_kv_head)
        if self.d_mlp is None:
            self.d_mlp = default_d_mlp(self.arch, self.d_model)
        if self.arch == "gpt2_no_mlp":
            _check(self.d_mlp == 0, "d_mlp", "0 or None for gpt2_no_mlp", self.d_mlp)
        else:
            _check(isinstance(self.d_mlp, int) and self.d_mlp >= 1, "d_mlp", "an integer >= 1", self.d_mlp)
        _check(isinstance(self.n_experts, int) and self.n_experts >= 1, "n_experts", "an integer >= 1",
               self.n_experts)
        _check(isinstance(self.moe_top_k, int) and 1 <= self.moe_top_k <= self.n_experts, "moe_top_k",
               f"an integer in [1, n_experts={self.n_experts}]", self.moe_top_k)
        for knob in ("moe_capacity_factor", "moe_eval_capacity_factor"):
            _check(getattr(self, knob) > 0, knob, "> 0", getattr(self, knob))
        _check(self.init_std > 0, "init_std", "> 0", self.init_std)
        _check(self.init in INITS, "init", f"one of {list(INITS)}", self.init)
        _check(self.mlp_act is None or (self.mlp_act in ACTIVATIONS and self.mlp_kind in ("standard", "std_silu")),
               "mlp_act", f"None, or one of {list(ACTIVATIONS)} for an arch with a standard MLP "
               f"({', '.join(a for a, k in MLP_KIND.items() if k in ('standard', 'std_silu'))})", self.mlp_act)
        _check(self.norm_eps > 0, "norm_eps", "> 0", self.norm_eps)

    # -- derived sizes -----------------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @property
    def rotary_dim(self) -> int:
        return int(self.head_dim * self.rotary_pct)  # same truncation as HF's GPT-NeoX

    @property
    def mlp_kind(self) -> str:
        return MLP_KIND[self.arch]

    @property
    def activation(self) -> str:
        """A standard MLP's activation: ``mlp_act``, else GELU (GPT2 family) or SiLU (llama_std_mlp)."""
        return self.mlp_act or ("silu" if self.mlp_kind == "std_silu" else "gelu")

    @property
    def norm_kind(self) -> str:
        return "layernorm" if self.arch in GPT2_FAMILY else "rmsnorm"

    @property
    def bias(self) -> bool:
        """Linear biases: GPT2 family yes, LLaMA family no."""
        return self.arch in GPT2_FAMILY

    def capacity(self, n_tokens: int, training: bool) -> int:
        """Tokens one expert takes: ceil(capacity_factor · tokens · top_k / n_experts) [P §9]."""
        cf = self.moe_capacity_factor if training else self.moe_eval_capacity_factor
        return math.ceil(cf * n_tokens * self.moe_top_k / self.n_experts)

    # -- naming and (de)serialisation --------------------------------------------------------------
    @classmethod
    def gpt2_lh(cls, l: int, h: int, vocab_size: int, **kw) -> "ModelConfig":  # noqa: E741
        """GPT2-ℓ-h [P §2.3]: ℓ layers, h heads, hidden 64h (override any knob with ``kw``)."""
        return cls(**{"arch": "gpt2", "vocab_size": vocab_size, "n_layer": l, "n_head": h, **kw})

    def name(self) -> str:
        base = f"{self.arch}-{self.n_layer}-{self.n_head}"
        return base if self.d_model == default_width(self.n_head) else f"{base}-d{self.d_model}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s) {sorted(unknown)}; allowed: {sorted(names)}")
        return cls(**values)


def gpt2_lh(l: int, h: int, vocab_size: int, **kw) -> ModelConfig:  # noqa: E741
    """Module-level alias of ``ModelConfig.gpt2_lh``."""
    return ModelConfig.gpt2_lh(l, h, vocab_size, **kw)
