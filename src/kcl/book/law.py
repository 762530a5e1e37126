"""The capacity law of results 1, 2 and 4: points, peaks, seeds and the claims checked (paper §5–6).

A *point* is one data set and model at one number of exposures, trained at several learning
rates; its figure is the best of them (``kcl.book.stats.best_of_lr``). The *peak* is the highest R over
every point of a figure (the envelope's top, not a per-N maximum: fact sheet §6, Result 1 note).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from kcl.book.catalog import pools_label
from kcl.records import data_name, model_label, model_width
from kcl.book.knobs import RESULT1_CEILING, moved_knobs
from kcl.book.stats import (WIDENED_COLUMNS, Judgement, _without, beside_widened, best_of_lr, judge, judge_ratio, peak,
                            r_interval, rate_at_edge, seed_interval)
from kcl.config import config_from_dict
from kcl.record import Record

RETRAIN_TOLERANCE = 0.03  # a point retrained from its config must come back this close (relative R)
NEAR_PERFECT_R_MAX = 1.8  # Result 1(b): models with R^max ≤ 1.8 are near-perfect (R ≈ R^max)


def chart_data_label(config: dict) -> str:
    """A data set's short name for charts: ``bioD N=1,000``; a bioD knob moved from the default
    is named too (``bioD K=16 N=270``), so result 3's settings stay apart."""
    d = config["data"]
    moved = [f"{k}={d[k]}" for k in moved_knobs(d)] if d["name"] == "bioD" else []
    return " ".join([data_name(d), *moved, f"N={d['n_people']:,}"])


def points_frame(records: list[Record]) -> pd.DataFrame:
    """One row per point (best learning rate), with both parameter counts and the interval."""
    rows = []
    for record in best_of_lr(records):
        data, model, train, r = record.data, record.model, record.train, record.result
        low, high = r_interval(r)
        rows.append({
            "data": chart_data_label(record.config), "N": data["n_people"], "model": model_label(model),
            "layers": model["n_layer"], "d": model_width(model),
            "exposures": train["exposures"], "seed": train["seed"],
            "name_pools": pools_label(data),
            "used_tokens": r.params.get("used_tokens"),
            "P": r.params.total, "P_non_embedding": r.params.non_embedding,
            "bits": r.bits, "bits_name": r.get("bits_name"), "bits_value": r.get("bits_value"),
            "max_bits": r.max_bits, "R": r.R, "R_low": low, "R_high": high,
            "R_max": r.R_max, "R_non_embedding": r.R_non_embedding,
            "R_over_R_max": r.R / r.R_max, "accuracy": r.accuracy_mean,
            "best_lr": train["lr"], "best_lr_at_edge": rate_at_edge(record),
            "lr_tried": ", ".join(f"{lr:g}: {R:.3f}" for lr, R in record.lr_tried),
            "minutes": r.train.wall_seconds / 60, "key": record.key,
        })
    return pd.DataFrame(rows)


def lr_frame(records: list[Record]) -> pd.DataFrame:
    """Every run of a sweep: the learning-rate view (point, rate, R)."""
    rows = []
    for record in records:
        rows.append({"data": chart_data_label(record.config), "model": model_label(record.model),
                     "P": record.result.params.total, "lr": record.train["lr"], "R": record.result.R,
                     "seed": record.train["seed"]})
    return pd.DataFrame(rows)


def widened_points(main: list[Record], extra: list[Record]) -> pd.DataFrame:
    """The points that ``extra`` (runs at rates beyond the grid) touched: each one's figure from
    ``main`` alone beside its figure with those runs added (``points_frame`` of both)."""
    keys = ["data", "N", "model"]
    touched = set(points_frame(extra)[keys].itertuples(index=False, name=None)) if extra else set()
    return beside_widened(points_frame(main), points_frame(main + extra), keys, touched, WIDENED_COLUMNS)


def headline(main: list[Record], seeds: list[Record]) -> dict:
    """The peak point of ``main`` and, with its reruns at other seeds, the mean over seeds and a
    Student-t interval; with no reruns, the peak's own bootstrap interval."""
    top = peak(best_of_lr(main))
    r = top.result
    values = [r.R] + [s.result.R for s in seeds]
    non_embedding = float(np.mean([r.R_non_embedding] + [s.result.R_non_embedding for s in seeds]))
    if len(values) >= 2:
        mean, low, high = seed_interval(values)
        basis = f"mean over {len(values)} seeds, 95% t-interval"
    else:
        mean, (low, high) = r.R, r_interval(r)
        basis = "seed 0, 95% bootstrap interval over people"
    return {"record": top, "R": mean, "low": low, "high": high, "values": values, "basis": basis,
            "non_embedding": non_embedding,  # its mean over the same seeds
            "model": model_label(top.model), "data": chart_data_label(top.config)}


def grouped(records: list[Record], key) -> dict:
    """Records by ``key(record)``, in the order each key first appears."""
    out: dict = {}
    for record in records:
        out.setdefault(key(record), []).append(record)
    return out


def headlines_by(records: dict, key) -> dict:
    """``headline`` of each group (``key(record)``) of ``records["main"]``, with the reruns of that
    group's peak at other seeds among ``records["seeds"]`` (a rerun of another config, such as the
    peak before a rate beyond an edge moved it, is not the peak's)."""
    return {name: headline(main, _at_peak(peak(best_of_lr(main)), records["seeds"]))
            for name, main in grouped(records["main"], key).items()}


def heads_beside(records: dict | None, heads_of, base) -> tuple[dict, dict] | None:
    """``heads_of(records)`` and its entry ``base`` (the figure a page sets the others beside), or
    None without records or without that entry."""
    if records is None:
        return None
    heads = heads_of(records)
    return (heads, heads[base]) if base in heads else None


def headline_values(top: dict, prefix: str = "peak") -> dict[str, str]:
    """The figures of a ``headline`` a page's text quotes (myst-nb glue names ``PREFIX_R``,
    ``PREFIX_interval``, ``PREFIX_model``, ``PREFIX_basis``)."""
    return {f"{prefix}_R": f"{top['R']:.2f}", f"{prefix}_interval": f"[{top['low']:.2f}, {top['high']:.2f}]",
            f"{prefix}_model": f"{top['model']} on {top['data']}", f"{prefix}_basis": top["basis"]}


def _field(config: dict, dotted: str):
    """A config dict's field; None for a field keyed only when set (``KEYED_WHEN_SET``) at its default,
    which a record's config leaves out."""
    part, _, name = dotted.partition(".")
    return config[part].get(name) if name else config[part]


def group_key(config: dict, group_by: str | None) -> tuple:
    """The values of ``group_by``'s fields in a config dict: one dotted field, or several separated
    by commas (``"model.arch, model.options"``); () without ``group_by``."""
    if not group_by:
        return ()
    return tuple(json.dumps(_field(config, f.strip()), sort_keys=True) for f in group_by.split(","))


def capacity_runs(records: list[Record]) -> list[Record]:
    """The runs, every rate, of each model size at the N where it stores the most bits (each N at
    its best rate): a capacity sweep's candidates for its peak, so that the peak is the largest
    capacity per parameter (book/protocol.md, "Random strings"), not the most bits per parameter at
    any N (the parameter count grows a little with N as more name tokens occur)."""
    most: dict = {}
    for best in best_of_lr(records):
        size = _without(best.config, "data.n_people", "train.batch_size", "train.lr")  # the model and seeds
        if size not in most or best.result.bits > most[size].result.bits:
            most[size] = best
    chosen = {_without(best.config, "train.lr") for best in most.values()}
    return [r for r in records if _without(r.config, "train.lr") in chosen]


def seed_configs(main_records: list[Record], seeds: tuple[int, ...], group_by: str | None = None) -> list:
    """The reruns of the peak point (its config at its best learning rate) with data and training
    seed s; with ``group_by`` (a dotted config field such as ``data.name``), of each group's peak."""
    from dataclasses import replace


    if not seeds or not main_records:
        return []
    best = best_of_lr(main_records)
    groups: dict = {}
    for record in best:
        groups.setdefault(group_key(record.config, group_by), []).append(record)
    out = []
    for members in groups.values():
        top = config_from_dict(peak(members).config)
        out += [replace(top, data=replace(top.data, seed=s), train=replace(top.train, seed=s)) for s in seeds]
    return out


def seed_rate_configs(main_records: list[Record], seeds: tuple[int, ...], group_by: str | None = None) -> list:
    """The peak point rerun at every seed and at every learning rate the main sweep tried for it
    (the seed-rates addendum, ``addenda.SEED_RATES``: each seed takes its own best rate, as seed 0 did);
    with ``group_by`` (as ``seed_configs``), each group's peak."""
    from dataclasses import replace

    if not seeds or not main_records:
        return []
    groups: dict = {}
    for record in best_of_lr(main_records):
        groups.setdefault(group_key(record.config, group_by), []).append(record)
    out = []
    for members in groups.values():
        top = peak(members)
        for base in seed_configs([top], seeds):
            out += [replace(base, train=replace(base.train, lr=lr)) for lr, _ in top.lr_tried]
    return out


def edge_rate_configs(main_records: list[Record], group_by: str | None = None) -> list:
    """The edge-rates addendum (``addenda.EDGE_RATES``, result 3): a data setting whose peak (over its models, each at
    its best rate) sits at the lowest rate tried is rerun, every model of it, once at half that
    rate; at the highest, once at twice it. Settings whose peak rate lies inside the grid get none.
    ``group_by`` (dotted fields, as ``group_key``) groups by those fields instead of the data
    setting: the results 5-7 addendum, where each architecture's peak decides its own rate beyond."""
    from dataclasses import replace


    settings: dict = {}
    for record in best_of_lr(main_records):
        key = group_key(record.config, group_by) if group_by else _without(record.config, "model", "train.lr")
        settings.setdefault(key, []).append(record)
    out = []
    for members in settings.values():
        top = peak(members)
        edge = rate_at_edge(top)
        if not edge:
            continue
        rates = [lr for lr, _ in top.lr_tried]
        beyond = min(rates) / 2 if edge == "lowest" else max(rates) * 2
        for member in members:
            config = config_from_dict(member.config)
            out.append(replace(config, train=replace(config.train, lr=beyond)))
    return out


def moved_peak_seed_configs(main: list[Record], beyond: list[Record], seeds: tuple[int, ...],
                            group_by: str) -> list:
    """The results 5-7 addendum's seed reruns: for each group (``group_key`` of ``group_by``) whose
    peak moves once the rates beyond (``beyond``) join its main runs, the new peak at ``seeds`` at
    its best rate; none where the peak stays (the committed seed reruns are its)."""
    def key(record: Record) -> tuple:
        return group_key(record.config, group_by)

    committed = grouped(main, key)
    out = []
    for name, members in grouped(main + beyond, key).items():
        widened = peak(best_of_lr(members))
        if widened.key != peak(best_of_lr(committed[name])).key:
            out += seed_configs([widened], seeds)
    return out


def _at_peak(top: Record, reruns: list[Record]) -> list[Record]:
    """The reruns of ``top``'s config at other seeds (same rate, everything else equal)."""
    point = _without(top.config, "data.seed", "train.seed")
    return [r for r in reruns if r.key != top.key and _without(r.config, "data.seed", "train.seed") == point]


def widened_headlines(records: dict, key) -> dict:
    """``headlines_by`` with the results 5-7 addendum's runs: each group's peak over its main runs
    and its rates beyond (``records["beyond"]``), its figure the mean over that peak's seed reruns
    (the committed ones where the peak stayed, ``records["beyond_seeds"]`` where it moved)."""
    return headlines_by({"main": records["main"] + records.get("beyond", []),
                         "seeds": records["seeds"] + records.get("beyond_seeds", [])}, key)


_SEEDS_AND_RATE = ("data.seed", "train.seed", "train.lr")  # what the reruns of one point vary


def headline_per_seed(main: list[Record], seed_runs: list[Record]) -> dict:
    """The peak point's figure per seed, each seed at its own best learning rate (seed 0: the main
    sweep's), the mean over seeds and a Student-t interval (``headline`` keeps seed 0's rate)."""
    top = peak(best_of_lr(main))
    point = _without(top.config, *_SEEDS_AND_RATE)
    same_point = [r for r in seed_runs if _without(r.config, *_SEEDS_AND_RATE) == point]
    best: dict[int, Record] = {top.train["seed"]: top}  # each seed's best run
    for record in same_point:
        seed = record.train["seed"]
        if seed not in best or record.result.R > best[seed].result.R:
            best[seed] = record
    values = [best[s].result.R for s in sorted(best)]
    if len(values) < 2:
        raise ValueError("headline_per_seed needs reruns of the peak at another seed")
    mean, low, high = seed_interval(values)
    return {"record": top, "R": mean, "low": low, "high": high, "values": values,
            "rates": [best[s].train["lr"] for s in sorted(best)], "seeds": sorted(best),
            "non_embedding": float(np.mean([best[s].result.R_non_embedding for s in sorted(best)])),
            "basis": f"mean over {len(values)} seeds, each at its best of {len(top.lr_tried)} rates, 95% t-interval",
            "model": model_label(top.model), "data": chart_data_label(top.config)}


def near_perfect(points: pd.DataFrame) -> pd.DataFrame:
    """The points of Result 1(b): R^max ≤ 1.8."""
    return points[points["R_max"] <= NEAR_PERFECT_R_MAX]


def claims_result1(main: list[Record], seeds: list[Record]) -> list[Judgement]:
    """Result 1 (a) peak R ≥ 2, (c) every R ≤ 2.3, (b) R ≈ R^max where R^max ≤ 1.8."""
    h = headline(main, seeds)
    points = points_frame(main)
    top = points.loc[points["R"].idxmax()]
    out = [judge("peak R(F) at 1000 exposures", 2.0, h["R"], h["low"], h["high"], "at_least", h["non_embedding"]),
           judge("largest R(F) of any model of this sweep (result 3's settings: on its page)", RESULT1_CEILING,
                 top["R"], top["R_low"], top["R_high"], "at_most", top["R_non_embedding"])]
    below = judge_near_perfect(points)
    return out + ([below] if below else [])


def judge_near_perfect(points: pd.DataFrame, what: str = "") -> Judgement | None:
    """Result 1(b) on the points with R^max ≤ 1.8: R / R^max ≈ 1, judged on the lowest of them
    (its bootstrap interval divided by R^max); None when no point lies below the boundary.
    ``what`` names the data in the claim (e.g. "bioS")."""
    small = near_perfect(points)
    if not len(small):
        return None
    worst = small.loc[small["R_over_R_max"].idxmin()]
    return judge(f"{what + ': ' if what else ''}R / R^max where R^max ≤ {NEAR_PERFECT_R_MAX} (the lowest R / R^max: "
                 f"{worst['model']}, {worst['data']})", 1.0, worst["R_over_R_max"], worst["R_low"] / worst["R_max"],
                 worst["R_high"] / worst["R_max"], "about")


def claims_result4(main100: list[Record], seeds100: list[Record], main1000: list[Record],
                   seeds1000: list[Record]) -> list[Judgement]:
    """Result 4: peak R ≥ 1 at 100 exposures; the 1000-exposure peak at most 2× the 100 one."""
    h100, h1000 = headline(main100, seeds100), headline(main1000, seeds1000)
    return [judge("peak R(F) at 100 exposures", 1.0, h100["R"], h100["low"], h100["high"], "at_least",
                  h100["non_embedding"]),
            judge_ratio("peak at 1000 exposures / peak at 100 exposures", 2.0,
                        (h1000["R"], h1000["low"], h1000["high"]), (h100["R"], h100["low"], h100["high"]))]


def ratio_to_addendum(own1000: dict, h100: dict) -> Judgement:
    """Result 4's ratio (≤ 2) against result 1's addendum figure, each seed at its own best rate
    (``headline_per_seed``), rather than the committed one; ``h100`` is a ``headline``."""
    return judge_ratio("peak at 1000 exposures (result 1's addendum) / peak at 100 exposures", 2.0,
                       (own1000["R"], own1000["low"], own1000["high"]), (h100["R"], h100["low"], h100["high"]))


# -- result 2: data types side by side ------------------------------------------------------------
def by_data_type(main: list[Record], seeds: list[Record]) -> dict[str, dict]:
    """``law.headline`` per data set name (bioS, bioS-simple, bioR-proxy), in the sweep's order."""
    names = list(dict.fromkeys(r.data["name"] for r in main))
    return {name: headline([r for r in main if r.data["name"] == name],
                           [s for s in seeds if s.data["name"] == name]) for name in names}


#: the claims ``claims_result2`` judges, in words (what a page holding them back says it waits to judge)
RESULT2_CLAIMS = "bioS ≥ 2; bioS-simple and the bioR proxy ≈ bioS"


def claims_result2(main: list[Record], seeds: list[Record]) -> list[Judgement]:
    """Result 2 (``RESULT2_CLAIMS``): bioS reaches ≥ 2; bioS-simple and bioR(-proxy) reach about
    bioS's figure."""
    heads = by_data_type(main, seeds)
    out = []
    if "bioS" in heads:
        h = heads["bioS"]
        out.append(judge("bioS: R(F) at 1000 exposures", 2.0, h["R"], h["low"], h["high"], "at_least",
                         h["non_embedding"]))
        for name, other in heads.items():
            if name != "bioS":
                out.append(judge(f"{name}: R(F) about bioS's ({h['R']:.3f})", h["R"], other["R"], other["low"],
                                 other["high"], "about", other["non_embedding"], source="our bioS"))
    return out


# -- bioS in results 1 and 4 ----------------------------------------------------------------------
def judge_bios_1000(bios_head: dict) -> Judgement:
    """Result 1 on bioS: the bioS point of result 2 (mean over seeds) ≥ 2 bits per parameter."""
    return judge(f"bioS ({bios_head['model']}, {bios_head['data']}): R(F) at 1000 exposures", 2.0,
                 bios_head["R"], bios_head["low"], bios_head["high"], "at_least", bios_head["non_embedding"])


def below_zero_note(records: list[Record], after: str) -> str:
    """For a sweep whose peak R is negative, a sentence saying what that means (the bound is not
    clipped at zero, book/bits.md): the attributes on which the model does worse than a uniform
    guess over their possible values, and by how many bits; "" when the peak is not negative."""
    best = peak(best_of_lr(records)).result
    if best.R >= 0:
        return ""
    below = {a: b for a, b in {"names": best["bits_name"], **best["bits_per_attribute"]}.items() if b < 0}
    return (f"R is below zero. On {', '.join(below)} this model does worse than a predictor that knows only the "
            f"possible values of each (for names, the name pools) and guesses uniformly among them "
            f"({', '.join(f'{b:,.0f}' for b in below.values())} bits), so after {after} the bound sees no "
            "knowledge of these attributes in it.")


def claims_bios_100(records_100: list[Record], bios_head_1000: dict | None, seeds: list[Record] = ()) -> list[Judgement]:
    """Result 4 on bioS: R ≥ 1 at 100 exposures, and the 1000-exposure figure (result 2's bioS
    point over its seeds) at most 2× it; without that figure (``None``: result 2 still running),
    the first claim alone. With the peak's reruns at other seeds (``seeds``: protocol v4) R is
    their mean with a t-interval (``headline``); without, seed 0's with its bootstrap interval."""
    head = headline(records_100, list(seeds))
    which = f"mean over {len(head['values'])} seeds" if seeds else "seed 0"
    claims = [judge(f"bioS: R(F) at 100 exposures ({which})", 1.0, head["R"], head["low"], head["high"],
                    "at_least", head["non_embedding"])]
    if bios_head_1000 is not None:
        h = bios_head_1000
        claims.append(judge_ratio("bioS: R at 1000 exposures / R at 100 exposures", 2.0,
                                  (h["R"], h["low"], h["high"]), (head["R"], head["low"], head["high"])))
    return claims


def ratio_pending_note(records_100: list[Record], head_1000: dict | None, waits: str) -> str:
    """What ``claims_bios_100``'s ratio waits for (``kcl.book.progress.data_type_point``), and, where
    seed 0's 1000-exposure point is stored, the ratio it gives, marked as not judged."""
    note = f"*The ratio to 1000 exposures waits for {waits}."
    if head_1000 is not None:
        top = peak(best_of_lr(records_100)).result.R
        note += (f" With seed 0 alone it would be {head_1000['R']:.3f} / {top:.3f} = {head_1000['R'] / top:.2f} "
                 "(the paper: at most 2), not judged.")
    return note + "*"


def retrain_note(retrained: Record, committed: list[Record]) -> str:
    """A sentence comparing ``retrained`` with the record of the same config (same key) among
    ``committed``: both R, their relative difference and whether it is within
    ``RETRAIN_TOLERANCE``; "" when no committed record has that config."""
    match = next((r for r in committed if r.key == retrained.key), None)
    if match is None:
        return ""
    new, old = retrained.result.R, match.result.R
    diff = abs(new - old) / abs(old) if old else math.inf
    verdict = "within" if diff <= RETRAIN_TOLERANCE else "outside"
    return (f"Retrained from its config (key {retrained.key}): R = {new:.4f} against the committed "
            f"{old:.4f}, {diff:.2%} apart, {verdict} the {RETRAIN_TOLERANCE:.0%} retrain tolerance.")
