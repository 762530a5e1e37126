"""Result 9's page logic on fixed records: architectures, active parameters, each peak as the mean
over its seeds at their own best rates, the ratio and its verdict."""

import pytest

from kcl.book import knobs, result9
from kcl.book.chapter_list import CHAPTERS
from kcl.record import Record
from made_up import as_record  # tests/ is on sys.path


def record_dict(arch: str, d: int, lr: float, R: float, seed: int = 0, total: int = 40_000) -> dict:
    moe = arch == "gpt2_moe"
    params = {"total": total, "non_embedding": total - 5_000, "used_tokens": 300}
    if moe:
        params["moe"] = {"experts": 32_000, "router": 1_000, "active_mlp": 2_000, "active_total": total - 31_000}
    return {"key": f"{arch}-{d}-{lr}-{seed}",
            "config": {"data": {"name": "bioD", "n_people": 1000, **knobs.DEFAULT_KNOBS, "seed": seed},
                       "model": {"arch": arch, "n_layer": 2, "n_head": 2, "d_model": d},
                       "train": {"lr": lr, "seed": seed, "exposures": 1000}},
            "result": {"R": R, "R_ci": [R - 0.05, R + 0.05], "R_non_embedding": 1.2 * R, "R_max": 3.0,
                       "bits": R * total, "max_bits": 3.0 * total, "accuracy_mean": 0.5, "params": params,
                       "train": {"wall_seconds": 60, **({"moe": {"dropped_share": 0.02}} if moe else {})},
                       **({"moe": {"dropped_share": 0.0}} if moe else {})}}


def record(arch: str, d: int, lr: float, R: float, seed: int = 0, total: int = 40_000) -> Record:
    return as_record(record_dict(arch, d, lr, R, seed, total))


def parts():
    moe_main = [record("gpt2_moe", 16, 0.01, 1.5), record("gpt2_moe", 16, 0.02, 1.4), record("gpt2_moe", 8, 0.01, 1.1)]
    moe_seeds = [record("gpt2_moe", 16, 0.01, 1.3, seed=1), record("gpt2_moe", 16, 0.02, 1.6, seed=1),
                 record("gpt2_moe", 16, 0.01, 1.5, seed=2), record("gpt2_moe", 8, 0.01, 1.9, seed=1)]
    dense_main = [record("gpt2", 32, 0.01, 2.0), record("gpt2", 24, 0.01, 1.8)]
    dense_seeds = [record("gpt2", 32, 0.01, 1.9, seed=1), record("gpt2", 32, 0.01, 2.1, seed=2)]
    return {result9.MOE: {"main": moe_main, "reruns": moe_seeds}, result9.GPT2: {"main": dense_main, "reruns": dense_seeds}}


def test_each_peak_is_its_best_size_over_seeds_at_their_own_best_rates():
    heads = result9.headlines(parts())
    # MoE: d = 16 is the peak; seed 0 1.5, seed 1 its best rate 1.6, seed 2 1.5 (d = 8's rerun is not its point)
    assert heads[result9.MOE]["values"] == pytest.approx([1.5, 1.6, 1.5])
    assert heads[result9.GPT2]["values"] == pytest.approx([2.0, 1.9, 2.1])
    (claim,) = result9.claims(heads)
    assert claim.value == pytest.approx((4.6 / 3) / 2.0)
    assert claim.paper == pytest.approx(1 / 1.3) and claim.kind == "about"
    assert claim.low < claim.value < claim.high
    assert claim.outcome == "reproduced"


def test_a_mixture_far_below_dense_is_not_reproduced():
    def weaker(record: Record) -> Record:
        r = record.to_dict()
        r["result"]["R"] *= 0.4
        r["result"]["R_ci"] = [r["result"]["R"] - 0.01, r["result"]["R"] + 0.01]
        return as_record(r)

    p = parts()
    p[result9.MOE] = {part: [weaker(r) for r in runs] for part, runs in p[result9.MOE].items()}
    (claim,) = result9.claims(result9.headlines(p))
    assert claim.value == pytest.approx(0.4 * (4.6 / 3) / 2.0) and claim.outcome == "not reproduced"


def test_points_show_active_parameters_and_dropped_shares():
    frame = result9.all_points(parts())
    moe = frame[frame["architecture"] == result9.MOE].set_index("d").loc[16]
    assert moe["P_active"] == 9_000 and moe["active_share"] == pytest.approx(9_000 / 40_000)
    assert moe["R_active"] == pytest.approx(1.5 * 40_000 / 9_000)
    assert moe["dropped_training"] == 0.02 and moe["dropped_measurement"] == 0.0
    dense = frame[frame["architecture"] == result9.GPT2].set_index("d").loc[32]
    assert dense["P_active"] == dense["P"] and dense["R_active"] == pytest.approx(dense["R"])
    table = result9.peak_table(result9.headlines(parts()))
    assert list(table["architecture"]) == [result9.MOE, result9.GPT2]


def test_pending_records_hold_the_verdict_back():
    (section,) = result9.verdict_sections(None, "*Pending: 21 runs*")
    assert section.judgements is None and section.note == "*Pending: 21 runs*"
    (section,) = result9.verdict_sections({result9.MOE: parts()[result9.MOE]}, "")
    assert section.judgements is None and "no GPT2" in section.note


def test_result9_is_declared_by_its_sweep_file_and_reruns_each_architectures_peak():
    chapter = CHAPTERS["result9"]
    assert chapter.sweeps == {"cpu": "sweeps/result9.yaml", "gpu": "sweeps/gpu/result9.yaml"}
    assert chapter.seeds == (1, 2) and chapter.seed_all_rates and chapter.seed_group == "model.arch"


def test_seed_reruns_at_every_rate_follow_each_groups_peak():
    from kcl.book import law

    base = {"data": {"name": "bioD", "n_people": 40, "K": 2, "C": 2, "D": 4, "L": 1, "T": 6, "pools": [10, 10, 10]},
            "train": {"exposures": 3, "batch_size": 8, "lr": 0.01, "packing": "per_bio"}}

    def rec(arch, d, lr, R):
        return as_record({"config": {**base, "model": {"arch": arch, "n_layer": 1, "n_head": 2, "d_model": d},
                                     "train": {**base["train"], "lr": lr}}, "result": {"R": R}})

    main = [rec("gpt2", 16, 0.01, 2.0), rec("gpt2", 16, 0.02, 1.0), rec("gpt2_moe", 16, 0.01, 0.5),
            rec("gpt2_moe", 16, 0.02, 0.9), rec("gpt2_moe", 32, 0.01, 0.1)]
    grouped = law.seed_rate_configs(main, (1,), "model.arch")
    assert sorted((c.model.arch, c.model.d_model, c.train.lr, c.train.seed) for c in grouped) == [
        ("gpt2", 16, 0.01, 1), ("gpt2", 16, 0.02, 1), ("gpt2_moe", 16, 0.01, 1), ("gpt2_moe", 16, 0.02, 1)]
    assert {c.model.arch for c in law.seed_rate_configs(main, (1,))} == {"gpt2"}


def moe100(top_k, cf, d, lr, R, seed=0):
    r = record_dict("gpt2_moe", d, lr, R, seed)
    r["config"]["model"]["options"] = [["moe_capacity_factor", cf], ["moe_top_k", top_k], ["n_experts", 32]]
    r["config"]["train"]["exposures"] = 100
    r["key"] += f"-{top_k}-{cf}"
    return as_record(r)


def test_at_100_exposures_the_sparsest_mixture_is_judged_against_gpt2_and_the_others_against_it():
    main = [moe100(1, 2.0, 16, 0.01, 0.40), moe100(1, 2.0, 8, 0.01, 0.30), moe100(2, 1.0, 16, 0.01, 0.42),
            moe100(2, 2.0, 16, 0.01, 0.20), record("gpt2", 16, 0.01, 0.60)]
    seeds = [moe100(1, 2.0, 16, 0.01, R, seed=s) for s, R in ((1, 0.38), (2, 0.42))] + \
            [moe100(2, 1.0, 16, 0.01, R, seed=s) for s, R in ((1, 0.41), (2, 0.43))] + \
            [moe100(2, 2.0, 16, 0.01, R, seed=s) for s, R in ((1, 0.21), (2, 0.19))] + \
            [record("gpt2", 16, 0.01, R, seed=s) for s, R in ((1, 0.59), (2, 0.61))]
    heads = result9.headlines_100({"main": main, "seeds": seeds})
    assert set(heads) == {result9.SPARSEST, "GPT2-MoE top-2, capacity 1", "GPT2-MoE top-2, capacity 2", "GPT2"}
    against_gpt2, top2_cap1, top2_cap2 = result9.claims_100(heads)
    assert against_gpt2.value == pytest.approx(0.40 / 0.60) and against_gpt2.outcome == "reproduced"
    assert top2_cap1.value == pytest.approx(0.42 / 0.40) and top2_cap1.outcome == "reproduced"
    assert top2_cap2.value == pytest.approx(0.5) and top2_cap2.outcome == "not reproduced"
    sections = result9.verdict_sections(None, "*Pending: 21 runs*", {"main": main, "seeds": seeds})
    assert [s.title for s in sections] == ["committed", "committed, 100 exposures"]
    assert len(sections[1].judgements) == 3
    (only,) = result9.verdict_sections(None, "*Pending*")
    assert only.title == "committed"


def test_the_reading_gives_both_peaks_and_the_mixtures_figure_over_the_parameters_a_token_uses():
    words = result9.reading(parts())
    # MoE peak: mean of 1.5, 1.6, 1.5; a token uses 9,000 of 40,000 parameters
    assert words.startswith(f"GPT2-MoE's peak stores {4.6 / 3:.2f} bits per parameter counted over every expert "
                            "(gpt2_moe-2-2 d=16, the mean over 3 seeds)")
    assert f"{(4.6 / 3) / 2.0:.2f}× dense GPT2's 2.00 (gpt2-2-2 d=32)" in words
    assert f"a token uses 22% of its parameters, and over those the same peak is {(4.6 / 3) * 40 / 9:.1f}" in words
    assert f"the data allows at most R^max = 3.00 bits per parameter, so the mixture's peak stores {(4.6 / 3) / 3:.0%}" in words
    assert result9.reading(None) == "" and result9.reading({result9.GPT2: parts()[result9.GPT2]}) == ""


def test_at_100_exposures_the_addendum_widens_each_edge_peak_beside_the_committed_verdicts():
    """The addendum of 2026-12-07: the sparsest mixture's peak moves to the rate beyond and takes
    that run's seed reruns; top-2's rate beyond stores less; GPT2's widened peak is result 6's. The
    committed verdicts stay; the widened ratios sit beside them, with a table and a sentence."""
    main = [moe100(1, 2.0, 16, 0.01, 0.40), moe100(2, 1.0, 16, 0.01, 0.42), record("gpt2", 16, 0.01, 0.60)]
    seeds = [moe100(1, 2.0, 16, 0.01, R, seed=s) for s, R in ((1, 0.38), (2, 0.42))] + \
            [moe100(2, 1.0, 16, 0.01, R, seed=s) for s, R in ((1, 0.41), (2, 0.43))] + \
            [record("gpt2", 16, 0.01, R, seed=s) for s, R in ((1, 0.59), (2, 0.61))]
    gpt2_beyond = [record("gpt2", 16, 0.02, 0.70)]
    gpt2_beyond_seeds = [record("gpt2", 16, 0.02, R, seed=s) for s, R in ((1, 0.66), (2, 0.74))]
    only_gpt2 = {"main": main, "seeds": seeds, "beyond": gpt2_beyond, "beyond_seeds": gpt2_beyond_seeds}
    assert [s.title for s in result9.verdict_sections(None, "", only_gpt2)] == ["committed", "committed, 100 exposures"]
    assert result9.beyond_100(only_gpt2) == []  # result 6's runs alone: this chapter's addendum has not run

    records = {"main": main, "seeds": seeds,
               "beyond": gpt2_beyond + [moe100(1, 2.0, 16, 0.02, 0.55), moe100(2, 1.0, 16, 0.02, 0.30)],
               "beyond_seeds": gpt2_beyond_seeds + [moe100(1, 2.0, 16, 0.02, R, seed=s) for s, R in ((1, 0.50), (2, 0.60))]}
    committed, addendum = result9.verdict_sections(None, "", records)[1:]
    assert committed.judgements[0].value == pytest.approx(0.40 / 0.60)  # the committed verdict as judged
    assert addendum.title.startswith("the addendum, 100 exposures") and not addendum.stands
    against_gpt2, top2 = addendum.judgements
    assert against_gpt2.value == pytest.approx(0.55 / 0.70)  # both widened: means of (0.55, 0.50, 0.60) and (0.70, 0.66, 0.74)
    assert top2.value == pytest.approx(0.42 / 0.55)  # top-2's committed peak over the sparsest's widened one
    words, table = result9.beyond_100(records)
    rows = table.set_index("variant")
    assert rows.loc[result9.SPARSEST, "widened peak"] == "gpt2_moe-2-2 d=16 at 0.02"
    assert rows.loc[result9.SPARSEST, "committed peak"] == "gpt2_moe-2-2 d=16 at 0.01"
    assert rows.loc["GPT2-MoE top-2, capacity 1", "widened peak"] == "gpt2_moe-2-2 d=16 at 0.01"
    assert rows.loc["GPT2", "R_widened"] == pytest.approx(0.70) and rows.loc["GPT2", "edge"] == "highest"
    reading = result9.reading(parts(), records)
    assert f"{result9.SPARSEST}: 0.55 (gpt2_moe-2-2 d=16 at 0.02)" in reading and "GPT2: 0.70" in reading
    assert "1 of the 2 widened mixture peaks sits at both the smallest size and the highest rate" in reading
    assert f"then stores {0.55 / 0.70:.2f}× GPT2's widened peak" in reading
    one = result9.sentence(parts(), records)
    assert one == (f"GPT2-MoE's peak stores {4.6 / 3:.2f} bits per parameter counted over every expert, "
                   f"{(4.6 / 3) / 2.0:.2f}× dense GPT2's 2.00; at 100 exposures the top-1 mixture stores "
                   f"{0.40 / 0.60:.2f}× GPT2's ({0.55 / 0.70:.2f}× with one rate beyond the highest).")
    assert result9.sentence(parts(), only_gpt2).endswith(f"stores {0.40 / 0.60:.2f}× GPT2's.")
    assert result9.sentence(None) == ""
