"""The fillers diagnostic's reading (kcl.fillers): the rule written before its runs."""

import pytest

from kcl.fillers import fillers_frame, fillers_reading, section


def record(name, bits, half_width=500.0, fillers=None):
    data = {"name": name, "n_people": 1000, **({"fillers": fillers} if fillers else {})}
    return {"config": {"data": data, "train": {"lr": 0.01, "seed": 0}},
            "result": {"bits": bits, "bits_ci": [bits - half_width, bits + half_width], "max_bits": 57_000.0,
                       "bits_name": bits / 3, "bits_value": 2 * bits / 3, "R": bits / 1e5, "R_ci": [0, 1],
                       "params": {"total": 100_000}, "R_non_embedding": bits / 25_000, "train": {"steps": 20_000}}}


def reading(bios, bare, proxy, **kw):
    records = [record("bioR-proxy", proxy, **kw), record("bioS", bios, **kw),
               record("bioR-proxy", bare, fillers=[0, 0], **kw)]
    return fillers_reading(fillers_frame(records))


def test_the_frame_names_the_three_runs_in_order():
    frame = fillers_frame([record("bioR-proxy", 1.0), record("bioS", 2.0), record("bioR-proxy", 3.0, fillers=[0, 0])])
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
    text = fillers_reading(fillers_frame([record("bioS", 1.0)]))
    assert text.startswith("The rule written before these runs is read once") and "proxy without fillers" in text
    assert "once all three" in fillers_reading(fillers_frame([]))


def test_smoke_section_reads_nothing():
    assert "smoke profile stores nothing" in section("smoke")[0]
