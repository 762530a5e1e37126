"""The pages of results 5, 6 and 7: other architectures against GPT2 (paper §6, Figs. 3-5).

Every chapter trains architectures on result 1's and result 4's bioD; GPT2's side is another
chapter's records where the configs match (result 5: result 1's at N = 1000; result 7: result 6's,
which trains GPT2 at the 100-exposure regime beside the others). An architecture's figure is its
peak (the size with the largest R, each size the best of its rates) as ``law.headline`` gives it:
the mean over the peak's seeds at its best rate, with a 95% t-interval. A claim is a ratio of two
architectures' figures, its interval combining theirs at their extremes (book/protocol.md,
"Results 5-7").
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import altair as alt
import pandas as pd

from kcl.book import law, plots
from kcl.book.chapters import parts_with_baseline
from kcl.book.progress import SO_FAR_TITLE, shown_so_far
from kcl.book.stats import Judgement, Section, addendum_section, judge_ratio, rate_at_edge
from kcl.record import Record
from kcl.records import model_options

GPT2 = "GPT2"
NAMES = {"gpt2": GPT2, "gpt2_quarter_mlp": "GPT2, 1/4 MLP", "gpt2_no_mlp": "GPT2, no MLP", "llama": "LLaMA",
         "mistral": "Mistral", "llama_std_mlp": "LLaMA, standard MLP", "gpt2_moe": "GPT2-MoE"}
LLAMA_FAMILY = ("llama", "mistral", "llama_std_mlp")


def architecture(model: dict) -> str:
    """An architecture's name from a model config dict: the paper's names; "tied" where a
    LLaMA-family model shares its embedding and output matrix (GPT2's always do); the activation
    where a model option sets it. The initialisation is a training recipe, not part of the name."""
    options = model_options(model)
    name = NAMES.get(model["arch"], model["arch"])
    if options.get("mlp_act"):
        name += f", {options['mlp_act'].upper() if options['mlp_act'] == 'gelu' else 'SiLU'}"
    return name + (" (tied)" if options.get("tie_embeddings") and model["arch"] in LLAMA_FAMILY else "")


class Claim(NamedTuple):
    """``architecture``'s figure over ``versus``'s is ``kind`` (about, at most) ``paper``."""

    architecture: str
    paper: float
    kind: str = "about"
    versus: str = GPT2
    words: str = ""


#: each chapter's claims [P §6, Figs. 3-5]
CLAIMS = {
    "result5": [Claim("LLaMA", 1.0), Claim("LLaMA (tied)", 1.0), Claim("Mistral", 1.0), Claim("GPT2, 1/4 MLP", 1.0),
                Claim("GPT2, no MLP", 1.0)],
    "result6": [Claim("LLaMA", 1 / 1.3, words="up to 1.3× worse"), Claim("Mistral", 1 / 1.3, words="up to 1.3× worse"),
                Claim("GPT2, 1/4 MLP", 1.0, words="nearly no loss"),
                Claim("GPT2, no MLP", 1 / 1.5, "at_most", words="more than 1.5× worse")],
    "result7": [Claim("LLaMA, standard MLP (tied)", 1.0, words="the standard MLP recovers GPT2's ratio"),
                Claim("LLaMA, standard MLP, GELU (tied)", 1.0, versus="LLaMA, standard MLP (tied)",
                      words="SiLU → GELU changes nothing")],
}
#: where GPT2's points come from, when not from the chapter's own sweep: (chapter, N or None for all)
GPT2_FROM = {"result5": ("result1", 1000), "result7": ("result6", None)}
EXPOSURES = {"result5": 1000, "result6": 100, "result7": 100}


def architecture_of(record: Record) -> str:
    return architecture(record.model)


def chapter_records(chapter: str, profile: str, allow_train: bool = False) -> tuple[dict | None, str]:
    """``{"main": [...], "seeds": [...]}`` of the chapter with GPT2's records added where another
    chapter holds them (outside the smoke profile, whose sweeps hold their own GPT2), or None and
    the sentence saying what is pending."""
    source = GPT2_FROM.get(chapter) if profile != "smoke" else None
    if source is None:
        return parts_with_baseline(chapter, profile, allow_train=allow_train)
    n = source[1] if profile == "cpu" else None
    return parts_with_baseline(chapter, profile, allow_train=allow_train, baseline=source[0],
                               keep=lambda records: gpt2_records(records, n))


def so_far(chapter: str, profile: str) -> list:
    """Items for ``plots.show`` while the chapter's sweeps run: what is stored and what is left
    (``StoredSoFar.note``), and the points so far, each the best of the rates stored for it, with
    no verdict; [] before its first run or once it is complete."""
    parts, running, _ = shown_so_far(chapter, profile)
    if running is None:
        return []
    return [running.note(), chart(points(parts["main"])).properties(title=SO_FAR_TITLE)]


def gpt2_records(records: list[Record], n_people: int | None) -> list[Record]:
    """The GPT2 records among ``records``, at ``n_people`` people where given."""
    return [r for r in records if architecture_of(r) == GPT2
            and (n_people is None or r.data["n_people"] == n_people)]


def headlines(records: dict) -> dict[str, dict]:
    """Each architecture's ``law.headline`` (its peak, the mean over the peak's seeds, the interval).
    Where the committed rate beyond an edge moved a peak, its seed reruns are those the walk made at
    the new peak (``records["beyond_seeds"]``)."""
    return law.headlines_by({"main": records["main"], "seeds": records["seeds"] + records.get("beyond_seeds", [])},
                            architecture_of)


def claims(chapter: str, heads: dict[str, dict]) -> list[Judgement]:
    """The chapter's claims on the architectures it has records of."""
    out = []
    for claim in CLAIMS[chapter]:
        if claim.architecture not in heads or claim.versus not in heads:
            continue
        top, bottom = heads[claim.architecture], heads[claim.versus]
        words = f" ({claim.words})" if claim.words else ""
        out.append(judge_ratio(f"{claim.architecture}: peak R(F) / {claim.versus}'s peak R(F) at "
                               f"{EXPOSURES[chapter]} exposures{words}", claim.paper,
                               (top["R"], top["low"], top["high"]), (bottom["R"], bottom["low"], bottom["high"]),
                               kind=claim.kind))
    return out


def verdict_sections(chapter: str, records: dict | None, pending: str) -> list[Section]:
    """The page's verdicts, or one section held back saying why; with the addendum's runs (one rate
    beyond each architecture's edge peak), its ratios beside the committed ones."""
    if records is None:
        return [Section("committed", None, pending)]
    judged = claims(chapter, headlines(records))
    if not judged:
        return [Section("committed", None, "*Pending: the records hold no pair of architectures this page compares.*")]
    sections = [Section("committed", judged)]
    if records.get("beyond"):
        sections.append(addendum_section(
            "the addendum: one rate beyond each architecture's edge peak", claims(chapter, widened(records)), judged,
            "*Each architecture's peak over its rates and the rate beyond, the mean over three seeds where the peak "
            "moved; beside the committed verdicts, which stand as judged.*", why="neither peak moved"))
    return sections


def widened(records: dict) -> dict[str, dict]:
    """Each architecture's ``law.widened_headlines``: its peak with the rates beyond an edge."""
    return law.widened_headlines(records, architecture_of)


def beyond(records: dict | None) -> list:
    """The addendum on a page (items for ``plots.show``): each architecture's committed peak beside
    its peak with one rate beyond its edge; [] where it ran nothing."""
    if not records or not records.get("beyond"):
        return []
    return ["**One rate beyond the edge (the addendum to results 5–7).** Each architecture whose peak sat at an edge "
            "of its rates was rerun at every size, seed 0, two-fold beyond that edge, and its new peak at seeds 1 and 2 "
            "where the peak moved. Its committed peak beside the widened one (\"edge\": where the widened peak's rate "
            "sits among the four; a new edge is reported, not chased):",
            plots.table(beyond_table(headlines(records), widened(records),
                                     {architecture_of(r) for r in records["beyond"]}))]


def beyond_table(committed: dict[str, dict], wide: dict[str, dict], reran: set[str], column: str = "architecture",
                 label: Callable[[dict], str] = lambda head: head["model"]) -> pd.DataFrame:
    """One row per group in ``reran`` (the groups a rate beyond ran for): its committed peak (``label``
    of the headline, and rate; figure and interval) beside its widened one, the widened peak's seeds,
    and where its rate sits among those tried ("highest", "lowest" or "inside")."""
    rows = [{column: name, "committed peak": f"{label(committed[name])} at {committed[name]['record'].train['lr']:g}",
             "R": committed[name]["R"], "R_low": committed[name]["low"], "R_high": committed[name]["high"],
             "widened peak": f"{label(h)} at {h['record'].train['lr']:g}", "R_widened": h["R"],
             "R_low_widened": h["low"], "R_high_widened": h["high"],
             "seeds": len(h["values"]), "edge": rate_at_edge(h["record"]) or "inside"}
            for name, h in wide.items() if name in reran and name in committed]
    return pd.DataFrame(rows)


def sentence(records: dict | None) -> str:
    """The finding in one sentence (the first page's): GPT2's peak, then every other architecture's
    peak and its multiple of GPT2's (each the mean over its seeds); "" without GPT2's peak."""
    beside = law.heads_beside(records, headlines, GPT2)
    if beside is None:
        return ""
    heads, base = beside
    others = [f"{name} {h['R']:.2f} ({h['R'] / base['R']:.2f}× GPT2's)" for name, h in
              sorted(heads.items(), key=lambda item: -item[1]["R"]) if name != GPT2]
    seeds = len(base["values"])
    return (f"GPT2's peak stores {base['R']:.2f} bits per parameter ({base['model']}, the mean over {seeds} "
            f"seed{'s' if seeds != 1 else ''}); " + ("; ".join(others) + "." if others else "no other architecture yet."))


def reading(records: dict | None) -> str:
    """The finding in plain words, from the records: ``sentence``, then the peaks at an edge of their
    rates and what the rates beyond them changed; "" without GPT2's peak."""
    text = sentence(records)
    if not text:
        return ""
    heads = headlines(records)
    for edge in ("highest", "lowest"):
        at_edge = [name for name, h in heads.items() if rate_at_edge(h["record"]) == edge]
        widened_before = [name for name in at_edge if len(heads[name]["record"].lr_tried) > 3]
        fresh = [name for name in at_edge if name not in widened_before]
        if widened_before:
            text += (f" {'; '.join(widened_before)} peak{'s' if len(widened_before) == 1 else ''} at the {edge} rate "
                     "tried, the committed edge rule's rate beyond included: a new edge is reported, not chased.")
        if fresh:
            one = len(fresh) == 1
            them = "it" if one else "them"
            text += (f" {fresh[0]}'s peak sits" if one else
                     f" {len(fresh)} of the {len(heads)} peaks sit") + f" at the {edge} rate tried"
            text += "" if one else f" ({'; '.join(fresh)})"
            text += (f"; the protocol's addendum reran {them} one rate beyond it." if records.get("beyond") else
                     ": a rate beyond it might store more, and the committed edge rule, which looks at the data "
                     f"setting's peak only, tried none (the protocol's addendum to results 5–7 reruns {them}).")
    if records.get("beyond"):
        wide = widened(records)
        moved_names = [name for name in heads if wide[name]["record"].key != heads[name]["record"].key]
        moved = [f"{name} {wide[name]['R']:.2f} ({wide[name]['model']} at {wide[name]['record'].train['lr']:g})"
                 for name in moved_names]
        reran = {architecture_of(r) for r in records["beyond"]}
        stayed = [name for name in heads if name in reran and name not in moved_names]
        text += (" With one rate beyond, " + ("the peaks that moved store " + "; ".join(moved) if moved else
                 "no peak moved") + (f"; the rate beyond stored less for {', '.join(stayed)}" if moved and stayed else "")
                 + ". The committed verdicts stand; the widened ratios sit beside them.")
    return text


def points(records: list[Record]) -> pd.DataFrame:
    """``law.points_frame`` with each point's architecture."""
    frame = law.points_frame(records)
    by_key = {r.key: r for r in records}
    frame.insert(0, "architecture", [architecture(by_key[k].model) for k in frame["key"]])
    return frame


def peak_table(heads: dict[str, dict]) -> pd.DataFrame:
    """Each architecture's peak: model, parameters, the seeds' figures, mean and interval; highest first."""
    rows = [{"architecture": name, "model": h["model"], "P": h["record"].result.params.total,
             "R (per seed)": ", ".join(f"{v:.3f}" for v in h["values"]), "R": h["R"], "R_low": h["low"],
             "R_high": h["high"], "R_non_embedding": h["non_embedding"]} for name, h in heads.items()]
    return pd.DataFrame(rows).sort_values("R", ascending=False).reset_index(drop=True)


def chart(frame: pd.DataFrame):
    """R against the parameter count P, one line per architecture (the form of the paper's Figs.
    3-5); the 2-bit line for reference."""
    lines = alt.Chart().mark_line(point=True).encode(
        x=alt.X("P:Q", scale=alt.Scale(type="log"), title="parameters P (the paper's count)"),
        y=alt.Y("R:Q", title="R(F), bits per parameter"),
        color=alt.Color("architecture:N", title=None, legend=alt.Legend(orient="bottom", columns=3, labelLimit=0)),
        tooltip=["architecture", "model", alt.Tooltip("P:Q", format=","), alt.Tooltip("R:Q", format=".3f"),
                 alt.Tooltip("R_non_embedding:Q", format=".3f"), "best_lr"])
    rule = alt.Chart().mark_rule(strokeDash=[4, 4], color="#888").encode(y=alt.datum(2.0))
    return alt.layer(lines, rule, data=frame).properties(
        width=520, height=300, title="Each architecture's points, each the best of its rates (seed 0)")


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {name: (lambda profile, name=name: (verdict_sections(name, *chapter_records(name, profile)), 1))
              for name in ("result5", "result6", "result7")}
