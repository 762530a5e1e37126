"""The book's chapters: for each, its sweep file per profile, the claim it checks, the threshold of
its verdict and the reruns that follow its main sweep (seeds, rates beyond an edge). ``kcl.book.chapters``
runs and reads them; ``kcl chapter NAME`` takes a name of ``CHAPTERS``.

A new chapter declares itself in its sweep file, under ``chapter:`` (``chapters_in_sweep_files``):

    chapter:
      name: result5
      title: "Result 5: ..."
      claim: "..."
      threshold: 2.0
      smoke: {data.n_people: 40, ...}      # dotted overrides of the cpu sweep
      smoke_grid: {train.lr: [0.01, 0.02]}
      seeds: [1, 2]

Its gpu sweep is ``sweeps/gpu/<the same file name>`` unless ``gpu:`` names another. The chapters
below were written before sweep files could declare them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kcl.paths import repo_root


@dataclass(frozen=True)
class Chapter:
    """A chapter: its sweep file per profile, the claim it checks and the threshold of its verdict."""

    title: str
    sweeps: dict  # profile ("cpu", "gpu") → sweep file, relative to the repository root
    claim: str
    threshold: float | None = None  # bits per parameter (paper count) the claim asks for; None: a diagnostic
    smoke: dict = field(default_factory=dict)  # dotted overrides that shrink the cpu sweep (smoke profile)
    smoke_grid: dict = field(default_factory=dict)  # the smoke profile's grid (default: none)
    pilot: dict = field(default_factory=dict)  # profile → learning-rate pilot sweep (kcl.book.stats.lr_grid_from_pilot)
    seeds: tuple[int, ...] = ()  # reruns of the peak point at these seeds (data and training seed)
    seed_group: str | None = None  # rerun each group's peak instead (a dotted field, e.g. data.name)
    seed_all_rates: bool = False  # also rerun the peak at every seed × every rate (law.seed_rate_configs)
    peak_at_capacity: bool = False  # the peak among each model's most-bits N only (law.capacity_runs): a capacity sweep
    edge_rates: bool = False  # one rate beyond the grid where a setting's peak is at its edge (law.edge_rate_configs)
    edge_group: str | None = None  # also one rate beyond where a group's peak is at its edge, the group's moved peak at the seeds (results 5-7's addendum)
    superseded_by: str | None = None  # a later protocol's chapter: this one keeps its records and trains no more
    regime: str | None = None  # a recipe pilot's chapter: its regime sets the batch, init and rates (kcl.book.regime)
    recipe_edges: bool = False  # a recipe pilot: one rate beyond an edge-best recipe, every seed (kcl.book.regime)


# The smoke profile of the law chapters: 40 people, two tiny models, two rates, seconds in all.
_SMOKE_LAW = {"data.n_people": 40, "train.exposures": 10, "train.batch_size": 8, "bootstrap": 50}
_SMOKE_GRID = {"model.n_layer, model.n_head, model.d_model": [[1, 2, 16], [2, 2, 16]],
               "train.lr": [0.01, 0.02]}
# The smoke profile of the bioS chapters: 30 people, 4 exposures in 128-token windows.
_SMOKE_BIOS = {"data.n_people": 30, "train.exposures": 4, "train.batch_size": 4, "train.window": 128, "bootstrap": 50}
_SMOKE_BIOS_RATES = {"train.lr": [0.005, 0.01, 0.02]}

def _diagnostic(name: str, subject: str, question: str) -> Chapter:
    """A diagnostic (book/protocol.md, "Diagnostics"): no claim and no threshold; its sweep files
    are ``sweeps/diag-NAME.yaml`` and ``sweeps/gpu/diag-NAME.yaml``; bioS's smoke profile."""
    return Chapter(title=f"Diagnostic: {subject}",
                   sweeps={"cpu": f"sweeps/diag-{name}.yaml", "gpu": f"sweeps/gpu/diag-{name}.yaml"},
                   claim=f"none (a diagnostic, book/protocol.md): {question}", smoke=_SMOKE_BIOS)


def _result2(title: str, cpu: str, gpu: str = "sweeps/gpu/result2.yaml", **more) -> Chapter:
    """A protocol of result 2: its three data types, each one's peak rerun at seeds 1 and 2, one
    rate beyond an edge; bioS's smoke profile over the three types."""
    return Chapter(title=title, sweeps={"cpu": cpu, "gpu": gpu},
                   claim="bioS-simple and bioR also reach about 2 bits per parameter, slightly below bioS (Result 2)",
                   threshold=2.0, seeds=(1, 2), seed_group="data.name", edge_rates=True, smoke=_SMOKE_BIOS,
                   smoke_grid={"data.name": ["bioS", "bioS-simple", "bioR-proxy"], **_SMOKE_BIOS_RATES}, **more)


CHAPTERS = {
    "reference": Chapter(
        title="Calibration: the reference benchmark and the controls",
        sweeps={"cpu": "sweeps/reference.yaml", "gpu": "sweeps/reference.yaml"},
        claim=("a 2-layer GPT2 (d = 32) trained for 1000 exposures on bioD(N=1000, K=4, C=4, D=T=64, L=1) "
               "stores at least 1.8 bits per parameter (issue 2's target; the paper's Result 3 reports "
               "a peak of 2 bits/param on bioD)"),
        threshold=1.8,
        smoke={"data.n_people": 60, "train.exposures": 20, "train.batch_size": 32, "bootstrap": 100},
    ),
    "result1": Chapter(
        title="Result 1: two bits per parameter at 1000 exposures",
        sweeps={"cpu": "sweeps/result1.yaml", "gpu": "sweeps/gpu/result1.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-1000.yaml", "gpu": "sweeps/gpu/pilot-lr-1000.yaml"},
        claim="after 1000 exposures the peak capacity ratio is at least 2 bits per parameter (Result 1)",
        threshold=2.0, seeds=(1, 2), seed_all_rates=True, smoke=_SMOKE_LAW, smoke_grid=_SMOKE_GRID,
    ),
    "result2": _result2(
        "Result 2, protocol v2: bioS, bioS-simple and the bioR proxy", "sweeps/result2-v2.yaml",
        # protocol v2 (book/protocol.md): stopped after its bioS and bioS-simple main runs
        pilot={"cpu": "sweeps/pilot-lr-bios.yaml", "gpu": "sweeps/gpu/pilot-lr-1000.yaml"}, superseded_by="result2-v3"),
    # protocol v3: v2 with batch 8; its rates are listed in the sweep file
    "result2-v3": _result2("Result 2, protocol v3: bioS, bioS-simple and the bioR proxy in at least 50K steps",
                           "sweeps/result2-v3.yaml"),
    "result2-v4": _result2("Result 2, protocol v4: bioS, bioS-simple and the bioR proxy with subword tokens",
                           "sweeps/result2-v4.yaml", gpu="sweeps/gpu/result2-v4.yaml"),
    "result1-bios": Chapter(
        title="Result 1(b) on bioS: result 2's bioS point below the capacity boundary",
        # an addendum (book/protocol.md): N = 1000 and 2000 so that R^max ≤ 1.8
        sweeps={"cpu": "sweeps/result1-bios.yaml", "gpu": "sweeps/gpu/result1-bios.yaml"},
        claim="a model with R^max ≤ 1.8 is near-perfect, R ≈ R^max (Result 1(b)), on bioS",
        edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result3": Chapter(
        title="Result 3: the bioD knobs K, C, D, L, T",
        sweeps={"cpu": "sweeps/result3.yaml", "gpu": "sweeps/gpu/result3.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-1000.yaml", "gpu": "sweeps/gpu/pilot-lr-biod.yaml"},
        claim="on bioD, whatever K, C, D, L and T, GPT2 reaches a peak capacity ratio of at least 2 (Result 3)",
        threshold=2.0, edge_rates=True, smoke={**_SMOKE_LAW, "train.batch_size": 4},
        smoke_grid={"data.K, data.C, data.D, data.L, data.T, data.n_people":
                    [[1, 4, 64, 1, 64, 40], [4, 4, 64, 2, 64, 20]],
                    "model.n_layer, model.n_head, model.d_model": [[1, 2, 16]], "train.lr": [0.005, 0.01, 0.02]},
    ),
    "result4-bios": Chapter(
        title="Result 4 on bioS: result 2's bioS point at 100 exposures",
        sweeps={"cpu": "sweeps/result4-bios.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result4-bios-v2": Chapter(
        title="Result 4 on bioS, protocol v2: result 2's bioS point (d = 32) at 100 exposures",
        sweeps={"cpu": "sweeps/result4-bios-v2.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke=_SMOKE_BIOS, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "result4-bios-v3": Chapter(
        title="Result 4 on bioS, protocol v3: result 2's bioS point at 100 exposures in about 45K steps",
        # protocol v3: v2 in batch 1 (Remark A.2), beside v2
        sweeps={"cpu": "sweeps/result4-bios-v3.yaml", "gpu": "sweeps/gpu/result4-bios.yaml"},
        claim="after 100 exposures bioS is stored at about 1 bit per parameter or more (Result 4)",
        threshold=1.0, edge_rates=True, smoke={**_SMOKE_BIOS, "train.batch_size": 1}, smoke_grid=_SMOKE_BIOS_RATES,
    ),
    "bios-position": _diagnostic(
        "position", "result 4's best bioS point, retrained, with its bits by sentence position",
        "the retrained point must come back to its committed R"),
    "bios-pools": _diagnostic(
        "pools", "result 4's best bioS point with the paper's name pools (400 × 400 × 1000)",
        "does bioS store more when fewer people share a name token"),
    "bios-simple": _diagnostic(
        "simple", "result 4's best bioS point on bioS-simple (one fixed text per person)",
        "does a fixed text tie attributes to names sooner"),
    "bios-steps": _diagnostic(
        "steps", "result 1(b)'s bioS point at N = 2000 in smaller batches (2× and 6× the steps)",
        "do more steps at the same exposures store more bits"),
    "bior-fillers": _diagnostic(
        "fillers", "bioS and the bioR proxy with and without its filler sentences at N = 1000",
        "do the filler sentences cost the bioR proxy its bits"),
    "bior-templates": _diagnostic(
        "templates", "the bioR proxy without filler sentences on bioS's template pool alone at N = 1000",
        "of the gap left without fillers, how much is the proxy's larger template pool"),
    "compile": Chapter(
        title="Diagnostic: the reference run trained through torch.compile",
        sweeps={"cpu": "sweeps/diag-compile.yaml", "gpu": "sweeps/gpu/diag-compile.yaml"},
        claim="none (a diagnostic, book/protocol.md): does torch.compile change the bits a run stores",
        smoke=_SMOKE_LAW),
    "compile-eager": Chapter(
        title="Diagnostic: the reference run trained eagerly, beside the compiled one",
        sweeps={"cpu": "sweeps/diag-compile-eager.yaml", "gpu": "sweeps/gpu/diag-compile-eager.yaml"},
        claim="none (a diagnostic, book/protocol.md): the eager half of the compile diagnostic",
        smoke=_SMOKE_LAW),
    "result4-v2": Chapter(
        title="Result 4, protocol v2: 100 exposures in 25,000 steps",
        sweeps={"cpu": "sweeps/result4-v2.yaml", "gpu": "sweeps/gpu/result4.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-100-v2.yaml", "gpu": "sweeps/gpu/pilot-lr-100.yaml"},
        claim="after 100 exposures the peak capacity ratio is at least 1 bit per parameter (Result 4)",
        threshold=1.0, seeds=(1, 2), smoke={**_SMOKE_LAW, "train.exposures": 4, "train.batch_size": 2},
        smoke_grid=_SMOKE_GRID,
    ),
    "result4": Chapter(
        title="Result 4: one bit per parameter at 100 exposures",
        sweeps={"cpu": "sweeps/result4.yaml", "gpu": "sweeps/gpu/result4.yaml"},
        pilot={"cpu": "sweeps/pilot-lr-100.yaml", "gpu": "sweeps/gpu/pilot-lr-100.yaml"},
        claim="after 100 exposures the peak capacity ratio is at least 1 bit per parameter (Result 4)",
        threshold=1.0, seeds=(1, 2), smoke={**_SMOKE_LAW, "train.exposures": 4}, smoke_grid=_SMOKE_GRID,
    ),
}


def chapters_in_sweep_files(sweeps: Path) -> dict[str, Chapter]:
    """Every chapter declared under ``chapter:`` in a sweep file of ``sweeps`` (the folder), by name;
    a ValueError names the file of a malformed declaration."""
    known = {f.name for f in dataclasses.fields(Chapter)} - {"sweeps"}
    out: dict[str, Chapter] = {}
    for path in sorted(Path(sweeps).glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        meta = spec.get("chapter") if isinstance(spec, dict) else None
        if meta is None:
            continue
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise ValueError(f"{path}: 'chapter' must be a mapping with a name")
        meta = dict(meta)
        name, gpu = meta.pop("name"), meta.pop("gpu", f"sweeps/gpu/{path.name}")
        unknown = set(meta) - known
        if unknown:
            raise ValueError(f"{path}: unknown chapter field(s) {sorted(unknown)}; allowed: {sorted(known)}")
        if name in out:
            raise ValueError(f"{path}: chapter {name!r} is declared twice")
        meta["seeds"] = tuple(meta.get("seeds", ()))
        out[name] = Chapter(sweeps={"cpu": f"sweeps/{path.name}", "gpu": gpu}, **meta)
    return out


def _with_sweep_file_chapters(chapters: dict[str, Chapter]) -> dict[str, Chapter]:
    try:
        declared = chapters_in_sweep_files(repo_root() / "sweeps")
    except FileNotFoundError:  # an installed copy without a checkout: the built-in chapters only
        return chapters
    twice = set(declared) & set(chapters)
    if twice:
        raise ValueError(f"chapters declared both in chapter_list.py and in a sweep file: {sorted(twice)}")
    return {**chapters, **declared}


CHAPTERS = _with_sweep_file_chapters(CHAPTERS)


def short_title(name: str) -> str:
    """A chapter as prose names it: its title before the colon ("Result 2, protocol v3"), or its whole
    title where another chapter's begins the same ("Diagnostic: …"); its key (``result2-v3``) is for
    commands."""
    title = CHAPTERS[name].title
    prefix = title.split(":")[0]
    shared = sum(other.title.split(":")[0] == prefix for other in CHAPTERS.values()) > 1
    return title if shared else prefix


@dataclass(frozen=True)
class Versions:
    """A chapter's protocol versions, oldest first, each a ``(label, protocol)`` pair where the
    protocol is a name of ``CHAPTERS`` (its sweep files and its records' folder). One version
    decides the chapter's verdicts; the others stay readable as sections of the same page, their
    records kept (book/protocol.md says, for each, why it was written and what it changed)."""

    chapter: str
    protocols: tuple[tuple[str, str], ...]
    deciding: str

    def __post_init__(self):
        if self.deciding not in self.labels:
            raise ValueError(f"chapter {self.chapter!r}: deciding version {self.deciding!r} is not one of {self.labels}")

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.protocols]

    def protocol(self, label: str | None = None) -> str:
        """The protocol of a version (the deciding one by default); a ValueError names the labels."""
        label = label or self.deciding
        if label not in self.labels:
            raise ValueError(f"chapter {self.chapter!r} has no version {label!r}; its versions: {', '.join(self.labels)}")
        return dict(self.protocols)[label]

    def others(self) -> list[tuple[str, str]]:
        """The versions that do not decide, newest first: the order of their sections on the page."""
        return [(label, name) for label, name in reversed(self.protocols) if label != self.deciding]


# Chapters with more than one protocol. A protocol named alone (``kcl chapter result2-v3``) is
# still a chapter of its own name; the chapter's name (``kcl chapter result2``) means its deciding
# version, and ``--version`` names another.
VERSIONS = {v.chapter: v for v in (
    Versions("result2", (("v2", "result2"), ("v3", "result2-v3"), ("v4", "result2-v4")), deciding="v4"),
    Versions("result4", (("v1", "result4"), ("v2", "result4-v2")), deciding="v1"),
    Versions("result4-bios", (("v1", "result4-bios"), ("v2", "result4-bios-v2"), ("v3", "result4-bios-v3"),
                              ("v4", "result4-bios-v4")), deciding="v4"),
)}


def versions_of(protocol: str) -> tuple[Versions, str] | None:
    """The chapter a protocol is a version of, with its label; None for a chapter of one protocol."""
    for v in VERSIONS.values():
        for label, name in v.protocols:
            if name == protocol:
                return v, label
    return None


def resolve(name: str, version: str | None = None) -> str:
    """The protocol ``kcl chapter NAME [--version V]`` means: a chapter with versions gives its
    deciding one, or version V; any other name of ``CHAPTERS`` is itself (a ``--version`` then
    fails, naming the chapter's versions or saying it has one)."""
    if name in VERSIONS:
        return VERSIONS[name].protocol(version)
    if name not in CHAPTERS:
        raise ValueError(f"unknown chapter {name!r}; choose one of {', '.join(CHAPTERS)}")
    if version is not None:
        found = versions_of(name)
        if found is None:
            raise ValueError(f"chapter {name!r} has one protocol: --version applies to {', '.join(VERSIONS)}")
        return found[0].protocol(version)
    return name


def command_name(protocol: str) -> str:
    """How ``kcl chapter`` names a protocol: a deciding version by its chapter (``result2``), an
    older version whose name is its chapter's with ``--version`` (``result2 --version v2``), any
    other protocol by its own name (``result2-v3``)."""
    found = versions_of(protocol)
    if found is None:
        return protocol
    versions, label = found
    if label == versions.deciding:
        return versions.chapter
    return f"{protocol} --version {label}" if protocol == versions.chapter else protocol


def _check_versions() -> None:
    for v in VERSIONS.values():
        for label, name in v.protocols:
            if name not in CHAPTERS:
                raise ValueError(f"chapter {v.chapter!r}, version {label}: no protocol {name!r} in CHAPTERS")


_check_versions()
