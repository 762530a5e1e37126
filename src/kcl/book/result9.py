"""Result 9's page: GPT2 with a mixture of 32 experts against dense GPT2 at 1000 exposures.

The chapter's runs are ``sweeps/result9.yaml`` (GPT2-MoE at seven sizes on result 1's bioD at
N = 1000); GPT2's side is result 1's N = 1000 records with their seed reruns (same data, same
keys), except in the smoke profile, whose own sweep holds a dense GPT2 too. Each architecture's
peak is the mean over seeds 0, 1, 2 of its peak size, each seed at its own best rate
(``law.headline_per_seed``); the claim is the ratio of the two peaks (book/protocol.md, "Result 9").
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from kcl.book import architectures, law, plots
from kcl.book.architectures import architecture_of
from kcl.book.chapters import parts_or_pending, parts_with_baseline
from kcl.book.stats import Judgement, Section, addendum_section, judge_ratio, rate_at_edge
from kcl.record import Record
from kcl.records import model_label, model_options

CHAPTER = "result9"
CHAPTER_100 = "result9-100"
MOE, GPT2 = architectures.NAMES["gpt2_moe"], architectures.GPT2
#: the paper's figures: the MoE peak 1.3× below dense GPT2's at 1000 exposures, 1.5× at 100 [P §9]
PAPER_RATIO_1000 = 1 / 1.3
PAPER_RATIO_100 = 1 / 1.5
#: result 9 at 100 exposures: the paper's sparsest routing, judged against GPT2, and the others against it
SPARSEST = "GPT2-MoE top-1, capacity 2"
#: where dense GPT2's points at 100 exposures come from outside the smoke profile (the same regime)
GPT2_AT_100 = "result6"
#: the N of result 1's records that GPT2's side reads (the data of result 9's runs)
N_PEOPLE = 1000


def variant(model: dict) -> str:
    """A dense model's architecture (``architectures.architecture``), or GPT2-MoE with its routing:
    "GPT2-MoE top-2, capacity 1" (top-k and the training capacity factor; the ModelConfig defaults
    where the options leave them)."""
    if model["arch"] != "gpt2_moe":
        return architectures.architecture(model)
    options = model_options(model)
    return f"{MOE} top-{options.get('moe_top_k', 1)}, capacity {options.get('moe_capacity_factor', 2.0):g}"


def by_architecture(records: list[Record]) -> dict[str, list[Record]]:
    """Records split by architecture (GPT2-MoE, GPT2), in that order where both occur."""
    out = law.grouped(records, architecture_of)
    return {name: out[name] for name in (MOE, GPT2) if name in out}


def points(records: list[Record]) -> pd.DataFrame:
    """``architectures.points`` with each point's active parameters (a token's share of the experts:
    top-k of n_experts), R over them, and the shares of expert assignments dropped in training and
    in the measurement (MoE only)."""
    frame = architectures.points(records)
    by_key = {r.key: r for r in records}
    rows = [by_key[k] for k in frame["key"]]
    frame["P_active"] = [r.result.params.get("moe", {}).get("active_total", r.result.params.total)
                         for r in rows]
    frame["active_share"] = frame["P_active"] / frame["P"]
    frame["R_active"] = frame["bits"] / frame["P_active"]
    frame["dropped_training"] = [r.result.train.get("moe", {}).get("dropped_share") for r in rows]
    frame["dropped_measurement"] = [r.result.get("moe", {}).get("dropped_share") for r in rows]
    return frame


def headlines(parts: dict[str, dict[str, list[Record]]]) -> dict[str, dict]:
    """Each architecture's peak (``law.headline_per_seed``) from its ``{"main", "reruns"}`` records."""
    return {name: law.headline_per_seed(p["main"], p["reruns"]) for name, p in parts.items()}


def claims(heads: dict[str, dict]) -> list[Judgement]:
    """(a) GPT2-MoE's peak R over GPT2's ≈ 1/1.3, the ratio's interval combining the two seed
    intervals at their extremes."""
    moe, gpt2 = heads[MOE], heads[GPT2]
    return [judge_ratio("GPT2-MoE peak R(F) / GPT2 peak R(F) at 1000 exposures (all parameters, every expert)",
                        PAPER_RATIO_1000, (moe["R"], moe["low"], moe["high"]), (gpt2["R"], gpt2["low"], gpt2["high"]),
                        kind="about")]


def chapter_records(profile: str, allow_train: bool = False) -> tuple[dict | None, str]:
    """``{architecture: {"main": [...], "reruns": [...]}}`` (the main sweep with its rates beyond the
    grid; the peak's seed reruns), GPT2's from result 1 at N = 1000 in the cpu profile; or None
    and the sentence saying what is pending."""
    parts, pending = parts_or_pending(CHAPTER, profile, allow_train=allow_train)
    if parts is None:
        return None, pending
    main = by_architecture(parts["main"] + parts.get("edge_rates", []))
    reruns = by_architecture(parts.get("seeds", []) + parts.get("seed_rates", []))
    out = {name: {"main": records, "reruns": reruns.get(name, [])} for name, records in main.items()}
    if profile == "cpu":  # the smoke and gpu sweeps hold their own dense GPT2
        dense, pending = parts_or_pending("result1", profile, allow_train=allow_train)
        if dense is None:
            return None, pending
        out[GPT2] = {"main": at_n_people(dense["main"]),
                     "reruns": at_n_people(dense.get("seeds", []) + dense.get("seed_rates", []))}
    return out, ""


def at_n_people(records: list[Record], n: int = N_PEOPLE) -> list[Record]:
    return [r for r in records if r.data["n_people"] == n]


def verdict_sections(records: dict | None, pending: str, records_100: dict | None = None,
                     pending_100: str = "") -> list[Section]:
    """The page's verdicts at 1000 exposures and, where given, at 100 (``chapter_records_100``);
    each part held back with the sentence saying why while its records are incomplete."""
    if records is None:
        out = [Section("committed", None, pending)]
    elif MOE not in records or GPT2 not in records:
        out = [Section("committed", None, "*Pending: the records hold no GPT2-MoE or no GPT2 point.*")]
    else:
        out = [Section("committed", claims(headlines(records)))]
    if records_100 is None and not pending_100:
        return out
    title = "committed, 100 exposures"
    if records_100 is None:
        return out + [Section(title, None, pending_100)]
    heads = headlines_100(records_100)
    if SPARSEST not in heads or GPT2 not in heads:
        return out + [Section(title, None, "*Pending: no records of the top-1, capacity 2 mixture or of GPT2.*")]
    judged = claims_100(heads)
    out.append(Section(title, judged))
    if _mixtures_beyond(records_100):
        out.append(addendum_section(
            "the addendum, 100 exposures: one rate beyond each routing's edge peak", claims_100(widened_100(records_100)),
            judged, "*Each routing's peak over its rates and the rate beyond, the mean over three seeds where the peak "
            "moved; GPT2's is result 6's widened peak. Beside the committed verdicts, which stand as judged.*",
            why="neither peak moved"))
    return out


def reading(records: dict | None, records_100: dict | None = None) -> str:
    """The finding in plain words, from the records: the mixture's peak over every expert and over
    the parameters a token uses, beside dense GPT2's (each the mean over its seeds), and the share
    of its data's bits (R^max) that peak stores (near all of them, the data and not the model may
    set the figure); at 100
    exposures, the sparsest routing's beside GPT2's. "" until both peaks at 1000 exposures exist."""
    if records is None or MOE not in records or GPT2 not in records:
        return ""
    heads = headlines(records)
    moe, gpt2 = heads[MOE], heads[GPT2]
    params = moe["record"].result.params
    active = params.get("moe", {}).get("active_total", params.total)
    shape = model_label({**moe["record"].model, "options": {}})  # every run's routing options are the sweep's
    text = (f"GPT2-MoE's peak stores {moe['R']:.2f} bits per parameter counted over every expert ({shape}, "
            f"the mean over {len(moe['values'])} seeds), {moe['R'] / gpt2['R']:.2f}× dense GPT2's {gpt2['R']:.2f} "
            f"({gpt2['model']}); a token uses {active / params.total:.0%} of its parameters, and over those the same "
            f"peak is {moe['R'] * params.total / active:.1f} bits per parameter.")
    r_max = moe["record"].result.R_max
    text += (f" At that size the data allows at most R^max = {r_max:.2f} bits per parameter, so the mixture's "
             f"peak stores {moe['R'] / r_max:.0%} of what its data holds.")
    if records_100 is not None:
        at_100 = headlines_100(records_100)
        if SPARSEST in at_100 and GPT2 in at_100:
            sparse, dense = at_100[SPARSEST], at_100[GPT2]
            text += (f" At 100 exposures the {SPARSEST} stores {sparse['R']:.2f}, {sparse['R'] / dense['R']:.2f}× "
                     f"GPT2's {dense['R']:.2f}.")
            text += _reading_beyond_100(records_100, at_100)
    return text


def sentence(records: dict | None, records_100: dict | None = None) -> str:
    """The finding in one sentence (the first page's): the mixture's peak over dense GPT2's at 1000
    exposures and, where judged, the sparsest mixture's multiple of GPT2's at 100 exposures, with
    the addendum's widened multiple beside it; "" until both peaks at 1000 exposures exist."""
    if records is None or MOE not in records or GPT2 not in records:
        return ""
    heads = headlines(records)
    moe, gpt2 = heads[MOE], heads[GPT2]
    text = (f"GPT2-MoE's peak stores {moe['R']:.2f} bits per parameter counted over every expert, "
            f"{moe['R'] / gpt2['R']:.2f}× dense GPT2's {gpt2['R']:.2f}")
    at_100 = headlines_100(records_100) if records_100 is not None else {}
    if SPARSEST in at_100 and GPT2 in at_100:
        text += f"; at 100 exposures the top-1 mixture stores {at_100[SPARSEST]['R'] / at_100[GPT2]['R']:.2f}× GPT2's"
        if _mixtures_beyond(records_100):
            wide = widened_100(records_100)
            text += f" ({wide[SPARSEST]['R'] / wide[GPT2]['R']:.2f}× with one rate beyond the highest)"
    return text + "."


def _reading_beyond_100(records: dict, committed: dict[str, dict]) -> str:
    """What the addendum's rate beyond changed at 100 exposures, in words; "" before it ran."""
    if not _mixtures_beyond(records):
        return ""
    wide = widened_100(records)
    moved = [name for name in committed if name in wide and wide[name]["record"].key != committed[name]["record"].key]
    if not moved:
        return " One rate beyond the highest moved no peak."
    sparse, dense = wide[SPARSEST], wide[GPT2]
    moves = "; ".join(f"{name}: {wide[name]['R']:.2f} ({model_label({**wide[name]['record'].model, 'options': {}})} at "
                      f"{wide[name]['record'].train['lr']:g})" for name in moved)
    text = (f" With one rate beyond the highest (the addendum), the peaks that moved store {moves}; the {SPARSEST} "
            f"then stores {sparse['R'] / dense['R']:.2f}× GPT2's widened peak.")
    mixtures = [name for name in wide if name != GPT2]
    smallest = min(r.result.params.total for r in records["main"] if r.model["arch"] == "gpt2_moe")
    at_edges = [name for name in mixtures if rate_at_edge(wide[name]["record"]) == "highest"
                and wide[name]["record"].result.params.total == smallest]
    if at_edges:
        count = "All" if len(at_edges) == len(mixtures) else f"{len(at_edges)} of the"
        text += (f" {count} {len(mixtures)} widened mixture peaks {'sits' if len(at_edges) == 1 else 'sit'} "
                 "at both the smallest size and the highest rate tried: new edges, reported and not chased.")
    return text + " The committed verdicts stand; the widened ratios sit beside them."


def chapter_records_100(profile: str, allow_train: bool = False) -> tuple[dict | None, str]:
    """Result 9 at 100 exposures: ``{"main": [...], "seeds": [...]}`` with dense GPT2's records
    from result 6 outside the smoke profile, or None and the sentence saying what is pending."""
    if profile == "smoke":
        return parts_with_baseline(CHAPTER_100, profile, allow_train=allow_train)
    return parts_with_baseline(CHAPTER_100, profile, allow_train=allow_train, baseline=GPT2_AT_100,
                               keep=lambda records: architectures.gpt2_records(records, None))


def headlines_100(records: dict) -> dict[str, dict]:
    """Each variant's ``law.headline`` (its peak, the mean over the peak's seeds at its best rate)."""
    return law.headlines_by(records, lambda r: variant(r.model))


def widened_100(records: dict) -> dict[str, dict]:
    """Each variant's peak with the rates beyond its edge (``law.widened_headlines``): the mixtures'
    from this chapter's addendum, GPT2's from result 6's."""
    return law.widened_headlines(records, lambda r: variant(r.model))


def _mixtures_beyond(records: dict) -> list[Record]:
    """The runs of this chapter's addendum (the rates beyond hold result 6's GPT2 runs too)."""
    return [r for r in records.get("beyond", []) if r.model["arch"] == "gpt2_moe"]


def beyond_100(records: dict | None) -> list:
    """The addendum at 100 exposures on the page (items for ``plots.show``): each routing's committed
    peak beside its peak with one rate beyond its edge, and GPT2's from result 6; [] before it ran."""
    if not records or not _mixtures_beyond(records):
        return []
    reran = {variant(r.model) for r in records["beyond"]}
    table = architectures.beyond_table(headlines_100(records), widened_100(records), reran, column="variant",
                                       label=lambda head: model_label({**head["record"].model, "options": {}}))
    return ["**One rate beyond the edge (the protocol's addendum to result 9 at 100 exposures).** Each routing whose peak sat at the highest "
            "rate was rerun at every size, seed 0, at twice that rate, and its new peak at seeds 1 and 2 where the "
            "peak moved; GPT2's row is result 6's addendum. The committed peak beside the widened one (\"edge\": "
            "where the widened peak's rate sits among those tried; a new edge is reported, not chased):",
            plots.table(table)]


def claims_100(heads: dict[str, dict]) -> list[Judgement]:
    """At 100 exposures: the sparsest mixture's peak over GPT2's ≈ 1/1.5, and every other routing's
    peak over the sparsest's ≈ 1 ("minimal differences")."""
    def ratio(claim, paper, top, bottom):
        a, b = heads[top], heads[bottom]
        return judge_ratio(claim, paper, (a["R"], a["low"], a["high"]), (b["R"], b["low"], b["high"]), kind="about")

    out = [ratio(f"{SPARSEST}: peak R(F) / GPT2 peak R(F) at 100 exposures (all parameters, every expert)",
                 PAPER_RATIO_100, SPARSEST, GPT2)]
    out += [ratio(f"{name}: peak R(F) / {SPARSEST}'s at 100 exposures", 1.0, name, SPARSEST)
            for name in sorted(heads) if name not in (SPARSEST, GPT2)]
    return out


def all_points(records: dict) -> pd.DataFrame:
    """Every point of both architectures (seed 0, each the best of its rates)."""
    return points([r for part in records.values() for r in part["main"]])


def all_points_100(records: dict) -> pd.DataFrame:
    """Every point at 100 exposures (seed 0, each the best of its rates), with its routing variant."""
    frame = points(records["main"])
    by_key = {r.key: r for r in records["main"]}
    frame.insert(0, "variant", [variant(by_key[k].model) for k in frame["key"]])
    return frame


def peak_table(heads: dict[str, dict]) -> pd.DataFrame:
    """Each architecture's peak: model, counted and active parameters, the seeds' figures, mean and interval."""
    rows = []
    for name, h in heads.items():
        params = h["record"].result.params
        active = params.get("moe", {}).get("active_total", params.total)
        rows.append({"architecture": name, "model": h["model"], "P": params.total, "P_active": active,
                     "active_share": active / params.total, "R (per seed)": ", ".join(f"{v:.3f}" for v in h["values"]),
                     "rates": ", ".join(f"{lr:g}" for lr in h["rates"]), "R": h["R"], "R_low": h["low"],
                     "R_high": h["high"], "R_non_embedding": h["non_embedding"]})
    return pd.DataFrame(rows)


def chart(frame: pd.DataFrame):
    """R against parameters, one line per architecture, over all parameters (the paper's count) and
    over the parameters a token uses (the form of the paper's Fig. 7); the 2-bit line for reference."""
    long = pd.concat([frame.assign(counted="all parameters (every expert)", x=frame["P"], y=frame["R"]),
                      frame.assign(counted="parameters a token uses", x=frame["P_active"], y=frame["R_active"])])
    lines = alt.Chart().mark_line(point=True).encode(
        x=alt.X("x:Q", scale=alt.Scale(type="log"), title="parameters"),
        y=alt.Y("y:Q", title="bits per parameter"),
        color=alt.Color("architecture:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
        tooltip=["architecture", "model", alt.Tooltip("P:Q", format=","), alt.Tooltip("P_active:Q", format=","),
                 alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("R_active:Q", format=".3f"), "best_lr"])
    rule = alt.Chart().mark_rule(strokeDash=[4, 4], color="#888").encode(y=alt.datum(2.0))
    return alt.layer(lines, rule, data=long).properties(width=260, height=220).facet(
        column=alt.Column("counted:N", title=None), title="Each point the best of its rates (seed 0)")


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result9": lambda profile: (verdict_sections(*chapter_records(profile), *chapter_records_100(profile)), 1)}
