"""The knowledge-extraction page's logic on measurements made by hand: the ratio of extractable to
memorizable accuracy on the same held-out people, its interval, and the verdicts."""

import numpy as np
import pytest

from kcl.book import extraction


def measurement(memorized_share: float, extracted_share: float, n: int = 200, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    memorized = (rng.random((n, 5)) < memorized_share).astype(float)
    test = np.arange(n // 2, n)
    extracted = memorized[test] * (rng.random((len(test), 5)) < extracted_share / max(memorized_share, 1e-9))
    return {"memorizable": {"matches": memorized.tolist(), "mean": memorized.mean()},
            "extractable": {"test_people": test.tolist(), "matches": extracted.astype(int).tolist(),
                            "mean": extracted.mean()}}


def test_the_ratio_compares_the_same_people_and_judges_each_data_type():
    measured = {"bioS": measurement(0.9, 0.85), "bioS-simple": measurement(0.95, 0.1, seed=1)}
    bios, simple = extraction.claims(measured)
    assert bios.claim.startswith("bioS:") and simple.claim.startswith("bioS-simple:")
    m = measured["bioS"]
    test = m["extractable"]["test_people"]
    expected = np.mean(m["extractable"]["matches"]) / np.mean(np.asarray(m["memorizable"]["matches"])[test])
    assert bios.value == pytest.approx(expected) and bios.low < bios.value < bios.high
    assert bios.outcome == "reproduced" and simple.paper == 0.1 and simple.outcome == "reproduced"
    (swapped,) = extraction.claims({"bioS-simple": measurement(0.95, 0.9, seed=2)})
    assert swapped.outcome == "not reproduced"


def test_a_model_that_memorised_nothing_is_not_judged():
    (section,) = extraction.verdict_sections({"bioS": measurement(0.0, 0.0)}, "")
    assert section.judgements is None and "Nothing to judge" in section.note
    (section,) = extraction.verdict_sections(None, "*Pending: 6 runs*")
    assert section.note == "*Pending: 6 runs*"


def test_the_interval_is_a_bootstrap_over_people():
    memorized = np.ones((100, 5))
    extracted = np.zeros((100, 5))
    extracted[:50] = 1
    value, low, high = extraction.ratio_interval(memorized, extracted)
    assert value == pytest.approx(0.5) and 0.35 < low < 0.5 < high < 0.65


def test_the_tables_set_both_accuracies_on_the_held_out_half_the_ratio_is_over():
    m = measurement(0.5, 0.4)
    m["memorizable"]["matches"][:100] = [[1.0] * 5] * 100  # the fitted half recites everything: not shown
    m["memorizable"]["accuracy"] = {a: 0.0 for a in ("birth_date", "birth_city", "university", "major", "employer")}
    m["extractable"]["accuracy"] = dict.fromkeys(m["memorizable"]["accuracy"], 0.2)
    rows = extraction.attribute_table({"bioS": m})
    held_out = np.asarray(m["memorizable"]["matches"])[m["extractable"]["test_people"]].mean(axis=0)
    assert rows["memorizable"].tolist() == pytest.approx(held_out.tolist())
    assert rows["attribute"].tolist()[:2] == ["birth date", "birth city"]
    assert extraction.held_out_memorized(m).mean() == pytest.approx(held_out.mean())  # table()'s column


def test_the_reading_says_what_each_model_recites_and_answers_and_what_that_means():
    measured = {"bioS": measurement(0.9, 0.85), "bioS-simple": measurement(1.0, 0.05, seed=1)}
    words = extraction.reading(measured)
    bios, simple = measured["bioS"], measured["bioS-simple"]
    recites = extraction.held_out_memorized(bios).mean()
    assert words.startswith(f"On the held-out people the bioS model recites {recites:.0%} of the five values and "
                            f"answers {np.mean(bios['extractable']['matches']):.0%} of the questions about them; ")
    assert f"the bioS-simple model recites {extraction.held_out_memorized(simple).mean():.0%}" in words
    assert "one fixed text left it recitable but not usable: the paper's direction. bioS-simple's ratio, " in words
    (simple_claim,) = [j for j in extraction.claims(measured) if j.claim.startswith("bioS-simple")]
    assert words.endswith(f"bioS-simple's ratio, {simple_claim.ours}, lies below the paper's 0.1: its knowledge is "
                          f"even less usable than in the paper, so the verdict on that figure is {simple_claim.verdict}.")
    assert simple_claim.outcome != "reproduced"
    as_the_paper = extraction.reading({"bioS": measurement(0.9, 0.85), "bioS-simple": measurement(1.0, 0.1, seed=1)})
    assert as_the_paper.endswith("the paper's direction.")
    both_usable = {"bioS": measurement(0.9, 0.85), "bioS-simple": measurement(1.0, 0.9, seed=1)}
    assert "the paper's direction" not in extraction.reading(both_usable)
    assert extraction.reading(None) == "" and extraction.reading({}) == ""


def test_the_regime_sentence_says_how_full_the_models_are_and_only_then_far_below_capacity():
    from made_up import as_record  # tests/ is on sys.path

    def chosen(R, R_max):
        return as_record({"result": {"R": R, "R_max": R_max, "params": {"total": 134_832}}})

    small = extraction.regime_text({"bioS": chosen(0.099, 0.0997), "bioS-simple": chosen(0.0996, 0.0997)})
    assert small.startswith("The bioS model stores 99% of its data's bits at R = 0.099 (P = 134,832); the bioS-simple "
                            "model stores 100% of its data's bits at R = 0.100 (P = 134,832). These models hold nearly")
    full = extraction.regime_text({"bioS": chosen(1.9, 2.5)})
    assert full == "The bioS model stores 76% of its data's bits at R = 1.900 (P = 134,832)."
