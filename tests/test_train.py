import numpy as np
import pytest
import torch

from kcl.data import DataConfig, make_dataset
from kcl.models import ModelConfig, build_model
from kcl.train import TrainConfig, iter_batches, lr_at, round_sequences, train

BIOS = DataConfig(name="bioS", n_people=25, seed=2)
BIOD = DataConfig(name="bioD", n_people=40, K=2, C=2, D=4, L=1, T=6, pools=(10, 10, 10))


def stream_of(ds, cfg):
    """The training token stream, rebuilt from the batches (windows overlap by one token)."""
    pad = ds.vocab.pad_id
    out = []
    for batch, _ in iter_batches(ds, cfg):
        for row in batch:
            row = row[row != pad]
            out.extend(row if not out or cfg.packing == "per_bio" else row[1:])
    return np.array(out)


def count_name_starts(ds, stream):
    """How often each person's full name follows an end-of-text token."""
    names = {tuple(n): i for i, n in enumerate(ds.name_sequences())}
    counts = np.zeros(ds.n_people, int)
    for pos in np.nonzero(stream == ds.vocab.eos_id)[0]:
        key = tuple(stream[pos + 1: pos + 4])
        if key in names:
            counts[names[key]] += 1
    return counts


@pytest.mark.parametrize("data", [BIOS, BIOD, DataConfig(name="bioR-proxy", n_people=20, rewrites=3)])
@pytest.mark.parametrize("packing, window, batch", [("concat", 64, 3), ("per_bio", 64, 7)])
def test_every_person_is_seen_exactly_the_configured_number_of_times(data, packing, window, batch):
    ds = make_dataset(data)
    cfg = TrainConfig(exposures=7, batch_size=batch, packing=packing, window=window)
    counts = count_name_starts(ds, stream_of(ds, cfg))
    assert (counts == 7).all(), counts


def test_windows_cover_the_stream_once():
    ds = make_dataset(BIOS)
    cfg = TrainConfig(exposures=1, packing="concat", window=50)
    seqs = round_sequences(ds, cfg, 0)
    assert all(len(s) == 51 for s in seqs[:-1]) and len(seqs[-1]) <= 51
    rebuilt = np.concatenate([seqs[0]] + [s[1:] for s in seqs[1:]])
    n_bios_tokens = len(rebuilt) - (ds.n_people + 1)  # minus the EOS separators
    assert (rebuilt == ds.vocab.eos_id).sum() == ds.n_people + 1
    assert n_bios_tokens > 0


def test_rounds_are_shuffled_and_deterministic():
    ds = make_dataset(BIOD)
    cfg = TrainConfig(exposures=3, packing="per_bio")
    a = [s.tolist() for s in round_sequences(ds, cfg, 1)]
    assert a == [s.tolist() for s in round_sequences(ds, cfg, 1)]
    assert a != [s.tolist() for s in round_sequences(ds, cfg, 2)]


def test_learning_rate_schedule():
    cfg = TrainConfig(lr=1e-3, warmup_frac=0.1, min_lr_ratio=0.1)
    assert lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(9, 100, cfg) == pytest.approx(1e-3)
    assert lr_at(10, 100, cfg) == pytest.approx(1e-3)
    assert lr_at(100, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(55, 100, cfg) == pytest.approx(1e-4 + 0.9e-3 * 0.5)


def tiny_model(ds, seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=16))


def test_training_is_deterministic_and_learns():
    ds = make_dataset(BIOD)
    cfg = TrainConfig(exposures=20, batch_size=8, lr=3e-3, packing="per_bio")
    a, b = tiny_model(ds), tiny_model(ds)
    ra = train(a, ds, cfg, progress=False)
    rb = train(b, ds, cfg, progress=False)
    assert ra["loss_curve"] == rb["loss_curve"]
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert ra["loss_curve"][-1][1] < ra["loss_curve"][0][1]
    assert ra["steps"] == ra["estimated_steps"] == 100


def test_a_run_stopped_midway_resumes_to_the_same_weights(tmp_path):
    ds = make_dataset(BIOS)
    cfg = TrainConfig(exposures=6, batch_size=4, lr=3e-3, packing="concat", window=48)
    whole = tiny_model(ds)
    train(whole, ds, cfg, progress=False)
    ckpt = tmp_path / "run.pt"
    part = tiny_model(ds)
    out = train(part, ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=7)
    assert out["stopped"] and ckpt.exists()
    resumed = tiny_model(ds, seed=99)  # different init: everything must come from the checkpoint
    train(resumed, ds, cfg, checkpoint=ckpt, progress=False)
    for pa, pb in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)


def test_compiled_training_is_the_eager_run_and_resumes_either_way(tmp_path):
    """``compiled`` changes how steps run, not what they compute (up to float rounding), and its
    checkpoints hold the plain model's weights."""
    ds = make_dataset(BIOS)
    cfg = TrainConfig(exposures=6, batch_size=4, lr=3e-3, packing="concat", window=48)
    eager = tiny_model(ds)
    ran = train(eager, ds, cfg, progress=False)
    ckpt = tmp_path / "run.pt"
    part = tiny_model(ds)
    stopped = train(part, ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=5, compiled=True)
    assert stopped["stopped"] and not any(k.startswith("_orig_mod") for k in torch.load(ckpt)["model"])
    resumed = tiny_model(ds, seed=99)
    summary = train(resumed, ds, cfg, checkpoint=ckpt, progress=False, compiled=True)
    assert summary["compiled"] is True and "compiled" not in ran
    assert summary["steps"] == ran["steps"] and summary["tokens"] == ran["tokens"]
    for pa, pb in zip(eager.parameters(), resumed.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kw, message", [(dict(exposures=0), "exposures"), (dict(batch_size=0), "batch_size"),
                                         (dict(lr=0), "lr"), (dict(packing="x"), "packing"),
                                         (dict(min_lr_ratio=0), "min_lr_ratio"), (dict(window=1), "window")])
def test_bad_training_knobs(kw, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kw)


def test_moe_trains_with_its_balancing_loss():
    ds = make_dataset(BIOD)
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="gpt2_moe", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=16,
                                    n_experts=4))
    out = train(model, ds, TrainConfig(exposures=10, batch_size=8, lr=3e-3, packing="per_bio"), progress=False)
    assert out["loss_curve"][-1][1] < out["loss_curve"][0][1]
    assert model.moe_aux_loss().item() > 0


def test_an_moe_runs_routing_counts_every_step_and_survives_a_resume(tmp_path):
    """The record's expert assignments and dropped assignments: every forward of every step, each
    MoE layer, the same whether the run went straight through or resumed from a checkpoint."""
    ds = make_dataset(BIOD)
    cfg = TrainConfig(exposures=4, batch_size=8, lr=3e-3, packing="per_bio")

    def moe_model(seed=0):
        torch.manual_seed(seed)
        return build_model(ModelConfig(arch="gpt2_moe", vocab_size=len(ds.vocab), n_layer=2, n_head=2, d_model=16,
                                       n_experts=4, moe_capacity_factor=0.5))

    whole = train(moe_model(), ds, cfg, progress=False)["moe"]
    tokens = sum(b[:, :-1].size for b, _ in iter_batches(ds, cfg))  # padded positions route too
    assert whole["assignments"] == 2 * tokens and 0 < whole["dropped"] < whole["assignments"]
    assert whole["dropped_share"] == whole["dropped"] / whole["assignments"]
    ckpt = tmp_path / "run.pt"
    assert train(moe_model(), ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=5)["stopped"]
    assert train(moe_model(seed=9), ds, cfg, checkpoint=ckpt, progress=False)["moe"] == whole


def test_subnormals_are_flushed_while_a_run_trains_and_restored_after(tmp_path):
    """Training takes floats below 2^-126 as zero (much faster on a trained model); the summary says
    from which step, a resumed run keeps its first such step, and the caller's mode comes back."""
    from kcl.train import flushing_subnormals, subnormals_flushed

    assert not flushing_subnormals()
    with subnormals_flushed() as on:
        assert on and flushing_subnormals()
        assert torch.tensor([1e-40]).mul(1.0).item() == 0.0
        with subnormals_flushed(False) as inner:  # off: the mode in force stays
            assert inner and flushing_subnormals()
    assert not flushing_subnormals() and torch.tensor([1e-40]).mul(1.0).item() > 0

    ds = make_dataset(BIOD)
    cfg = TrainConfig(exposures=6, batch_size=8, lr=3e-3, packing="per_bio")
    ckpt = tmp_path / "run.pt"
    stopped = train(tiny_model(ds), ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=7, flush_subnormals=False)
    assert stopped["stopped"] and "flush_subnormals_from_step" not in stopped
    resumed = train(tiny_model(ds), ds, cfg, checkpoint=ckpt, progress=False)
    assert resumed["subnormals_flushed_from_step"] == 7 and not flushing_subnormals()
    whole = train(tiny_model(ds), ds, cfg, progress=False)
    plain = train(tiny_model(ds), ds, cfg, progress=False, flush_subnormals=False)
    assert whole["subnormals_flushed_from_step"] == 0 and "subnormals_flushed_from_step" not in plain
    # a tiny model's first steps hold no subnormal: the same losses either way
    assert whole["loss_curve"] == plain["loss_curve"]
