import numpy as np
import pytest

from kcl.people import (NamePools, bios_bits_per_person, draw_people, full_names, load_people,
                        readable_table, save_people, value_lists)


def test_s0_matches_the_paper():
    # log2 S0 = log2(2 · 12·28·200 · 200 · 300 · 100 · 263) = 47.59 (paper Remark 4.4)
    assert bios_bits_per_person() == pytest.approx(47.59, abs=0.005)
    assert value_lists().attribute_sizes == {"birth_date": 67200, "birth_city": 200, "university": 300,
                                             "major": 100, "employer": 263, "gender": 2}
    assert NamePools().n0 == 160_000_000


def test_names_are_unique_and_the_table_is_seeded():
    pools = NamePools(5, 5, 8)  # N0 = 200: force collisions if sampling were with replacement
    table = draw_people(200, seed=3, pools=pools)
    names = full_names(table, pools)
    assert len(set(names)) == 200
    again = draw_people(200, seed=3, pools=pools)
    assert table.equals(again)
    assert not table.equals(draw_people(200, seed=4, pools=pools))


def test_attributes_are_in_range_and_roughly_uniform():
    t = draw_people(20_000, seed=0)
    assert t.birth_day.between(1, 28).all() and t.birth_year.between(1900, 2099).all()
    assert t.employer.between(0, 262).all() and set(t.gender) == {0, 1}
    # each major (100 values) appears about 200 times
    counts = np.bincount(t.major, minlength=100)
    assert counts.min() > 120 and counts.max() < 290


def test_company_city_is_a_function_of_the_employer():
    t = draw_people(500, seed=1)
    r = readable_table(t)
    lists = value_lists()
    for emp, city in zip(t.employer, r.company_city):
        assert city == lists.employer_cities[emp]


def test_save_and_load_round_trip(tmp_path):
    t = draw_people(50, seed=2)
    path = save_people(t, tmp_path / "people.csv")
    assert load_people(path).equals(t)
    assert "text_full_name" in path.read_text().splitlines()[0]


@pytest.mark.parametrize("pools, message", [((0, 400, 1000), "first"), ((400, 401, 1000), "middle"),
                                            ((400, 400, 10**6), "last")])
def test_bad_pool_sizes(pools, message):
    with pytest.raises(ValueError, match=message):
        NamePools(*pools)


def test_more_people_than_names_is_refused_before_work():
    with pytest.raises(ValueError, match=r"n_people.*\[1, 8\]"):
        draw_people(9, seed=0, pools=NamePools(2, 2, 2))
