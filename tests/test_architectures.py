"""Results 5-7's page logic on records made by hand: architecture names, each architecture's peak
over its seeds, the ratios and their verdicts; and chapters declared in sweep files."""

import pytest

from kcl.book import architectures as arch
from kcl.book import knobs
from kcl.book.chapter_list import CHAPTERS, chapters_in_sweep_files
from kcl.record import Record
from made_up import as_record  # tests/ is on sys.path


def record_dict(name, options, d, lr, R, seed=0, exposures=1000) -> dict:
    return {"key": f"{name}-{options}-{d}-{lr}-{seed}",
            "config": {"data": {"name": "bioD", "n_people": 1000, **knobs.DEFAULT_KNOBS, "seed": seed},
                       "model": {"arch": name, "n_layer": 2, "n_head": 2, "d_model": d, "options": options},
                       "train": {"lr": lr, "seed": seed, "exposures": exposures}},
            "result": {"R": R, "R_ci": [R - 0.02, R + 0.02], "R_non_embedding": 1.5 * R, "R_max": 5.0, "bits": R * 1e4,
                       "max_bits": 5e4, "accuracy_mean": 0.5, "params": {"total": 1000 * d, "non_embedding": 600 * d},
                       "train": {"wall_seconds": 60}}}


def record(name, options, d, lr, R, seed=0, exposures=1000) -> Record:
    return as_record(record_dict(name, options, d, lr, R, seed, exposures))


def setting(name, options, peak, seeds, exposures=1000):
    main = [record(name, options, 16, 0.01, peak, exposures=exposures),
            record(name, options, 16, 0.02, peak / 2, exposures=exposures),
            record(name, options, 32, 0.01, peak / 3, exposures=exposures)]
    reruns = [record(name, options, 16, 0.01, R, seed=s, exposures=exposures) for s, R in zip((1, 2), seeds)]
    return main, reruns


def records(*settings):
    out = {"main": [], "seeds": []}
    for s in settings:
        main, reruns = setting(*s)
        out["main"] += main
        out["seeds"] += reruns
    return out


def test_architecture_names():
    assert arch.architecture({"arch": "llama", "options": [["tie_embeddings", True]]}) == "LLaMA (tied)"
    assert arch.architecture({"arch": "llama", "options": []}) == "LLaMA"
    assert arch.architecture({"arch": "gpt2", "options": [["tie_embeddings", True], ["init", "torch"]]}) == "GPT2"
    assert arch.architecture({"arch": "gpt2_no_mlp"}) == "GPT2, no MLP"
    assert arch.architecture({"arch": "llama_std_mlp", "options": [["mlp_act", "gelu"], ["tie_embeddings", True]]}) \
        == "LLaMA, standard MLP, GELU (tied)"


def test_result5_judges_each_architecture_by_its_seeds_against_gpt2s():
    recs = records(("gpt2", [], 2.0, [1.9, 2.1]), ("llama", [], 1.9, [1.85, 1.95]), ("gpt2_no_mlp", [], 1.0, [1.0, 1.0]))
    heads = arch.headlines(recs)
    assert heads["LLaMA"]["values"] == pytest.approx([1.9, 1.85, 1.95])
    judged = {j.claim.split(":")[0]: j for j in arch.claims("result5", heads)}
    assert set(judged) == {"LLaMA", "GPT2, no MLP"}  # no records of the others: not judged
    assert judged["LLaMA"].value == pytest.approx(0.95) and judged["LLaMA"].outcome == "reproduced"
    assert judged["GPT2, no MLP"].value == pytest.approx(0.5) and judged["GPT2, no MLP"].outcome == "not reproduced"
    assert judged["LLaMA"].low < 0.95 < judged["LLaMA"].high


def test_result6_says_no_mlp_costs_more_than_one_and_a_half():
    recs = records(("gpt2", [], 0.6, [0.6, 0.6], 100), ("gpt2_no_mlp", [], 0.3, [0.3, 0.3], 100),
                   ("llama", [], 0.46, [0.46, 0.46], 100))
    judged = {j.claim.split(":")[0]: j for j in arch.claims("result6", arch.headlines(recs))}
    assert judged["GPT2, no MLP"].kind == "at_most" and judged["GPT2, no MLP"].outcome == "reproduced"
    assert judged["LLaMA"].paper == pytest.approx(1 / 1.3) and judged["LLaMA"].outcome == "reproduced"
    assert "100 exposures" in judged["LLaMA"].claim


def test_result7_compares_gelu_with_silu_and_the_standard_mlp_with_gpt2():
    tied = [["tie_embeddings", True]]
    recs = records(("gpt2", [], 0.6, [0.6, 0.6], 100), ("llama_std_mlp", tied, 0.58, [0.6, 0.59], 100),
                   ("llama_std_mlp", tied + [["mlp_act", "gelu"]], 0.59, [0.6, 0.58], 100))
    standard, gelu = arch.claims("result7", arch.headlines(recs))
    assert standard.claim.startswith("LLaMA, standard MLP (tied): peak R(F) / GPT2's")
    assert gelu.claim.startswith("LLaMA, standard MLP, GELU (tied): peak R(F) / LLaMA, standard MLP (tied)'s")
    assert standard.outcome == gelu.outcome == "reproduced"


def test_a_page_with_nothing_to_compare_holds_its_verdict_back():
    (section,) = arch.verdict_sections("result5", None, "*Pending: 60 runs*")
    assert section.judgements is None and section.note == "*Pending: 60 runs*"
    (section,) = arch.verdict_sections("result5", records(("llama", [], 1.9, [1.9, 1.9])), "")
    assert section.judgements is None


def test_gpt2_records_come_from_another_chapter_at_its_n():
    one = record("gpt2", [], 16, 0.01, 2.0)
    other = {**record_dict("gpt2", [], 16, 0.01, 2.0), "key": "b"}
    other["config"]["data"]["n_people"] = 500
    assert arch.gpt2_records([one, as_record(other), record("llama", [], 16, 0.01, 1.0)], 1000) == [one]
    assert arch.GPT2_FROM == {"result5": ("result1", 1000), "result7": ("result6", None)}


@pytest.mark.parametrize("name", ["result5", "result6", "result7"])
def test_the_architecture_chapters_are_declared_by_their_sweep_files(name):
    chapter = CHAPTERS[name]
    assert chapter.sweeps == {"cpu": f"sweeps/{name}.yaml", "gpu": f"sweeps/gpu/{name}.yaml"}
    assert chapter.seeds == (1, 2) and chapter.seed_group == "model.arch, model.options"
    assert (chapter.regime == "recipe-100") == (name != "result5")




def test_result5_is_declared_by_its_sweep_file():
    chapter = CHAPTERS["result5"]
    assert chapter.sweeps == {"cpu": "sweeps/result5.yaml", "gpu": "sweeps/gpu/result5.yaml"}
    assert chapter.seeds == (1, 2) and chapter.threshold == 2.0


@pytest.mark.parametrize("text, says", [("chapter: [1]\n", "must be a mapping with a name"),
                                        ("chapter: {name: x, colour: red}\n", "unknown chapter field"),
                                        ("chapter: {title: t}\n", "must be a mapping with a name")])
def test_a_malformed_declaration_names_its_file(tmp_path, text, says):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ValueError, match=says):
        chapters_in_sweep_files(tmp_path)


def test_a_declaration_needs_the_chapters_fields(tmp_path):
    (tmp_path / "x.yaml").write_text("chapter: {name: x, title: T, claim: C, seeds: [1]}\n")
    (chapter,) = chapters_in_sweep_files(tmp_path).values()
    assert chapter.title == "T" and chapter.seeds == (1,) and chapter.sweeps["gpu"] == "sweeps/gpu/x.yaml"


def test_a_running_chapter_shows_its_points_so_far_without_a_verdict(monkeypatch):
    class Running:
        def note(self):
            return "**Still running.** 3 of 75"

    stored = records(("gpt2", [], 2.0, (1.9, 2.1)))
    monkeypatch.setattr(arch, "shown_so_far", lambda chapter, profile: (stored, Running(), ""))
    note, chart = arch.so_far("result6", "cpu")
    assert note.startswith("**Still running.**") and "no verdict yet" in chart.to_dict()["title"]
    monkeypatch.setattr(arch, "shown_so_far", lambda chapter, profile: (stored, None, ""))
    assert arch.so_far("result6", "cpu") == []  # complete: the page shows its evidence and verdicts instead
    monkeypatch.setattr(arch, "shown_so_far", lambda chapter, profile: (None, None, "*Pending: no run*"))
    assert arch.so_far("result6", "cpu") == []  # no run stored: the page's pending line says so


def test_the_reading_names_gpt2s_peak_and_every_other_architectures_multiple_of_it():
    words = arch.reading(records(("gpt2", [], 1.0, (0.9, 1.1)), ("llama", [], 1.5, (1.5, 1.5))))
    assert words.startswith("GPT2's peak stores 1.00 bits per parameter (gpt2-2-2 d=16, the mean over 3 seeds)")
    assert "LLaMA 1.50 (1.50× GPT2's)." in words
    assert arch.reading(records(("llama", [], 1.5, (1.5, 1.5)))) == "" and arch.reading(None) == ""
    assert "at the lowest rate tried" in words and "(GPT2; LLaMA)" in words  # both peaks at 0.01 of 0.01, 0.02
    one = arch.sentence(records(("gpt2", [], 1.0, (0.9, 1.1)), ("llama", [], 1.5, (1.5, 1.5))))
    assert words.startswith(one) and one.endswith("(1.50× GPT2's).") and one.count(". ") == 0  # the first page's


def test_the_addendum_shows_each_edge_peak_one_rate_beyond_beside_the_committed_verdicts():
    """Results 5-7's addendum: GPT2's peak (at the lowest rate tried) moves to the rate beyond and
    takes that run's seed reruns; LLaMA's rate beyond stores less, so its committed figure stands.
    The committed verdict is unchanged; the widened ratio sits beside it."""
    recs = records(("gpt2", [], 1.0, (0.9, 1.1), 100), ("llama", [], 0.9, (0.9, 0.9), 100))
    recs["beyond"] = [record("gpt2", [], 16, 0.005, 1.4, exposures=100), record("gpt2", [], 32, 0.005, 0.2, exposures=100),
                      record("llama", [], 16, 0.005, 0.5, exposures=100)]
    recs["beyond_seeds"] = [record("gpt2", [], 16, 0.005, R, seed=s, exposures=100) for s, R in ((1, 1.3), (2, 1.5))]
    committed, addendum = arch.verdict_sections("result6", recs, "")
    (llama,) = [j for j in committed.judgements if j.claim.startswith("LLaMA")]
    assert llama.value == pytest.approx(0.9)
    assert addendum.title.startswith("the addendum") and not addendum.stands
    (wide,) = [j for j in addendum.judgements if j.claim.startswith("LLaMA")]
    assert wide.value == pytest.approx(0.9 / 1.4)  # GPT2's widened peak: the mean of 1.4, 1.3, 1.5
    words, table = arch.beyond(recs)
    rows = table.set_index("architecture")
    assert rows.loc["GPT2", "widened peak"] == "gpt2-2-2 d=16 at 0.005" and rows.loc["GPT2", "edge"] == "lowest"
    assert rows.loc["LLaMA", "widened peak"] == rows.loc["LLaMA", "committed peak"] == "llama-2-2 d=16 at 0.01"
    reading = arch.reading(recs)
    assert "the peaks that moved store GPT2 1.40 (gpt2-2-2 d=16 at 0.005)" in reading
    assert "the rate beyond stored less for LLaMA" in reading
    assert arch.beyond(records(("gpt2", [], 1.0, (0.9, 1.1)))) == []  # nothing beyond: nothing shown


def test_a_peak_moved_by_a_rate_beyond_takes_only_its_own_seed_reruns():
    """Result 7's committed edge rule moves a peak to the rate beyond: the reruns of the old peak
    are not the new peak's; the walk's reruns at the new peak (``beyond_seeds``) are."""
    recs = records(("gpt2", [], 1.0, (0.9, 1.1), 100))
    recs["main"].append(record("gpt2", [], 16, 0.005, 1.4, exposures=100))  # the committed rate beyond: the new peak
    alone = arch.headlines(recs)["GPT2"]
    assert alone["values"] == [1.4] and alone["basis"].startswith("seed 0")
    recs["beyond_seeds"] = [record("gpt2", [], 16, 0.005, R, seed=s, exposures=100) for s, R in ((1, 1.3), (2, 1.5))]
    assert arch.headlines(recs)["GPT2"]["values"] == [1.4, 1.3, 1.5]
