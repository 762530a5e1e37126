"""Results 10-12's page logic on records made by hand: settings, each setting's peak over seeds,
the loss factors and their verdicts, and the chapters' declarations."""

import pytest

from kcl.book import junk, knobs
from kcl.book.chapter_list import CHAPTERS
from made_up import as_record  # tests/ is on sys.path
from rendered import laid_out


def record(junk_people, domain, exposures, d, lr, R, seed=0):
    data = {"name": "bioD", "n_people": 500, **knobs.DEFAULT_KNOBS, "seed": seed}
    if junk_people:
        data["junk_people"] = junk_people
    if domain:
        data["domain_token"] = True
    stream = {"junk_share": 0.875, "junk_appearances_mean": 0.004} if junk_people else {}
    return as_record({
        "key": f"{junk_people}-{domain}-{exposures}-{d}-{lr}-{seed}",
        "config": {"data": data, "model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": d},
                   "train": {"lr": lr, "seed": seed, "exposures": exposures}},
        "result": {"R": R, "R_ci": [R - 0.01, R + 0.01], "R_non_embedding": 1.5 * R, "R_max": 5.0, "bits": R * 1e4,
                   "max_bits": 5e4, "accuracy_mean": 0.1, "params": {"total": 1000 * d, "non_embedding": 600 * d},
                   "train": {"wall_seconds": 60, **({"stream": stream} if stream else {})}}})


def setting_records(junk_people, domain, exposures, peak_R, seeds_R):
    main = [record(junk_people, domain, exposures, 16, 0.01, peak_R), record(junk_people, domain, exposures, 16, 0.02,
                                                                              peak_R / 2),
            record(junk_people, domain, exposures, 32, 0.01, peak_R / 3)]
    seeds = [record(junk_people, domain, exposures, 16, 0.01, R, seed=s) for s, R in zip((1, 2), seeds_R)]
    return main, seeds


def records(*settings):
    main, seeds = [], []
    for s in settings:
        m, r = setting_records(*s)
        main += m
        seeds += r
    return {"main": main, "seeds": seeds}


def test_settings_read_junk_and_the_domain_token_keyed_only_when_set():
    assert junk.setting_of(record(0, False, 100, 16, 0.01, 0.5).config) == junk.BASELINE
    assert junk.setting_of(record(10**8, True, 300, 16, 0.01, 0.5).config) == (10**8, True, 300)
    assert junk.setting_label((10**8, True, 300)) == "junk from N′ = 10⁸ + domain token, 300 exposures"
    assert junk.setting_label((10, False, 100)) == "junk from N′ = 10, 100 exposures"


def test_loss_factors_divide_the_baseline_by_each_settings_peak():
    recs = records((0, False, 100, 0.60, [0.62, 0.58]), (10**8, False, 100, 0.03, [0.029, 0.031]),
                   (10**8, False, 300, 0.40, [0.38, 0.42]))
    heads = junk.headlines(recs)
    assert heads[junk.BASELINE]["values"] == pytest.approx([0.60, 0.62, 0.58])
    at100, at300 = junk.claims("result10", heads)  # 600 and 1000 exposures have no records: not judged
    assert at100.value == pytest.approx(0.60 / 0.03) and at100.paper == 20 and at100.outcome == "reproduced"
    assert at300.value == pytest.approx(1.5) and at300.paper == 3 and at300.outcome == "not reproduced"
    assert at100.low < at100.value < at100.high


def test_results_11_and_12_judge_their_own_settings_against_the_baseline():
    recs = records((0, False, 100, 0.60, [0.62, 0.58]), (10, False, 100, 0.59, [0.60, 0.61]),
                   (10**8, True, 100, 0.30, [0.29, 0.31]), (10**8, True, 300, 0.61, [0.60, 0.62]))
    (repetitive,) = junk.claims("result11", junk.headlines(recs))
    assert repetitive.value == pytest.approx(0.60 / 0.60) and repetitive.outcome == "reproduced"
    token100, token300 = junk.claims("result12", junk.headlines(recs))
    assert token100.value == pytest.approx(2.0) and token100.outcome == "reproduced"
    assert token300.value == pytest.approx(0.60 / 0.61)


def test_a_page_without_its_baseline_or_its_settings_holds_the_verdict_back():
    (section,) = junk.verdict_sections("result10", records((10**8, False, 100, 0.03, [0.03, 0.03])), "")
    assert section.judgements is None and "baseline" in section.note
    (section,) = junk.verdict_sections("result11", records((0, False, 100, 0.6, [0.6, 0.6])), "")
    assert section.judgements is None and "repetitive junk" in section.note
    (section,) = junk.verdict_sections("result12", None, "*Pending: 30 runs*")
    assert section.note == "*Pending: 30 runs*"


def test_points_carry_the_setting_and_the_stream():
    frame = junk.points(records((0, False, 100, 0.6, [0.6, 0.6]), (10**8, False, 100, 0.03, [0.03, 0.03]))["main"])
    assert set(frame["setting"]) == {"no junk, 100 exposures", "junk from N′ = 10⁸, 100 exposures"}
    with_junk = frame[frame["setting"].str.startswith("junk")]
    assert set(with_junk["junk_share"]) == {0.875} and set(with_junk["appearances per junk person"]) == {"0.004"}
    assert [junk.appearances_text(m) for m in (35_000.0, 123.4, 99.7, 0.0035, 0.0372)] == ["35,000", "123", "100", "0.0035", "0.037"]


@pytest.mark.parametrize("name", ["result10", "result11", "result12"])
def test_the_junk_chapters_take_the_recipe_pilots_regime(name):
    chapter = CHAPTERS[name]
    assert chapter.regime == "recipe-100" and chapter.seeds == (1, 2)
    from kcl.book.chapters import chapter_sweep
    from kcl.book.regime import Regime

    with pytest.raises(ValueError, match="recipe-100"):
        chapter_sweep(name, "cpu")
    _, _, configs = chapter_sweep(name, "cpu", regime=Regime(8, "torch", 0.004, 0.5))
    assert {c.train.batch_size for c in configs} == {8} and {c.train.lr for c in configs} == {0.002, 0.004, 0.008}
    assert all(dict(c.model.options)["init"] == "torch" for c in configs)
    assert {c.data.junk_people for c in configs} <= {0, junk.RANDOM, junk.REPETITIVE}


def test_the_reading_gives_the_baseline_and_each_claimed_settings_factor_beside_the_papers():
    recs = records((0, False, 100, 0.60, [0.62, 0.58]), (10**8, False, 100, 0.03, [0.029, 0.031]),
                   (10**8, False, 300, 0.40, [0.38, 0.42]))
    words = junk.reading("result10", recs)
    # every setting's peak is d = 16, the smaller of its two sizes: the page says so
    assert words.startswith("Without junk the useful people's peak stores 0.600 bits per parameter at 100 exposures "
                            "(gpt2-2-2 d=16, P = 16,000, the smallest size tried, the mean over 3 seeds). ")
    assert ("With random junk, 100 exposures, 0.0300 (gpt2-2-2 d=16, P = 16,000, the smallest size tried, the mean "
            "over 3 seeds): a loss factor of 20 against the paper's 20; ") in words
    assert ("; with random junk, 300 exposures, 0.400 (gpt2-2-2 d=16, P = 16,000, the smallest size tried, the mean "
            "over 3 seeds): a loss factor of 1.5 against the paper's 3. The figures count every parameter") in words
    assert "stores nothing" not in words and "below 1" not in words
    assert junk.reading("result11", recs) == ""  # no repetitive junk stored: nothing to say
    assert junk.reading("result10", None) == ""


def test_a_peak_inside_its_sizes_is_not_flagged_and_one_at_the_top_is():
    main, seeds = setting_records(0, False, 100, 0.60, [0.62, 0.58])
    main.append(record(0, False, 100, 8, 0.01, 0.1))  # a smaller size: d = 16 is now inside
    recs = {"main": main, "seeds": seeds}
    assert junk.size_edge(recs, junk.headlines(recs)[junk.BASELINE]) == ""
    main.append(record(0, False, 100, 48, 0.01, 0.9))  # a larger size that stores the most: the top edge
    assert junk.size_edge(recs, junk.headlines(recs)[junk.BASELINE]) == "the largest size tried"


def test_a_setting_whose_peak_stores_nothing_has_no_finite_factor():
    recs = records((0, False, 100, 0.60, [0.62, 0.58]), (10**8, False, 100, 0.01, [-0.03, -0.02]))
    (at100,) = junk.claims("result10", junk.headlines(recs))
    assert at100.value == float("inf") and at100.ours.startswith("∞ [")
    assert "no finite loss factor (its peak stores nothing) against the paper's 20" in junk.reading("result10", recs)


def test_the_reading_says_where_junk_raises_the_peak_and_where_sizes_store_nothing():
    """Result 11's records: repetitive junk stores more than no junk at its peak and nothing at the
    smaller sizes; both are said, not left to the chart's note."""
    main, seeds = setting_records(10, False, 100, 0.90, [0.88, 0.92])
    main.append(record(10, False, 100, 8, 0.01, -0.5))
    base_main, base_seeds = setting_records(0, False, 100, 0.60, [0.62, 0.58])
    words = junk.reading("result11", {"main": main + base_main, "seeds": seeds + base_seeds})
    assert ("a loss factor of 0.67 against the paper's 1 (below 1: its peak stores more than the peak without junk); "
            "at 1 of its 3 sizes (gpt2-2-2 d=8, seed 0) it stores nothing.") in words


def test_points_with_no_bits_are_left_off_the_log_chart_and_named_beneath_it():
    recs = records((0, False, 100, 0.60, [0.62, 0.58]), (10**8, False, 100, -0.03, [-0.03, -0.02]))
    frame = junk.points(recs["main"])
    chart, sentence = junk.figure(frame)
    drawn = chart.to_dict()
    assert all(row["bits"] > 0 for row in drawn["datasets"][next(iter(drawn["datasets"]))])
    laid_out(chart)
    assert sentence == junk.undrawn(frame)
    assert sentence.startswith("Not drawn (they store no bits, which a log axis cannot show): junk from N′ = 10⁸")
    assert junk.undrawn(frame[frame["bits"] > 0]) == ""
    assert len(junk.figure(frame[frame["bits"] > 0])) == 1  # the chart alone


def test_a_figure_whose_points_all_store_nothing_is_the_sentence_alone():
    """Result 12's first stored runs both stored nothing: an empty log chart cannot be laid out."""
    recs = records((10**8, True, 100, -0.01, [-0.01]))
    frame = junk.points(recs["main"])
    assert len(frame) >= 1 and not (frame["bits"] > 0).any()
    with pytest.raises(AssertionError):
        laid_out(junk.chart(frame))  # what the page drew before
    assert junk.figure(frame) == [junk.undrawn(frame)]


def test_results_11_and_12_read_result_10s_finished_settings_only():
    """A setting of result 10 joins results 11 and 12 once its main runs and its peak's seed reruns
    are all stored (``chapters.finished_groups``); the baseline must be one of them, and until it is
    the page says what it lacks."""
    import dataclasses

    from kcl.book import chapters
    from kcl.config import DataConfig, ModelSpec, RunConfig, TrainConfig
    from kcl.store import config_key, record_of
    from test_chapters import fake_result  # tests/ is on sys.path

    def config(junk, exposures, d, lr, seed=0):
        return RunConfig(data=DataConfig(name="bioD", n_people=30, junk_people=junk, seed=seed),
                         model=ModelSpec(n_layer=1, n_head=2, d_model=d),
                         train=TrainConfig(exposures=exposures, lr=lr, seed=seed))

    class Store:
        def get(self, c):
            return stored.get(config_key(c))

    main = [config(junk, e, d, lr) for junk, e in ((0, 100), (100_000_000, 300)) for d in (16, 32) for lr in (0.01, 0.02)]
    stored = {config_key(c): record_of(c, fake_result(R=0.1 * c.model.d_model * c.train.lr * 100)) for c in main}
    baseline, junk_300 = (chapters.group_of("result10", c) for c in (main[0], main[-1]))
    assert baseline != junk_300 and {chapters.group_of("result10", c) for c in main[:4]} == {baseline}
    parts, lacking = chapters.finished_groups("result10", main, Store())
    assert parts == {"main": [], "seeds": []}
    assert lacking == {baseline: "2 of its peak's seed reruns", junk_300: "2 of its peak's seed reruns"}
    peak = config(0, 100, 32, 0.02)
    for s in (1, 2):
        rerun = dataclasses.replace(peak, data=dataclasses.replace(peak.data, seed=s),
                                    train=dataclasses.replace(peak.train, seed=s))
        stored[config_key(rerun)] = record_of(rerun, fake_result(R=0.3))
    parts, lacking = chapters.finished_groups("result10", main, Store())
    assert list(lacking) == [junk_300] and {junk.setting_of(r.config) for r in parts["main"]} == {junk.BASELINE}
    assert len(parts["main"]) == 4 and len(parts["seeds"]) == 2  # the 300-exposure setting has no reruns yet
    del stored[config_key(main[0])]
    assert chapters.finished_groups("result10", main, Store())[1][baseline] == "1 of its main runs"


def test_a_running_sweep_shows_its_points_and_finished_settings_without_a_verdict(monkeypatch):
    class Running:
        def note(self):
            return "**Still running.** main: 42 of 66"

    finished = records((0, False, 100, 0.60, [0.62, 0.58]))
    stored = {"main": finished["main"] + setting_records(10**8, False, 300, 0.40, [])[0]}
    monkeypatch.setattr(junk, "shown_so_far", lambda chapter, profile: (stored, Running(), ""))
    lacking = {junk.BASELINE: "", (10**8, False, 300): "2 of its peak's seed reruns"}
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (finished, lacking))
    note, chart, words, table = junk.so_far("result10", "cpu")
    assert note.startswith("**Still running.**") and "no verdict yet" in chart.to_dict()["title"]
    assert "A claim is judged once its setting and the baseline are finished" in words
    assert list(table["setting"]) == ["no junk, 100 exposures"]  # the finished setting only, at its mean over seeds
    assert table["R"].iloc[0] == pytest.approx(0.60)
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: None)  # before the regime: points only
    assert len(junk.so_far("result10", "cpu")) == 2
    monkeypatch.setattr(junk, "shown_so_far", lambda chapter, profile: (stored, None, ""))
    assert junk.so_far("result10", "cpu") == []  # complete: the page shows its evidence and verdicts instead


def test_results_11_and_12_wait_while_the_baseline_setting_lacks_runs(monkeypatch):
    """``finished_settings`` names what result 10's baseline setting lacks."""
    lacking = {junk.BASELINE: "1 of its main runs", (10**8, False, 100): ""}
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (records(), lacking))
    parts, pending = junk.finished_settings("cpu")
    assert parts is None and "baseline (no junk, 100 exposures): 1 of its main runs not stored yet" in pending
    lacking = {junk.BASELINE: "", (10**8, False, 100): "2 of its peak's seed reruns"}
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (records(), lacking))
    assert junk.finished_settings("cpu") == (records(), "")  # another setting's lack holds nothing back
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (records(), {(10**8, False, 100): ""}))
    assert "baseline (no junk, 100 exposures): its main runs not stored yet" in junk.finished_settings("cpu")[1]
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: None)
    assert junk.finished_settings("cpu")[1].startswith("*Pending: the 100-exposure regime")


def test_each_page_names_the_sizes_its_settings_try_and_why_some_try_fewer():
    import yaml

    from kcl.paths import repo_root

    grid = yaml.safe_load((repo_root() / "sweeps/result10.yaml").read_text())["grid"]
    rows = grid["data.junk_people, train.exposures, model.n_layer, model.n_head, model.d_model"]
    per_exposures = {e: sum(1 for row in rows if row[0] and row[1] == e) for e in (100, 300, 600, 1000)}
    text = junk.sizes_text("result10", "cpu")
    for exposures, n in per_exposures.items():
        assert f"junk from N′ = 10⁸, {exposures} exposures: {n} sizes (" in text
    assert "no junk, 100 exposures: 6 sizes (gpt2-1-1 d=8 to gpt2-2-2 d=32)" in text and "init" not in text
    assert "fewer sizes" in text  # 6 at 100 exposures, 3 at 600 and 1000
    assert "fewer" not in junk.sizes_text("result11", "cpu")  # one setting
    assert junk.sizes_text("result10", "smoke").count(": 1 size (gpt2-1-2 d=16)") == 3


def test_a_claim_is_judged_once_its_setting_and_the_baseline_are_finished(monkeypatch):
    """Result 10 while its longer settings train: the 100-exposure factor is judged on the finished
    baseline and random junk at 100 exposures; the other three claims wait in a held-back section,
    which the first page shows too."""
    finished = records((0, False, 100, 0.60, [0.62, 0.58]), (10**8, False, 100, 0.03, [0.029, 0.031]))
    monkeypatch.setattr(junk, "parts_with_baseline", lambda *a, **k: (None, "*Pending: 24 runs of its main sweep.*"))
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (finished, {}))
    recs, pending = junk.chapter_records("result10", "cpu")
    assert recs is finished and pending == "*Pending: 24 runs of its main sweep.*"
    judged, waiting = junk.verdict_sections("result10", recs, pending)
    assert [j.paper for j in judged.judgements] == [20.0] and judged.note == ""
    assert waiting.judgements is None and waiting.note == (
        "*random junk, 300 exposures; random junk, 600 exposures; random junk, 1000 exposures: "
        "Pending: 24 runs of its main sweep.*") and waiting.title == "still training"
    assert junk._first_page("result10", "cpu")[1] == 2
    # only the baseline finished: nothing to judge yet, the pending sentence alone
    monkeypatch.setattr(junk, "finished_parts", lambda chapter, profile: (records((0, False, 100, 0.6, [0.6])), {}))
    assert junk.chapter_records("result10", "cpu") == (None, "*Pending: 24 runs of its main sweep.*")


def test_results_11_and_12_judge_their_own_finished_settings_beside_result_10s(monkeypatch):
    own = records((10**8, True, 100, 0.30, [0.29, 0.31]))
    base = records((0, False, 100, 0.60, [0.62, 0.58]))
    monkeypatch.setattr(junk, "parts_with_baseline", lambda *a, **k: (None, "*Pending: 10 runs of its main sweep.*"))
    monkeypatch.setattr(junk, "finished_parts",
                        lambda chapter, profile: (own, {}) if chapter == "result12" else (base, {junk.BASELINE: ""}))
    recs, pending = junk.chapter_records("result12", "cpu")
    assert len(recs["main"]) == len(own["main"]) + len(base["main"]) and pending
    judged, waiting = junk.verdict_sections("result12", recs, pending)
    assert [j.paper for j in judged.judgements] == [2.0] and judged.judgements[0].value == pytest.approx(2.0)
    assert waiting.note.startswith("*random junk with the domain token, 300 exposures: Pending")


def test_the_smoke_profile_reads_result_10_once(monkeypatch):
    calls = []
    monkeypatch.setattr(junk, "parts_with_baseline", lambda chapter, profile, allow_train=False, baseline=None:
                        calls.append((chapter, baseline)) or ({"main": [], "seeds": []}, ""))
    junk.chapter_records("result10", "smoke")
    junk.chapter_records("result12", "smoke")
    assert calls == [("result10", None), ("result12", "result10")]
