"""Models: one configurable decoder-only transformer for the paper's architectures [P §2.3, App. B].

``ModelConfig`` (validated knobs), ``build_model(cfg)`` → ``KCLTransformer``; conversion to and from
transformers in ``kcl.models.hf``. Both are imported lazily: ``kcl.models.config`` (the knobs and
the naming rules) stays importable without torch, for the torch-free run table (``kcl.catalog``).
"""

from kcl.models.config import ARCHS, GPT2_FAMILY, LLAMA_FAMILY, ModelConfig, default_width, gpt2_lh

__all__ = ["ARCHS", "GPT2_FAMILY", "LLAMA_FAMILY", "ModelConfig", "default_width", "gpt2_lh", "KCLTransformer", "build_model",
           "to_hf", "from_hf", "export_pretrained", "load_pretrained"]


def __getattr__(name):  # lazy: torch takes ~1 s to import, transformers ~2 s
    if name in ("KCLTransformer", "build_model"):
        from kcl.models import transformer

        return getattr(transformer, name)
    if name in ("to_hf", "from_hf", "export_pretrained", "load_pretrained"):
        from kcl.models import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'kcl.models' has no attribute {name!r}")
