"""The recipe pilot's rule (kcl.book.regime) on records made by hand, and how a chapter's sweep
takes the regime."""

import pytest

from kcl.book import regime as rg
from made_up import as_record  # tests/ is on sys.path

BASE = {"data": {"name": "bioD", "n_people": 40, "K": 2, "C": 2, "D": 4, "L": 1, "T": 6, "pools": [10, 10, 10]},
        "model": {"arch": "gpt2", "n_layer": 1, "n_head": 2, "d_model": 16}}


def record(batch, init, lr, seed, R):
    options = [["init", init]] if init != "gpt2" else []
    return as_record({"config": {**BASE, "model": {**BASE["model"], "options": options},
                                 "train": {"exposures": 4, "batch_size": batch, "lr": lr, "seed": seed,
                                           "packing": "per_bio"}},
                      "result": {"R": R}})


def pilot(scores):
    """``scores[(batch, init)] = [R at each of the four rates]`` at seed 0; seed 1 is 0.1 lower."""
    rates = [0.0025, 0.005, 0.01, 0.02]
    return [record(b, i, lr, s, R - 0.1 * s) for (b, i), Rs in scores.items() for lr, R in zip(rates, Rs) for s in (0, 1)]


def test_a_recipes_score_is_the_seeds_mean_at_its_best_rate():
    table = rg.recipe_table(pilot({(4, "gpt2"): [0.3, 0.5, 0.4, 0.2], (16, "torch"): [0.1, 0.2, 0.3, 0.6]}))
    first, second = table.to_dict("records")
    assert (first["batch_size"], first["init"], first["best_lr"]) == (16, "torch", 0.02)
    assert first["score"] == pytest.approx(0.55) and first["best_at_edge"] == "highest"
    assert second["score"] == pytest.approx(0.45) and second["best_at_edge"] == ""


def test_an_edge_best_recipe_is_run_one_rate_beyond_at_every_seed():
    records = pilot({(4, "gpt2"): [0.6, 0.5, 0.4, 0.2], (16, "torch"): [0.1, 0.2, 0.3, 0.6],
                     (8, "gpt2"): [0.1, 0.5, 0.3, 0.2]})
    edges = rg.recipe_edge_configs(records)
    assert sorted((c.train.batch_size, dict(c.model.options).get("init", "gpt2"), c.train.lr, c.train.seed)
                  for c in edges) == [(4, "gpt2", 0.00125, 0), (4, "gpt2", 0.00125, 1),
                                      (16, "torch", 0.04, 0), (16, "torch", 0.04, 1)]
    # the best of five counts: the run beyond becomes the recipe's best
    beyond = [record(16, "torch", 0.04, s, 0.9 - 0.1 * s) for s in (0, 1)]
    chosen = rg.choose(records + beyond)
    assert (chosen.batch_size, chosen.init, chosen.lr, chosen.score) == (16, "torch", 0.04, pytest.approx(0.85))
    assert chosen.rates == [0.02, 0.04, 0.08]


def test_scores_within_two_percent_go_to_the_largest_batch():
    records = pilot({(4, "gpt2"): [0.3, 0.50, 0.4, 0.2], (32, "gpt2"): [0.3, 0.495, 0.4, 0.2],
                     (16, "torch"): [0.3, 0.48, 0.4, 0.2]})
    assert rg.choose(records).batch_size == 32
    records = pilot({(4, "gpt2"): [0.3, 0.50, 0.4, 0.2], (32, "gpt2"): [0.3, 0.48, 0.4, 0.2]})
    assert rg.choose(records).batch_size == 4
    with pytest.raises(ValueError, match="no records"):
        rg.choose([])


def test_a_sweep_takes_the_regimes_batch_rates_and_initialisation():
    from kcl.config import expand_sweep

    spec = {"base": {**BASE, "train": {"exposures": 4, "batch_size": 2, "lr": 0.01, "packing": "per_bio"}},
            "grid": {"train.lr": "from_regime", "model.d_model": [16, 32]}}
    regime = rg.Regime(batch_size=16, init="torch", lr=0.005, score=0.5)
    configs = rg.apply_to_configs(expand_sweep(rg.apply_to_spec(spec, regime, "x.yaml")), regime)
    assert sorted({c.train.lr for c in configs}) == [0.0025, 0.005, 0.01] and len(configs) == 6
    assert {c.train.batch_size for c in configs} == {16}
    assert {c.model.options for c in configs} == {(("init", "torch"),)}
    plain = rg.Regime(batch_size=16, init="gpt2", lr=0.005, score=0.5)
    assert {c.model.options for c in rg.apply_to_configs(configs[:1], plain)} == {(("init", "torch"),)}
    assert rg.apply_to_configs(expand_sweep({**spec, "grid": {"train.lr": [0.01]}}), plain)[0].model.options == ()
    best = expand_sweep(rg.apply_to_spec({**spec, "grid": {"train.lr": "from_regime_best"}}, regime, "x.yaml"))
    assert [c.train.lr for c in best] == [0.005]
    with pytest.raises(ValueError, match="from_regime"):
        rg.apply_to_spec({**spec, "grid": {"train.lr": [0.01]}}, regime, "x.yaml")


def test_a_sweep_of_windows_takes_as_many_biographies_per_step_as_the_regime():
    regime = rg.Regime(batch_size=16, init="gpt2", lr=0.01, score=0.5)
    assert rg.windows_per_step(regime, 122.0, 512) == 4  # 16 biographies of 123 tokens in 512-token windows
    assert rg.windows_per_step(rg.Regime(2, "gpt2", 0.01, 0.5), 20.0, 512) == 1  # at least one window
    spec = {"base": {**BASE, "train": {"exposures": 4, "batch_size": 8, "lr": 0.01, "packing": "concat",
                                       "window": 256}}, "grid": {"train.lr": "from_regime"}}
    assert rg.apply_to_spec(spec, regime, "x.yaml", biography_tokens=63.0)["base"]["train"]["batch_size"] == 4
    with pytest.raises(ValueError, match="biography length"):
        rg.apply_to_spec(spec, regime, "x.yaml")


def test_the_bios_chapter_at_the_regime_measures_its_biographies():
    from kcl.book.chapters import chapter_sweep

    _, spec, configs = chapter_sweep("result4-bios-v4", "cpu", regime=rg.Regime(16, "torch", 0.01, 0.5))
    assert {c.train.batch_size for c in configs} == {4} and {c.train.packing for c in configs} == {"concat"}
    assert sorted(c.train.lr for c in configs) == [0.005, 0.01, 0.02]
    assert {dict(c.model.options)["init"] for c in configs} == {"torch"}
