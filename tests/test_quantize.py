"""Weight quantization: the grid, round to nearest, GPTQ against its defining properties, and a
quantized kcl model."""

import pytest
import torch

from kcl.models import ModelConfig, build_model
from kcl.quantize import Grid, layer_hessians, quantize_gptq, quantize_rtn, quantized


def weights(rows=16, cols=32, seed=0):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("bits", [8, 4])
def test_rtn_puts_each_row_on_its_own_grid_within_half_a_step(bits):
    w = weights()
    q = quantize_rtn(w, bits)
    grid = Grid.of(w, bits)
    levels = torch.round(q / grid.scale + grid.zero)
    assert torch.allclose(q, grid.scale * (levels - grid.zero))  # on the grid
    assert levels.min() >= 0 and levels.max() <= 2 ** bits - 1
    assert ((q - w).abs() <= grid.scale / 2 + 1e-12).all()  # nearest level
    assert torch.unique(q[0]).numel() <= 2 ** bits


def test_gptq_with_uncorrelated_inputs_is_round_to_nearest():
    w = weights()
    assert torch.allclose(quantize_gptq(w, torch.eye(32, dtype=torch.float64) * 3.0, 4), quantize_rtn(w, 4))


def correlated_inputs(n=512, cols=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(cols, cols, generator=g, dtype=torch.float64)
    return torch.randn(n, cols, generator=g, dtype=torch.float64) @ mix


@pytest.mark.parametrize("bits", [4, 3])
def test_gptq_lowers_the_layers_output_error_below_round_to_nearest(bits):
    w, x = weights(), correlated_inputs()
    h = 2 * x.T @ x / len(x)
    error = lambda q: ((x @ (w - q).T) ** 2).sum().item()
    assert error(quantize_gptq(w, h, bits)) < 0.8 * error(quantize_rtn(w, bits))


def test_gptqs_lazy_block_updates_are_exact():
    w, x = weights(8, 40), correlated_inputs(cols=40)
    h = 2 * x.T @ x / len(x)
    assert torch.allclose(quantize_gptq(w, h, 4, block=1), quantize_gptq(w, h, 4, block=128), atol=1e-9)
    assert torch.allclose(quantize_gptq(w, h, 4, block=7), quantize_gptq(w, h, 4, block=128), atol=1e-9)


def test_an_input_that_never_occurs_zeroes_its_weights():
    w, x = weights(), correlated_inputs()
    x[:, 5] = 0
    q = quantize_gptq(w, 2 * x.T @ x / len(x), 4)
    assert (q[:, 5] == 0).all()


def tiny(arch="gpt2"):
    torch.manual_seed(0)
    return build_model(ModelConfig(arch=arch, vocab_size=40, n_layer=2, n_head=2, d_model=16))


def test_hessians_come_from_each_layers_inputs():
    model = tiny()
    batches = [torch.randint(0, 40, (4, 12), generator=torch.Generator().manual_seed(s)) for s in range(3)]
    layers = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    hessians = layer_hessians(model, batches, layers)
    assert set(hessians) == set(layers)
    for name, h in hessians.items():
        assert h.shape == (layers[name].in_features,) * 2 and torch.allclose(h, h.T)
        assert torch.linalg.eigvalsh(h).min() > -1e-9  # positive semi-definite


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("method", ["rtn", "gptq"])
def test_a_quantized_model_keeps_its_shape_and_int8_stays_close(arch, method):
    model = tiny(arch)
    batches = [torch.randint(0, 40, (4, 12), generator=torch.Generator().manual_seed(s)) for s in range(4)]
    x = batches[0]
    with torch.no_grad():
        ref = model(x)
        q8 = quantized(model, 8, method, calibration=batches)(x)
        q4 = quantized(model, 4, method, calibration=batches)(x)
        kept = quantized(model, 4, method, calibration=batches, embedding=False)
    assert (ref - q8).abs().max() < (ref - q4).abs().max()
    assert (ref - q8).abs().max() < 0.05 * ref.abs().max()
    assert torch.equal(kept.tok_emb.weight, model.tok_emb.weight)  # left in float when asked
    assert sum(p.numel() for p in kept.parameters()) == sum(p.numel() for p in model.parameters())
    for name, p in model.named_parameters():  # the original is untouched
        assert torch.equal(p, dict(tiny(arch).named_parameters())[name])


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="bits must be one of"):
        quantize_rtn(weights(), 5)
    with pytest.raises(ValueError, match="method must be one of"):
        quantized(tiny(), 8, "awq")
    with pytest.raises(ValueError, match="GPTQ needs calibration"):
        quantized(tiny(), 8, "gptq")


def test_a_stored_run_measured_quantized(tmp_path):
    """A small bioD run saved with its weights, measured again in float, int8 and int4: the same
    parameter count; int8 keeps nearly every bit; int4 keeps less than int8; the float figure is the
    record's exactly."""
    from kcl.config import ModelSpec, RunConfig
    from kcl.data import DataConfig
    from kcl.run import measure_quantized, run
    from kcl.train import TrainConfig

    config = RunConfig(data=DataConfig(name="bioD", n_people=60, K=2, C=2, D=8, L=1, T=8, pools=(20, 20, 20)),
                       model=ModelSpec(n_layer=1, n_head=2, d_model=32),
                       train=TrainConfig(exposures=100, batch_size=4, lr=0.01, packing="per_bio"), bootstrap=20)
    record = run(config, weights_dir=tmp_path, progress=False)
    assert record["R"] > 0.5 * record["R_max"]  # the model stored most of its data: something to lose
    int8 = measure_quantized(config, tmp_path, 8, "gptq", bootstrap=20)
    int4 = measure_quantized(config, tmp_path, 4, "rtn", bootstrap=20)
    assert int8["params"] == int4["params"] == record["params"]
    assert int8["bits"] == pytest.approx(record["bits"], rel=0.05)
    assert int4["bits"] < int8["bits"]
    assert int8["quantization"] == {"bits": 8, "method": "gptq", "embedding": True, "calibration_people": 60}
