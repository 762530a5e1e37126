"""The capacity planner (kcl.book.planner, `kcl plan`): the data's bits, the parameters each law
needs, the model that holds them, the training time, bad input, the command and the panel."""

from __future__ import annotations

import math

import pytest

from kcl.book import planner
from kcl.book.chapters import chapter_parts
from kcl.book.law import headline, headline_per_seed
from kcl.cli import main
from kcl.data import DataConfig, make_dataset

SMALL_BIOD = {"N": 300, "K": 3, "C": 2, "D": 20, "L": 2, "T": 10, "pools": "100,100,100"}  # D < T^L: diversity bits


@pytest.mark.parametrize("config", [
    DataConfig(name="bioD", n_people=300, K=3, C=2, D=20, L=2, T=10, pools=(100, 100, 100)),
    DataConfig(name="bioD", n_people=1000, pools=(100, 100, 100)),
    DataConfig(name="bioS", n_people=200),
    DataConfig(name="bioS", n_people=200, tokenizer="bpe", pools=(100, 100, 100)),
])
def test_the_formula_is_max_bits_of_the_built_data_set(config):
    built = make_dataset(config).max_bits()
    formula = planner.bits_formula(config)
    for term in ("name", "value", "diversity", "total"):
        assert formula[term] == pytest.approx(built[term], rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("kind, knobs, config", [
    ("bioD", SMALL_BIOD, DataConfig(name="bioD", n_people=300, K=3, C=2, D=20, L=2, T=10, pools=(100, 100, 100))),
    ("bioS", {"N": 500, "tokenizer": "bpe"}, DataConfig(name="bioS", n_people=500, tokenizer="bpe")),
])
def test_the_plan_s_bits_are_max_bits_of_the_built_data_set(kind, knobs, config):
    plan = planner.capacity_plan(kind, 1000, **knobs)
    assert plan.bits["total"] == pytest.approx(make_dataset(config).max_bits()["total"], rel=1e-12)
    assert plan.bits_source == "the built data set's max_bits()"


def test_above_the_build_limit_the_bits_come_from_the_formula(monkeypatch):
    monkeypatch.setattr(planner, "BUILD_LIMIT", 100)
    bits, source = planner.data_bits(DataConfig(name="bioD", n_people=400, pools=(100, 100, 100)))
    assert "formula" in source
    assert bits["total"] == pytest.approx(make_dataset(DataConfig(name="bioD", n_people=400,
                                                                  pools=(100, 100, 100))).max_bits()["total"])


@pytest.mark.parametrize("exposures, paper_r", [(1000, 2.0), (100, 1.0)])
def test_the_parameters_needed_are_bits_over_each_law(exposures, paper_r):
    plan = planner.capacity_plan("bioD", exposures, N=500, pools="100,100,100")
    bits = plan.bits["total"]
    assert plan.needs[0].law.label.startswith("paper") and plan.needs[0].law.R == paper_r
    assert len(plan.needs) == 1 + len(planner.MEASURED[exposures])  # the committed records hold every measured law
    for need in plan.needs:
        law = need.law
        assert need.params == pytest.approx(bits / law.R)
        if law.low is not None:
            assert need.params_low == pytest.approx(bits / law.high)
            assert need.params_high == (pytest.approx(bits / law.low) if law.low > 0 else math.inf)
        assert need.model_params >= need.params  # the model holds them ...
        step = next(s for s in range(1, 200) if planner.width(s) == need.model.d_model)
        if step > 1:  # ... and the next smaller width of the ladder does not
            smaller = planner.model_parameters(planner.gpt2(planner.width(step - 1)), DataConfig(
                name="bioD", n_people=500, pools=(100, 100, 100)))
            assert smaller < need.params


def test_the_measured_laws_are_the_chapters_headlines():
    laws, missing = planner.measured_laws(1000)
    assert not missing
    parts = chapter_parts("result1", "cpu", log=lambda _: None)
    committed, addendum = headline(parts["main"], parts["seeds"]), headline_per_seed(
        parts["main"], parts["seeds"] + parts["seed_rates"])
    assert [(law.R, law.low, law.high) for law in laws] == [
        (pytest.approx(h["R"]), pytest.approx(h["low"]), pytest.approx(h["high"])) for h in (committed, addendum)]


def test_the_model_count_is_the_built_model_s():
    """The meta-device count equals the count of the model built for real (result 1's reference)."""
    from kcl.config import ModelSpec, RunConfig, build
    from kcl.params import count_parameters

    data = DataConfig(name="bioD", n_people=1000, pools=(100, 100, 100))
    spec = ModelSpec(arch="gpt2", n_layer=2, n_head=2, d_model=32)
    dataset, model = build(RunConfig(data=data, model=spec))
    assert planner.model_parameters(spec, data) == count_parameters(model, dataset.used_token_ids())["total"] == 37_280


def test_the_training_time_is_positive_and_grows_with_n():
    seconds = [planner.capacity_plan("bioD", 1000, N=n, pools="100,100,100").needs[0].seconds
               for n in (100, 1000, 20_000)]  # the last above PRICED_PEOPLE: priced there and scaled
    assert 0 < seconds[0] < seconds[1] < seconds[2]
    bios = [planner.capacity_plan("bioS", 100, N=n, tokenizer="bpe").needs[0].seconds for n in (200, 2000)]
    assert 0 < bios[0] < bios[1]


def test_a_run_priced_at_fewer_people_scales_in_proportion():
    from kcl.config import ModelSpec, RunConfig

    train, _ = planner.recipe("bioD", 1000, 1000)
    config = RunConfig(data=DataConfig(name="bioD", n_people=256, pools=(100, 100, 100)),
                       model=planner.gpt2(32), train=train)
    assert planner.training_seconds(config, 2560) == pytest.approx(10 * planner.training_seconds(config))


def test_bits_given_directly():
    plan = planner.capacity_plan("bits", 1000, 2e6)
    assert plan.bits == {"total": 2e6}
    assert plan.needs[0].params == pytest.approx(1e6) and plan.needs[0].seconds > 0


@pytest.mark.parametrize("exposures, law, says", [(1000, 1000, "the 1000-exposure law"), (100, 100, "the 100-exposure law"),
                                                 (5000, 1000, "no more than"), (300, 100, "lies between"),
                                                 (30, 100, "fewest exposures")])
def test_other_exposures_say_which_law_is_used(exposures, law, says):
    assert planner.regime(exposures)[0] == law and says in planner.regime(exposures)[1]


@pytest.mark.parametrize("kind, exposures, bits, knobs, knob", [
    ("bioD", 1000, None, {"N": 0}, "N must be an integer in [1, 160,000,000]"),
    ("bioD", 1000, None, {"N": 2_000_000, "pools": "100,100,100"}, "N must be an integer in [1, 1,000,000]"),
    ("bioD", 1000, None, {"K": 51}, "K must be an integer in [1, 50]"),
    ("bioD", 1000, None, {"C": 0}, "C must be an integer in [1, 50]"),
    ("bioD", 1000, None, {"T": 1}, "T must be an integer in [2, 40,000]"),
    ("bioD", 1000, None, {"D": 100, "T": 64}, "D must be an integer in [1, 64] (at most T^L = 64)"),
    ("bioD", 1000, None, {"L": "x"}, "L must be an integer in [1, 50]"),
    ("bioD", 1000, None, {"pools": "100,100"}, "pools must be three sizes"),
    ("bioD", 1000, None, {"pools": "1000,100,100"}, "name pool 'first' must be an integer in [1, 400]"),
    ("bioD", 1000, None, {"tokenizer": "bpe"}, "tokenizer does not apply to bioD"),
    ("bioD", 1000, 5.0, {}, "bits applies to data bits"),
    ("bioS", 1000, None, {"tokenizer": "char"}, "tokenizer must be one of word, bpe"),
    ("bioS", 1000, None, {"K": 4}, "K does not apply to bioS"),
    ("bits", 1000, 0.5, {}, "bits must be a number in [1, 1e+11]"),
    ("bits", 1000, None, {}, "bits must be a number in [1, 1e+11]"),
    ("bits", 1000, 1e6, {"N": 10}, "N does not apply to bits"),
    ("bioD", 0, None, {}, "exposures must be an integer in [1, 100,000]"),
    ("bioD", 2.5, None, {}, "exposures must be an integer in [1, 100,000]"),
    ("bioR", 1000, None, {}, "data must be one of bioD, bioS, bits"),
])
def test_bad_input_is_one_line_naming_the_knob_before_any_work(monkeypatch, kind, exposures, bits, knobs, knob):
    def no_work(*_, **__):
        raise AssertionError("built something before checking the input")

    for name in ("make_dataset", "measured_laws", "training_seconds", "smallest_model"):
        monkeypatch.setattr(planner, name, no_work)
    with pytest.raises(ValueError) as err:
        planner.capacity_plan(kind, exposures, bits, **knobs)
    assert knob in str(err.value) and "\n" not in str(err.value)


def test_the_command_prints_the_table(capsys):
    assert main(["plan", "bioD", "--N", "500", "--pools", "100,100,100", "--exposures", "100"]) == 0
    out = capsys.readouterr().out
    assert "data: bioD(N=500,K=4,C=4,D=64,L=1,T=64)" in out and "exposures: 100: the 100-exposure law" in out
    for column in ("law", "bits/param", "parameters needed", "model (2-layer GPT2)", "training here"):
        assert column in out
    assert "paper (Result 4)" in out and "book: result 4" in out


def test_the_command_s_bad_input_is_one_line(capsys):
    assert main(["plan", "bioD", "--K", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "kcl: K must be an integer in [1, 50], got 0\n"


def test_the_panel_shows_the_plan_of_its_knobs():
    pytest.importorskip("ipywidgets")
    panel = planner.PlannerPanel(N=500)
    panel.knobs["pools"].value = "100·100·100 (reference)"
    shown = panel.update()
    plan = planner.capacity_plan("bioD", 1000, N=500, K=4, C=4, D=64, L=1, T=64, pools=(100, 100, 100))
    assert shown.bits == plan.bits and shown.needs == plan.needs
    assert "parameters needed" in panel.out.value
    panel.kind.value = "bits"  # the kind's own knobs only
    assert {k for k, w in panel.knobs.items() if w.layout.display != "none"} == {"bits"}
    assert panel.update().bits == {"total": pytest.approx(1e6)}
