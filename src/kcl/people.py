"""The people table: name pools, value lists and seeded draws (paper §2.2; Part 3.1 App. A.1).

Every person has a unique full name (first, middle, last) drawn without replacement from the
product of three name pools, N0 = ``|first|·|middle|·|last|`` (400·400·1000 = 1.6e8 in the paper),
and attributes drawn uniformly and independently:

=============  ===========================  ==========
attribute      values                       bits
=============  ===========================  ==========
birth_date     12 months × 28 days × 200 y   16.04
birth_city     200                           7.64
university     300                           8.23
major          100                           6.64
employer       263                           8.04
gender         2 pronouns                    1
company_city   function of the employer      0 (derived)
=============  ===========================  ==========

The table holds value *indices*; strings come from the packaged value lists
(``kcl/data/lists``). It is a function of (n, seed, pools) only, so two runs with the same
seed share their people exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAYS = 28
FIRST_YEAR, N_YEARS = 1900, 200
PRONOUNS = (("He", "His"), ("She", "Her"))  # (subject, possessive) per gender; 2 genders (§2.2 fn 9)

#: The attributes whose values carry knowledge, in canonical order (paper fn 12: gender included,
#: company city excluded).
KNOWLEDGE_ATTRIBUTES = ("birth_date", "birth_city", "university", "major", "employer", "gender")
#: Attributes rendered as sentences (the gender shows through the pronouns instead).
SENTENCE_ATTRIBUTES = ("birth_date", "birth_city", "university", "major", "employer", "company_city")


def _read_list(name: str) -> tuple[str, ...]:
    text = resources.files("kcl").joinpath("data", "lists", name).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class ValueLists:
    """The packaged value lists: names, cities, universities, majors, employers."""

    first_names: tuple[str, ...]
    middle_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[str, ...]
    universities: tuple[str, ...]
    majors: tuple[str, ...]
    employers: tuple[str, ...]
    employer_cities: tuple[str, ...]  # company city of each employer (0 bits: a function of it)

    @property
    def attribute_sizes(self) -> dict[str, int]:
        """Number of possible values of each knowledge attribute (the factors of S0)."""
        return {
            "birth_date": len(MONTHS) * DAYS * N_YEARS,
            "birth_city": len(self.cities),
            "university": len(self.universities),
            "major": len(self.majors),
            "employer": len(self.employers),
            "gender": len(PRONOUNS),
        }


@lru_cache(maxsize=1)
def value_lists() -> ValueLists:
    employers = [line.split(";") for line in _read_list("employers.txt")]
    return ValueLists(
        first_names=_read_list("first_names.txt"),
        middle_names=_read_list("middle_names.txt"),
        last_names=_read_list("last_names.txt"),
        cities=_read_list("cities.txt"),
        universities=_read_list("universities.txt"),
        majors=_read_list("majors.txt"),
        employers=tuple(name.strip() for name, _ in employers),
        employer_cities=tuple(city.strip() for _, city in employers),
    )


@dataclass(frozen=True)
class NamePools:
    """Sizes of the first/middle/last name pools; each pool is a prefix of its packaged list."""

    first: int = 400
    middle: int = 400
    last: int = 1000

    def __post_init__(self):
        lists = value_lists()
        for knob, size, available in (("first", self.first, len(lists.first_names)),
                                      ("middle", self.middle, len(lists.middle_names)),
                                      ("last", self.last, len(lists.last_names))):
            if not isinstance(size, (int, np.integer)) or not 1 <= size <= available:
                raise ValueError(f"name pool '{knob}' must be an integer in [1, {available}], got {size!r}")

    @property
    def n0(self) -> int:
        """N0, the number of possible full names; it enters every bit formula."""
        return self.first * self.middle * self.last

    def parts(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        lists = value_lists()
        return (lists.first_names[: self.first], lists.middle_names[: self.middle],
                lists.last_names[: self.last])


def check_count(knob: str, value, low: int = 1, high: int | None = None) -> int:
    """Validate an integer knob, raising a ValueError that names it and the allowed range."""
    upper = "inf" if high is None else f"{high:,}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{knob} must be an integer in [{low}, {upper}], got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{knob} must be in [{low}, {upper}], got {value:,}")
    return int(value)


def draw_names(n: int, pools: NamePools, rng: np.random.Generator) -> np.ndarray:
    """n distinct (first, middle, last) index triples, uniform without replacement (Def. 2.2)."""
    check_count("n_people", n, 1, pools.n0)
    flat = rng.choice(pools.n0, size=n, replace=False)
    first, rest = np.divmod(flat, pools.middle * pools.last)
    middle, last = np.divmod(rest, pools.last)
    return np.stack([first, middle, last], axis=1)


def draw_people(n: int, seed: int, pools: NamePools = NamePools()) -> pd.DataFrame:
    """The bioS people table: unique names and uniform, independent attributes (§2.2)."""
    rng = np.random.default_rng([seed, 0x9E0])
    lists = value_lists()
    names = draw_names(n, pools, rng)
    table = pd.DataFrame({
        "first": names[:, 0], "middle": names[:, 1], "last": names[:, 2],
        "birth_month": rng.integers(0, len(MONTHS), n),
        "birth_day": rng.integers(1, DAYS + 1, n),
        "birth_year": rng.integers(FIRST_YEAR, FIRST_YEAR + N_YEARS, n),
        "birth_city": rng.integers(0, len(lists.cities), n),
        "university": rng.integers(0, len(lists.universities), n),
        "major": rng.integers(0, len(lists.majors), n),
        "employer": rng.integers(0, len(lists.employers), n),
        "gender": rng.integers(0, len(PRONOUNS), n),
    })
    table.index.name = "person"
    return table


def full_names(table: pd.DataFrame, pools: NamePools = NamePools()) -> list[str]:
    first, middle, last = pools.parts()
    return [f"{first[a]} {middle[b]} {last[c]}"
            for a, b, c in zip(table["first"], table["middle"], table["last"])]


def attribute_strings(row) -> dict[str, str]:
    """Rendered values of one person (a row of the people table)."""
    lists = value_lists()
    return {
        "birth_date": f"{MONTHS[row.birth_month]} {row.birth_day}, {row.birth_year}",
        "birth_city": lists.cities[row.birth_city],
        "university": lists.universities[row.university],
        "major": lists.majors[row.major],
        "employer": lists.employers[row.employer],
        "company_city": lists.employer_cities[row.employer],
    }


def readable_table(table: pd.DataFrame, pools: NamePools = NamePools()) -> pd.DataFrame:
    """The table with strings instead of indices, for saving and reading."""
    rows = [attribute_strings(row) for row in table.itertuples()]
    out = pd.DataFrame(rows, index=table.index)
    out.insert(0, "full_name", full_names(table, pools))
    out["gender"] = [PRONOUNS[g][0].lower() for g in table["gender"]]
    return out


def save_people(table: pd.DataFrame, path: str | Path, pools: NamePools = NamePools()) -> Path:
    """Save indices and strings side by side as a tidy CSV (one row per person)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    readable = readable_table(table, pools).add_prefix("text_")
    tmp = path.with_suffix(path.suffix + ".tmp")
    pd.concat([table, readable], axis=1).to_csv(tmp)
    tmp.replace(path)
    return path


def load_people(path: str | Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col="person")
    return frame[[c for c in frame.columns if not c.startswith("text_")]]


def bios_bits_per_person(pools: NamePools = NamePools()) -> float:
    """log2 S0: the knowledge bits of one bioS person's attributes (Definition 4.3)."""
    return sum(math.log2(size) for size in value_lists().attribute_sizes.values())
