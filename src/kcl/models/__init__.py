"""Models: one configurable decoder-only transformer for the paper's architectures [P §2.3, App. B].

``ModelConfig`` (validated knobs), ``build_model(cfg)`` → ``KCLTransformer``; conversion to and from
transformers in ``kcl.models.hf`` (imported lazily, so ``import kcl.models`` stays light).
"""

from kcl.models.config import ARCHS, GPT2_FAMILY, LLAMA_FAMILY, ModelConfig, gpt2_lh
from kcl.models.transformer import KCLTransformer, build_model

__all__ = ["ARCHS", "GPT2_FAMILY", "LLAMA_FAMILY", "ModelConfig", "gpt2_lh", "KCLTransformer", "build_model",
           "to_hf", "from_hf", "export_pretrained", "load_pretrained"]


def __getattr__(name):  # lazy: transformers takes ~2 s to import
    if name in ("to_hf", "from_hf", "export_pretrained", "load_pretrained"):
        from kcl.models import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'kcl.models' has no attribute {name!r}")
