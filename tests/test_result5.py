"""Result 5's page logic on fixed points: names, peaks, ratios and verdicts; and chapters declared
in sweep files."""

import pandas as pd
import pytest

from kcl.book import result5
from kcl.book.chapter_list import CHAPTERS, chapters_in_sweep_files


def frame(rows):
    return pd.DataFrame(rows, columns=["architecture", "model", "R", "R_low", "R_high"])


def test_architecture_names_say_tied_for_llama_only():
    assert result5.architecture({"arch": "llama", "options": [["tie_embeddings", True]]}) == "LLaMA (tied)"
    assert result5.architecture({"arch": "llama", "options": []}) == "LLaMA"
    assert result5.architecture({"arch": "gpt2", "options": [["tie_embeddings", True]]}) == "GPT2"
    assert result5.architecture({"arch": "gpt2_no_mlp"}) == "GPT2, no MLP"


def test_each_architecture_is_judged_by_its_peak_against_gpt2s():
    points = frame([["GPT2", "a", 2.0, 1.9, 2.1], ["GPT2", "b", 1.5, 1.4, 1.6],
                    ["LLaMA", "a", 1.2, 1.1, 1.3], ["LLaMA", "b", 1.9, 1.85, 1.95],
                    ["GPT2, no MLP", "a", 1.0, 0.95, 1.05]])
    peaks = result5.peaks(points)
    assert list(peaks["architecture"]) == ["GPT2", "LLaMA", "GPT2, no MLP"]
    judged = {j.claim.split(":")[0]: j for j in result5.claims(peaks)}
    assert judged["LLaMA"].value == pytest.approx(0.95)
    assert (judged["LLaMA"].low, judged["LLaMA"].high) == pytest.approx((1.85 / 2.1, 1.95 / 1.9))
    assert judged["LLaMA"].outcome == "reproduced"
    assert judged["GPT2, no MLP"].value == pytest.approx(0.5)
    assert judged["GPT2, no MLP"].outcome == "not reproduced"


def test_no_gpt2_point_is_an_error():
    with pytest.raises(ValueError, match="no GPT2 point"):
        result5.claims(result5.peaks(frame([["LLaMA", "a", 1.0, 0.9, 1.1]])))


def test_a_pending_chapter_holds_its_verdict_back():
    (section,) = result5.verdict_sections(None, "*Pending: 150 runs*")
    assert section.judgements is None and section.note == "*Pending: 150 runs*"


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
