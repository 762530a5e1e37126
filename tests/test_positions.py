import math

import pytest

from kcl.book import plots, positions
from kcl.capacity import capacity, loss_by_position, measurement_bios, person_losses
from kcl.controls import control_losses
from kcl.data import DataConfig, make_dataset
from kcl.people import value_lists
from kcl.record import Record
from made_up import as_record  # tests/ is on sys.path


def control_dict(kind: str) -> dict:
    """The fields of a record of a predictor that trains nothing (``kcl.controls``) on a small bioS."""
    data = DataConfig(name="bioS", n_people=120, seed=3)
    ds = make_dataset(data)
    bios = measurement_bios(ds)[0]
    losses = person_losses(bios, *control_losses(ds, bios, kind), ds.n_people, len(ds.attributes))
    result = capacity(ds, losses, {"total": 1000, "non_embedding": 400}, bootstrap=0)
    result["loss_by_position"] = loss_by_position([losses], ds.attributes)
    result["train"] = {"steps": 0}
    config = {"data": {"name": "bioS", "n_people": ds.n_people, "pools": [400, 400, 1000]}, "model": {"arch": "gpt2", "n_layer": 1, "n_head": 1, "d_model": 8},
              "train": {"exposures": 0, "batch_size": 4, "lr": 0.0, "seed": 0}}
    return {"config": config, "result": result}


def control_record(kind: str) -> Record:
    return as_record(control_dict(kind))


@pytest.mark.parametrize("kind, expected", [("uniform", "zero"), ("oracle", "max")])
def test_bits_by_position_of_the_controls(kind, expected):
    frame = positions.position_frame([control_record(kind)])
    sizes = value_lists().attribute_sizes
    assert set(frame["attribute"]) == {"birth_date", "birth_city", "university", "major", "employer"}
    assert set(frame["sentence"]) == set(positions.SENTENCES)
    for row in frame.itertuples():  # log2(values) recovered from the record alone
        assert row.max_bits_per_person == pytest.approx(math.log2(sizes[row.attribute]))
        target = 0.0 if expected == "zero" else row.max_bits_per_person
        assert row.bits_per_person == pytest.approx(target, abs=1e-9)
    assert frame.groupby("attribute")["people"].sum().eq(120).all()
    assert positions.bits_by_position([control_record(kind)]).to_dict()["facet"]


def made_up_record(by_position: dict, name: str = "bioS") -> Record:
    """A record of 10 people whose attributes each hold 8 bits (log2 of 256 values) at most, with
    the given ``loss_by_position``; the mean loss is whatever makes bits = 0."""
    loss = {a: 8 * math.log(2) for a in by_position}
    config = {"data": {"name": name, "n_people": 10, "pools": [10, 10, 10]},
              "model": {"arch": "gpt2", "n_layer": 1, "n_head": 1, "d_model": 8},
              "train": {"exposures": 1, "lr": 0.1, "seed": 0}}
    return as_record({"config": config, "result": {"bits_per_attribute": {a: 0.0 for a in by_position},
                                                   "loss_per_attribute": loss, "loss_by_position": by_position}})


def test_position_frame_weights_the_later_places_and_skips_empty_ones():
    record = made_up_record({"a": {"loss_bits": [2.0, 4.0, None, 7.0], "people": [5, 3, 0, 1]},
                             "b": {"loss_bits": [None, 6.0], "people": [0, 10]}})
    frame = positions.position_frame([record]).set_index(["attribute", "sentence"])
    first, later = positions.SENTENCES
    assert frame.loc[("a", first), "bits_per_person"] == pytest.approx(8 - 2)
    assert frame.loc[("a", later), "bits_per_person"] == pytest.approx(8 - (3 * 4 + 7) / 4)
    assert frame.loc[("a", later), "people"] == 4
    assert ("b", first) not in frame.index  # nobody's b stood first: no row, not a full score
    assert frame.loc[("b", later), "bits_per_person"] == pytest.approx(2.0)
    sums = positions.position_sums(frame.reset_index())
    assert sums[first] == pytest.approx((6.0, 8.0)) and sums[later] == pytest.approx((3.25 + 2.0, 16.0))
    assert positions.position_frame([made_up_record(record.result["loss_by_position"], "bioD")]).empty


def test_position_summary_names_both_shares():
    text = positions.position_summary([control_record("oracle")])
    assert text.count("(100%)") == 2 and text.startswith("- bioS, pools 400×400×1000 · gpt2-1-1 d=8")
    assert positions.position_summary([as_record({**control_dict("uniform"), "result": {"bits_per_attribute": {}}})]) == ""


def test_figures_quote_the_record():
    record = control_record("oracle")
    got = positions.figures(record, "x")
    assert record.result.params == {"total": 1000, "non_embedding": 400}
    assert got["x_R"] == f"{record.result.R:.3f}" and got["x_embedding_share"] == "60%"
    assert got["x_first"] == got["x_most"] == got["x_later"] == "46.6"  # the oracle holds every bit


def test_comparison_shows_each_run_once():
    stored = [control_dict("uniform"), control_dict("oracle")]
    stored[1]["config"]["data"]["pools"] = [10, 10, 10]  # another point (best_of_lr keeps both)
    for i, record in enumerate(stored):
        record["key"], record["result"]["train"] = f"k{i}", {"wall_seconds": 1.0}
    records = [as_record(r) for r in stored]
    table, chart, summary = positions.comparison(records)
    assert list(table.columns) == positions.COMPARED and len(table) == 2
    assert sorted(table["R"]) == pytest.approx(sorted(r.result.R for r in records), abs=1e-3)
    assert chart.to_dict()["facet"] and summary.count("\n- ") == 1


@pytest.mark.parametrize("kind, expected", [("uniform", 0.0), ("oracle", 1.0)])
def test_attribute_parts_add_up_to_the_record_and_the_controls_score_none_or_all(kind, expected):
    record = control_record(kind)
    frame = positions.attribute_frame([record])
    r = record.result
    assert list(frame["part"]) == ["names", "birth_date", "birth_city", "university", "major", "employer", "gender"]
    assert frame["bits"].sum() == pytest.approx(r["bits"] - r["bits_diversity"])
    assert frame["max_bits"].sum() == pytest.approx(r["max_bits"] - r["max_bits_diversity"])
    assert frame.set_index("part").loc["gender", "max_bits"] == pytest.approx(120)   # one bit per person
    assert frame["share"].to_numpy() == pytest.approx(expected, abs=1e-9)
    table = positions.attribute_table([record, control_record("oracle" if kind == "uniform" else "uniform")])
    assert table.shape == (2, 7) and list(table.columns)[0] == "names"


def test_across_records_reads_each_biography_record_once_and_sums_it_up():
    uniform, oracle = control_dict("uniform"), control_dict("oracle")
    for record in (uniform, oracle):
        record["result"]["R"] = record["result"]["bits"] / 1000
    uniform["key"], oracle["key"] = "u", "o"
    uniform, oracle = as_record(uniform), as_record(oracle)
    other = as_record({"config": {"data": {"name": "bioD"}}, "result": {}, "key": "x"})  # not a biography: left out
    table = positions.across_records([("a", uniform), ("b", oracle), ("c", other), ("d", uniform)])
    assert list(table["store"]) == ["a, d", "b"] and set(table["data"]) == {"bioS"}   # one row per run
    assert list(table.columns[:12]) == ["store", "data", "N", "pools", "model", "exposures", "batch", "steps", "lr", "seed",
                                        "R", "names"]
    assert table.loc[0, "names"] == pytest.approx(0, abs=1e-9) and table.loc[1, "names"] == pytest.approx(1)
    assert table.loc[0, "gender_loss_nats"] == pytest.approx(math.log(2))   # a uniform guess: chance
    assert table.loc[1, "gender_accuracy"] == pytest.approx(1.0)
    summary = positions.across_summary(table)
    assert summary.startswith("- **bioS, N = 120, pools 400×400×1000, gpt2-1-1 d=8, 0 exposures, batch 4** (2 runs, "
                              "0.0K steps, R 0.000 to ")
    assert "names 0% to 100%" in summary and "to 1.00, 0% to 100% of the bit." in summary
    assert positions.across_records([("c", other)]).empty


def totals_records(runs: list[tuple]) -> list[tuple[str, Record]]:
    """Oracle controls made into runs ``(key, people, R, batch, steps, lr[, half-width of R's
    interval, 0.01 if not given])``: bits = 1000 R (names 40%), the maximum 1000 per 120 people."""
    stored = []
    for key, people, R, batch, steps, lr, *width in runs:
        half = width[0] if width else 0.01
        record = control_dict("oracle")
        record["key"], record["config"]["data"]["n_people"], record["result"]["R"] = key, people, R
        record["config"]["train"].update(batch_size=batch, lr=lr)
        record["result"] = {**record["result"], "bits": 1000 * R, "bits_name": 400 * R, "bits_value": 600 * R,
                            "max_bits": 1000 * people / 120, "R_ci": [R - half, R + half], "train": {"steps": steps},
                            "R_non_embedding": R * 1000 / 400}   # the record's own field (P 1000, non-embedding 400)
        stored.append(("s", as_record(record)))
    return stored


def test_totals_summary_compares_each_n_at_its_best_run_with_the_batch_scaled_with_n():
    table = positions.across_records(totals_records(
        [("a", 120, 0.2, 4, 900, 0.01), ("b", 120, 0.5, 4, 900, 0.02), ("c", 240, 0.4, 8, 940, 0.02),
         ("d", 240, 0.9, 4, 1880, 0.02)]))   # d: half the batch at 240, twice the steps: not compared here
    assert list(table.columns[-9:]) == ["bits", "bits_names", "bits_values", "max_bits", "R_low", "R_high", "P",
                                        "P_non_embedding", "R_non_embedding"]
    summary = positions.totals_summary(table)
    assert summary.startswith("- **bioS, pools 400×400×1000, gpt2-1-1 d=8, 0 exposures, the batch scaled with N** "
                              "(0.9K steps), the best run at each N: ")
    assert "N = 120: 0.5K of 1.0K bits (50%; names 0.2K, values 0.3K)" in summary   # b, not a
    assert "N = 240: 0.4K of 2.0K bits (20%;" in summary   # c, not d
    assert summary.endswith("N = 120 to 240, the maximum ×2.00 and the stored bits ×0.80.")
    assert positions.totals_summary(table[table["N"] == 120]) == ""   # one N: nothing to compare


@pytest.mark.parametrize("batch_4, batch_2, reading", [
    ((0.56, 0.01), (0.50, 0.01), "more steps at the same exposures stored more"),  # +12%, interval above
    ((0.56, 0.06), (0.50, 0.01), "the rule decides neither way"),                  # +12%, interval overlaps
    ((0.54, 0.01), (0.30, 0.01), "every smaller batch stays within 10% of it or below"),  # +8% and −40%
])
def test_steps_summary_reads_each_batch_by_the_rule_written_before_the_runs(batch_4, batch_2, reading):
    table = positions.across_records(totals_records(
        [("a", 240, 0.4, 8, 940, 0.01), ("b", 240, 0.5, 8, 940, 0.02), ("c", 240, batch_4[0], 4, 1880, 0.01, batch_4[1]),
         ("d", 240, batch_2[0], 2, 3760, 0.02, batch_2[1]), ("e", 120, 0.3, 4, 900, 0.02)]))   # e: N = 120, one batch
    summary = positions.steps_summary(table, ruled_store="s")
    assert "\n" not in summary and "N = 120" not in summary   # only N = 240 has more than one batch
    assert summary.startswith("- **bioS, N = 240, pools 400×400×1000, gpt2-1-1 d=8, 0 exposures (per non-embedding "
                              "parameter: 2.5 × R)**: batch 8 (0.9K steps, best of 2 rates at 0.02): 0.5K bits, R = 0.500 [0.490, 0.510]; batch 4 (1.9K steps")
    assert f"Against batch 8's best: batch 4 {batch_4[0] / 0.5 - 1:+.0%}; batch 2 " in summary and reading in summary
    assert positions.steps_summary(table[table["batch"] == 8], ruled_store="s") == ""
    unread = positions.steps_summary(table)   # none of these runs is the steps diagnostic's: compared, not read
    assert reading not in unread and unread.endswith(
        f"Against batch 8's best: batch 4 {batch_4[0] / 0.5 - 1:+.0%}; batch 2 {batch_2[0] / 0.5 - 1:+.0%}. No rule "
        "reads this point: the steps diagnostic's rule was written for its own runs, and these are shown beside them.")
    waiting = positions.steps_summary(table[(table["batch"] != 8) | (table["lr"] != 0.01)], read=False,
                                      ruled_store="s")   # a left out
    assert "batch 8 (0.9K steps, one rate, 0.02)" in waiting and reading not in waiting
    assert waiting.endswith("The rule written before these runs is read once all of them are stored.")
    frame = positions.steps_frame(table)
    assert sorted(frame["batch"]) == [2, 4, 8, 8] and set(frame["N"]) == {240}
    assert frame["point"].str.endswith("(per non-embedding parameter: 2.5 × R)").all()   # P 1000, non-embedding 400
    assert frame["R_non_embedding"].tolist() == pytest.approx((frame["R"] * 2.5).tolist())
    assert plots.r_against_steps(frame).to_dict()["facet"]["field"] == "point"
