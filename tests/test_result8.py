"""Result 8's page logic on fixed records: the table, the two claims at the peak model."""

import pandas as pd
import pytest

from kcl.book import result8
from made_up import as_record  # tests/ is on sys.path


def record(key, R, width):
    return as_record({"key": key, "config": {"model": {"arch": "gpt2", "n_layer": 2, "n_head": 2, "d_model": width}},
                      "result": {"R": R, "R_ci": [R - 0.05, R + 0.05], "params": {"total": 1000 * width}}})


def quantized(records, factors):
    out = {}
    for rec in records:
        for variant in result8.VARIANTS:
            R = rec.result.R * factors[variant[1]]
            out[rec.key, variant] = {"R": R, "R_ci": [R - 0.05, R + 0.05]}
    return out


def test_the_peak_model_decides_int8_about_one_and_int4_at_most_half():
    records = [record("a", 1.0, 16), record("b", 2.0, 32)]
    table = result8.frame(records, quantized(records, {8: 0.98, 4: 0.3}))
    assert len(table) == 2 * len(result8.VARIANTS)
    assert set(table["variant"]) == {"gptq-int8", "gptq-int4", "rtn-int8", "rtn-int4",
                                     "gptq-int8-float-embedding", "gptq-int4-float-embedding"}
    int8, int4 = result8.claims(table)
    assert "d=32" in int8.claim and int8.value == pytest.approx(0.98) and int8.outcome == "reproduced"
    assert int4.value == pytest.approx(0.3) and int4.outcome == "reproduced"
    _, int4_kept = result8.claims(result8.frame(records, quantized(records, {8: 1.0, 4: 0.9})))
    assert int4_kept.outcome == "not reproduced"  # int4 kept 90%: the claim fails


def test_missing_quantized_measurements_are_pending_not_computed(tmp_path):
    records = [record("a", 1.0, 16)]
    assert result8.quantized_results(records, tmp_path) is None
    assert not (tmp_path / "quantized").exists()


def test_a_pending_page_holds_its_verdict_back():
    (section,) = result8.verdict_sections(None, "*Pending*")
    assert section.judgements is None and isinstance(result8.variant_name("gptq", 4, False), str)
    assert result8.variant_name("gptq", 4, False) == "gptq-int4-float-embedding"
    assert pd.isna(result8.frame([record("z", 0.0, 16)], quantized([record("z", 0.0, 16)], {8: 1, 4: 1}))["ratio"]).all()
