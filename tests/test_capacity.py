import math

import numpy as np
import pytest

from kcl.capacity import capacity, loss_by_position, measurement_bios, person_losses, sentence_positions
from kcl.controls import control_losses
from kcl.data import VALUE, DataConfig, make_dataset

PARAMS = {"total": 10_000, "non_embedding": 4_000}


def control_capacity(ds, kind):
    bios = measurement_bios(ds)[0]
    loss, correct = control_losses(ds, bios, kind)
    losses = person_losses(bios, loss, correct, ds.n_people, len(ds.attributes))
    return capacity(ds, losses, PARAMS, bootstrap=50)


BIOS = DataConfig(name="bioS", n_people=80, seed=1)
BIOD = DataConfig(name="bioD", n_people=150, K=3, C=2, D=6, L=2, T=5, pools=(20, 20, 20))
RANDOM = DataConfig(name="random", n_people=40, length=6, T=9, pools=(10, 10, 10))
# subword tokens (protocol v4): names and values span several tokens, with the paper's name pools
BPE = [DataConfig(name=name, n_people=60, seed=2, tokenizer="bpe", rewrites=3)
       for name in ("bioS", "bioS-simple", "bioR-proxy")]


@pytest.mark.parametrize("cfg", [BIOS, DataConfig(name="bioS-simple", n_people=50),
                                 DataConfig(name="bioR-proxy", n_people=50, rewrites=3), *BPE])
def test_uniform_predictor_stores_exactly_zero_bits_on_bios(cfg):
    ds = make_dataset(cfg)
    out = control_capacity(ds, "uniform")
    assert out["bits_name"] == pytest.approx(0, abs=1e-6)
    for a, b in out["bits_per_attribute"].items():
        assert b == pytest.approx(0, abs=1e-6), a
    assert out["bits"] == pytest.approx(0, abs=1e-6) and out["R"] == pytest.approx(0, abs=1e-9)
    assert out["accuracy_mean"] == 0


@pytest.mark.parametrize("cfg", [BIOS, BIOD, RANDOM, DataConfig(name="bioR-proxy", n_people=50, rewrites=3), *BPE])
def test_oracle_reaches_r_max_exactly(cfg):
    ds = make_dataset(cfg)
    out = control_capacity(ds, "oracle")
    assert out["bits"] == pytest.approx(out["max_bits"], rel=1e-12)
    assert out["R"] == pytest.approx(out["R_max"], rel=1e-12)
    assert out["accuracy_mean"] == 1.0
    assert out["bits_ci"][0] == pytest.approx(out["max_bits"]) == pytest.approx(out["bits_ci"][1])


def test_bios_max_bits_by_hand():
    ds = make_dataset(BIOS)
    # N·log2(N0/N) + N·log2 S0, with log2 S0 = 47.59
    expect = 80 * math.log2(1.6e8 / 80) + 80 * math.log2(2 * 67200 * 200 * 300 * 100 * 263)
    assert ds.max_bits()["total"] == pytest.approx(expect)
    assert ds.max_bits()["total"] / 80 == pytest.approx(20.93 + 47.59, abs=0.01)


def test_biod_formula_by_hand():
    ds = make_dataset(BIOD)
    N, K, C, D, L, T, N0 = 150, 3, 2, 6, 2, 5, 8000
    most = ds.max_bits()
    assert most["name"] == pytest.approx(N * math.log2(N0 / N))
    assert most["value"] == pytest.approx(N * K * C * math.log2(D))
    assert most["diversity"] == pytest.approx(K * D * math.log2(T ** L / D))
    # a predictor that knows the diversity sets but no person: p1 = log N0, p2 = C log D, p3 = log D
    out = control_capacity(ds, "uniform")
    assert out["bits_name"] == pytest.approx(0, abs=1e-9)
    assert out["bits_value"] == pytest.approx(0, abs=1e-9)
    assert out["bits_diversity"] == pytest.approx(K * D * math.log2(T ** L / (D * D)))


def test_reference_config_bit_content():
    ds = make_dataset(DataConfig(name="bioD", n_people=1000, K=4, C=4, D=64, L=1, T=64, pools=(100, 100, 100)))
    # 1000·log2(1e6/1000) + 1000·4·4·6 + 4·64·log2(64/64) = 9,965.8 + 96,000 + 0
    assert ds.max_bits()["total"] == pytest.approx(1000 * math.log2(1000) + 96_000)


def test_random_strings_entropy_is_the_ceiling():
    ds = make_dataset(RANDOM)
    h = 40 * 6 * math.log2(9)
    assert control_capacity(ds, "oracle")["bits"] == pytest.approx(h)
    assert control_capacity(ds, "uniform")["bits"] == pytest.approx(0, abs=1e-9)


def test_bits_are_not_clipped_at_zero():
    ds = make_dataset(BIOS)
    bios = measurement_bios(ds)[0]
    loss, correct = control_losses(ds, bios, "uniform")
    losses = person_losses(bios, loss + 0.1, correct, ds.n_people, len(ds.attributes))  # worse than chance
    out = capacity(ds, losses, PARAMS, bootstrap=0)
    assert out["bits"] < 0 and out["bits_name"] < 0


def test_bootstrap_interval_covers_the_estimate():
    ds = make_dataset(BIOS)
    bios = measurement_bios(ds)[0]
    loss, correct = control_losses(ds, bios, "uniform")
    noise = np.random.default_rng(0).exponential(0.5, len(loss)) * (bios.role > 0)
    losses = person_losses(bios, np.maximum(loss - noise, 0), correct, ds.n_people, len(ds.attributes))
    out = capacity(ds, losses, PARAMS, bootstrap=300)
    lo, hi = out["bits_ci"]
    assert lo < out["bits"] < hi and hi - lo > 0


def test_biod_diversity_term_vanishes_when_the_diversity_set_is_the_whole_space():
    # D = T^L: every string is in 𝒟_a, which then carries no bits; no diversity term
    ds = make_dataset(DataConfig(name="bioD", n_people=50, K=2, C=3, D=7, L=1, T=7, pools=(10, 10, 10)))
    out = control_capacity(ds, "uniform")
    assert out["max_bits_diversity"] == 0 and out["bits_diversity"] == 0
    assert out["bits"] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("cfg", [BIOS, DataConfig(name="bioR-proxy", n_people=50, rewrites=3), BIOD])
def test_sentence_positions_rank_the_value_sentences_of_each_bio(cfg):
    ds = make_dataset(cfg)
    bios = measurement_bios(ds)[0]
    positions = sentence_positions(bios, ds.n_people, len(ds.attributes))
    stated = sorted({int(a) for a in bios.attr[bios.role == VALUE]})  # attributes stated in the bio
    for i in range(ds.n_people):  # a permutation of 0..k-1 over the stated attributes, -1 elsewhere
        assert sorted(positions[i, stated]) == list(range(len(stated)))
        assert (np.delete(positions[i], stated) == -1).all()
    for i in range(0, ds.n_people, 7):  # rank 0 is the attribute whose value comes first in the bio
        sl = slice(bios.offsets[i], bios.offsets[i + 1])
        first_value = bios.attr[sl][bios.role[sl] == VALUE][0]
        assert positions[bios.person[i], first_value] == 0


def test_loss_by_position_pools_renderings_by_position():
    position = np.array([[0, 1], [1, 0], [0, 1]])
    value = np.array([[math.log(2), 0.0], [0.0, 2 * math.log(2)], [3 * math.log(2), 0.0]])
    parts = [{"position": position, "value": value},
             {"position": np.array([[1, 0], [0, 1], [0, 1]]), "value": value}]  # a second rendering
    out = loss_by_position(parts, ("a", "b"))
    # a at position 0: persons 0, 2 of rendering 1 (1 and 3 bits), persons 1, 2 of rendering 2 (0 and 3)
    assert out["a"]["people"] == [4, 2] and out["a"]["loss_bits"] == pytest.approx([1.75, 0.5])
    assert out["b"]["people"] == [2, 4] and out["b"]["loss_bits"] == pytest.approx([1.0, 0.5])
    assert loss_by_position([{"position": -np.ones((2, 1), int), "value": np.zeros((2, 1))}], ("c",)) == {}
