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


def test_the_summary_has_one_row_per_model_with_every_variant_beside_its_float_figure():
    records = [record("b", 2.0, 32), record("a", 1.0, 16)]
    summary = result8.summary(result8.frame(records, quantized(records, {8: 0.98, 4: 0.3}), {"b": 2.1}))
    assert list(summary["model"]) == ["gpt2-2-2 d=16", "gpt2-2-2 d=32"]  # smallest P first
    assert list(summary.columns) == ["model", "P", "float, result 1's record", "float", *result8.VARIANT_TITLES.values()]
    assert summary.loc[1, "float, result 1's record"] == 2.1 and pd.isna(summary.loc[0, "float, result 1's record"])
    assert summary.loc[1, "float"] == 2.0 and summary.loc[1, "GPTQ int4"] == pytest.approx(0.6)


def test_the_reading_names_what_int8_and_int4_keep_at_the_peak():
    records = [record("a", 1.0, 16), record("b", 2.0, 32)]
    kept = result8.reading(result8.frame(records, quantized(records, {8: 0.98, 4: 0.3})))
    assert "d=32, 2.00 bits" in kept and "keeps 98% of the bits" in kept and "int4 copy keeps 30%" in kept
    assert "0 of the 2 GPTQ int4 copies fall below zero" in kept
    lost = result8.reading(result8.frame(records, quantized(records, {8: 1.0, 4: -0.5})))
    assert "falls below zero (-1.00)" in lost and "2 of the 2 GPTQ int4 copies" in lost and "Retrained" not in lost
    moved = result8.reading(result8.frame(records, quantized(records, {8: 1.0, 4: 0.3}), {"a": 1.1, "b": 1.95}))
    assert "land up to 0.10 bits per parameter from result 1's records" in moved


def test_the_other_architectures_peaks_are_shown_with_their_ratios_not_judged(monkeypatch, tmp_path):
    """The addendum: each complete chapter's architectures' peaks (those stored with their weights
    in the chapter's own store), measured in every variant; the table gives int8 / float and
    int4 / float with the rule's interval, and the reading their ranges."""
    from kcl.book import architectures

    peaks = {"GPT2": record("g", 0.8, 16), "LLaMA": record("l", 1.0, 32), "elsewhere": record("x", 2.0, 8)}
    heads = {name: {"record": rec} for name, rec in peaks.items()}
    monkeypatch.setattr(architectures, "chapter_records",
                        lambda chapter, profile: ({"main": []}, "") if chapter == "result6" else (None, "*Pending*"))
    monkeypatch.setattr(architectures, "headlines", lambda records: heads)
    monkeypatch.setattr(result8, "main_store", lambda chapter, profile: tmp_path)
    monkeypatch.setattr(result8, "record_config", lambda rec: rec.key)
    monkeypatch.setattr(result8, "weights_file", lambda key, folder: tmp_path / f"{key}.safetensors")
    for key in ("g", "l"):  # "x" has no weights in this store: another chapter's model
        (tmp_path / f"{key}.safetensors").write_text("")
    found, pending = result8.architecture_peaks("cpu")
    assert [name for name, _ in found["result6"]] == ["GPT2", "LLaMA"] and pending == ["result7", "result5"]
    assert result8.architecture_table("cpu") == (None, "*Pending: the quantized measurements of the other "
                                                 "architectures' peaks (`python -m kcl.book.result8 --architectures` "
                                                 "computes them).*")
    factors = {"g": {8: 1.0, 4: 0.5}, "l": {8: 0.99, 4: -0.2}}
    monkeypatch.setattr(result8, "quantized_results", lambda records, folder, compute=False: {
        (r.key, v): {"R": r.result.R * factors[r.key][v[1]], "R_ci": [r.result.R * factors[r.key][v[1]] - 0.05,
                                                                     r.result.R * factors[r.key][v[1]] + 0.05]}
        for r in records for v in result8.VARIANTS})
    table, note = result8.architecture_table("cpu")
    rows = table.set_index("architecture")
    assert rows.loc["LLaMA", "int8 / float"] == pytest.approx(0.99) and rows.loc["LLaMA", "int4 / float"] == pytest.approx(-0.2)
    assert rows.loc["GPT2", "int4 / float_low"] == pytest.approx(0.35 / 0.85)  # the rule's extremes
    assert note == "Not yet measured: result7, result5, whose sweeps are incomplete."
    assert result8.architecture_reading(table) == ("Over the other architectures' peaks (2, from result6), GPTQ's "
                                                   "int8 copies keep 99% to 100% of the bits and its int4 copies "
                                                   "-20% to 50%, the least in LLaMA; 1 falls below zero.")
    shown = result8.architecture_summary(table).set_index("architecture")
    assert shown.loc["GPT2", "int4 / float [95%]"] == f"0.500 [{0.35 / 0.85:.3f}, {0.45 / 0.75:.3f}]"
    assert "int8 / float_low" not in shown.columns
