"""The verdict rule and the selections of results 1–4 (kcl.book.stats)."""

from __future__ import annotations

import dataclasses

import pytest

from kcl.book import addenda, stats
from made_up import as_record  # tests/ is on sys.path


@pytest.mark.parametrize("paper, value, low, high, kind, outcome", [
    (2.0, 1.80, 1.78, 1.82, "about", "reproduced"),          # 2 is within 15% of 1.80 (11%)
    (2.0, 1.50, 1.45, 1.55, "about", "partly reproduced"),   # 33%
    (2.0, 1.20, 1.10, 1.30, "about", "not reproduced"),      # 67%
    (2.0, 1.50, 1.40, 2.10, "about", "reproduced"),          # inside the interval
    (2.0, 2.60, 2.50, 2.70, "at_least", "reproduced"),       # the inequality holds
    (2.0, 2.60, 2.50, 2.70, "about", "partly reproduced"),   # 23% away
    (2.3, 2.40, 2.35, 2.45, "at_most", "reproduced"),        # 4% above 2.3
    (2.3, 3.50, 3.40, 3.60, "at_most", "partly reproduced"),  # 34%
    (2.3, 1.00, 0.90, 1.10, "at_most", "reproduced"),
    (1.0, 0.50, 0.45, 0.55, "at_least", "not reproduced"),   # 100%
])
def test_judge(paper, value, low, high, kind, outcome):
    assert stats.judge("claim", paper, value, low, high, kind).outcome == outcome


def test_judge_rejects_a_bad_kind_or_interval():
    with pytest.raises(ValueError, match="kind"):
        stats.judge("c", 1, 1, 0.9, 1.1, "roughly")
    with pytest.raises(ValueError, match="not inside"):
        stats.judge("c", 1, 2, 0.9, 1.1)


def _record(lr, R, n=1000, d=32, seed=0):
    return as_record({"config": {"data": {"n_people": n}, "model": {"d_model": d}, "train": {"lr": lr, "seed": seed}},
                      "result": {"R": R}})


def test_best_of_lr_groups_by_everything_but_the_rate():
    records = [_record(1e-3, 1.0), _record(2e-3, 1.5), _record(4e-3, 1.2),
               _record(1e-3, 0.9, d=16), _record(2e-3, 0.7, d=16)]
    best = stats.best_of_lr(records)
    assert [(b.model["d_model"], b.train["lr"]) for b in best] == [(32, 2e-3), (16, 1e-3)]
    assert best[0].lr_tried == [(1e-3, 1.0), (2e-3, 1.5), (4e-3, 1.2)]
    assert stats.peak(best).result.R == 1.5
    assert best[0].to_dict() == records[1].to_dict()  # the record kept, as stored


def test_lr_grid_from_pilot():
    pilot = [_record(lr, R) for lr, R in [(1.25e-3, 1.1), (2.5e-3, 1.6), (5e-3, 1.8), (1e-2, 1.7), (2e-2, 1.2)]]
    assert stats.lr_grid_from_pilot(pilot) == [2.5e-3, 5e-3, 1e-2]
    edge = [_record(lr, R) for lr, R in [(1e-3, 1.0), (2e-3, 1.1), (4e-3, 1.2)]]
    with pytest.raises(ValueError, match="edge"):
        stats.lr_grid_from_pilot(edge)


def test_seed_interval():
    mean, low, high = stats.seed_interval([1.0, 1.2, 1.1])
    assert mean == pytest.approx(1.1) and low < 1.0 and high > 1.2   # t(2) is wide
    with pytest.raises(ValueError, match="at least 2"):
        stats.seed_interval([1.0])


def test_a_verdict_sentence_and_cpu_hours():
    j = stats.judge("peak", 2.0, 2.1, 2.0, 2.2, "at_least")
    assert j.sentence() == "peak: paper ≥ 2; ours 2.100 [2.000, 2.200] → **reproduced**"
    beside = stats.judge("peak", 2.0, 1.0, 0.9, 1.1, "at_least", non_embedding=3.0)  # shown, never judged
    assert beside.sentence() == ("peak: paper ≥ 2; ours 1.000 [0.900, 1.100] (3.000 per non-embedding parameter) "
                                 "→ **not reproduced**")
    (row,) = stats.verdicts_table([("committed", [beside])]).to_dict("records")
    assert row[stats.NON_EMBEDDING] == "3.000" and row["verdict"] == "not reproduced"
    # a record without threads trained on both cores (THREADS_BEFORE_RECORDED); a worker's on one
    assert stats.cpu_hours([as_record({"result": {"train": {"wall_seconds": 1800}}})] * 3) == 3.0
    assert stats.cpu_hours([as_record({"result": {"train": {"wall_seconds": 1800, "threads": 1}}})] * 3) == 1.5
    # a page's cost counts each run once (a pilot run that is also a main run: once)
    # a page's cost counts each run of its store once (two parts holding one record: once), and a
    # pilot's runs in full (trained apart, even where a main run repeats a config)
    runs = [as_record({"key": k, "result": {"train": {"wall_seconds": 1800, "threads": 1}}}) for k in ("a", "b", "a")]
    assert stats.compute_values(runs) == {"n_runs": "2", "n_pilot": "0", "cpu_hours": "1.0"}
    assert stats.compute_values(runs, pilot=runs[:1]) == {"n_runs": "3", "n_pilot": "1", "cpu_hours": "1.5"}


def test_a_verdict_reached_only_by_a_wide_interval_says_what_the_estimate_alone_gets():
    # result 1's committed headline: 3 seeds far apart, the target inside their interval, the estimate 34% off
    wide = stats.judge("peak", 2.0, 1.489, 0.063, 2.914, "at_least")
    assert (wide.outcome, wide.by_estimate) == ("reproduced", "partly reproduced")
    assert wide.verdict == "reproduced (by its interval only; the estimate alone: partly reproduced)"
    assert wide.sentence().endswith("→ **reproduced (by its interval only; the estimate alone: partly reproduced)**")
    ratio = stats.judge("ratio", 2.0, 3.167, 0.128, 6.498, "at_most")
    assert ratio.verdict == "reproduced (by its interval only; the estimate alone: partly reproduced)"  # 37% off
    for plain in (stats.judge("p", 2.0, 2.1, 2.0, 2.2, "at_least"), stats.judge("p", 2.0, 1.0, 0.9, 1.1)):
        assert plain.verdict == plain.outcome == plain.by_estimate
    (row,) = stats.verdicts_table([("committed", [wide])]).to_dict("records")
    assert row["verdict"] == wide.verdict


def test_an_addendum_section_drops_the_rows_it_left_unchanged():
    committed = [stats.judge("K=16 (d=32)", 2.0, 1.68, 1.64, 1.71, "at_least"),
                 stats.judge("T=256 (d=32)", 2.0, 2.1, 2.0, 2.2, "at_least")]
    widened = [stats.judge("K=16 (d=32)", 2.0, 1.75, 1.72, 1.79, "at_least"), committed[1]]
    section = stats.addendum_section("beyond the edge", widened, committed, "*Seed 0.*")
    assert section == stats.Section("beyond the edge; unchanged (the rate beyond stored less): T=256", widened[:1],
                                    "*Seed 0.*", "") and not section.stands
    alike = stats.addendum_section("beyond the edge", committed, committed, "*Seed 0.*")
    assert alike.title == "beyond the edge; unchanged (the rate beyond stored less)"  # no list of every claim
    assert alike.judgements == [] and alike.stands and alike.note.startswith("*Seed 0.* *The rate beyond stored less")
    (row,) = stats.verdicts_table([alike]).to_dict("records")
    assert row["verdict"] == stats.COMMITTED_STANDS and row["claim"].startswith("Seed 0. The rate beyond")
    tied = stats.judge("LLaMA (tied): peak R(F) / GPT2's peak R(F) (about 1)", 1.0, 1.37, 0.5, 40.0)
    assert stats.addendum_section("beyond", [tied, widened[0]], [tied]).title == "beyond; unchanged (the rate beyond " \
        "stored less): LLaMA (tied)"  # named by what it is about, the text before the colon
    renamed = [stats.judge("K=1 (d=32)", 2.0, 2.1, 2.0, 2.2, "at_least")]  # the same figure, another claim
    assert stats.addendum_section("beyond", renamed, committed[1:]).judgements == renamed


def test_verdicts_table_has_a_row_per_claim_and_one_per_section_held_back():
    met = stats.judge("peak", 2.0, 2.1, 2.0, 2.2, "at_least")
    missed = stats.judge("ratio", 2.0, 6.0, 5.0, 7.0, "about")
    table = stats.verdicts_table([("committed", [met, missed]), ("seeds", None, "*Waits for seed 2.*"), ("later", None)])
    assert list(table["section"]) == ["committed", "committed", "seeds", "later"]
    assert list(table["claim"]) == ["peak", "ratio", "Waits for seed 2.", "The page holds this verdict back."]
    assert list(table["target"]) == ["≥ 2", "≈ 2", "", ""]
    assert list(table[stats.OURS]) == ["2.100 [2.000, 2.200]", "6.000 [5.000, 7.000]", "", ""]
    assert list(table["verdict"]) == ["reproduced", "not reproduced", stats.WAITING, stats.WAITING]
    assert stats.verdicts_table([]).empty
    (row,) = stats.verdicts_table([("bioS", [], "*No point has R^max ≤ 1.8.*")]).to_dict("records")
    assert (row["claim"], row["verdict"]) == ("No point has R^max ≤ 1.8.", stats.NOTHING_TO_JUDGE)
    # the page's verdict cell from the same sections: titles, claims, what a held-back one waits for
    text = stats.sections_markdown([("committed", [met]), stats.Section("seeds", None, "*Waits for seed 2.*"),
                                    ("beyond", [missed], "*Seed 0.*"), ("later", None), ("bioS", [])], "cpu")
    assert text.split("\n\n") == ["**Committed**\n- " + met.sentence(), "**Seeds**", "*Waits for seed 2.*",
                                   "**Beyond**\n- " + missed.sentence(), "*Seed 0.*", "**Later**",
                                   "*The page holds this verdict back.*", "**bioS**",
                                   "(profile `cpu`; every bits-per-parameter figure under the paper's count)"]
    long = stats.judge("a claim longer than a frame shows " * 3, 2.0, 6.0, 5.0, 7.0)
    html = stats.verdicts_styled([("committed", [long])]).to_html()
    assert "a claim longer than a frame shows " * 3 in html and 'class="dataframe"' in html
    # a figure may break before its interval, never inside it, so the table fits the text column
    assert "[5.000,\u00a07.000]" in html and "[5.000, 7.000]" not in html


def test_interval_and_ratio_judgement():
    assert stats.r_interval({"R": 1.5, "R_ci": [1.4, 1.6]}) == (1.4, 1.6)
    assert stats.r_interval({"R": 1.5}) == (1.5, 1.5)
    j = stats.judge_ratio("1000 / 100", 2.0, (2.0, 1.8, 2.2), (1.0, 0.9, 1.1))
    assert (j.value, j.low, j.high) == pytest.approx((2.0, 1.8 / 1.1, 2.2 / 0.9)) and j.outcome == "reproduced"
    assert stats.judge_ratio("r", 2.0, (2.0, 1.9, 2.1), (0.5, -0.1, 0.6)).high == float("inf")
    stored_nothing = stats.judge_ratio("r", 20.0, (0.5, 0.4, 0.6), (-0.01, -0.03, 0.02), kind="about")
    assert (stored_nothing.value, stored_nothing.high) == (float("inf"), float("inf"))
    assert stored_nothing.low == pytest.approx(0.4 / 0.02)
    assert stored_nothing.ours == "∞ [20.000, ∞]" and stored_nothing.outcome == "reproduced"  # 20 lies inside
    assert stats.judge_ratio("r", 2.0, (2.0, 1.9, 2.1), (0.5, -0.1, 0.6)).ours == "4.000 [3.167, ∞]"
    with pytest.raises(ValueError, match="not inside its interval"):
        stats.judge("r", 1.0, float("inf"), 0.5, 2.0)  # an unbounded estimate needs an unbounded interval
    with pytest.raises(ValueError, match="not inside its interval"):
        stats.judge("r", 1.0, float("-inf"), float("-inf"), 2.0)  # never a negative unbounded one
    nothing_at_all = stats.judge_ratio("r", 20.0, (0.5, 0.4, 0.6), (-0.02, -0.03, -0.01), kind="about")
    assert nothing_at_all.ours == "∞ [∞, ∞]" and nothing_at_all.outcome == "not reproduced"
    with pytest.raises(ValueError, match="not a number"):
        stats.judge_ratio("r", 20.0, (0.5, 0.4, 0.6), (float("nan"), 0.1, 0.2))


def test_void_ratio_addendum_leaves_a_ratio_of_two_figures_storing_nothing_unjudged_beside_the_committed_row():
    void = stats.judge_ratio("bioS: R at 1000 / R at 100", 2.0, (-0.154, -0.731, 0.423), (-0.682, -1.4, 0.036))
    assert void.figures == ((-0.154, -0.731, 0.423), (-0.682, -1.4, 0.036)) and stats.ratio_of_nothing(void)
    assert void.verdict.startswith("reproduced")  # what the committed rule gives, and keeps
    over_nothing = stats.judge_ratio("r", 20.0, (0.5, 0.4, 0.6), (-0.01, -0.03, 0.02), kind="about")
    nothing_over = stats.judge_ratio("r", 0.5, (-0.5, -0.6, -0.4), (1.0, 0.9, 1.1), kind="at_most")
    plain = stats.judge("R", 1.0, -0.5, -0.9, 0.1, "at_least")  # not a ratio: never an addendum row
    assert not any(map(stats.ratio_of_nothing, (over_nothing, nothing_over, plain)))

    sections = [stats.Section("v4", [plain, void]), stats.Section("v3", [over_nothing, nothing_over])]
    shown = stats.with_addenda(sections)
    assert [s.title for s in shown] == ["v4", f"v4: {addenda.VOID_RATIOS}", "v3"]
    assert shown[1].judgements == [] and "-0.154 [-0.731, 0.423] over -0.682 [-1.400, 0.036]" in shown[1].note
    table = stats.verdicts_table(sections)
    assert list(table["section"]) == ["v4", "v4", f"v4: {addenda.VOID_RATIOS}", "v3", "v3"]
    assert table["verdict"].iloc[1].startswith("reproduced") and table["verdict"].iloc[2] == stats.NOT_JUDGED
    assert "not judged" in table["claim"].iloc[2] and "against the paper's ≤ 2" in table["claim"].iloc[2]
    text = stats.sections_markdown(sections, "cpu")
    assert text.index("**V4**") < text.index(f"**V4: {addenda.VOID_RATIOS}**") < text.index("**V3**")
    assert addenda.VOID_RATIOS not in stats.sections_markdown(sections, "smoke")  # no verdict to set it beside
    assert stats.with_addenda([stats.Section("held", None, "waits")]) == [stats.Section("held", None, "waits")]
    assert stats.outcome_summary(sections) == f"2 claims: 1 reproduced, 1 not reproduced (1 not judged by {addenda.VOID_RATIOS})"
    below = stats.judge_ratio("r", 2.0, (-0.3, -0.4, -0.2), (-0.5, -0.6, -0.4))  # both wholly below zero
    assert stats.ratio_of_nothing(below) and "Neither figure's interval lies above zero" in stats.void_ratio_note(below)
    sourced = dataclasses.replace(void, source="Morris et al. / the paper")
    assert "against Morris et al. / the paper's ≤ 2" in stats.void_ratio_note(sourced)


def test_rate_at_edge_flags_a_best_rate_at_the_end_of_its_grid():
    def best(lr, tried):
        return stats.Best.of(as_record({"config": {"train": {"lr": lr}}}), [(t, 1.0) for t in tried])

    assert stats.rate_at_edge(best(5e-3, [5e-3, 1e-2, 2e-2])) == "lowest"
    assert stats.rate_at_edge(best(2e-2, [5e-3, 1e-2, 2e-2])) == "highest"
    assert stats.rate_at_edge(best(1e-2, [5e-3, 1e-2, 2e-2])) == ""
    assert stats.rate_at_edge(best(1e-2, [1e-2])) == ""


def test_versions_verdicts_shows_the_newest_judged_version_while_the_deciding_one_holds_back():
    judged = [stats.judge("bioS: R", 2.0, 0.8, 0.3, 1.3, "at_least")]
    held = [stats.Section("committed", None, "*Pending: v4's runs.*")]
    v3 = [stats.Section("committed", judged), stats.Section("beyond the edge", [], "", stats.COMMITTED_STANDS)]
    sections, headline, summary = stats.versions_verdicts([("v4", held), ("v3", v3)])
    assert [s.title for s in sections] == ["Protocol v4: committed", "Protocol v3: committed",
                                           "Protocol v3: beyond the edge"]
    assert [s.title for s in headline] == ["Protocol v4: committed", "Protocol v3: committed"]
    assert summary == "no verdict yet from protocol v4; protocol v3: 1 not reproduced"
    table = stats.verdicts_table(headline)
    assert list(table["verdict"]) == [stats.WAITING, "not reproduced"]
    compact = stats.headline_styled(headline, count=len(headline)).data  # the first page's: no section column
    assert "section" not in compact and list(compact["claim"]) == ["Protocol v4: Pending: v4's runs.",
                                                                   "Protocol v3: bioS: R"]
    # once the deciding version judges, its first section alone heads the chapter
    sections, headline, summary = stats.versions_verdicts([("v4", v3), ("v3", v3)])
    assert [s.title for s in headline] == ["Protocol v4: committed"] and summary == "1 not reproduced"
    # the smoke profile gives no verdict, whatever the versions hold
    assert stats.versions_verdicts([("v4", held), ("v3", v3)], "smoke")[2] == stats.SMOKE_VERDICT
