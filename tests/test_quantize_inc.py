"""kcl's GPTQ against an independent implementation that runs on a CPU: Intel Neural Compressor's
(`neural-compressor-pt`), on the same kcl model, weights and calibration batches, per output
channel, asymmetric, no activation order, 1% dampening, a block's layers together. The 4-bit
weights must agree to a thousandth of each row's range (Neural Compressor keeps its scales in lower
precision) and each layer's quantization error within 0.1%. (Its 8-bit weights are not compared: its
asymmetric 8-bit zero points do not come back through its own unpacking.)"""

import copy
import tempfile
import warnings

import pytest
import torch

from kcl.models import ModelConfig, build_model
from kcl.quantize import quantized

inc = pytest.importorskip("neural_compressor.torch.quantization", reason="the test extra installs neural-compressor-pt")


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("bits", [4, 3])
def test_gptq_agrees_with_neural_compressor(arch, bits):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=arch, vocab_size=40, n_layer=2, n_head=2, d_model=16))
    batches = [torch.randint(0, 40, (4, 12), generator=torch.Generator().manual_seed(s)) for s in range(8)]
    config = inc.GPTQConfig(bits=bits, group_size=-1, use_sym=False, act_order=False, percdamp=0.01,
                            block_size=128, true_sequential=False, model_path=tempfile.mkdtemp())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = inc.prepare(copy.deepcopy(model), config)
        for batch in batches:
            theirs(batch)
        theirs = inc.convert(theirs)
    ours = dict(quantized(model, bits, "gptq", calibration=batches, embedding=False).named_modules())
    original = dict(model.named_modules())
    compared = 0
    for name, module in theirs.named_modules():
        if type(module).__name__ != "INCWeightOnlyLinear":
            continue
        w_inc, w_ours, w = module.recover().float(), ours[name].weight.float(), original[name].weight
        span = (w.max(dim=1, keepdim=True).values - w.min(dim=1, keepdim=True).values)
        assert ((w_inc - w_ours).abs() <= 1e-3 * span).all(), name
        assert (w_ours - w).norm().item() == pytest.approx((w_inc - w).norm().item(), rel=1e-3), name
        compared += 1
    assert compared == 8  # every linear layer of both blocks
