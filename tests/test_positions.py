import math

import pytest

from kcl import plots, positions
from kcl.capacity import capacity, loss_by_position, measurement_bios, person_losses
from kcl.controls import control_losses
from kcl.data import DataConfig, make_dataset
from kcl.people import value_lists


def control_record(kind: str) -> dict:
    """A record of a predictor that trains nothing (``kcl.controls``) on a small bioS."""
    data = DataConfig(name="bioS", n_people=120, seed=3)
    ds = make_dataset(data)
    bios = measurement_bios(ds)[0]
    losses = person_losses(bios, *control_losses(ds, bios, kind), ds.n_people, len(ds.attributes))
    result = capacity(ds, losses, {"total": 1000, "non_embedding": 400}, bootstrap=0)
    result["loss_by_position"] = loss_by_position([losses], ds.attributes)
    config = {"data": {"name": "bioS", "n_people": ds.n_people, "pools": [400, 400, 1000]}, "model": {"arch": "gpt2", "n_layer": 1, "n_head": 1, "d_model": 8},
              "train": {"exposures": 0, "lr": 0.0, "seed": 0}}
    return {"config": config, "result": result}


@pytest.mark.parametrize("kind, expected", [("uniform", "zero"), ("oracle", "max")])
def test_bits_by_position_of_the_controls(kind, expected):
    frame = positions.position_frame([control_record(kind)])
    sizes = value_lists().attribute_sizes
    assert set(frame["attribute"]) == {"birth_date", "birth_city", "university", "major", "employer"}
    assert set(frame["sentence"]) == set(positions.SENTENCES)
    for row in frame.itertuples():  # log2(values) recovered from the record alone
        assert row.max_bits_per_person == pytest.approx(math.log2(sizes[row.attribute]))
        target = 0.0 if expected == "zero" else row.max_bits_per_person
        assert row.bits_per_person == pytest.approx(target, abs=1e-9)
    assert frame.groupby("attribute")["people"].sum().eq(120).all()
    assert plots.bits_by_position([control_record(kind)]).to_dict()["facet"]


def test_position_summary_names_both_shares():
    text = positions.position_summary([control_record("oracle")])
    assert text.count("(100%)") == 2 and text.startswith("- bioS, pools 400×400×1000 · gpt2-1-1 d=8")
    assert positions.position_summary([{**control_record("uniform"), "result": {"bits_per_attribute": {}}}]) == ""
