"""Junk people and the domain token (Results 10-12): junk at any size as a pure function of its
index, never a useful name, packed apart from useful data at its share of the tokens, with exposures
counted on the useful data; the domain token on every useful biography and the bits measured as
trained."""

import numpy as np
import pytest
import torch

from kcl.capacity import measurement_bios
from kcl.config import config_from_dict
from kcl.data import NAME, DataConfig, make_dataset
from kcl.data.junk import JunkPeople, splitmix64
from kcl.models import ModelConfig, build_model
from kcl.store import config_dict
from kcl.train import TrainConfig, round_sequences, stream_composition, train

# small name pools so that junk draws collide with useful names often (the redraw is exercised)
SMALL = dict(name="bioD", n_people=100, K=2, C=2, D=5, L=1, T=8, pools=(5, 5, 5))
JUNK = DataConfig(**SMALL, junk_people=1_000_000_000, junk_share=0.75)


def useful_names(ds) -> set:
    return set(ds.name_sequences())


def test_splitmix64_matches_its_reference_values():
    # the first outputs of SplitMix64 seeded with 0 (the generator adds the golden gamma first)
    assert [int(v) for v in splitmix64(np.array([0, 0x9E3779B97F4A7C15], dtype=np.uint64))] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_a_junk_person_is_a_function_of_the_seed_and_its_index():
    ds = make_dataset(JUNK)
    people = np.array([0, 7, 999_999_999, 7])
    a, b = ds.junk, JunkPeople(ds, JUNK.junk_people, 0.75, seed=JUNK.seed)
    assert np.array_equal(a.names(people), b.names(people)) and np.array_equal(a.chunks(people), b.chunks(people))
    assert np.array_equal(a.names(people)[1], a.names(people)[3])
    other = JunkPeople(ds, JUNK.junk_people, 0.75, seed=1)
    assert not np.array_equal(a.chunks(np.arange(50)), other.chunks(np.arange(50)))
    assert a.chunks(np.arange(5000)).max() == ds.D - 1 and a.chunks(np.arange(5000)).min() == 0


def test_junk_names_are_never_useful_names():
    ds = make_dataset(JUNK)  # 100 of the 125 names are useful: most raw draws collide
    junk = ds.junk.render(np.arange(3000), np.random.default_rng(0))
    triples = {tuple(junk.bio(i)[:3]) for i in range(len(junk))}
    assert not triples & useful_names(ds)
    assert len(triples) == 25  # every free name occurs


@pytest.mark.parametrize("packing", ["per_bio", "concat"])
def test_a_round_packs_useful_and_junk_apart_at_the_junk_share(packing):
    ds = make_dataset(JUNK)
    cfg = TrainConfig(exposures=2, batch_size=4, packing=packing, window=40)
    seqs = round_sequences(ds, cfg, 0)
    eos, useful = ds.vocab.eos_id, useful_names(ds)
    kinds, tokens = [], {"useful": 0, "junk": 0}
    for seq in seqs:
        bios = [b for b in np.split(seq, np.nonzero(seq == eos)[0]) if len(b) > 1]
        whole = [b[1:] for b in bios if len(b) == ds.bio_length + 1]  # whole biographies (windows cut some)
        kind = {"useful" if tuple(b[:3]) in useful else "junk" for b in whole}
        assert len(kind) <= 1  # a sequence never mixes useful and junk biographies
        kinds += list(kind)
        if kind:
            tokens[kind.pop()] += int((seq != eos).sum())
    assert {"useful", "junk"} <= set(kinds)
    assert tokens["junk"] / (tokens["junk"] + tokens["useful"]) == pytest.approx(0.75, abs=0.03)
    assert [np.array_equal(a, b) for a, b in zip(seqs, round_sequences(ds, cfg, 0))] == [True] * len(seqs)


def test_exposures_count_the_useful_people_only():
    ds = make_dataset(JUNK)
    cfg = TrainConfig(exposures=3, batch_size=4, packing="per_bio")
    seen = {}
    for r in range(cfg.exposures):
        for seq in round_sequences(ds, cfg, r):
            name = tuple(seq[1:4])
            if name in useful_names(ds):
                seen[name] = seen.get(name, 0) + 1
    assert len(seen) == ds.n_people and set(seen.values()) == {3}
    stream = stream_composition(ds, cfg)
    assert stream["useful_tokens"] == 3 * ds.n_people * ds.bio_length
    assert stream["junk_share"] == pytest.approx(0.75, abs=0.01)
    assert stream["junk_appearances_mean"] == pytest.approx(stream["junk_bios"] / 1e9)
    assert stream_composition(make_dataset(DataConfig(**SMALL)), cfg) is None


def test_a_junk_run_resumes_to_the_same_weights(tmp_path):
    ds = make_dataset(JUNK)
    cfg = TrainConfig(exposures=2, batch_size=8, lr=3e-3, packing="per_bio")

    def model(seed=0):
        torch.manual_seed(seed)
        return build_model(ModelConfig(arch="gpt2", vocab_size=len(ds.vocab), n_layer=1, n_head=2, d_model=16))

    whole = model()
    summary = train(whole, ds, cfg, progress=False)
    assert summary["stream"]["junk_bios"] > 0
    ckpt = tmp_path / "run.pt"
    assert train(model(), ds, cfg, checkpoint=ckpt, progress=False, stop_after_steps=11)["stopped"]
    resumed = model(seed=5)
    train(resumed, ds, cfg, checkpoint=ckpt, progress=False)
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_the_domain_token_leads_every_useful_biography_and_no_junk_one():
    ds = make_dataset(DataConfig(**SMALL, domain_token=True, junk_people=50))
    domain = ds.vocab.id(ds.DOMAIN_TOKEN)
    assert domain in ds.used_token_ids()
    cfg = TrainConfig(exposures=1, batch_size=4, packing="per_bio")
    seqs = round_sequences(ds, cfg, 0)
    assert len(seqs) > ds.n_people
    for seq in seqs:
        assert (seq[1] == domain) == (tuple(seq[2:5]) in useful_names(ds))
    bios = measurement_bios(ds)[0]  # the measurement reads the useful data as trained: token first
    assert all(bios.bio(i)[0] == domain for i in range(len(bios)))
    first = bios.offsets[:-1]
    assert (bios.role[first] != NAME).all() and (bios.role[first + 1] == NAME).all()


def test_controls_stay_exact_with_the_domain_token():
    from tests.test_capacity import control_capacity

    knobs = {**SMALL, "pools": (20, 20, 20)}
    ds = make_dataset(DataConfig(**knobs, domain_token=True))
    oracle = control_capacity(ds, "oracle")
    assert oracle["bits"] == pytest.approx(oracle["max_bits"], rel=1e-12)
    # the token carries no knowledge: every control's bits are those of the same data without it
    without = make_dataset(DataConfig(**knobs))
    for kind in ("uniform", "oracle"):
        assert control_capacity(ds, kind)["bits"] == pytest.approx(control_capacity(without, kind)["bits"], rel=1e-12)


def test_a_junk_run_records_its_stream():
    from kcl.run import run

    config = config_from_dict({"data": {**SMALL, "junk_people": 1000, "junk_share": 0.875},
                               "model": {"arch": "gpt2", "n_layer": 1, "n_head": 2, "d_model": 16},
                               "train": {"exposures": 2, "batch_size": 16, "lr": 0.01, "packing": "per_bio"},
                               "bootstrap": 20})
    result = run(config, progress=False)
    stream = result["train"]["stream"]
    assert stream["junk_tokens"] == pytest.approx(7 * stream["useful_tokens"], rel=0.01)
    # tokens trained: every biography token and one EOS per biography (its closing one)
    bios = 2 * 100 + stream["junk_bios"]
    assert result["train"]["tokens"] == stream["useful_tokens"] + stream["junk_tokens"] + bios
    assert result["data"]["junk"] == {"people": 1000, "share": 0.875}
    assert "bioD(" in config.data.label() and "junk=1e+03x0.875" in config.data.label()


@pytest.mark.parametrize("knobs, says", [
    ({"name": "bioS", "junk_people": 10}, "apply to bioD"), ({"name": "bioS", "domain_token": True}, "apply to bioD"),
    ({**SMALL, "junk_people": 10, "junk_share": 1.0}, "junk_share"), ({**SMALL, "junk_people": -1}, "junk_people"),
    ({**SMALL, "junk_people": 10, "n_people": 125}, "below the name pools' N0"),
    ({**SMALL, "domain_token": "yes"}, "domain_token")])
def test_bad_junk_knobs_are_named(knobs, says):
    with pytest.raises(ValueError, match=says):
        DataConfig(**knobs)


def test_the_new_knobs_stay_out_of_keys_at_their_defaults():
    plain = config_dict(DataConfig(**SMALL))
    assert not {"junk_people", "junk_share", "domain_token"} & set(plain)
    assert {"junk_people", "domain_token"} <= set(config_dict(DataConfig(**SMALL, junk_people=5, domain_token=True)))
