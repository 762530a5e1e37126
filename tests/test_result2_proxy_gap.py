"""The bioR proxy diagnostics' readings (``kcl.book.result2``): the rules written before their runs."""

import pytest

from kcl.book.result2 import (FILLERS_RUNS, TEMPLATES_RUNS, fillers_reading, fillers_section, runs_frame,
                               templates_reading, templates_section)
from made_up import as_record  # tests/ is on sys.path


def record(name, bits, half_width=500.0, fillers=None, templates=None):
    data = {"name": name, "n_people": 1000, **({"fillers": fillers} if fillers else {}),
            **({"templates": templates} if templates else {})}
    return as_record({"config": {"data": data, "train": {"lr": 0.01, "seed": 0}},
                      "result": {"bits": bits, "bits_ci": [bits - half_width, bits + half_width], "max_bits": 57_000.0,
                                 "bits_name": bits / 3, "bits_value": 2 * bits / 3, "R": bits / 1e5, "R_ci": [0, 1],
                                 "params": {"total": 100_000}, "R_non_embedding": bits / 25_000,
                                 "train": {"steps": 20_000}}})


def reading(bios, bare, proxy, **kw):
    records = [record("bioR-proxy", proxy, **kw), record("bioS", bios, **kw),
               record("bioR-proxy", bare, fillers=[0, 0], **kw)]
    return fillers_reading(runs_frame(records))


def test_the_frame_names_the_three_runs_in_order():
    frame = runs_frame([record("bioR-proxy", 1.0), record("bioS", 2.0), record("bioR-proxy", 3.0, fillers=[0, 0])])
    assert list(frame["run"]) == ["bioS", "proxy without fillers", "proxy (1–3 fillers)"]
    assert list(frame["bits"]) == [2.0, 3.0, 1.0]


def test_fillers_that_account_for_the_gap():
    text = reading(bios=40_000, bare=38_000, proxy=20_000)
    assert "**cost the proxy bits**" in text and "account for the proxy's gap" in text and "+90%" in text


def test_fillers_that_cost_some_of_the_gap():
    text = reading(bios=40_000, bare=30_000, proxy=20_000)
    assert "**cost the proxy bits**" in text and "25% less than bioS" in text


@pytest.mark.parametrize("bare, half_width", [(21_500, 100.0), (25_000, 3_000.0), (15_000, 100.0)])
def test_no_cost_within_the_share_or_with_overlapping_intervals(bare, half_width):
    text = reading(bios=40_000, bare=bare, proxy=20_000, half_width=half_width)
    assert "**do not** cost" in text


def test_the_reading_waits_for_all_three_runs():
    text = fillers_reading(runs_frame([record("bioS", 1.0)]))
    assert text.startswith("The rule written before these runs is read once") and "proxy without fillers" in text
    assert "once all three" in fillers_reading(runs_frame([]))


def test_smoke_section_reads_nothing():
    assert "smoke profile stores nothing" in fillers_section("smoke")[0]


def split(bios, bare, same, half_width=500.0):
    records = [record("bioR-proxy", same, half_width, fillers=[0, 0], templates="bioS"), record("bioS", bios, half_width),
               record("bioR-proxy", bare, half_width, fillers=[0, 0])]
    return templates_reading(runs_frame(records))


def test_the_frame_names_the_templates_run():
    frame = runs_frame([record("bioR-proxy", 3.0, fillers=[0, 0], templates="bioS"), record("bioS", 2.0)])
    assert list(frame["run"]) == ["bioS", "proxy without fillers, bioS's templates"]


@pytest.mark.parametrize("same, half_width, outcome", [
    (33_000, 500.0, "**larger template pool**"),   # closes 79%
    (28_000, 500.0, "**40 fixed rewrites**"),      # closes 16%
    (31_000, 500.0, "**larger template pool**"),   # closes 53%, intervals apart
    (31_000, 5_000.0, "**neither**"),              # closes 53% but its interval reaches the proxy's
    (28_000, 8_000.0, "**neither**"),              # closes 16% but its interval reaches bioS's
])
def test_the_templates_rule(same, half_width, outcome):
    text = split(bios=35_000, bare=26_500, same=same, half_width=half_width)
    assert outcome in text, text


def test_the_templates_reading_states_the_share_closed_and_guards_no_gap():
    assert "closes 76% of the gap" in split(bios=35_000, bare=25_000, same=32_600)
    assert "no gap left to split" in split(bios=30_000, bare=31_000, same=30_000)
    assert "More than all of it" not in split(bios=35_000, bare=25_000, same=32_600)
    beyond = split(bios=35_000, bare=25_000, same=49_700)  # like the stored case (278% there), above bioS
    assert "closes 247% of the gap" in beyond and "More than all of it" in beyond
    waiting = templates_reading(runs_frame([record("bioS", 1.0)]))
    assert waiting.startswith("The rule written before these runs is read once") and "bioS's templates" in waiting


def test_smoke_templates_section_reads_nothing():
    assert "smoke profile stores nothing" in templates_section("smoke")[0]


def test_the_cpu_sections_read_the_committed_records():
    """Both sections gather their runs from the committed records (results/diagnostics): the
    fillers section its three runs, the templates section bioS and the proxy without fillers from
    the fillers diagnostic beside its own run, each table in the rule's order."""
    for build, runs, word in ((fillers_section, FILLERS_RUNS, "fillers"), (templates_section, TEMPLATES_RUNS, "templates")):
        reading, frame = build("cpu")
        assert reading.startswith(("Without its filler", "On bioS's templates")) and "By the rule" in reading, word
        assert list(frame["run"]) == list(runs)
