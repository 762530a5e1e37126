"""The library behind the book: chapters, verdicts, controls, the runs table, the explorer's formula."""

from __future__ import annotations

import dataclasses
from pathlib import Path
import json
import re

import numpy as np
import pandas as pd
import pytest

from kcl.book import catalog, chapters, explorer, law, progress
from kcl.data import DataConfig, make_dataset
from kcl.config import ModelSpec, RunConfig
from kcl.store import MissingResultsError, ResultStore, config_key
from kcl.train import TrainConfig
from made_up import as_record  # tests/ is on sys.path

TINY = RunConfig(data=DataConfig(name="bioD", n_people=30, K=2, C=2, D=8, L=1, T=8, pools=(10, 10, 10)),
                 model=ModelSpec(n_layer=1, n_head=2, d_model=16), train=TrainConfig(exposures=2, lr=0.01))
PARAMS = {"embedding": 400, "lm_head": 0, "attention": 300, "mlp": 200, "norms": 100, "total": 1000,
          "non_embedding": 600, "trainable_all_rows": 1100, "used_tokens": 25}


def fake_result(R: float = 1.5, ci=(1.4, 1.6), **extra) -> dict:
    out = {"bits": R * 1000, "max_bits": 2500.0, "R": R, "R_ci": list(ci), "R_max": 2.5, "R_non_embedding": R * 1000 / 600,
           "accuracy_mean": 0.5, "params": PARAMS, "train": {"wall_seconds": 1.0, "steps": 4, "loss_curve": [[2, 3.0]]}}
    return {**out, **extra}


def test_missing_records_name_the_command(tmp_path):
    with pytest.raises(MissingResultsError, match=r"kcl sweep sweeps/reference\.yaml"):
        chapters.chapter_records("reference", "cpu", store=tmp_path / "empty", log=lambda _: None)


def test_smoke_profile_shrinks_the_cpu_sweep():
    _, _, (cpu,) = chapters.chapter_sweep("reference", "cpu")
    _, _, (smoke,) = chapters.chapter_sweep("reference", "smoke")
    assert smoke.data.n_people < cpu.data.n_people and smoke.train.exposures < cpu.train.exposures
    assert (smoke.data.K, smoke.data.D, smoke.model) == (cpu.data.K, cpu.data.D, cpu.model)


def test_bad_chapter_or_profile():
    with pytest.raises(ValueError, match="unknown chapter"):
        chapters.chapter_sweep("nope")
    with pytest.raises(ValueError, match="unknown profile"):
        chapters.chapter_sweep("reference", "tpu")


def test_records_round_trip_to_their_config(tmp_path):
    record = ResultStore(tmp_path).put(TINY, fake_result())
    assert chapters.record_config(record) == TINY
    assert config_key(chapters.record_config(record)) == record.key


def test_controls_have_known_answers(tmp_path):
    """D = T^L: the uniform predictor stores 0 bits, the oracle R^max (paper Def. 4.1)."""
    record = ResultStore(tmp_path).put(TINY, fake_result())
    out = chapters.controls(record)
    most = make_dataset(TINY.data).max_bits()["total"]
    assert out["uniform"]["bits"] == pytest.approx(0, abs=1e-6)
    assert out["oracle"]["R"] == pytest.approx(most / PARAMS["total"])


def test_runs_table_reads_every_store_and_skips_other_files(tmp_path):
    ResultStore(tmp_path / "a").put(TINY, fake_result(R=1.2, ci=(1.1, 1.3)))
    ResultStore(tmp_path / "b").put(TINY, fake_result(R=0.7, ci=(0.6, 0.8)))
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "latest.json").write_text(json.dumps({"machine": {}, "training": []}))
    table = catalog.runs_table(tmp_path)
    assert list(table.columns) == list(catalog.COLUMNS)
    assert sorted(table.store) == ["a", "b"] and sorted(table.R) == [0.7, 1.2]
    row = table[table.store == "a"].iloc[0]
    assert row.params_total == 1000 and row.R_ci_low == 1.1 and row.exposures == 2 and row.semantics_version >= 1
    csv = catalog.write_runs_csv(tmp_path / "out" / "runs.csv", tmp_path)
    assert len(pd.read_csv(csv)) == 2
    assert catalog.runs_table(tmp_path / "nothing").empty


def test_run_records_keep_to_a_profile(tmp_path):
    ResultStore(tmp_path / "result2").put(TINY, fake_result(R=1.2, ci=(1.1, 1.3)))
    ResultStore(tmp_path / "gpu" / "result2").put(TINY, fake_result(R=0.7, ci=(0.6, 0.8)))
    ResultStore(tmp_path / "gpu").put(TINY, fake_result(R=0.7, ci=(0.6, 0.8)))
    stores = {profile: [store for store, _ in catalog.run_records(tmp_path, profile)]
              for profile in (None, "smoke", "cpu", "gpu")}
    assert stores == {None: ["gpu", "gpu/result2", "result2"], "smoke": [], "cpu": ["result2"],
                      "gpu": ["gpu", "gpu/result2"]}
    with pytest.raises(ValueError, match="profile='laptop' is invalid"):
        catalog.run_records(tmp_path, "laptop")


@pytest.mark.parametrize("knobs", [dict(N=1000, K=4, C=4, D=64, L=1, T=64), dict(N=50, K=3, C=2, D=6, L=2, T=5),
                                   dict(N=200, K=1, C=7, D=100, L=3, T=20)])
def test_bit_content_is_the_data_sets_r_max_numerator(knobs):
    pools = (10, 10, 10)
    ds = make_dataset(DataConfig(name="bioD", n_people=knobs["N"], pools=pools, **{k: v for k, v in knobs.items() if k != "N"}))
    bits = explorer.bit_content(**knobs, N0=1000)
    for term in ("name", "value", "diversity", "total"):
        assert bits[term] == pytest.approx(ds.max_bits()[term], rel=1e-12, abs=1e-9)
    assert bits["params_at_2"] == pytest.approx(bits["total"] / 2)


def test_bit_content_checks_its_knobs():
    assert explorer.bit_content(10, 2, 2, 64, 1, 64)["diversity"] == 0  # D = T^L
    with pytest.raises(ValueError, match="T\\^L"):
        explorer.bit_content(10, 2, 2, 65, 1, 64)
    with pytest.raises(ValueError, match="N0"):
        explorer.bit_content(2000, 2, 2, 4, 1, 4, N0=1000)


def _readout(chart) -> str:
    import vl_convert as vlc

    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", vlc.vegalite_to_svg(chart.to_dict())))


@pytest.mark.parametrize("knobs", [dict(N=1000, K=4, C=4, D=64, L=1, T=64, N0=explorer.N0_PAPER, P=37_280),
                                   dict(N=20_000, K=8, C=3, D=1000, L=2, T=200, N0=explorer.N0_REFERENCE, P=10**6)])
def test_the_static_chart_computes_the_same_bits(knobs):
    """The Vega expressions inside the chart agree with the Python formula (rendered by vl-convert)."""
    text = _readout(explorer.static_explorer(**knobs)).replace("&#39;", "'")
    bits = explorer.bit_content(**{k: v for k, v in knobs.items() if k != "P"})
    assert f"total: {bits['total']:,.0f} bits" in text
    assert f"{bits['params_at_2']:,.0f} at 2 bits/param" in text
    assert f"R^max = total/P = {bits['total'] / knobs['P']:.3f}" in text


def test_static_chart_has_every_slider_and_handles_measured_points(tmp_path):
    spec = explorer.static_explorer().to_dict()
    names = {p["name"] for p in spec["params"] if "bind" in p}
    assert names == {"lgN", "K", "C", "L", "lgT", "lgD", "N0", "lgP"}
    assert "no result-3 records yet" in json.dumps(spec)
    assert explorer.measured_points(tmp_path).empty
    bio_d = RunConfig(data=DataConfig(name="bioD", n_people=100, K=2, C=2, D=16, L=1, T=16))
    ResultStore(tmp_path / "result3-K").put(bio_d, fake_result())
    ResultStore(tmp_path / "result3-K").put(TINY.__class__(data=DataConfig(name="bioS", n_people=10)), fake_result())
    ResultStore(tmp_path / "reference").put(bio_d, fake_result())  # not a result-3 store
    slower = dataclasses.replace(bio_d, train=dataclasses.replace(bio_d.train, lr=2 * bio_d.train.lr))
    ResultStore(tmp_path / "result3-K").put(slower, fake_result(R=0.5, ci=(0.4, 0.6)))  # same point, worse rate
    measured = explorer.measured_points(tmp_path)
    assert len(measured) == 1 and measured.iloc[0].K == 2 and measured.iloc[0].P == 1000
    assert measured.iloc[0].R == 1.5 and measured.iloc[0].lr == bio_d.train.lr
    with_points = json.dumps(explorer.static_explorer(measured).to_dict())
    assert "measured runs (bright where" in with_points and "no result-3 records yet" not in with_points


def test_panel_updates_live_and_refuses_expensive_runs():
    panel = explorer.ExplorerPanel()
    assert "113,288" in panel.numbers.value  # the reference setting with the paper's N0
    panel.knobs["L"].value, panel.knobs["T"].value, panel.knobs["D"].value = 2, 20, 100
    s = panel.setting()
    assert (s["L"], s["T"], s["D"]) == (2, 20, 100)
    assert f"{explorer.bit_content(s['N'], s['K'], s['C'], 100, 2, 20)['total']:,.0f}" in panel.numbers.value
    assert "&lt;ID" in panel.sample.value or "<ID" in panel.sample.value
    panel.knobs["D"].value = 10_000  # more than T^L = 400: clipped
    assert panel.setting()["D"] == 400
    panel.knobs["T"].value, panel.knobs["L"].value, panel.knobs["K"].value = 40_000, 50, 50
    assert panel.train(exposures=1000) is None  # far too large: refused before anything is built


def _law_record(lr, R, d=16):
    config = RunConfig(data=TINY.data, model=ModelSpec(n_layer=1, n_head=2, d_model=d), train=TrainConfig(exposures=2, lr=lr))
    from dataclasses import asdict
    return config, as_record({"config": json.loads(json.dumps(asdict(config))), "result": {"R": R, "R_non_embedding": 2 * R},
                              "key": config_key(config)})


def test_the_main_sweep_takes_its_rates_from_the_pilot():
    with pytest.raises(ValueError, match="come from the chapter's pilot"):
        chapters.chapter_sweep("result1", "cpu")
    _, _, configs = chapters.chapter_sweep("result1", "cpu", lr_grid=[0.001, 0.002, 0.004])
    assert sorted({c.train.lr for c in configs}) == [0.001, 0.002, 0.004]
    assert len(configs) == 2 * 8 * 3


def test_seed_reruns_take_the_peak_at_its_best_rate():
    from kcl.book.law import seed_configs

    records = [_law_record(0.001, 1.0)[1], _law_record(0.002, 1.4)[1], _law_record(0.002, 1.1, d=32)[1]]
    reruns = seed_configs(records, (1, 2))
    assert [(c.train.lr, c.model.d_model, c.train.seed, c.data.seed) for c in reruns] == [
        (0.002, 16, 1, 1), (0.002, 16, 2, 2)]


@pytest.mark.parametrize("name", ["result1", "result4"])
def test_law_chapters_have_a_pilot_and_smoke_grid(name):
    _, _, pilot = chapters.chapter_sweep(name, "smoke", part="pilot")
    _, _, main = chapters.chapter_sweep(name, "smoke")
    assert len({c.train.lr for c in pilot}) >= 2 and len(main) >= 4
    assert all(c.data.n_people <= 50 for c in pilot + main)


def test_seed_reruns_per_group():
    from kcl.book.law import seed_configs

    a = _law_record(0.002, 1.4)[1]
    b = _law_record(0.001, 1.1, d=32)[1].to_dict()
    b["config"]["data"]["name"] = "bioS"
    reruns = seed_configs([a, as_record(b)], (1,), group_by="data.name")
    assert sorted((c.data.name, c.model.d_model) for c in reruns) == [("bioD", 16), ("bioS", 32)]


@pytest.mark.parametrize("name", ["result2", "result3"])
def test_more_law_chapters_shrink_in_smoke(name):
    _, _, main = chapters.chapter_sweep(name, "smoke")
    assert len(main) >= 6 and all(c.data.n_people <= 40 and c.train.exposures <= 10 for c in main)


def test_chapter_plan_lists_every_part_without_training():
    lines = progress.chapter_plan("result1")
    assert lines[0].startswith("pilot results/pilots/lr-1000") and lines[1].startswith("main  results/result1")
    with pytest.raises(ValueError, match="nothing to plan"):
        progress.chapter_plan("result1", "smoke")


def test_a_gpu_preset_can_be_planned_here():
    """The gpu sweeps leave the width to GPT2-ℓ-h (64 per head); their dry run once raised on it."""
    (line,) = progress.chapter_plan("bios-position", "gpu", workers=2)
    assert line.startswith("main  results/gpu/diagnostics/bios-position: 1 of 1 runs missing; estimated")


def test_a_missing_run_is_reported_with_the_walks_stage_it_belongs_to(tmp_path):
    trainer = chapters._Trainer(None, lambda *a, **k: None, False, dict(allow_train=False))
    with pytest.raises(MissingResultsError) as err:
        trainer("main", ResultStore(tmp_path), [TINY], {})
    assert err.value.stage == "main" and len(err.value.missing) == 1


def test_parts_or_pending_names_what_is_missing(monkeypatch):
    from kcl.book import chapters
    from kcl.store import MissingResultsError

    def missing(*args, **kwargs):
        raise MissingResultsError("3 of 5 runs missing", [object()] * 3)

    monkeypatch.setattr(chapters, "chapter_parts", missing)
    monkeypatch.setattr(chapters, "chapter_records", missing)
    parts, text = chapters.parts_or_pending("result2", "cpu")
    assert parts is None and "3 runs" in text and "`kcl chapter result2 --version v2 --workers 2`" in text
    parts, text = chapters.parts_or_pending("result4-bios-v4", "cpu")  # the deciding version: the chapter's name
    assert parts is None and "`kcl chapter result4-bios --workers 2`" in text
    for stage, words in (("regime", "3 runs of the recipe pilot `recipe-100` it waits for still missing"),
                         ("pilot", "3 runs of its rate pilot still missing"), ("main", "3 runs of its main sweep"),
                         ("seeds", "3 runs of its reruns still missing")):
        def missing_at(*args, stage=stage, **kwargs):
            err = MissingResultsError("3 of 5 runs missing", [object()] * 3)
            err.stage = stage
            raise err

        monkeypatch.setattr(chapters, "chapter_parts", missing_at)
        assert words in chapters.parts_or_pending("result10", "cpu")[1]
    monkeypatch.setattr(chapters, "chapter_parts", lambda *a, **k: {"main": []})
    assert chapters.parts_or_pending("result2", "cpu") == ({"main": []}, "")


def test_smoke_store_is_shared_when_asked(monkeypatch, tmp_path):
    from kcl.book import chapters

    monkeypatch.delenv(chapters.SMOKE_STORE_ENV, raising=False)
    first, second = chapters._smoke_store("result1"), chapters._smoke_store("result1")
    assert first == second and first != chapters._smoke_store("result2")  # one temporary folder per chapter
    assert chapters.main_store("result1", "smoke") == Path(first) / "main"  # where its runs and weights are
    monkeypatch.setenv(chapters.SMOKE_STORE_ENV, str(tmp_path))
    assert chapters._smoke_store("result1") == str(tmp_path / "result1")


def test_each_seed_at_its_own_best_rate():
    """Protocol addendum 2026-11-29: the peak is rerun at every seed × rate, and each seed's figure
    is its best rate's, as seed 0's is."""
    from dataclasses import asdict, replace

    from kcl.book.law import headline, headline_per_seed, headline_values, seed_rate_configs

    main = [_law_record(0.001, 1.0)[1], _law_record(0.002, 1.4)[1], _law_record(0.002, 1.1, d=32)[1]]
    reruns = seed_rate_configs(main, (1, 2))
    assert sorted((c.train.seed, c.train.lr) for c in reruns) == [(1, 0.001), (1, 0.002), (2, 0.001), (2, 0.002)]
    assert all(c.model.d_model == 16 and c.data.seed == c.train.seed for c in reruns)

    def rec(config, R):
        return as_record({"config": json.loads(json.dumps(asdict(config))), "result": {"R": R, "R_non_embedding": 2 * R},
                          "key": config_key(config)})

    runs = [rec(c, {(1, 0.001): 0.9, (1, 0.002): 0.5, (2, 0.001): 1.2, (2, 0.002): 1.3}[(c.train.seed, c.train.lr)])
            for c in reruns]
    other_point = rec(replace(reruns[0], model=replace(reruns[0].model, d_model=32)), 5.0)  # not the peak: ignored
    h = headline_per_seed(main, runs + [other_point])
    assert h["values"] == [1.4, 0.9, 1.3] and h["rates"] == [0.002, 0.001, 0.002] and h["seeds"] == [0, 1, 2]
    assert h["R"] == pytest.approx(3.6 / 3) and h["low"] < h["R"] < h["high"]
    assert h["non_embedding"] == pytest.approx(2 * 3.6 / 3)  # over the same runs: each seed at its best rate
    fixed = headline(main, [r for r in runs if r.train["lr"] == 0.002])
    assert fixed["values"] == [1.4, 0.5, 1.3]  # v1: every seed at seed 0's best rate
    quoted = headline_values(h, "own")  # what a page's text quotes of it
    assert quoted["own_R"] == "1.20" and quoted["own_interval"] == f"[{h['low']:.2f}, {h['high']:.2f}]"
    assert quoted["own_basis"] == h["basis"] and quoted["own_model"].startswith(h["model"] + " on bioD")


def test_a_setting_whose_peak_rate_is_at_an_edge_gets_one_rate_beyond_it():
    """Protocol addendum 2026-11-30 (result 3): every model of an edge-peaked setting, once at half
    the lowest (twice the highest) rate; a setting whose peak rate is inside the grid, nothing."""
    from dataclasses import asdict, replace

    from kcl.book.law import edge_rate_configs

    def at(config, lr, R):
        config = replace(config, train=replace(config.train, lr=lr))
        return as_record({"config": json.loads(json.dumps(asdict(config))), "result": {"R": R, "R_non_embedding": 2 * R},
                          "key": config_key(config)})

    low_edge = [_law_record(0.001, 1.4)[1], _law_record(0.002, 1.0)[1], _law_record(0.004, 0.9)[1],
                _law_record(0.001, 1.1, d=32)[1], _law_record(0.002, 1.2, d=32)[1], _law_record(0.004, 1.0, d=32)[1]]
    other = replace(_law_record(0.001, 0)[0], data=replace(TINY.data, K=3))  # another setting: peak inside
    inside = [at(other, 0.001, 1.0), at(other, 0.002, 1.5), at(other, 0.004, 1.2)]
    reruns = edge_rate_configs(low_edge + inside)
    assert sorted((c.model.d_model, c.train.lr) for c in reruns) == [(16, 0.0005), (32, 0.0005)]
    high_edge = [at(other, 0.001, 1.0), at(other, 0.002, 1.1), at(other, 0.004, 1.2)]
    assert [c.train.lr for c in edge_rate_configs(high_edge)] == [0.008]
    assert all(c.data == TINY.data for c in reruns)


@pytest.mark.parametrize("name", [n for n in chapters.CHAPTERS if n != "reference"])
def test_gpu_presets_are_their_own_sweeps_and_every_setting_fits_the_context(name):
    """The gpu profile (untested here) never writes into a cpu store, and each of its data settings
    builds and fits the model's 512-token context (checked at N = 50: the length does not depend on N)."""
    from kcl.book.regime import Regime
    from kcl.models.config import ModelConfig

    ch = chapters.CHAPTERS[name]
    parts = ["main"] + (["pilot"] if ch.pilot else [])
    for part in parts:
        regime = Regime(16, "gpt2", 1e-3, 0.0) if ch.regime else None  # the recipe pilot's, once it has run
        path, spec, configs = chapters.chapter_sweep(name, "gpu", part=part, lr_grid=[1e-3], regime=regime)
        assert path.parent.name == "gpu" and spec["store"].startswith("results/gpu/"), path
        _, cpu_spec, _ = chapters.chapter_sweep(name, "cpu", part=part, lr_grid=[1e-3], regime=regime)
        assert spec["store"] != cpu_spec["store"]
        for data in {c.data for c in configs if c.data.name == "bioD"}:
            small = make_dataset(DataConfig(**{**data.__dict__, "n_people": 50}))
            longest = max(small.render(range(50), np.random.default_rng(0)).lengths)
            assert longest + 2 <= ModelConfig.max_seq_len, (data, longest)


def test_a_chapter_without_a_pilot_has_parts_too(tmp_path):
    """result4-bios lists its rates itself: no pilot part, its main sweep, and one rate beyond an
    edge peak (addendum 2026-11-30), all in one store."""
    parts = chapters.chapter_parts("result4-bios", "smoke", allow_train=True, store=tmp_path, log=lambda _: None)
    assert "pilot" not in parts and len(parts["main"]) == 3 and parts["seeds"] == []
    edge = law.rate_at_edge(law.peak(law.best_of_lr(parts["main"])))
    assert len(parts["edge_rates"]) == (1 if edge else 0)
    if edge:
        assert parts["edge_rates"][0].train["lr"] == {"lowest": 0.0025, "highest": 0.04}[edge]
    lines = progress.chapter_plan("result4-bios")
    assert lines[0].startswith("main  results/result4-bios:")


def test_early_follow_ups_rerun_only_the_groups_whose_main_runs_are_all_stored():
    """Result 2 groups by data type: once bioS's three rates are stored, its seed reruns (and, as
    its peak sits at the highest rate, one rate beyond) may start while bioR still trains."""
    _, _, configs = chapters.chapter_sweep("result2", "cpu", lr_grid=[0.005, 0.01, 0.02])
    stored = {}

    class Store:
        def get(self, config):
            return stored.get(config_key(config))

    def put(config, R):
        stored[config_key(config)] = as_record({"config": json.loads(json.dumps(dataclasses.asdict(config))),
                                                "result": {"R": R}, "key": config_key(config)})

    assert chapters.early_follow_ups("result2", configs, Store()) == []
    bios = [c for c in configs if c.data.name == "bioS"]
    for config, R in zip(bios[:2], (0.5, 0.7)):
        put(config, R)
    assert chapters.early_follow_ups("result2", configs, Store()) == []   # bioS not complete yet
    put(bios[2], 0.9)
    early = chapters.early_follow_ups("result2", configs, Store())
    assert {c.data.name for c in early} == {"bioS"}
    assert sorted((c.train.seed, c.train.lr) for c in early) == [(0, 0.04), (1, 0.02), (2, 0.02)]
    # result 1's seed reruns follow the sweep's overall peak: never early
    _, _, law_configs = chapters.chapter_sweep("result1", "cpu", lr_grid=[0.005, 0.01, 0.02])
    assert chapters.early_follow_ups("result1", law_configs, Store()) == []
    # so its sweep is one group, finished only when every main run and rerun is stored
    assert {chapters.group_of("result1", c) for c in law_configs} == {""}
    parts, lacking = chapters.finished_groups("result1", law_configs, Store())
    assert parts["main"] == [] and lacking == {"": f"{len(law_configs)} of its main runs"}
    # bioS (main runs stored, reruns not) and the other types (nothing stored) lack their own parts
    parts, lacking = chapters.finished_groups("result2", configs, Store())
    assert parts["main"] == [] and len(lacking) == 3
    assert lacking[chapters.group_of("result2", bios[0])] == "2 of its peak's seed reruns, 1 of its runs one rate beyond the grid"
    with pytest.raises(ValueError, match="edge_group"):  # results 5-7's addendum stage is not a follow-up
        chapters.finished_groups("result6", [], Store())


def _tiny_chapter(tmp_path, monkeypatch, name: str = "tiny", grid: dict | None = None, train: dict | None = None,
                  **chapter) -> list:
    """A chapter ``name`` in a checkout at ``tmp_path``: TINY's config (``train``: overrides) over
    ``grid`` (default: three rates), stored in results/<name>; returns its main sweep's configs."""
    import yaml

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "sweeps").mkdir(exist_ok=True)
    as_dict = json.loads(json.dumps(dataclasses.asdict(TINY)))
    as_dict["train"].update(train or {})
    spec = {"store": f"results/{name}", "base": {k: as_dict[k] for k in ("data", "model", "train")},
            "grid": grid or {"train.lr": [0.01, 0.02, 0.04]}}
    (tmp_path / "sweeps" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setitem(chapters.CHAPTERS, name, chapters.Chapter(
        title=name, sweeps={"cpu": f"sweeps/{name}.yaml"}, claim="", threshold=1.0, **chapter))
    return chapters.chapter_sweep(name, "cpu", tmp_path)[2]


def test_runs_under_way_are_measured_on_their_checkpoints(tmp_path, monkeypatch):
    """A chapter's run killed mid-training is found by its checkpoint and measured there (nothing
    stored); a stored run and a run without a checkpoint are not listed."""
    from kcl.book.commands import _under_way_line
    from kcl.config import build
    from kcl.train import train

    configs = _tiny_chapter(tmp_path, monkeypatch, train={"exposures": 20, "batch_size": 4})  # a few dozen steps
    stored, killed, untouched = configs
    ResultStore(tmp_path / "results" / "tiny").put(stored, {"R": 1.0})
    ckpts = tmp_path / "checkpoints"
    for config in (stored, killed):  # the stored one's checkpoint is a leftover: ignored
        dataset, model = build(config)
        train(model, dataset, config.train, checkpoint=ckpts / f"{config_key(config)}.pt", progress=False,
              stop_after_steps=2)
    found = progress.runs_under_way("tiny", "cpu", tmp_path, ckpts)
    assert [c for c, _ in found] == [killed]
    result = found[0][1]
    assert result["checkpoint"]["step"] == 2 and 0 < result["checkpoint"]["share"] < 1
    assert result["R_ci"][0] <= result["R"] <= result["R_ci"][1]
    assert f"{config_key(killed)}  bioD" in _under_way_line(killed, result)
    assert "trained (step 2 of" in _under_way_line(killed, result)
    assert not (tmp_path / "results" / "tiny" / f"{config_key(killed)}.json").exists()


def test_stored_so_far_shows_a_running_chapter_without_a_verdict(tmp_path, monkeypatch):
    """While a sweep runs, a page reads what is stored: the main runs so far, then the seed rerun its
    finished group decides, and ``complete`` only once ``chapter_parts`` would need nothing more."""
    configs = _tiny_chapter(tmp_path, monkeypatch, seeds=(1,), seed_group="data.name", edge_rates=True)
    store = ResultStore(tmp_path / "results" / "tiny")

    so_far = progress.stored_so_far("tiny", "cpu", tmp_path)
    assert so_far.parts == {"main": [], "seeds": [], "edge_rates": []} and not so_far.complete
    assert so_far.summary() == "main: 0 of 3"
    assert progress.shown_so_far("tiny", root=tmp_path) == (
        None, None, "*Pending: tiny — no run of its main sweep is stored yet (`kcl chapter tiny --dry-run` lists them "
                    "with their estimated cost; `kcl chapter tiny --workers 2` computes them).*")
    for config, R in zip(configs[:2], (0.5, 0.9)):
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    so_far = progress.stored_so_far("tiny", "cpu", tmp_path)
    assert [r.result.R for r in so_far.parts["main"]] == [0.5, 0.9] and so_far.missing["main"] == [configs[2]]
    assert so_far.summary() == "main: 2 of 3" and not so_far.complete
    assert progress.data_type_point("tiny", "bioD", root=tmp_path) == (None, so_far.parts["main"],
                                                                         "the bioD runs of tiny")
    shown, running, pending = progress.shown_so_far("tiny", root=tmp_path)
    assert len(shown["main"]) == 2 and running.missing["main"] == [configs[2]] and pending == ""
    assert progress.chapter_plan("tiny", "cpu", tmp_path)[1] == (
        "1 seed rerun per peak and one rate beyond the grid for each setting that peaks at its edge: "
        "the rest once the main sweep is complete")
    store.put(configs[2], fake_result(R=0.7, ci=(0.6, 0.8)))  # the peak (0.02) is inside the grid
    so_far = progress.stored_so_far("tiny", "cpu", tmp_path)
    (rerun,) = so_far.missing["seeds"]
    assert (rerun.train.seed, rerun.train.lr) == (1, 0.02) and so_far.missing["edge_rates"] == []
    assert so_far.summary() == "main: 3 of 3; seeds: 0 of 1" and not so_far.complete
    assert so_far.note().startswith("**Still running.** Runs stored so far: main: 3 of 3; seeds: 0 of 1. ")
    head, main, waits = progress.data_type_point("tiny", "bioD", root=tmp_path)  # seed 0, no verdict yet
    assert (head["R"], head["values"], len(main), waits) == (0.9, [0.9], 3, "the seed reruns of tiny's bioD point")
    assert "bioD K=2 C=2 D=8 T=8 N=30: 3 of 3" in so_far.note() and so_far.note().endswith("- " + so_far.plan[-1])
    plan_lines = progress.chapter_plan("tiny", "cpu", tmp_path)
    assert plan_lines[1].startswith("seeds results/tiny: 1 of 1 runs missing") and len(plan_lines) == 2
    store.put(rerun, fake_result(R=0.8, ci=(0.7, 0.9)))
    so_far = progress.stored_so_far("tiny", "cpu", tmp_path)
    assert so_far.complete and len(so_far.parts["seeds"]) == 1
    head, _, waits = progress.data_type_point("tiny", "bioD", root=tmp_path)
    assert head["values"] == [0.9, 0.8] and waits == ""
    parts = chapters.chapter_parts("tiny", "cpu", root=tmp_path, log=lambda _: None)  # trains nothing
    assert {part: len(records) for part, records in parts.items()} == {"main": 3, "seeds": 1, "edge_rates": 0}
    with pytest.raises(ValueError, match="smoke"):
        progress.stored_so_far("tiny", "smoke", tmp_path)


def test_a_superseded_chapter_keeps_its_records_trains_nothing_and_names_its_successor(tmp_path, monkeypatch):
    """A protocol stopped for a later one (``superseded_by``): its page shows what is stored with no
    verdict and says so, its plan names the successor, ``kcl chapter`` refuses to train it, and its
    data-type point gives way to the successor's as soon as that has one."""
    configs = _tiny_chapter(tmp_path, monkeypatch, "tiny", seeds=(1,), seed_group="data.name", superseded_by="tiny-v2")
    _tiny_chapter(tmp_path, monkeypatch, "tiny-v2", seeds=(1,), seed_group="data.name")
    old, new = (ResultStore(tmp_path / "results" / name) for name in ("tiny", "tiny-v2"))
    old.put(configs[0], fake_result(R=0.5, ci=(0.4, 0.6)))

    with pytest.raises(ValueError, match=r"'tiny' is stopped: .* superseded by 'tiny-v2'.*`kcl chapter tiny-v2`"):
        chapters.chapter_parts("tiny", "cpu", allow_train=True, root=tmp_path, log=lambda _: None)
    assert progress.chapter_plan("tiny", "cpu", tmp_path) == [
        "tiny is stopped: its protocol was superseded by tiny-v2 (book/protocol.md), so nothing more of it runs; "
        "`kcl chapter tiny-v2 --dry-run` shows what is left there"]
    parts, running = progress.parts_or_so_far("tiny", "cpu", root=tmp_path)
    assert [r.result.R for r in parts["main"]] == [0.5] and running.superseded_by == "tiny-v2"
    assert running.note().startswith("**Stopped.** This protocol's runs stopped where they stand, superseded by "
                                     "tiny-v2 (") and "no verdict" in running.note()
    assert running.verdict_note().startswith("*No verdict: this protocol stopped")
    assert progress.data_type_point("tiny", "bioD", root=tmp_path) == (None, [], "the bioD runs of tiny-v2")
    for config, R in zip(configs[1:], (0.9, 0.7)):
        old.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    head, main, waits = progress.data_type_point("tiny", "bioD", root=tmp_path)   # the stopped one's seed 0
    assert (head["R"], len(main)) == (0.9, 3) and waits == (
        "the bioD runs of tiny-v2 (until then the point shown is tiny's, stopped: seed 0 at its best rate)")
    for config, R in zip(configs, (0.6, 0.8, 1.1)):   # same configs, the successor's store
        new.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    head, main, waits = progress.data_type_point("tiny", "bioD", root=tmp_path)   # the successor's seed 0
    assert (head["R"], [r.result.R for r in main]) == (1.1, [0.6, 0.8, 1.1])
    assert waits == "the seed reruns of tiny-v2's bioD point"
    _, running = progress.parts_or_so_far("tiny-v2", "cpu", root=tmp_path)   # the successor runs as any chapter
    assert running.note().startswith("**Still running.**") and running.verdict_note().startswith("*Pending")
    new.put(running.missing["seeds"][0], fake_result(R=1.0, ci=(0.9, 1.1)))
    # allow_train: the successor, complete, trains nothing, and the stopped chapter is never asked to
    head, _, waits = progress.data_type_point("tiny", "bioD", root=tmp_path, allow_train=True)
    assert (head["values"], waits) == ([1.1, 1.0], "")


def test_trained_as_reads_processes_threads_and_compile():
    from kcl.book.catalog import trained_as

    assert trained_as({}) == "1 process"
    assert trained_as({"threads": 1}) == "1 process × 1 thread"
    assert trained_as({"processes": 2, "threads": 1, "compiled": True}) == "2 ranks × 1 thread, compiled"
    assert trained_as({"threads": 2}) == "1 process × 2 threads"
    assert trained_as({"threads": 1, "subnormals_flushed_from_step": 0}) == "1 process × 1 thread, subnormals as zero"
    assert trained_as({"threads": 1, "subnormals_flushed_from_step": 46320}) == \
        "1 process × 1 thread, subnormals as zero from step 46,320"


def test_config_filter_picks_runs_by_field_and_refuses_unknown_fields():
    """``kcl chapter --where``: every condition must hold, any of its values may; numbers compare as
    numbers (2e-2 is 0.02), and a knob that is not a config field is refused with the allowed ones."""
    where = chapters.config_filter(["data.name=bioS,bioD", "train.lr=2e-2"])
    at = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, lr=0.02))
    assert where(at) and not where(TINY)
    assert not where(dataclasses.replace(at, data=dataclasses.replace(at.data, name="bioR-proxy")))
    assert chapters.config_filter([]) is None
    with pytest.raises(ValueError, match=r"'data.nme' is not a config field; allowed: data.<name\|n_people"):
        chapters.config_filter(["data.nme=bioS"])
    with pytest.raises(ValueError, match="must start with one of data, model, train"):
        chapters.config_filter(["lr=0.01"])
    with pytest.raises(ValueError, match="takes KEY=V1,V2"):
        chapters.config_filter(["train.seed="])
    with pytest.raises(ValueError, match="TrainConfig.lr must be a number, got 'abc'"):
        chapters.config_filter(["train.lr=abc"])


def test_chapter_parts_where_trains_only_the_chosen_runs_and_reruns_only_decided_groups(tmp_path, monkeypatch):
    """A session fits some runs, not all: ``where`` trains only those it accepts. The seed rerun of
    a group whose main runs are all stored may be chosen while another group's main run is missing;
    that missing run is never demanded unless chosen."""
    configs = _tiny_chapter(tmp_path, monkeypatch, grid={"data.n_people": [30, 40], "train.lr": [0.01, 0.02]},
                            seeds=(1,), seed_group="data.n_people")
    store = ResultStore(tmp_path / "results" / "tiny")
    small = [c for c in configs if c.data.n_people == 30]
    for config, R in zip(small, (0.5, 0.9)):
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    store.put(next(c for c in configs if c.data.n_people == 40), fake_result(R=0.7, ci=(0.6, 0.8)))
    rerun = dataclasses.replace(small[1], data=dataclasses.replace(small[1].data, seed=1),
                                train=dataclasses.replace(small[1].train, seed=1))
    store.put(rerun, fake_result(R=0.8, ci=(0.7, 0.9)))

    def parts(*conditions):
        return chapters.chapter_parts("tiny", "cpu", root=tmp_path, log=lambda _: None,
                                      where=chapters.config_filter(list(conditions)))

    seeds_only = parts("train.seed=1")   # nothing to train: the chosen rerun is stored
    assert seeds_only["main"] == [] and [r.result.R for r in seeds_only["seeds"]] == [0.8]
    assert [r.result.R for r in parts("data.n_people=30")["main"]] == [0.5, 0.9]
    with pytest.raises(MissingResultsError, match="1 of 2 runs missing"):
        parts("data.n_people=40")     # chosen, and missing: it would train
    assert progress.chapter_plan("tiny", "cpu", tmp_path, where=chapters.config_filter(["train.seed=1"]))[:2] == [
        "main  results/tiny: 0 of 0 runs missing; nothing to run",
        "seeds results/tiny (decided by the groups finished so far): 0 of 1 runs missing; nothing to run"]


def test_every_part_of_the_reruns_shares_one_pool(tmp_path, monkeypatch):
    """The seed reruns and the edge rate depend on the main sweep alone: one ``run_sweep`` call
    trains them, seeds first, so that with two workers neither waits for the other's part."""
    configs = _tiny_chapter(tmp_path, monkeypatch, seeds=(1,), edge_rates=True)
    store = ResultStore(tmp_path / "results" / "tiny")
    for config, R in zip(configs, (0.5, 0.7, 0.9)):   # the peak at the highest rate: an edge
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    calls = []

    def record_calls(store, configs, run_fn, **kwargs):
        calls.append([(c.train.seed, c.train.lr) for c in configs])
        return [store.get(c) or as_record({"config": dataclasses.asdict(c), "result": fake_result(R=0.8), "key": config_key(c)})
                for c in configs]

    monkeypatch.setattr(chapters, "run_sweep", record_calls)
    parts = chapters.chapter_parts("tiny", "cpu", root=tmp_path, log=lambda _: None, workers=2, allow_train=True)
    assert calls[1:] == [[(1, 0.04), (0, 0.08)]]
    assert [r.train["lr"] for r in parts["seeds"] + parts["edge_rates"]] == [0.04, 0.08]


def test_parts_with_baseline_adds_the_kept_records_of_another_chapter(monkeypatch):
    from kcl.book import chapters

    stored = {"own": ({"main": ["a1", "a2"], "edge_rates": ["a3"], "seeds": ["a4"]}, ""),
              "base": ({"main": ["gpt2-1", "llama-1"], "seeds": ["gpt2-2"]}, ""),
              "missing": (None, "*Pending: missing.*")}
    monkeypatch.setattr(chapters, "parts_or_pending", lambda name, *a, **k: stored[name])
    keep = lambda records: [r for r in records if r.startswith("gpt2")]  # noqa: E731
    assert chapters.parts_with_baseline("own", baseline="base", keep=keep) == (
        {"main": ["a1", "a2", "a3", "gpt2-1"], "seeds": ["a4", "gpt2-2"]}, "")
    assert chapters.parts_with_baseline("own") == ({"main": ["a1", "a2", "a3"], "seeds": ["a4"]}, "")
    assert chapters.parts_with_baseline("missing", baseline="base") == (None, "*Pending: missing.*")
    assert chapters.parts_with_baseline("own", baseline="missing") == (None, "*Pending: missing.*")


def test_a_running_chapters_note_counts_stored_and_missing_runs_under_one_name():
    """A missing run's data set is named as its record will be (keyed-when-set knobs at their
    default left out), so one data set is one line: bioS 1 of 3, not 1 of 1 beside 0 of 2."""
    from kcl.book import progress
    from kcl.book.chapters import chapter_sweep
    from kcl.store import record_of

    _, _, configs = chapter_sweep("result2-v4", "cpu")
    bios = [c for c in configs if c.data.name == "bioS"]
    stored = record_of(bios[0], fake_result(R=0.1, ci=(0.0, 0.2)))
    note = progress.StoredSoFar(chapter="result2-v4", parts={"main": [stored]},
                                missing={"main": [c for c in configs if c is not bios[0]]},
                                complete=False, plan=[]).note()
    assert "bioS tokenizer bpe N=3,000: 1 of 3" in note and "fillers" not in note


@pytest.mark.parametrize("beyond_R, moved", [(1.2, True), (0.3, False)])
def test_a_group_peaked_at_an_edge_gets_one_rate_beyond_and_its_moved_peak_the_seeds(tmp_path, monkeypatch,
                                                                                     beyond_R, moved):
    """The results 5-7 addendum (``edge_group``): each group (here a width) whose peak sits at an
    edge is rerun one rate beyond it, seed 0; where that moves the group's peak, the new peak is
    rerun at the seeds. The committed figure keeps the main sweep and its seed reruns; the widened
    one (``law.widened_headlines``) takes the rate beyond and the new peak's seeds."""
    configs = _tiny_chapter(tmp_path, monkeypatch, grid={"model.d_model": [16, 32], "train.lr": [0.01, 0.02, 0.04]},
                            seeds=(1,), seed_group="model.d_model", edge_group="model.d_model")
    store = ResultStore(tmp_path / "results" / "tiny")
    main_R = {(16, 0.01): 0.5, (16, 0.02): 0.7, (16, 0.04): 0.9,  # width 16 peaks at the highest rate
              (32, 0.01): 0.5, (32, 0.02): 1.0, (32, 0.04): 0.6}  # width 32 inside
    for config in configs:
        R = main_R[(config.model.d_model, config.train.lr)]
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    trained = []

    def train(store, configs, run_fn, **kwargs):
        out = []
        for c in configs:
            if store.get(c) is None:
                trained.append((c.model.d_model, c.train.lr, c.train.seed))
                R = beyond_R - 0.1 * c.train.seed if c.train.lr == 0.08 else 0.8
                store.put(c, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
            out.append(store.get(c))
        return out

    monkeypatch.setattr(chapters, "run_sweep", train)
    parts = chapters.chapter_parts("tiny", "cpu", root=tmp_path, log=lambda _: None, allow_train=True)
    assert [(r.model["d_model"], r.train["lr"]) for r in parts["group_edges"]] == [(16, 0.08)]
    assert [(r.model["d_model"], r.train["lr"], r.train["seed"]) for r in parts["group_edge_seeds"]] == (
        [(16, 0.08, 1)] if moved else [])
    assert sorted(trained) == sorted([(16, 0.04, 1), (32, 0.02, 1), (16, 0.08, 0)] + ([(16, 0.08, 1)] if moved else []))

    monkeypatch.setattr(chapters, "parts_or_pending", lambda name, *a, **k: (parts, ""))
    records, _ = chapters.parts_with_baseline("tiny")
    width = lambda r: r.model["d_model"]  # noqa: E731
    committed, wide = law.headlines_by(records, width), law.widened_headlines(records, width)
    assert committed[16]["values"] == [0.9, 0.8] and committed[32]["values"] == [1.0, 0.8]
    assert wide[32]["values"] == [1.0, 0.8]  # no rate beyond: the committed figure
    assert wide[16]["values"] == pytest.approx([1.2, 1.1] if moved else [0.9, 0.8])
    assert wide[16]["record"].train["lr"] == (0.08 if moved else 0.04)
