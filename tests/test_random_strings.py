"""The random-strings page's logic on records made by hand: capacity per size over N, the headline
over seeds at their own best rates, and the two claims."""

import pytest

from kcl.book import knobs, random_strings as rs
from made_up import as_record  # tests/ is on sys.path


def record(d, n, lr, bits, seed=0, name="random", P=None):
    P = P or 1000 * d
    data = ({"name": "random", "n_people": n, "length": 16, "T": 64, "pools": [100, 100, 100], "seed": seed}
            if name == "random" else {"name": "bioD", "n_people": n, **knobs.DEFAULT_KNOBS, "seed": seed})
    return as_record({
        "key": f"{name}-{d}-{n}-{lr}-{seed}",
        "config": {"data": data, "model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": d},
                   "train": {"lr": lr, "seed": seed, "exposures": 1000}},
        "result": {"R": bits / P, "R_ci": [bits / P - 0.05, bits / P + 0.05], "R_non_embedding": 1.4 * bits / P,
                   "R_max": 96 * n / P, "bits": bits, "max_bits": 96 * n, "accuracy_mean": 0.5,
                   "params": {"total": P, "non_embedding": P // 2}, "train": {"wall_seconds": 60}}})


def main():
    out = []
    for d, plateau in ((16, 50_000), (32, 80_000)):
        for n in (250, 500, 1000, 2000):
            stored = min(96 * n * 0.95, plateau * (1.0 if n < 2000 else 0.97))
            out += [record(d, n, 0.01, stored), record(d, n, 0.02, stored * 0.8)]
    return out


def test_a_sizes_capacity_is_the_most_it_stores_over_n():
    table = rs.capacities(main()).set_index("P")
    small, large = table.loc[16_000], table.loc[32_000]
    assert small["capacity_bits"] == pytest.approx(50_000) and small["plateau_seen"]
    assert small["bits_per_parameter"] == pytest.approx(50_000 / 16_000)
    assert large["capacity_bits"] == pytest.approx(80_000) and large["at_N"] == 1000 and large["plateau_seen"]
    # a model that still gains at the largest N shows no plateau: the page says so
    growing = rs.capacities([r for r in main() if r.data["n_people"] <= 500]).set_index("P")
    assert not growing.loc[32_000, "plateau_seen"]
    assert not table["data_limited"].any()  # their most bits come at N = 1000 and 2000, not the smallest N


def test_a_size_whose_most_bits_come_at_the_smallest_n_with_nearly_all_of_it_stored_is_flagged():
    # d = 16 stores 98% of N = 250's 24,000 bits, then fewer at larger N; d = 32 only 50% at its smallest N
    declining = [record(16, 250, 0.01, 23_520), record(16, 500, 0.01, 20_000), record(16, 1000, 0.01, 17_000),
                 record(32, 250, 0.01, 12_000), record(32, 500, 0.01, 11_000)]
    table = rs.capacities(declining).set_index("P")
    assert table.loc[16_000, "data_limited"] and table.loc[16_000, "plateau_seen"]
    assert not table.loc[32_000, "data_limited"]  # half its data: the model, not the data, set it
    reruns = [record(16, 250, 0.01, 23_520, seed=s) for s in (1, 2)]
    assert rs.reading({"main": declining, "reruns": reruns, "facts": None}).endswith(
        "The most bits of gpt2-2-2 d=16 (98% at N = 250) came at the smallest N tried, with nearly all of its data "
        "stored, and larger N stored fewer: the data may have set that figure, so the capacity may be higher.")


def test_the_claims_compare_the_peak_with_morris_and_with_facts():
    recs = main()
    # the peak point: d = 16 at N = 1000 (3.125 bits per parameter), rerun at seeds 1 and 2
    reruns = [record(16, 1000, lr, 50_000 * f, seed=s) for s, f in ((1, 1.1), (2, 0.9)) for lr in (0.01, 0.02)]
    facts = {"main": [record(32, 1000, 0.01, 64_000, name="bioD"), record(32, 1000, 0.02, 60_000, name="bioD")],
             "reruns": [record(32, 1000, 0.01, 62_000, seed=1, name="bioD"),
                        record(32, 1000, 0.01, 66_000, seed=2, name="bioD")]}
    morris, ratio = rs.claims({"main": recs, "reruns": reruns, "facts": facts})
    assert morris.value == pytest.approx(50_000 / 16_000) and morris.paper == 3.6 and morris.source == "Morris et al."
    assert morris.outcome == "reproduced"  # 3.125 is within 15% of 3.6
    assert ratio.value == pytest.approx((50_000 / 16_000) / 2.0) and ratio.paper == pytest.approx(1.8)
    assert ratio.source == "Morris et al. / the paper"
    assert len(rs.claims({"main": recs, "reruns": reruns, "facts": None})) == 1


def test_the_chapter_is_declared_with_seeds_at_every_rate():
    from kcl.book.chapter_list import CHAPTERS

    chapter = CHAPTERS["random-strings"]
    assert chapter.seeds == (1, 2) and chapter.seed_all_rates and chapter.peak_at_capacity and chapter.regime is None


def plateau_where_p_grows():
    """d = 16 stores its most bits at N = 2000, but N = 1000 (fewer name tokens, a smaller P) has
    more bits per parameter: the capacity rule and the most-R rule name different points."""
    return [record(16, 1000, 0.01, 49_000, P=15_500), record(16, 1000, 0.02, 40_000, P=15_500),
            record(16, 2000, 0.01, 50_000, P=16_000), record(16, 2000, 0.02, 45_000, P=16_000),
            record(32, 1000, 0.01, 60_000, P=32_000), record(32, 1000, 0.02, 50_000, P=32_000)]


def test_the_headline_and_its_seed_reruns_take_the_capacity_point_not_the_most_bits_per_parameter():
    from kcl.book.chapters import follow_ups
    from kcl.book import law

    recs = plateau_where_p_grows()
    assert law.peak(law.best_of_lr(recs)).data["n_people"] == 1000  # 49,000 / 15,500 = 3.16 > 3.125
    chosen = law.capacity_runs(recs)
    assert sorted((r.model["d_model"], r.data["n_people"], r.train["lr"]) for r in chosen) == [
        (16, 2000, 0.01), (16, 2000, 0.02), (32, 1000, 0.01), (32, 1000, 0.02)]
    reruns = follow_ups("random-strings", recs)
    rerun_points = {(c.model.d_model, c.data.n_people) for part in ("seeds", "seed_rates") for c in reruns[part]}
    assert rerun_points == {(16, 2000)}
    assert sorted({(c.train.seed, c.train.lr) for c in reruns["seed_rates"]}) == [
        (1, 0.01), (1, 0.02), (2, 0.01), (2, 0.02)]
    seeds = [record(16, 2000, 0.01, 50_000 * f, seed=s, P=16_000) for s, f in ((1, 1.1), (2, 0.9))]
    (morris,) = rs.claims({"main": recs, "reruns": seeds, "facts": None})
    assert morris.value == pytest.approx(50_000 / 16_000)  # the table's point, not 49,000 / 15,500
    assert rs.capacities(recs).set_index("P").loc[16_000, "at_N"] == 2000


def test_the_reading_sets_noise_beside_facts_and_names_sizes_without_a_plateau():
    reruns = [record(16, 1000, lr, 50_000 * f, seed=s) for s, f in ((1, 1.1), (2, 0.9)) for lr in (0.01, 0.02)]
    facts = {"main": [record(32, 1000, 0.01, 64_000, name="bioD")],
             "reruns": [record(32, 1000, 0.01, 62_000, seed=1, name="bioD"),
                        record(32, 1000, 0.01, 66_000, seed=2, name="bioD")]}
    words = rs.reading({"main": main(), "reruns": reruns, "facts": facts})
    assert words == ("On random strings the largest capacity is 3.12 bits per parameter (gpt2-2-2 d=16, the mean "
                     "over 3 seeds; Morris et al.: 3.6). Facts (result 1, bioD) peak at 2.00: noise stores 1.56× as "
                     "many bits per parameter as knowledge-shaped data at our scale. Size by size (seed 0), noise "
                     "stores 1.25× the bits per parameter of facts.")
    up_to_1000 = [r for r in main() if r.data["n_people"] <= 1000]  # every size still growing at its largest N
    assert rs.reading({"main": up_to_1000, "reruns": reruns, "facts": None}).endswith(
        "No plateau was seen for gpt2-2-2 d=16, gpt2-2-2 d=32: their bits still grew at the largest N tried, so their "
        "capacity may be higher.")
    assert rs.reading(None) == ""


def test_a_running_sweep_shows_its_points_and_capacities_so_far_without_a_verdict(monkeypatch):
    class Running:
        def note(self):
            return "**Still running.** main: 13 of 45"

    stored = {"main": [r for r in main() if r.data["n_people"] <= 500]}
    monkeypatch.setattr(rs, "shown_so_far", lambda chapter, profile: (stored, Running(), ""))
    monkeypatch.setattr(rs, "parts_or_pending", lambda chapter, profile: (None, "*Pending: result 1*"))
    note, chart, table = rs.so_far("cpu")  # no facts stored: no side-by-side table
    assert note.startswith("**Still running.**") and "no verdict yet" in chart.to_dict()["title"]
    assert "Stored so far" in chart.to_dict()["title"]
    assert list(table["P"]) == [16_000, 32_000] and not table["plateau_seen"].any()  # N up to 500 only
    monkeypatch.setattr(rs, "shown_so_far", lambda chapter, profile: (stored, None, ""))
    assert rs.so_far("cpu") == []  # complete: the page shows its evidence and verdicts instead
    monkeypatch.setattr(rs, "shown_so_far", lambda chapter, profile: (None, None, "*Pending: no run*"))
    assert rs.so_far("cpu") == []  # no run stored: the page's pending line says so


def test_the_smoke_profile_has_nothing_stored_to_show_so_far(tmp_path, monkeypatch):
    """A smoke page that may not train says what is pending, never fails on "stored so far"."""
    from kcl.book.chapters import SMOKE_STORE_ENV

    monkeypatch.setenv(SMOKE_STORE_ENV, str(tmp_path))  # the smoke store, empty
    assert rs.so_far("smoke") == []


def test_noise_is_set_beside_facts_size_by_size_on_the_sizes_both_trained():
    facts = {"main": [record(32, 1000, 0.01, 64_000, name="bioD"), record(32, 500, 0.01, 40_000, name="bioD"),
                      record(48, 1000, 0.01, 90_000, name="bioD")]}
    table = rs.side_by_side({"main": main(), "facts": facts})
    assert list(table["model"]) == ["gpt2-2-2 d=32"]  # d = 16 has no facts, d = 48 no noise
    row = table.iloc[0]
    assert (row["noise: bits"], row["noise: at N"], row["facts: bits"], row["facts: at N"]) == (80_000, 1000, 64_000, 1000)
    assert row["noise / facts"] == pytest.approx((80_000 / 32_000) / (64_000 / 32_000))
    sentence, shown = rs.side_by_side_items({"main": main(), "facts": facts})
    assert "noise stores 1.25 times the bits per parameter of facts" in sentence and len(shown) == 1
    assert rs.side_by_side({"main": main(), "facts": None}).empty and rs.side_by_side_items({"main": main()}) == []
