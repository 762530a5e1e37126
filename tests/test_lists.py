"""The packaged value lists and sentence templates (kcl/data/lists, kcl/data/templates).

Checks the sizes of the paper's value pools (Part 3.1 App. A.1: 400 first, 400 middle and 1000
last names, 200 cities, 300 universities, 100 majors, 263 employers), the file format, and the
rules every template must follow so that the renderer in ``kcl.data.bios`` can rely on them.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

ATTRIBUTES = ("birth_date", "birth_city", "university", "major", "employer", "company_city")
LIST_SIZES = {
    "first_names": 400,
    "middle_names": 400,
    "last_names": 1000,
    "cities": 200,
    "universities": 300,
    "majors": 100,
    "employers": 263,
}
NAME_RE = re.compile(r"^[A-Z][a-z]+$")
CITY_RE = re.compile(r"^[A-Z][A-Za-z-]*( [A-Z][A-Za-z-]*)*, [A-Z]{2}$")
PRONOUN_RE = re.compile(r"\b(he|she|his|her|him|hers|they|them|their|theirs|himself|herself|themselves)\b",
                        re.IGNORECASE)
# Words that would tie a template to one gender although it is drawn independently of it.
GENDERED_RE = re.compile(r"\b(man|woman|men|women|boy|girl|boys|girls|son|daughter|husband|wife|"
                         r"gentleman|lady|alumnus|alumna)\b", re.IGNORECASE)
# Filler must say nothing about the six attributes.
FILLER_TOPIC_RE = re.compile(r"\b(born|birth\w*|city|cities|town|hometown|universit\w*|college|degree|"
                             r"major|stud(y|ied|ies|ent)|graduat\w*|employ\w*|company|career|job|office|"
                             r"salary|campus|profession\w*|work|works|worked|working)\b", re.IGNORECASE)
WORD_RE = re.compile(r"\w+|[^\w\s]")
HEADS = ("{subj}", "{poss}")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _read(*parts: str) -> list[str]:
    """Lines of a packaged text file, after checking the one-entry-per-line format."""
    path = resources.files("kcl").joinpath("data", *parts)
    text = path.read_text(encoding="utf-8")
    assert text.isascii(), f"{'/'.join(parts)}: non-ASCII characters"
    assert "\r" not in text and "\t" not in text, f"{'/'.join(parts)}: CR or tab characters"
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{'/'.join(parts)}: must end in one newline"
    lines = text[:-1].split("\n")
    for i, line in enumerate(lines, 1):
        assert line, f"{'/'.join(parts)}:{i}: blank line"
        assert line == line.strip(), f"{'/'.join(parts)}:{i}: leading or trailing spaces: {line!r}"
    return lines


def _list(name: str) -> list[str]:
    return _read("lists", f"{name}.txt")


def _templates(pool: str, attribute: str) -> list[str]:
    return _read("templates", pool, f"{attribute}.txt")


def _assert_unique(lines: list[str], what: str) -> None:
    dupes = sorted({x for x in lines if lines.count(x) > 1})
    assert not dupes, f"{what}: duplicate entries {dupes[:10]}"


# -- value lists -------------------------------------------------------------------------------
@pytest.mark.parametrize("name,size", sorted(LIST_SIZES.items()))
def test_list_size_and_uniqueness(name, size):
    lines = _list(name)
    assert len(lines) == size, f"{name}: {len(lines)} lines, expected {size}"
    _assert_unique(lines, name)


@pytest.mark.parametrize("name", ["first_names", "middle_names", "last_names"])
def test_name_format(name):
    bad = [n for n in _list(name) if not NAME_RE.match(n)]
    assert not bad, f"{name}: entries not matching {NAME_RE.pattern}: {bad[:10]}"


def test_name_pools_disjoint():
    pools = {name: set(_list(name)) for name in ("first_names", "middle_names", "last_names")}
    names = sorted(pools)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = pools[a] & pools[b]
            assert not both, f"{a} and {b} share {sorted(both)[:10]}"


def test_name_words_are_not_used_elsewhere():
    """A name part is its own token: no value, template word, month or pronoun spells it."""
    names = set(_list("first_names")) | set(_list("middle_names")) | set(_list("last_names"))
    other: set[str] = set(MONTHS) | {"He", "She", "His", "Her"}
    for name in ("cities", "universities", "majors", "employers"):
        for line in _list(name):
            other.update(WORD_RE.findall(line))
    for pool in ("bios", "bior"):
        for attribute in ATTRIBUTES + (("filler",) if pool == "bior" else ()):
            for t in _templates(pool, attribute):
                other.update(WORD_RE.findall(t))
    both = names & other
    assert not both, f"name parts also used outside the name pools: {sorted(both)[:20]}"


def test_cities_format():
    bad = [c for c in _list("cities") if not CITY_RE.match(c)]
    assert not bad, f"cities not formatted 'City, ST': {bad[:10]}"


@pytest.mark.parametrize("name", ["universities", "majors"])
def test_plain_values(name):
    bad = [v for v in _list(name) if ";" in v or "{" in v or "}" in v or "  " in v]
    assert not bad, f"{name}: entries with ';', braces or double spaces: {bad[:10]}"


def test_employers_format():
    lines = _list("employers")
    companies, cities = [], []
    for line in lines:
        assert line.count(";") == 1, f"employer line needs exactly one ';': {line!r}"
        company, city = line.split(";")
        assert city.startswith(" ") and not city.startswith("  "), f"expected '; City, ST': {line!r}"
        company, city = company.strip(), city.strip()
        assert company and company == line.split(";")[0], f"bad company name: {line!r}"
        assert CITY_RE.match(city), f"company city not formatted 'City, ST': {line!r}"
        assert "{" not in company and "}" not in company
        companies.append(company)
        cities.append(city)
    _assert_unique(companies, "employer company names")
    share_ny = cities.count("New York, NY") / len(cities)
    assert 0.10 <= share_ny <= 0.17, f"share of employers in New York, NY is {share_ny:.3f} (paper: 13.7%)"
    assert len(set(cities)) > 50, "company cities should be varied"


def _value_sets() -> dict[str, list[str]]:
    employers = [line.split(";") for line in _list("employers")]
    return {"cities": _list("cities"), "universities": _list("universities"), "majors": _list("majors"),
            "employers": [company.strip() for company, _ in employers],
            "company cities": sorted({city.strip() for _, city in employers})}


@pytest.mark.parametrize("name", ["cities", "universities", "majors", "employers", "company cities"])
def test_values_are_prefix_free(name):
    """No value's word sequence starts another's ("Music" vs "Music Education"): the loss must see
    where a value ends."""
    seqs = {tuple(WORD_RE.findall(v)): v for v in _value_sets()[name]}
    clashes = [(seqs[s[:j]], v) for s, v in seqs.items() for j in range(1, len(s)) if s[:j] in seqs]
    assert not clashes, f"{name}: values that are prefixes of others: {clashes[:10]}"


# -- templates ---------------------------------------------------------------------------------
def _check_template(t: str, *, filler: bool) -> list[str]:
    """Rule violations of one template line (empty when it is fine)."""
    problems = []
    if not t.startswith(HEADS):
        problems.append("must start with {subj} or {poss}")
    head_count = t.count("{subj}") + t.count("{poss}")
    if head_count != 1:
        problems.append(f"{head_count} {{subj}}/{{poss}} placeholders, expected 1")
    n_value = t.count("{value}")
    if n_value != (0 if filler else 1):
        problems.append(f"{n_value} {{value}} placeholders, expected {0 if filler else 1}")
    rest = t.replace("{subj}", "").replace("{poss}", "").replace("{value}", "")
    if "{" in rest or "}" in rest:
        problems.append("stray braces")
    if not t.endswith("."):
        problems.append("must end with '.'")
    if PRONOUN_RE.search(rest):
        problems.append(f"pronoun word {PRONOUN_RE.search(rest).group(0)!r}")
    if GENDERED_RE.search(rest):
        problems.append(f"gendered word {GENDERED_RE.search(rest).group(0)!r}")
    if not t.isascii():
        problems.append("non-ASCII")
    if re.search(r"\{value\}[A-Za-z]", t):
        problems.append("{value} followed directly by a letter")
    if t.startswith(HEADS) and len(t) > 6 and t[6] not in " ,":
        problems.append("placeholder at the start must be followed by a space or a comma")
    if "  " in t:
        problems.append("double space")
    if filler:
        if re.search(r"\d", t):
            problems.append("digits in filler")
        if FILLER_TOPIC_RE.search(rest):
            problems.append(f"filler mentions an attribute topic: {FILLER_TOPIC_RE.search(rest).group(0)!r}")
    return problems


def _assert_templates_ok(lines: list[str], what: str, *, filler: bool) -> None:
    bad = {t: p for t in lines if (p := _check_template(t, filler=filler))}
    assert not bad, f"{what}: " + "; ".join(f"{t!r}: {', '.join(p)}" for t, p in list(bad.items())[:10])


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_bios_templates(attribute):
    lines = _templates("bios", attribute)
    assert 45 <= len(lines) <= 55, f"bios/{attribute}: {len(lines)} templates, expected 45-55"
    _assert_unique(lines, f"bios/{attribute}")
    _assert_templates_ok(lines, f"bios/{attribute}", filler=False)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_bior_templates(attribute):
    lines = _templates("bior", attribute)
    assert 60 <= len(lines) <= 80, f"bior/{attribute}: {len(lines)} templates, expected 60-80"
    _assert_unique(lines, f"bior/{attribute}")
    _assert_templates_ok(lines, f"bior/{attribute}", filler=False)
    both = set(lines) & set(_templates("bios", attribute))
    assert not both, f"bior/{attribute} repeats bios templates: {sorted(both)[:5]}"


def test_bior_filler():
    lines = _templates("bior", "filler")
    assert len(lines) == 300, f"bior/filler: {len(lines)} sentences, expected 300"
    _assert_unique(lines, "bior/filler")
    _assert_templates_ok(lines, "bior/filler", filler=True)


def test_check_template_catches_violations():
    """The rule checker itself rejects each kind of bad template."""
    assert not _check_template("{subj} was born on {value}.", filler=False)
    assert not _check_template("{poss} birthday, {value}, is a holiday.", filler=False)
    assert not _check_template("{subj} enjoys hiking on weekends.", filler=True)
    bad = [
        ("She was born on {value}.", False),
        ("{subj} celebrates {poss} birth on {value}.", False),
        ("{subj} was born on {value} and {value}.", False),
        ("{subj} was born on {value}", False),
        ("{subj} loved her hometown of {value}.", False),
        ("{subj} was born on {value}s.", False),
        ("{subj} was born on {date}.", False),
        ("{subj} enjoys {value}.", True),
        ("{subj} runs 5 miles a day.", True),
        ("{subj} loves the city.", True),
        ("{subj}'s cat is grey.", True),
    ]
    for template, filler in bad:
        assert _check_template(template, filler=filler), template
