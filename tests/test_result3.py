"""Result 3's knob table: one peak per bioD setting, its claim, how much of the paper's range it
covers, and what the page notes beside the verdicts."""

from __future__ import annotations

import pytest
from made_up import as_record
from test_law import record, record_dict  # a bioD record made by hand (tests/ is on sys.path)

from kcl.book import knobs, result3


def test_varied_knob_refuses_two_moved_knobs():
    assert knobs.varied_knob({**knobs.DEFAULT_KNOBS, "T": 256}) == "T"
    assert knobs.varied_knob(dict(knobs.DEFAULT_KNOBS)) == "default"
    with pytest.raises(ValueError, match="more than one knob"):
        knobs.varied_knob({**knobs.DEFAULT_KNOBS, "K": 1, "C": 1})


def test_knob_frame_takes_each_settings_peak_over_models_and_rates():
    records = [record(5e-3, 1.9), record(1e-2, 2.1), record(1e-2, 1.7, d_model=24),    # default
               record(5e-3, 1.2, K=16, N=270), record(1e-2, 2.4, K=16, N=270, d_model=24)]
    frame = result3.knob_frame(records).set_index("knob")
    assert list(frame.index) == ["default", "K"]
    assert frame.loc["default", "R"] == 2.1 and frame.loc["default", "best_lr"] == 1e-2
    assert frame.loc["default", "best_lr_at_edge"] == "highest" and frame.loc["K", "best_lr_at_edge"] == ""  # one rate each
    assert frame.loc["K", "R"] == 2.4 and frame.loc["K", "value"] == 16 and frame.loc["K", "N"] == 270
    claims = result3.claims_result3(frame.reset_index())
    assert [c.outcome for c in claims] == ["reproduced", "reproduced"]
    low = result3.claims_result3(result3.knob_frame([record(1e-2, 0.5, T=256)]))
    assert low[0].outcome == "not reproduced"


def test_knob_coverage_spans_the_default_and_the_settings_on_a_log_scale():
    frame = result3.knob_frame([record(1e-2, 2.0), record(1e-2, 2.0, K=1), record(1e-2, 2.0, K=16),
                            record(1e-2, 2.0, T=2048)])
    cover = result3.knob_coverage(frame).set_index("knob")
    assert cover.loc["K", "ours"] == "1, 4, 16"
    assert cover.loc["K", "log_share_of_paper_range"] == pytest.approx(0.71, abs=0.01)   # log 16 / log 50
    assert cover.loc["C", "ours"] == "4" and cover.loc["C", "log_share_of_paper_range"] == 0
    assert cover.loc["T", "ours"] == "64, 2,048"
    assert cover.loc["T", "paper"] == "20–40,000"


def test_edge_rate_frame_sets_each_edge_setting_beside_its_widened_figure():
    main = [record(5e-3, 1.9), record(1e-2, 2.1), record(2e-2, 2.0),                    # default: inside
            record(5e-3, 1.7, K=16, N=270), record(1e-2, 1.5, K=16, N=270), record(2e-2, 1.0, K=16, N=270)]
    extra = [record(2.5e-3, 1.8, K=16, N=270)]
    frame = result3.edge_rate_frame(result3.knob_frame(main), result3.knob_frame(main + extra), extra)
    assert list(frame["setting"]) == ["K=16, C=4, D=64, L=1, T=64"]
    row = frame.iloc[0]
    assert (row.R, row.best_lr, row.best_lr_at_edge) == (1.7, 5e-3, "lowest")
    assert (row.R_widened, row.best_lr_widened, row.best_lr_at_edge_widened) == (1.8, 2.5e-3, "lowest")
    note = result3.addendum_note(result3.knob_frame(main), result3.knob_frame(main + extra), extra)
    assert note.endswith("Still at an edge of the four, so a rate further out might store more: "
                         "K=16, C=4, D=64, L=1, T=64 (0.0025, the lowest).*")
    inside = [record(1.25e-3, 1.6, K=16, N=270)]  # the best stays at 2.5e-3, now inside the grid
    assert result3.addendum_note(result3.knob_frame(main), result3.knob_frame(main + extra + inside), extra) == (
        "*Only the settings it reran, each at its best of four rates.*")


def test_the_default_setting_is_result_1s_n_1000_with_result_3s_models():
    main = [record(1e-2, 2.0, K=16, N=270, d_model=24)]
    result1 = [record(1e-2, 2.1, d_model=24), record(1e-2, 2.2, d_model=32), record(1e-2, 1.9, d_model=24, N=2000)]
    assert result3.default_runs(result1, main) == result1[:1]
    llama = record_dict(1e-2, 2.3, d_model=24)
    llama["config"]["model"]["arch"] = "llama"  # same shape, another architecture: not result 3's model
    assert result3.default_runs(result1 + [as_record(llama)], main) == result1[:1]


def test_settings_notes_name_the_edges_and_the_settings_above_the_ceiling():
    inside = result3.knob_frame([record(5e-3, 1.9), record(1e-2, 2.1), record(2e-2, 2.0)])
    assert result3.settings_notes(inside).startswith("Every setting's best rate lies inside its grid")
    edged = result3.knob_frame([record(5e-3, 1.9), record(1e-2, 2.4)])
    notes = result3.settings_notes(edged)
    assert "**Best rate at the edge of its grid**" in notes and "0.01, the highest" in notes
    assert "**Above 2.3 bits per parameter**" in notes and "R = 2.40 [2.30, 2.50]" in notes


def test_the_addendum_judges_only_the_settings_it_reran():
    main = [record(5e-3, 1.9), record(1e-2, 2.1), record(2e-2, 2.0),
            record(5e-3, 1.7, K=16, N=270), record(1e-2, 1.5, K=16, N=270)]
    extra = [record(2.5e-3, 2.2, K=16, N=270)]
    claims = result3.addendum_claims(result3.knob_frame(main), result3.knob_frame(main + extra), extra)
    assert [(c.claim.split(" (")[0], c.value) for c in claims] == [("K=16, C=4, D=64, L=1, T=64", 2.2)]
