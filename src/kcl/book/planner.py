"""The capacity planner: how many parameters a data set's facts need, and how long training takes.

From a data description (bioD's knobs, bioS's N and tokenizer, or B bits of facts directly) and
the exposures per fact, ``capacity_plan`` gives

* the data's bits: the R^max numerator (Definitions 4.1 and 4.3), the built data set's own
  ``max_bits()`` up to ``BUILD_LIMIT`` people and above it the same formula without the people table
  (building a million people's bioS takes seconds; ``bits_formula`` is tested against ``max_bits()``);
* the parameters needed, bits / R, by each law at that number of exposures: the paper's (2 bits
  per parameter at 1000 exposures, Result 1; 1 at 100, Result 4) and this book's measured ones,
  read from the committed records with their intervals (``measured_laws``);
* for each, a model that holds them and its training time on this machine by the cost model
  (``kcl.run.estimated_seconds``). The model is the smallest 2-layer GPT2 (``WIDTHS``) whose paper
  count (embedding rows of the used tokens, tied) reaches the parameters needed: the shape of the
  book's chapters and of its measured peaks, so the measured law speaks of it most directly. Its
  training follows the book's recipe for that data and regime (``RECIPES``: the sweep file's batch,
  packing and schedule), priced at ``PRICED_PEOPLE`` people at most and scaled to N: at a fixed
  model and batch every term of the cost model grows in proportion to the people.

``kcl plan`` prints it; ``PlannerPanel`` is its ipywidgets panel in the explorer notebook.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from dataclasses import dataclass

import pandas as pd
import torch
import yaml

from kcl.book.chapter_list import CHAPTERS
from kcl.book.chapters import chapter_parts
from kcl.book.explorer import RANGES, bit_content
from kcl.book.law import headline, headline_per_seed
from kcl.config import ModelSpec, RunConfig
from kcl.cost import machine_cost_model
from kcl.data import DataConfig, make_dataset
from kcl.models import build_model
from kcl.params import count_parameters
from kcl.paths import repo_root
from kcl.people import NamePools, bios_bits_per_person
from kcl.run import sweep_cost
from kcl.store import MissingResultsError
from kcl.sweep import threads_per_worker
from kcl.train import TrainConfig

KINDS = ("bioD", "bioS", "bits")  # what a plan starts from
TOKENIZERS = ("word", "bpe")  # bioS's tokenizers
PAPER_R = {1000: 2.0, 100: 1.0}  # bits per parameter: Result 1 and Result 4
EXPOSURES = (1, 100_000)  # the exposures a plan takes
BITS = (1, 10 ** 11)  # the bits a plan takes directly
BUILD_LIMIT = 100_000  # people: up to here the data set is built (about a second), above it the formula
PRICED_PEOPLE = 10_000  # people the training time is priced at, then scaled to N
# the book's training recipe per data kind and regime: the chapter whose sweep file's base train knobs a plan uses
RECIPES = {("bioD", 1000): "result1", ("bioD", 100): "result4", ("bioS", 1000): "result2-v4",
           ("bioS", 100): "result4-bios-v3"}
# bits alone describe no text: a plan for B bits trains on the default bioD, as many people as hold B bits
BITS_DATA = DataConfig(name="bioD", n_people=PRICED_PEOPLE)
# measured laws: (chapter, which headline, its label); result 1's addendum takes each seed's own best rate
MEASURED = {1000: (("result1", "committed", "book: result 1"),
                   ("result1", "per_seed", "book: result 1, seed-rates addendum")),
            100: (("result4", "committed", "book: result 4"), ("result4-v2", "committed", "book: result 4, protocol v2"))}


# -- input ------------------------------------------------------------------------------------------
def _whole(knob: str, value, low: int, high: int, why: str = "") -> int:
    """``value`` as an integer in [low, high] (a float such as 1e6 that is whole counts), else a
    ValueError naming the knob and the range (and ``why``, where the range depends on other knobs)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{knob} must be an integer in [{low:,}, {high:,}]{why}, got {value!r}")
    return value


def _pools(value) -> tuple[int, int, int]:
    """Name pools from (first, middle, last) or "400,400,1000"; each in its packaged list's range."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 3:
        raise ValueError(f"pools must be three sizes first,middle,last (e.g. 400,400,1000), got {value!r}")
    pools = tuple(_whole(f"pools ({which})", p, 1, 10 ** 9) for which, p in zip(("first", "middle", "last"), parts))
    NamePools(*pools)  # each within its list: a ValueError naming the pool and its range
    return pools


def data_config(kind: str, **knobs) -> DataConfig | None:
    """The data set a plan describes (None for ``bits``), every knob checked first: a ValueError
    names the knob and its allowed range. bioD: N, K, C, D, L, T (the paper's Result-3 ranges,
    ``kcl.book.explorer.RANGES``) and pools; bioS: N, tokenizer and pools."""
    allowed = {"bioD": {"N", "K", "C", "D", "L", "T", "pools"}, "bioS": {"N", "tokenizer", "pools"}, "bits": set()}
    if kind not in KINDS:
        raise ValueError(f"data must be one of {', '.join(KINDS)}, got {kind!r}")
    given = {k: v for k, v in knobs.items() if v is not None}
    stray = sorted(set(given) - allowed[kind])
    if stray:
        raise ValueError(f"{stray[0]} does not apply to {kind}; its knobs: {', '.join(sorted(allowed[kind])) or 'none'}")
    if kind == "bits":
        return None
    pools = _pools(given.get("pools", DataConfig.pools))
    n0 = math.prod(pools)
    n = _whole("N", given.get("N", 1000), 1, n0, " (at most N0, the name pools' product)")
    if kind == "bioS":
        tokenizer = given.get("tokenizer", "word")
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}")
        return DataConfig(name="bioS", n_people=n, pools=pools, tokenizer=tokenizer)
    v = {k: _whole(k, given.get(k, getattr(DataConfig, k)), *RANGES[k]) for k in ("K", "C", "L", "T")}
    cap = v["T"] ** v["L"]
    v["D"] = _whole("D", given.get("D", DataConfig.D), 1, min(RANGES["D"][1], cap),
                    f" (at most T^L = {cap:,})" if cap < RANGES["D"][1] else "")
    return DataConfig(name="bioD", n_people=n, pools=pools, **v)


def check_exposures(exposures) -> int:
    """The exposures per fact, an integer in ``EXPOSURES`` (else a ValueError naming the range)."""
    return _whole("exposures", exposures, *EXPOSURES)


def check_bits(bits) -> float:
    """Bits of facts given directly, a number in ``BITS`` (else a ValueError naming the range)."""
    try:
        value = float(bits)
    except (TypeError, ValueError):
        value = math.nan
    if not BITS[0] <= value <= BITS[1]:
        raise ValueError(f"bits must be a number in [{BITS[0]:,}, {BITS[1]:.0e}], got {bits!r}")
    return value


def regime(exposures: int) -> tuple[int, str]:
    """The paper's law a number of exposures takes (1000 or 100) and why, in words."""
    if exposures == 1000 or exposures == 100:
        return exposures, f"the {exposures}-exposure law"
    if exposures > 1000:
        return 1000, ("the 1000-exposure law: the paper finds no more than about 2 bits per parameter with "
                      "more exposures")
    if exposures > 100:
        return 100, ("the 100-exposure law, the lower of the two it lies between: the parameters below are "
                     "enough, and more exposures may need fewer")
    return 100, ("the 100-exposure law, the fewest exposures the paper measures: with fewer a model stores "
                 "less, so it needs more parameters than these")


# -- bits --------------------------------------------------------------------------------------------
def bits_formula(config: DataConfig) -> dict:
    """The R^max numerator of ``config``'s data by term, without building it: bioD's Definition 4.1
    (``kcl.book.explorer.bit_content``), bioS's Definition 4.3, N·log2(N0/N) + N·log2 S0."""
    n, n0 = config.n_people, math.prod(config.pools)
    if config.name == "bioD":
        bits = bit_content(n, config.K, config.C, config.D, config.L, config.T, n0)
        return {k: bits[k] for k in ("name", "value", "diversity", "total")}
    name, value = n * math.log2(n0 / n), n * bios_bits_per_person()
    return {"name": name, "value": value, "diversity": 0.0, "total": name + value}


def data_bits(config: DataConfig) -> tuple[dict, str]:
    """The data's bits by term and where they come from: the built data set's ``max_bits()`` up to
    ``BUILD_LIMIT`` people, ``bits_formula`` above it."""
    if config.n_people <= BUILD_LIMIT:
        bits = make_dataset(config).max_bits()
        return {k: bits[k] for k in ("name", "value", "diversity", "total")}, "the built data set's max_bits()"
    return bits_formula(config), (f"Definition 4.{1 if config.name == 'bioD' else 3}'s formula, as max_bits() "
                                  f"computes it (above {BUILD_LIMIT:,} people the data set is not built)")


def people_for_bits(bits: float) -> int:
    """How many of ``BITS_DATA``'s people hold ``bits``, at its bits per person."""
    per_person = make_dataset(BITS_DATA).max_bits()["total"] / BITS_DATA.n_people
    return max(1, math.ceil(bits / per_person))


# -- laws --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Law:
    """Bits per parameter at a number of exposures, with its interval (None: a point figure)."""

    label: str
    exposures: int
    R: float
    low: float | None = None
    high: float | None = None
    basis: str = ""


def paper_law(exposures: int) -> Law:
    """The paper's law at 1000 (Result 1) or 100 (Result 4) exposures."""
    result = 1 if exposures == 1000 else 4
    return Law(f"paper (Result {result})", exposures, PAPER_R[exposures], basis="Allen-Zhu & Li, 2404.05405")


def _measured(chapter: str, which: str, label: str, exposures: int, root) -> Law:
    parts = chapter_parts(chapter, "cpu", root=root, log=lambda _: None)
    if which == "per_seed":
        top = headline_per_seed(parts["main"], parts["seeds"] + parts.get("seed_rates", []))
    else:
        top = headline(parts["main"], parts["seeds"])
    return Law(label, exposures, float(top["R"]), float(top["low"]), float(top["high"]),
               f"{top['model']} on {top['data']}; {top['basis']}")


@functools.lru_cache(maxsize=8)
def measured_laws(exposures: int, root: str | None = None) -> tuple[tuple[Law, ...], tuple[str, ...]]:
    """This book's measured laws at 1000 or 100 exposures, read from the committed records (the
    chapters' headlines, ``MEASURED``), and a sentence for each whose records are not all stored."""
    laws, missing = [], []
    for chapter, which, label in MEASURED[exposures]:
        try:
            laws.append(_measured(chapter, which, label, exposures, root))
        except (MissingResultsError, ValueError, KeyError) as err:
            missing.append(f"{label}: not measured yet ({str(err).splitlines()[0]})")
    return tuple(laws), tuple(missing)


# -- the model and its training ----------------------------------------------------------------------
def width(step: int) -> int:
    """The planner's width ladder (``step`` ≥ 1): 8, 16, …, 120 as the book's tiny models, then
    128, 192, 256, …: 64 per head as GPT2-ℓ-h."""
    return 8 * step if step < 16 else 64 * (step - 14)


def gpt2(d: int) -> ModelSpec:
    """The 2-layer GPT2 of width ``d``: from 128 on d/64 heads (GPT2-2-h); below, 2 heads as the book's
    chapters where the rotary quarter of each head stays even (d a multiple of 16), else 1. The heads
    change neither the count nor the cost model's price."""
    heads = d // 64 if d >= 128 else 2 if d % 16 == 0 else 1
    return ModelSpec(arch="gpt2", n_layer=2, n_head=heads, d_model=d)


def model_parameters(spec: ModelSpec, data: DataConfig) -> int:
    """The paper's count of ``spec`` on ``data`` (``kcl.params.count_parameters`` over the used
    tokens), from shapes alone: the model is built on the meta device, with no memory for weights."""
    dataset = make_dataset(data)
    with torch.device("meta"):
        model = build_model(spec.model_config(len(dataset.vocab)))
    return count_parameters(model, dataset.used_token_ids())["total"]


def smallest_model(params: float, data: DataConfig) -> tuple[ModelSpec, int]:
    """The smallest 2-layer GPT2 of the width ladder whose count on ``data`` reaches ``params``."""
    count = lambda step: model_parameters(gpt2(width(step)), data)
    high = 1
    while count(high) < params:
        high *= 2
    low = high // 2 + 1 if high > 1 else 1
    while low < high:  # the first step whose count reaches params
        middle = (low + high) // 2
        low, high = (middle + 1, high) if count(middle) < params else (low, middle)
    spec = gpt2(width(low))
    return spec, count(low)


def recipe(kind: str, law_exposures: int, exposures: int) -> tuple[TrainConfig, str]:
    """The book's training knobs for a data kind in a regime (``RECIPES``: its sweep file's base
    train), at ``exposures``, and the sweep file they come from."""
    chapter = RECIPES[("bioS" if kind == "bioS" else "bioD", law_exposures)]
    path = CHAPTERS[chapter].sweeps["cpu"]
    train = yaml.safe_load((repo_root() / path).read_text(encoding="utf-8"))["base"]["train"]
    return TrainConfig(**{**train, "exposures": exposures}), path


def training_seconds(config: RunConfig, people: int | None = None) -> float:
    """One run of ``config`` on every core of this machine by the cost model
    (``kcl.run.estimated_seconds``, the model built on the meta device), priced at its data's N and
    scaled to ``people`` (default: that N): at a fixed model and batch every term of the cost model
    grows in proportion to the people (module docstring)."""
    with torch.device("meta"):
        seconds = sweep_cost(workers=1)(config)
    return seconds * (people or config.data.n_people) / config.data.n_people


# -- the plan ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Need:
    """What one law asks of the data: parameters (bits / R, and over its interval), a model that
    holds them, its count and its training time on this machine."""

    law: Law
    params: float
    params_low: float | None  # bits / the law's high end
    params_high: float | None  # bits / its low end (inf where that is not above 0)
    model: ModelSpec
    model_params: int
    seconds: float


@dataclass(frozen=True)
class CapacityPlan:
    """A plan (``capacity_plan``): the data, its bits, the law used, what each law needs, and notes."""

    data: str
    bits: dict
    bits_source: str
    exposures: int
    law_note: str
    needs: tuple[Need, ...]
    notes: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        """One row per law: its bits/param, the parameters needed, the model and its training time."""
        rows = []
        for n in self.needs:
            law = n.law
            interval = f" [{law.low:.2f}, {law.high:.2f}]" if law.low is not None else ""
            needed = f"{n.params:,.0f}" + (f" [{n.params_low:,.0f}, {_upper(n.params_high)}]"
                                          if n.params_low is not None else "")
            rows.append({"law": law.label, "bits/param": f"{law.R:.2f}{interval}", "parameters needed": needed,
                         "model (2-layer GPT2)": n.model.label(), "its parameters": f"{n.model_params:,}",
                         "training here": duration(n.seconds)})
        return pd.DataFrame(rows)

    def bits_words(self) -> str:
        """The data's bits, by term where it has terms, and where they come from."""
        b = self.bits
        terms = (f" (name {b['name']:,.0f} · value {b['value']:,.0f} · diversity {b['diversity']:,.0f})"
                 if "name" in b else "")
        return f"{b['total']:,.0f}{terms}, from {self.bits_source}"

    def lines(self) -> list[str]:
        """The plan as ``kcl plan`` prints it."""
        return [f"data: {self.data}", f"bits: {self.bits_words()}",
                f"exposures: {self.exposures:,}: {self.law_note}",
                self.frame().to_string(index=False), *self.notes]


def _upper(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:,.0f}"


def duration(seconds: float) -> str:
    """A wall time in words: seconds, minutes, hours, days or years."""
    for unit, size, limit in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 48 * 3600), ("days", 86400, 730 * 86400)):
        if seconds < limit:
            return f"{seconds / size:,.0f} {unit}" if unit == "s" else f"{seconds / size:,.1f} {unit}"
    return f"{seconds / (365 * 86400):,.1f} years"


def _need(law: Law, bits: float, priced: DataConfig, people: int, train: TrainConfig) -> Need:
    """What ``law`` asks for ``bits``: the model is counted over ``priced``'s used tokens (the data at
    ``PRICED_PEOPLE`` people at most), and its training priced on it and scaled to ``people``."""
    params = bits / law.R
    low = bits / law.high if law.high is not None else None
    high = (bits / law.low if law.low > 0 else math.inf) if law.low is not None else None
    spec, count = smallest_model(params, priced)
    seconds = training_seconds(RunConfig(data=priced, model=spec, train=train), people)
    return Need(law, params, low, high, spec, count, seconds)


def _described(kind: str, bits, knobs: dict) -> tuple[DataConfig, int, dict, str, str]:
    """(the data priced, at ``PRICED_PEOPLE`` people at most; its people; its bits by term; where
    they come from; the data in words) of a checked description."""
    if kind == "bits":
        total = check_bits(bits)
        people = people_for_bits(total)
        per_person = make_dataset(BITS_DATA).max_bits()["total"] / BITS_DATA.n_people
        d = BITS_DATA
        words = (f"{total:,.0f} bits of facts, trained as {people:,} people of bioD(K={d.K},C={d.C},D={d.D},L={d.L},"
                 f"T={d.T}), name pools {'×'.join(map(str, d.pools))}, at {per_person:.1f} bits each (as at "
                 f"N = {d.n_people:,})")
        priced = dataclasses.replace(d, n_people=min(people, PRICED_PEOPLE))
        return priced, people, {"total": total}, "the bits given", words
    data = data_config(kind, **knobs)
    if bits is not None:
        raise ValueError(f"bits applies to data bits; {kind}'s bits come from its knobs")
    counted, source = data_bits(data)
    priced = dataclasses.replace(data, n_people=min(data.n_people, PRICED_PEOPLE))
    return priced, data.n_people, counted, source, f"{data.label()}, name pools {'×'.join(map(str, data.pools))}"


def capacity_plan(kind: str = "bioD", exposures: int = 1000, bits: float | None = None, *,
                  root: str | None = None, **knobs) -> CapacityPlan:
    """The plan for a data description (``data_config``'s knobs, or ``bits`` with kind ``bits``)
    at ``exposures`` per fact; every input is checked before any work (ValueError, one line)."""
    data_config(kind, **knobs)  # the knobs first, then the exposures, then anything is built
    exposures = check_exposures(exposures)
    if kind == "bits":
        check_bits(bits)
    priced, people, counted, source, words = _described(kind, bits, knobs)
    law_exposures, law_note = regime(exposures)
    train, recipe_file = recipe(kind, law_exposures, exposures)
    measured, missing = measured_laws(law_exposures, root)
    needs = tuple(_need(law, counted["total"], priced, people, train)
                  for law in (paper_law(law_exposures), *measured))
    return CapacityPlan(words, counted, source, exposures, law_note, needs,
                        (*missing, *plan_notes(needs, train, recipe_file)))


def plan_notes(needs: tuple[Need, ...], train: TrainConfig, recipe_file: str) -> tuple[str, ...]:
    """What the plan's model and time rest on, in words."""
    measured = [n.law for n in needs if n.law.basis and not n.law.label.startswith("paper")]
    return (*(f"{law.label}: {law.basis}" for law in measured),
            "model: the smallest 2-layer GPT2 (width 8, 16, …, 120, then 64 per head) whose paper count (embedding "
            "rows of the used tokens, tied) reaches the parameters needed: the shape of the book's chapters, whose "
            "peaks the measured laws come from",
            f"training here: one run on this machine's {threads_per_worker(1)} thread(s) by the cost model "
            f"({machine_cost_model(threads_per_worker(1)).basis}), eager, at "
            f"the book's recipe ({recipe_file}: batch {train.batch_size}, {train.packing} packing"
            + (f", windows of {train.window}" if train.packing == "concat" else "")
            + f"), priced at up to {PRICED_PEOPLE:,} people and scaled to N")


# -- the explorer's panel ----------------------------------------------------------------------------
PANEL_KNOBS = {"bioD": ("N", "K", "C", "D", "L", "T", "pools"), "bioS": ("N", "tokenizer", "pools"), "bits": ("bits",)}
PANEL_POOLS = {"400·400·1000 (paper)": (400, 400, 1000), "100·100·100 (reference)": (100, 100, 100)}


class PlannerPanel:
    """The planner as an ipywidgets panel (the explorer notebook): the data kind, its knobs and the
    exposures → ``capacity_plan``'s table, recomputed when a knob moves. Sliders as the explorer's
    (``kcl.book.explorer.ExplorerPanel``): N, T, D and the bits move in powers of ten; N is clipped
    to N0 and D to T^L, as there. ``panel.widget`` is the widget; ``update()`` returns the plan."""

    def __init__(self, kind: str = "bioD", exposures: int = 1000, **defaults):
        import ipywidgets as W

        v = {"N": 1000, "K": 4, "C": 4, "D": 64, "L": 1, "T": 64, "bits": 1e6, **defaults}
        log_slider = lambda knob, desc, low, high: W.FloatLogSlider(
            value=v[knob], base=10, min=math.log10(low), max=math.log10(high), step=0.01, description=desc,
            readout_format=",.0f", continuous_update=False)
        int_slider = lambda knob, desc: W.IntSlider(value=v[knob], min=RANGES[knob][0], max=RANGES[knob][1],
                                                    description=desc, continuous_update=False)
        self.kind = W.ToggleButtons(options=KINDS, value=kind, description="data")
        self.knobs = {
            "N": log_slider("N", "N people", 10, 10 ** 8), "K": int_slider("K", "K attributes"),
            "C": int_slider("C", "C chunks"), "D": log_slider("D", "D diversity", *RANGES["D"]),
            "L": int_slider("L", "L symbols"), "T": log_slider("T", "T alphabet", *RANGES["T"]),
            "pools": W.Dropdown(options=list(PANEL_POOLS), description="N0"),
            "tokenizer": W.Dropdown(options=TOKENIZERS, description="tokenizer"),
            "bits": log_slider("bits", "bits", 10, BITS[1]),
        }
        self.exposures = W.BoundedIntText(value=exposures, min=EXPOSURES[0], max=EXPOSURES[1], description="exposures")
        for w in [*self.knobs.values(), self.exposures]:
            w.style.description_width = "90px"
        self.out = W.HTML()
        for w in [self.kind, self.exposures, *self.knobs.values()]:
            w.observe(lambda _: self.update(), names="value")
        controls = W.VBox([self.kind, self.exposures, *self.knobs.values()], layout=W.Layout(width="430px"))
        self.widget = W.VBox([W.HTML("<b>The capacity planner</b> (<code>kcl plan</code>)"), W.HBox([controls, self.out])])
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def setting(self) -> dict:
        """The current kind's knobs, N clipped to N0 and D to T^L."""
        kind = self.kind.value
        values = {k: w.value for k, w in self.knobs.items() if k in PANEL_KNOBS[kind]}
        if "pools" in values:
            values["pools"] = PANEL_POOLS[values["pools"]]
            values["N"] = min(int(round(values["N"])), math.prod(values["pools"]))
        for knob in ("K", "C", "L", "T"):
            if knob in values:
                values[knob] = int(round(values[knob]))
        if "D" in values:
            values["D"] = min(int(round(values["D"])), values["T"] ** values["L"])
        return values

    def plan(self) -> CapacityPlan:
        """The plan for the knobs as set (ValueError for a setting out of range)."""
        values = self.setting()
        bits = values.pop("bits", None)
        return capacity_plan(self.kind.value, self.exposures.value, bits, **values)

    def update(self) -> CapacityPlan | None:
        """Show which knobs the kind takes and recompute the plan; returns it (None with an error shown)."""
        for knob, w in self.knobs.items():
            w.layout.display = "" if knob in PANEL_KNOBS[self.kind.value] else "none"
        try:
            plan = self.plan()
        except ValueError as err:
            self.out.value = f"<p style='color:#b00'>{html.escape(str(err))}</p>"
            return None
        head = "".join(f"<p>{html.escape(line)}</p>" for line in
                       (f"data: {plan.data}", f"bits: {plan.bits_words()}",
                        f"exposures: {plan.exposures:,}: {plan.law_note}"))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in plan.notes)
        self.out.value = f"{head}{plan.frame().to_html(index=False)}<ul style='font-size:smaller'>{notes}</ul>"
        return plan
