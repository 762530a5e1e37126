"""Synthetic knowledge data sets: bioS, bioS-simple, the bioR proxy, bioD and random strings.

``DataConfig`` names a data set and its knobs; ``make_dataset`` builds it (and checks every knob
first, with an error that names it and its allowed range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from kcl.data.base import GENDER, NAME, OTHER, VALUE, Bios, Dataset
from kcl.data.biod import BioD, RandomStrings
from kcl.data.bios import TEMPLATE_POOLS, TOKENIZERS, Biographies
from kcl.data.junk import JunkPeople
from kcl.people import NamePools, check_count
from kcl.store import KEYED_WHEN_SET, config_dict

DATASETS = ("bioS", "bioS-simple", "bioR-proxy", "bioD", "random")


@dataclass(frozen=True)
class DataConfig:
    """A data set and its knobs. Knobs that a data set does not use are ignored by it."""

    name: str = "bioS"
    n_people: int = 1000
    seed: int = 0
    pools: tuple[int, int, int] = (400, 400, 1000)  # first × middle × last names: N0 is their product
    # bioD(N, K, C, D, L, T) (Definition 2.2)
    K: int = 4
    C: int = 4
    D: int = 64
    L: int = 1
    T: int = 64
    # bioR proxy: M rewrites per person
    rewrites: int = 40
    # bioR proxy: filler sentences per rewrite, at least and at most (keyed only when set, so
    # records made before the knob existed keep their keys)
    fillers: tuple[int, int] = field(default=(1, 3), metadata=KEYED_WHEN_SET)
    # bioR proxy: its sentence templates, bioS's and its own ("bioS+bioR") or bioS's alone ("bioS")
    # (keyed only when set)
    templates: str = field(default="bioS+bioR", metadata=KEYED_WHEN_SET)
    # random strings: symbols per person (alphabet T)
    length: int = 16
    # bioS, bioS-simple, the bioR proxy: word-level tokens ("word") or the packaged byte-level BPE
    # ("bpe", kcl.subword); keyed only when set, so word-level records keep their keys
    tokenizer: str = field(default="word", metadata=KEYED_WHEN_SET)
    # bioD: the attributes' order, drawn at every exposure ("exposure"), once per person ("person")
    # or one for everyone ("fixed"); keyed only when set
    order: str = field(default="exposure", metadata=KEYED_WHEN_SET)
    # bioD: junk people N' beside the useful ones (0: none) and the share of training tokens their
    # biographies make (kcl.data.junk, Results 10-11); keyed only when set
    junk_people: int = field(default=0, metadata=KEYED_WHEN_SET)
    junk_share: float = field(default=0.875, metadata=KEYED_WHEN_SET)
    # bioD: one reserved token before every useful biography (Result 12); keyed only when set
    domain_token: bool = field(default=False, metadata=KEYED_WHEN_SET)

    def __post_init__(self):
        if self.name not in DATASETS:
            raise ValueError(f"unknown data set {self.name!r}; choose one of {', '.join(DATASETS)}")
        if len(self.pools) != 3:
            raise ValueError(f"pools must be three sizes (first, middle, last), got {self.pools!r}")
        name_pools = NamePools(*self.pools)
        check_count("n_people (N)", self.n_people, 1, name_pools.n0)
        if self.name == "bioD":
            for knob in ("K", "C", "L", "T", "D"):
                check_count(knob, getattr(self, knob), 1)
            if self.D > self.T ** self.L:
                raise ValueError(f"D must be in [1, T^L = {self.T ** self.L:,}], got {self.D:,}")
        if self.name == "bioR-proxy":
            check_count("rewrites (M)", self.rewrites, 1)
            if not isinstance(self.fillers, (tuple, list)) or len(self.fillers) != 2:
                raise ValueError(f"fillers must be two counts (at least, at most), got {self.fillers!r}")
            check_count("fillers (at least)", self.fillers[0], 0)
            check_count("fillers (at most)", self.fillers[1], self.fillers[0])
            object.__setattr__(self, "fillers", tuple(self.fillers))  # a list from Python stays hashable
        if self.templates not in TEMPLATE_POOLS:  # checked for every data set, as make_dataset's bios check it
            raise ValueError(f"templates must be one of {', '.join(map(repr, TEMPLATE_POOLS))}, got {self.templates!r}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(map(repr, TOKENIZERS))}, got {self.tokenizer!r}")
        if self.tokenizer != "word" and self.name not in Biographies.KINDS:
            raise ValueError(f"tokenizer {self.tokenizer!r} applies to {', '.join(Biographies.KINDS)}; "
                             f"{self.name} has its own symbols: leave tokenizer at 'word'")
        if self.order not in BioD.ORDERS:
            raise ValueError(f"order must be one of {', '.join(map(repr, BioD.ORDERS))}, got {self.order!r}")
        if self.order != "exposure" and self.name != "bioD":
            raise ValueError(f"order {self.order!r} applies to bioD; leave it at 'exposure' for {self.name}")
        if self.name == "random":
            check_count("length", self.length, 1)
            check_count("T", self.T, 2)
        check_count("junk_people (N')", self.junk_people, 0)
        if not isinstance(self.junk_share, (int, float)) or isinstance(self.junk_share, bool) \
                or not 0 < self.junk_share < 1:
            raise ValueError(f"junk_share must be a fraction in (0, 1), got {self.junk_share!r}")
        if not isinstance(self.domain_token, bool):
            raise ValueError(f"domain_token must be true or false, got {self.domain_token!r}")
        if (self.junk_people or self.domain_token) and self.name != "bioD":
            raise ValueError(f"junk_people and domain_token apply to bioD; leave them at 0 and false for {self.name}")
        if self.junk_people and self.n_people >= name_pools.n0:
            raise ValueError(f"junk people need names the useful people leave free: n_people (N) must be below "
                             f"the name pools' N0 = {name_pools.n0:,} when junk_people is set, got {self.n_people:,}")

    def label(self) -> str:
        """``bioD(N=1000,K=4,C=...)``, ``bioR-proxy(N=4000,M=40)``: the knobs that define the data."""
        return data_label(config_dict(self))


def data_label(data: dict, names_population: bool = False) -> str:
    """A data set's label from its config dict (a record's ``config["data"]``, or ``config_dict``
    of a ``DataConfig``): the knobs that define it, the bioR proxy's fillers and templates only
    where set; with ``names_population``, bioD's population of names N0 (the product of its pools)."""
    n = data["n_people"]
    tokenizer = f",tok={data['tokenizer']}" if data.get("tokenizer") else ""  # KEYED_WHEN_SET, like the others
    if data["name"] == "bioD":
        n0 = f",N0={math.prod(data['pools']):.3g}" if names_population else ""  # pools read only when asked
        order = f",order={data['order']}" if data.get("order") else ""  # KEYED_WHEN_SET, as the two below
        junk = f",junk={data['junk_people']:.3g}x{data.get('junk_share', 0.875):g}" if data.get("junk_people") else ""
        domain = ",domain" if data.get("domain_token") else ""
        return (f"bioD(N={n},K={data['K']},C={data['C']},D={data['D']},L={data['L']},T={data['T']}"
                f"{n0}{order}{junk}{domain})")
    if data["name"] == "bioR-proxy":
        fillers = data.get("fillers")  # left out of dicts at its default, 1-3 (KEYED_WHEN_SET)
        fillers = f",fillers={fillers[0]}-{fillers[1]}" if fillers else ""
        templates = f",templates={data['templates']}" if data.get("templates") else ""  # likewise
        return f"bioR-proxy(N={n},M={data['rewrites']}{fillers}{templates}{tokenizer})"
    if data["name"] == "random":
        return f"random(N={n},length={data['length']},T={data['T']})"
    return f"{data['name']}(N={n}{tokenizer})"


@lru_cache(maxsize=8)
def make_dataset(config: DataConfig) -> Dataset:
    """Build (and cache) the data set of a config; the same config always gives the same data."""
    pools = NamePools(*config.pools)
    if config.name == "bioD":
        dataset = BioD(config.n_people, config.K, config.C, config.D, config.L, config.T, config.seed, pools,
                       order=config.order, domain_token=config.domain_token)
        if config.junk_people:
            dataset.junk = JunkPeople(dataset, config.junk_people, config.junk_share, seed=config.seed)
        return dataset
    if config.name == "random":
        return RandomStrings(config.n_people, config.length, config.T, config.seed, pools)
    return Biographies(config.name, config.n_people, config.seed, pools, rewrites=config.rewrites,
                       fillers=tuple(config.fillers), templates=config.templates, tokenizer=config.tokenizer)


__all__ = ["DATASETS", "DataConfig", "data_label", "make_dataset", "Dataset", "Bios", "BioD", "RandomStrings",
           "Biographies", "OTHER", "NAME", "VALUE", "GENDER"]
