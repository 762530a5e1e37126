"""Result 2's page per protocol (``kcl.book.result2``): the same figures for a running, a stopped
and a complete chapter, and nothing trained for a stopped one."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import yaml

from kcl.book import chapters, plots, result2
from kcl.store import ResultStore
from made_up import as_record
from test_chapters import TINY, fake_result  # the chapters' test config and record (tests/ is on sys.path)


@pytest.fixture
def two_protocols(tmp_path, monkeypatch):
    """``old`` (stopped, superseded by ``new``) and ``new``, each a three-rate sweep of TINY with
    one seed rerun per data set and a rerun beyond an edge; returns the root and the main configs."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "sweeps").mkdir()
    as_dict = json.loads(json.dumps(dataclasses.asdict(TINY)))
    as_dict["data"]["name"] = "bioS"  # the claims of result 2 are about bioS
    for name in ("old", "new"):
        spec = {"store": f"results/{name}", "base": {k: as_dict[k] for k in ("data", "model", "train")},
                "grid": {"train.lr": [0.01, 0.02, 0.04]}}
        (tmp_path / "sweeps" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        monkeypatch.setitem(chapters.CHAPTERS, name, chapters.Chapter(
            title=name, sweeps={"cpu": f"sweeps/{name}.yaml"}, claim="", threshold=2.0, seeds=(1, 2),
            seed_group="data.name", edge_rates=True, superseded_by="new" if name == "old" else None))
    _, _, configs = chapters.chapter_sweep("old", "cpu", tmp_path)
    return tmp_path, configs


def test_no_record_says_what_is_pending(two_protocols):
    root, _ = two_protocols
    view = result2.view("new", "cpu", root=root)
    assert not view.stored and view.banner().startswith("*Pending: new") and "`kcl chapter new --workers 2`" in view.banner()
    assert view.summary("v") == [view.banner()] and "*Pending: no verdict before new's runs are stored.*" in view.verdict()
    assert [tuple(section[:3]) for section in view.verdict_sections()] == [
        (f"committed ({result2.HELD_CLAIMS})", None, "*Pending: no verdict before new's runs are stored.*")]


def test_a_stopped_protocol_shows_its_records_without_verdict_and_trains_nothing(two_protocols):
    root, configs = two_protocols
    for config, R in zip(configs, (0.5, 0.7, 0.9)):  # peak at the top edge: a rerun beyond it is due
        ResultStore(root / "results" / "old").put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    view = result2.view("old", "cpu", allow_train=True, root=root)  # a stopped chapter is never trained
    assert view.running.superseded_by == "new" and view.heads["bioS"]["R"] == 0.9
    banner, chart, rates, table, edge, verdict = view.summary("Protocol old")
    assert banner.startswith("**Stopped.**") and "old: bits per parameter by data type (seed 0" in chart.to_json()
    assert "Protocol old: every learning rate tried" in rates.to_json()
    assert list(table["R"]) == [0.9] and list(table["lr_tried"]) == ["0.01: 0.500, 0.02: 0.700, 0.04: 0.900"]
    assert edge.endswith("not run, as this protocol stopped: bioS at 0.08.*")
    assert verdict.startswith(f"**Committed ({result2.HELD_CLAIMS})**\n\n*No verdict: this protocol stopped")
    (title, held_back, why, *_), = view.verdict_sections()  # the first page's summary: no verdict yet
    assert (title, held_back) == (f"committed ({result2.HELD_CLAIMS})", None) and why in verdict
    assert view.glue_values()["n_runs"] == "3" and view.glue_values()["bars"].startswith("Each bar is seed 0")


def test_a_complete_protocol_gives_its_verdict_with_the_edge_rerun_beside_it(two_protocols):
    root, configs = two_protocols
    store = ResultStore(root / "results" / "new")
    for config, R in zip(configs, (0.5, 0.7, 0.9)):
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    running = result2.view("new", "cpu", root=root).running
    assert running and running.note().startswith("**Still running.**")
    for config in running.missing["seeds"] + running.missing["edge_rates"]:
        R = 2.2 if config.train.lr == 0.08 else 1.0  # the rerun beyond the edge stores more
        store.put(config, fake_result(R=R, ci=(R - 0.1, R + 0.1)))
    view = result2.view("new", "cpu", root=root)
    assert view.running is None and view.banner() == ""
    assert view.heads["bioS"]["values"] == [0.9, 1.0, 1.0]   # seed 0 and the two reruns at its best rate
    widened = view.widened
    assert (list(widened["R"]), list(widened["R_widened"])) == ([0.9], [2.2])
    text = view.verdict()
    committed, beside = text.split("**One rate beyond the edge (seed 0)**")
    assert "bioS: R(F) at 1000 exposures" in committed and "ours 0.967" in committed   # mean of 0.9, 1.0, 1.0
    assert "not reproduced" in committed and "2.200" in beside
    (first, committed_claims, *_), edge = view.verdict_sections()  # what the first page pastes
    second, beyond, why, _ = edge
    assert (first, second) == ("committed", "one rate beyond the edge (seed 0)")
    assert [j.value for j in beyond] == [2.2] and committed_claims[0].sentence() in committed and why in beside
    assert not edge.stands  # the rate beyond stored more than seed 0's best of three
    items = view.summary("Protocol new")
    assert len(items) == 6 and isinstance(items[-2], plots.Table) and items[-2].equals(widened)  # styled on the page


def test_the_smoke_profile_never_trains_a_stopped_protocol(two_protocols):
    view = result2.view("old", "smoke", allow_train=True)
    assert not view.stored and view.summary("v") == [
        "*old: stopped, superseded by new; the smoke profile trains only the protocol that decides.*"]


def test_every_run_says_how_it_was_trained(two_protocols):
    root, configs = two_protocols
    for config, R, train in zip(configs, (0.5, 0.7, 0.6), ({}, {"processes": 2}, {"processes": 2, "compiled": True})):
        result = fake_result(R=R, ci=(R - 0.1, R + 0.1))
        result["train"] = {**result["train"], **train}
        ResultStore(root / "results" / "old").put(config, result)
    table = result2.view("old", "cpu", root=root).runs_table()
    assert list(table["trained"]) == ["1 process", "2 ranks", "2 ranks, compiled"]  # fake records keep no threads
    assert list(table["lr"]) == [0.01, 0.02, 0.04] and set(table["part"]) == {"main"}



def test_the_section_across_every_biography_run():
    items = result2.across_section("cpu")  # the committed records
    assert isinstance(items[0], str) and isinstance(items[-1], pd.DataFrame) and len(items[-1]) > 0
    assert items[1].startswith("**Totals.**") or items[1].startswith("*No data set")
    assert any(isinstance(i, str) and ("**More steps.**" in i or "steps diagnostic" in i) for i in items)
    assert result2.across_section("smoke") == [  # the smoke profile stores nothing under results/
        "*No biography records are stored for this profile (the smoke profile trains into temporary folders).*"]


def test_the_embedding_share_is_stated_per_data_type_where_the_vocabularies_differ():
    def run(name, embedding, total):
        return as_record({"config": {"data": {"name": name}},
                          "result": {"params": {"embedding": embedding, "total": total, "non_embedding": total - embedding}}})

    same = result2.DataTypeView("c", "cpu", {"main": [run("bioS", 70, 100), run("bioS-simple", 70, 100)]}, None, "")
    assert same._count_values() == {"embedding_share": "70%", "nonemb_factor": "3.3"}
    mixed = result2.DataTypeView("c", "cpu", {"main": [run("bioS", 70, 100), run("bioS", 70, 100),
                                                          run("bioS-simple", 70, 100), run("bioR-proxy", 78, 100)]}, None, "")
    assert mixed._count_values() == {"embedding_share": "70% for bioS and bioS-simple, 78% for bioR-proxy",
                                     "nonemb_factor": "3.3 for bioS and bioS-simple, 4.5 for bioR-proxy"}


def v4_run(n, lr, R, R_max, tokenizer="bpe", compiled=True, bits=None):
    data = {"name": "bioS", "n_people": n, "seed": 0, **({"tokenizer": tokenizer} if tokenizer else {})}
    return as_record({"key": f"{n}-{lr}-{tokenizer}-{compiled}",
                      "config": {"data": data, "model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": 48},
                                 "train": {"lr": lr, "seed": 0}},
                      "result": {"R": R, "R_ci": [R - 0.01, R + 0.01], "R_max": R_max, "bits": bits or R * 1000,
                                 "bits_name": 0.0, "bits_value": 0.0, "accuracy_mean": 0.5,
                                 "params": {"total": 1000, "non_embedding": 500},
                                 "train": {"processes": 1, "compiled": compiled, "wall_seconds": 60}}})


LADDER_BASE = [v4_run(200, 0.01, 0.11, 0.17), v4_run(3000, 0.01, -0.1, 2.46), v4_run(200, 0.02, 0.099, 0.1, None)]


@pytest.mark.parametrize("at_500, at_1000, where", [
    (0.3, 0.7, "between N = 1,000 and 3,000"), (0.1, 0.2, "between N = 200 and 500"),
    (0.3, 0.2, "between N = 500 and 1,000")])
def test_the_ladder_is_read_by_its_rule(at_500, at_1000, where):
    frame = result2.tokenizer_frame(LADDER_BASE + [v4_run(500, 0.01, at_500, 0.428), v4_run(1000, 0.01, at_1000, 0.82)])
    reading = result2.ladder_reading(frame)
    assert reading.startswith(f"By the ladder's rule, with subword tokens storage stops {where}.")
    assert "The most over the N tried is" in reading


def test_the_ladder_waits_for_its_runs_and_ignores_other_rates_and_eager_runs():
    eager_and_other_rate = [v4_run(1000, 0.01, 0.7, 0.82, compiled=False), v4_run(1000, 0.02, 0.7, 0.82)]
    frame = result2.tokenizer_frame(LADDER_BASE + [v4_run(500, 0.01, 0.1, 0.428)] + eager_and_other_rate)
    assert result2.ladder_reading(frame) == "The ladder's reading waits for N = 1,000."
    frame = result2.tokenizer_frame(LADDER_BASE + [v4_run(500, 0.01, 0.1, 0.428), v4_run(1000, 0.01, 0.7, 0.82)])
    assert "names no place where storage stops" in result2.ladder_reading(frame)


def test_the_control_sets_word_level_beside_subword_at_the_same_point():
    frame = result2.tokenizer_frame(LADDER_BASE + [v4_run(200, 0.02, 0.09, 0.17, bits=7021)])
    text = result2.control_reading(frame, control_stored=False)
    assert text.startswith("The tokenizer alone, the same architecture and people: at N = 200 (rate 0.02), word-level "
                           "tokens store 99 bits (R = 0.099 of P = 1,000, embedding 50%, 99% of R^max) where subword "
                           "tokens store 7,021 (R = 0.090 of P = 1,000, embedding 50%, 53%). The model's body is the "
                           "same in each pair;")
    assert "*Pending: protocol v4's control" in text
    with_control = LADDER_BASE + [v4_run(3000, 0.01, 0.5, 2.46, None, bits=40_000)]
    text = result2.control_reading(result2.tokenizer_frame(with_control), control_stored=True)
    assert "at N = 3,000 (rate 0.01), word-level tokens store 40,000 bits" in text and "Pending" not in text
    assert frame["stores_its_people"].tolist() == ["yes", "yes", "no", "yes"]  # R / R^max ≥ 0.5, subword first


def data_type_records(names, R, seeds=(0, 1, 2)):
    """Each data type's one point at three seeds, its figure ``R[name]`` (± 0.1 over seeds)."""
    from kcl.config import DataConfig
    from kcl.store import record_of

    out = {"main": [], "seeds": []}
    for name in names:
        for seed in seeds:
            config = dataclasses.replace(TINY, data=DataConfig(name=name, n_people=30, seed=seed),
                                         train=dataclasses.replace(TINY.train, seed=seed))
            value = R[name] + 0.1 * (seed - 1)
            out["main" if seed == 0 else "seeds"].append(record_of(config, fake_result(R=value, ci=(value - 0.05, value + 0.05))))
    return {**out, "edge_rates": []}


def test_a_protocol_that_trained_bios_alone_is_judged_and_sets_v3s_other_verdicts_on_the_first_page():
    v4 = result2.DataTypeView("result2-v4", "cpu", data_type_records(["bioS"], {"bioS": -0.15}), None, "")
    v3 = result2.DataTypeView("result2-v3", "cpu", data_type_records(
        ["bioS", "bioS-simple", "bioR-proxy"], {"bioS": 0.8, "bioS-simple": 1.0, "bioR-proxy": 0.2}), None, "")
    assert v4.untrained == ["bioS-simple", "bioR-proxy"] and v3.untrained == []
    committed, untrained = v4.verdict_sections()
    assert [j.outcome for j in committed.judgements] == ["not reproduced"]
    assert untrained.judgements == [] and "bioS-simple and bioR-proxy were not trained" in untrained.note
    flat, first, summary = result2.verdicts({"v4": v4, "v3": v3})
    assert [s.title for s in first] == ["Protocol v4: committed",
                                        "Protocol v3: committed (bioS-simple and bioR-proxy, not trained under v4)"]
    assert [j.claim.split(":")[0] for j in first[1].judgements] == ["bioS-simple", "bioR-proxy"]
    assert summary == ("protocol v4: bioS not reproduced; protocol v3 (not trained under v4): bioS-simple "
                       "reproduced, bioR-proxy not reproduced")
    # a protocol that trained every data type: the first page as before, v4's section alone
    full = result2.DataTypeView("result2-v4", "cpu", data_type_records(
        ["bioS", "bioS-simple", "bioR-proxy"], {"bioS": 2.1, "bioS-simple": 2.0, "bioR-proxy": 1.9}), None, "")
    assert [s.title for s in result2.verdicts({"v4": full, "v3": v3})[1]] == ["Protocol v4: committed"]
