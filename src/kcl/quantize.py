"""Post-training weight quantization to int8 or int4, weights only (activations stay float).

Two quantizers, both per output channel (one scale and zero point per row of a weight matrix):

* ``rtn``: round to nearest on the min-max grid of each row (the baseline);
* ``gptq``: GPTQ (Frantar et al. 2022, the algorithm of ``auto_gptq``, which the paper used): the
  columns are quantized in order and each one's rounding error is spread over the columns not yet
  quantized, weighted by the inverse Hessian of the layer's inputs, H = 2·XᵀX over calibration
  data (a 1% dampening on its diagonal). Blocks are quantized in order, each with the inputs that
  the blocks before it give once quantized; a block's layers together (auto_gptq's
  ``true_sequential=False``). A test checks it against Intel Neural Compressor's GPTQ.

A quantized model is a float model whose weights lie on the integer grid (fake quantization): the
bits are measured on it exactly as on the trained model, over the same parameter count.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from kcl.capacity import eos_padded

QUANTIZERS = ("rtn", "gptq")


@dataclass(frozen=True)
class Grid:
    """Per-row asymmetric integer grid: ``q = clamp(round(w / scale) + zero, 0, 2^bits - 1)``."""

    scale: torch.Tensor  # (rows, 1)
    zero: torch.Tensor  # (rows, 1)
    bits: int

    @classmethod
    def of(cls, weight: torch.Tensor, bits: int) -> "Grid":
        """The min-max grid of each row of ``weight`` (the range always holds 0)."""
        if bits not in (2, 3, 4, 8):
            raise ValueError(f"bits must be one of 2, 3, 4, 8, got {bits!r}")
        top = 2 ** bits - 1
        low = weight.min(dim=1, keepdim=True).values.clamp(max=0)
        high = weight.max(dim=1, keepdim=True).values.clamp(min=0)
        scale = (high - low) / top
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays zero
        return cls(scale, torch.round(-low / scale), bits)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        """``w`` (a column of rows, or the whole matrix) rounded onto the grid, back in float."""
        scale, zero = (self.scale, self.zero) if w.dim() == 2 else (self.scale[:, 0], self.zero[:, 0])
        q = torch.clamp(torch.round(w / scale) + zero, 0, 2 ** self.bits - 1)
        return scale * (q - zero)


def quantize_rtn(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Round to nearest, per output channel (row)."""
    return Grid.of(weight, bits)(weight)


def quantize_gptq(weight: torch.Tensor, hessian: torch.Tensor, bits: int, *, damp: float = 0.01,
                  block: int = 128) -> torch.Tensor:
    """GPTQ on ``weight`` (out × in) with the inputs' Hessian ``hessian`` (in × in), per row."""
    W = weight.detach().double().clone()
    H = hessian.detach().double().clone()
    if H.shape != (W.shape[1], W.shape[1]):
        raise ValueError(f"the Hessian must be {W.shape[1]} × {W.shape[1]}, got {tuple(H.shape)}")
    grid = Grid.of(W, bits)
    dead = torch.diag(H) == 0  # inputs that never occur: their weights cannot matter
    H[dead, dead] = 1
    W[:, dead] = 0
    H += damp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    for i1 in range(0, W.shape[1], block):
        i2 = min(i1 + block, W.shape[1])
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        Err1 = torch.zeros_like(W1)
        for i in range(i2 - i1):
            w = W1[:, i]
            q = grid(w)
            Q[:, i1 + i] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return Q.to(weight.dtype)


def layer_hessians(model: nn.Module, batches, layers: dict[str, nn.Linear]) -> dict[str, torch.Tensor]:
    """H = 2·XᵀX / n of the inputs of each linear layer in ``layers`` over the token batches
    ``batches`` (int tensors, B × T), with the model as it is (float)."""
    sums = {name: torch.zeros(layer.in_features, layer.in_features, dtype=torch.float64)
            for name, layer in layers.items()}
    counts = dict.fromkeys(layers, 0)

    def hook(name):
        def record(_module, inputs, _output):
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).double()
            sums[name] += 2 * x.T @ x
            counts[name] += x.shape[0]
        return record

    handles = [layer.register_forward_hook(hook(name)) for name, layer in layers.items()]
    try:
        with torch.no_grad():
            for batch in batches:
                model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return {name: sums[name] / max(counts[name], 1) for name in layers}


def quantized(model: nn.Module, bits: int, method: str = "rtn", *, calibration=None,
              embedding: bool = True) -> nn.Module:
    """A copy of ``model`` (kcl's layout) with every linear layer's weight and the output head
    quantized to ``bits`` by ``method``, and the embedding too unless ``embedding`` is False. A tied
    embedding and output head is one matrix: quantized once, as the head (its inputs are the last
    hidden states), or left in float with the embedding. An untied embedding is a lookup without
    inputs: round to nearest. Norms and biases stay float. ``calibration``: token batches for GPTQ."""
    if method not in QUANTIZERS:
        raise ValueError(f"method must be one of {', '.join(QUANTIZERS)}, got {method!r}")
    if method == "gptq" and calibration is None:
        raise ValueError("GPTQ needs calibration batches (token ids) to measure its layers' inputs")
    calibration = list(calibration) if calibration is not None else None
    out = copy.deepcopy(model).eval()
    tied = out.lm_head is None
    linears = {name: m for name, m in out.named_modules() if isinstance(m, nn.Linear) and m is not out.lm_head}
    hessians = {}
    with torch.no_grad():
        for group in _in_order(out, linears):
            if method == "gptq":  # each group's inputs come through the groups quantized before it
                hessians.update(layer_hessians(out, calibration, group))
            for name, layer in group.items():
                layer.weight.copy_(_quantize(layer.weight, bits, method, hessians.get(name)))
        if method == "gptq":  # the head is applied as a matrix, not called: its inputs come from the final norm
            hessians.update(layer_hessians(out, calibration, {"<head>": _HeadInputs(out)}))
        if not tied:
            out.lm_head.weight.copy_(_quantize(out.lm_head.weight, bits, method, hessians.get("<head>")))
        if embedding:
            emb = out.tok_emb.weight
            emb.copy_(_quantize(emb, bits, method, hessians.get("<head>")) if tied else quantize_rtn(emb, bits))
    return out


def _in_order(model: nn.Module, linears: dict[str, nn.Linear]) -> list[dict[str, nn.Linear]]:
    """The linear layers by transformer block, in order (GPTQ quantizes a block with the inputs the
    blocks before it give once quantized, as auto_gptq does), then any others."""
    blocks = [{n: m for n, m in linears.items() if n.startswith(f"blocks.{i}.")} for i in range(len(model.blocks))]
    rest = {n: m for n, m in linears.items() if not any(n in b for b in blocks)}
    return [b for b in blocks if b] + ([rest] if rest else [])


def _quantize(weight, bits, method, hessian):
    return quantize_gptq(weight, hessian, bits) if method == "gptq" else quantize_rtn(weight, bits)


class _HeadInputs:
    """Stands in for the output head in ``layer_hessians``: a hook on the final norm sees the head's
    inputs (the last hidden states)."""

    def __init__(self, model: nn.Module):
        self.in_features = model.config.d_model
        self._norm = model.norm_f

    def register_forward_hook(self, hook):
        return self._norm.register_forward_hook(lambda module, inputs, output: hook(module, (output,), output))


def calibration_batches(bios, eos: int, pad: int, batch_size: int = 16) -> list[torch.Tensor]:
    """Token batches (``EOS`` + biography, padded) of rendered biographies ``bios`` (a
    ``kcl.data.Bios``): GPTQ's calibration data, as the paper calibrates on its people's biographies."""
    return [torch.from_numpy(eos_padded(bios, np.arange(start, min(start + batch_size, len(bios))), eos, pad))
            for start in range(0, len(bios), batch_size)]
