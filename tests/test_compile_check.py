"""The compile diagnostic's reading (kcl.book.compile_check)."""

import pandas as pd
import pytest

from kcl.book import compile_check
from made_up import as_record  # tests/ is on sys.path


def fake(seed, R, compiled):
    train = {"tokens_per_second": 100.0, **({"compiled": True} if compiled else {})}
    return as_record({"config": {"train": {"seed": seed}}, "result": {"R": R, "R_ci": [R - 0.01, R + 0.01], "train": train}})


def test_pairs_match_seeds_and_the_rule_reads_the_interval(monkeypatch):
    stores = {"compile-eager": [fake(0, 2.0, False), fake(1, 1.8, False), fake(2, 1.9, False)],
              "compile": [fake(2, 1.71, True), fake(0, 2.2, True), fake(1, 1.8, True), fake(3, 9.9, True)]}
    monkeypatch.setattr(compile_check, "chapter_records", lambda chapter, *a, **k: stores[chapter])
    pairs = compile_check.compile_pairs()
    assert pairs["seed"].tolist() == [0, 1, 2]  # seed 3 has no eager twin
    assert pairs["difference"].tolist() == pytest.approx([0.1, 0.0, -0.1])
    reading = compile_check.compile_reading(pairs)
    assert reading.mean == pytest.approx(0.0, abs=1e-12) and reading.allowed and not reading.all_same_sign
    assert "contains 0" in reading.sentence()


def test_a_consistent_shift_is_refused_and_mixed_stores_are_caught(monkeypatch):
    shifted = compile_check.compile_reading(pd.DataFrame({"difference": [0.10, 0.11, 0.12]}))
    assert not shifted.allowed and shifted.low > 0 and shifted.all_same_sign
    assert "trains eagerly" in shifted.sentence()
    stores = {"compile-eager": [fake(0, 2.0, True)], "compile": [fake(0, 2.0, True)]}
    monkeypatch.setattr(compile_check, "chapter_records", lambda chapter, *a, **k: stores[chapter])
    with pytest.raises(ValueError, match="mixed up"):
        compile_check.compile_pairs()
