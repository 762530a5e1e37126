"""The pages of results 10, 11 and 12: the useful data's capacity with junk in the training stream.

Every run trains on result 4's bioD (the useful people) with or without junk people
(``kcl.data.junk``) and with or without the domain token. A *setting* is (junk people N′, domain
token, exposures of the useful people). Result 10's sweep holds the no-junk baseline at 100
exposures and random junk at 100, 300, 600 and 1000 exposures; result 11's repetitive junk and
result 12's domain token read result 10's baseline. A setting's figure is its peak (the size with
the largest R, each size the best of its rates) as ``law.headline`` gives it: the mean over the
peak's seeds with a 95% t-interval. A claim is a *loss factor*: the baseline's figure over the
setting's, judged against the paper's (book/protocol.md, "Results 10-12").
"""

from __future__ import annotations

from typing import NamedTuple

import altair as alt
import pandas as pd

from kcl.book import law, plots
from kcl.book.chapters import chapter_sweep, finished_groups, group_of, main_store, parts_with_baseline, stored_regime
from kcl.book.progress import SO_FAR_TITLE, shown_so_far
from kcl.book.stats import Judgement, Section, judge_ratio, rate_at_edge
from kcl.record import Record
from kcl.records import model_label
from kcl.store import ResultStore, config_dict

#: the baseline every factor divides: no junk, no domain token, 100 exposures
BASELINE = (0, False, 100)


class Claim(NamedTuple):
    """A loss factor the paper states: the baseline's peak over the peak of the setting of this
    kind of junk (``kind_of``), domain token and exposures is about ``paper``."""

    kind: str  # "random" or "repetitive" junk
    domain: bool
    exposures: int
    paper: float
    words: str


#: junk people from this many on count as random junk (each seen about once or less in any of
#: these sweeps); fewer, as repetitive junk
RANDOM_FROM = 1_000_000
#: the cpu sweeps' random and repetitive junk populations
RANDOM, REPETITIVE = 100_000_000, 10
#: each chapter's claims [P §10, Fig. 8]
CLAIMS = {
    "result10": [Claim("random", False, 100, 20.0, "random junk, 100 exposures"),
                 Claim("random", False, 300, 3.0, "random junk, 300 exposures"),
                 Claim("random", False, 600, 1.5, "random junk, 600 exposures"),
                 Claim("random", False, 1000, 1.3, "random junk, 1000 exposures")],
    "result11": [Claim("repetitive", False, 100, 1.0, "repetitive junk, 100 exposures")],
    "result12": [Claim("random", True, 100, 2.0, "random junk with the domain token, 100 exposures"),
                 Claim("random", True, 300, 1.0, "random junk with the domain token, 300 exposures")],
}


def kind_of(junk_people: int) -> str:
    return "none" if not junk_people else "random" if junk_people >= RANDOM_FROM else "repetitive"


def claimed(claim: Claim, heads: dict[tuple, dict]) -> tuple | None:
    """The setting of ``heads`` that ``claim`` is about, or None."""
    found = [s for s in heads if (kind_of(s[0]), s[1], s[2]) == (claim.kind, claim.domain, claim.exposures)]
    return found[0] if found else None


#: the chapter whose sweep holds the baseline (and random junk without the token)
BASE_CHAPTER = "result10"


def setting_of(config: dict) -> tuple[int, bool, int]:
    """A record config's setting; junk and the domain token are keyed only when set, so a config
    without them is the no-junk, no-token setting."""
    data = config["data"]
    return int(data.get("junk_people", 0)), bool(data.get("domain_token", False)), int(config["train"]["exposures"])


def count_text(n: int) -> str:
    """10⁸ for a power of ten from 10⁴ on, else the number with separators."""
    power = len(str(n)) - 1
    if n >= 10_000 and n == 10 ** power:
        return "10" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(power))
    return f"{n:,}"


def setting_label(setting: tuple[int, bool, int]) -> str:
    junk, domain, exposures = setting
    kind = "no junk" if not junk else f"junk from N′ = {count_text(junk)}"
    return f"{kind}{' + domain token' if domain else ''}, {exposures} exposures"


def chapter_records(chapter: str, profile: str, allow_train: bool = False) -> tuple[dict | None, str]:
    """``{"main": [...], "seeds": [...]}`` of the chapter, with result 10's finished settings added
    for results 11 and 12 (``finished_settings``: the baseline and, for result 12, random junk
    without the token), and "" once the chapter's sweep is complete; while it trains, the settings
    finished so far with the sentence saying what the rest wait for (``finished_so_far``); or None
    and that sentence. The smoke profile trains result 10's whole smoke sweep instead."""
    if profile == "smoke":
        baseline = None if chapter == BASE_CHAPTER else BASE_CHAPTER  # result 10 holds its own baseline
        return parts_with_baseline(chapter, profile, allow_train=allow_train, baseline=baseline)
    parts, pending = parts_with_baseline(chapter, profile, allow_train=allow_train)
    if parts is None:
        return finished_so_far(chapter, profile, pending)
    if chapter == BASE_CHAPTER:
        return parts, ""
    base, pending = finished_settings(profile)
    if base is None:
        return None, pending
    return joined(parts, base), ""


def joined(parts: dict, base: dict) -> dict:
    """A chapter's records (``main``, ``seeds``) with result 10's beside them."""
    return {"main": parts["main"] + base["main"], "seeds": parts["seeds"] + base["seeds"]}


def finished_so_far(chapter: str, profile: str, pending: str) -> tuple[dict | None, str]:
    """While the chapter's sweep trains: the records of its settings finished so far, with result
    10's finished settings for results 11 and 12, where the baseline and at least one claimed
    setting are among them (a claim is judged on its own setting's records and the baseline's,
    as results 11 and 12 judge on result 10's finished settings), with ``pending`` (what the other
    claims wait for); else None and ``pending``."""
    own = finished_parts(chapter, profile)
    if own is None:
        return None, pending
    records = own[0]
    if chapter != BASE_CHAPTER:
        base, _ = finished_settings(profile)
        if base is None:
            return None, pending
        records = joined(records, base)
    heads = headlines(records)
    if BASELINE not in heads or not any(claimed(claim, heads) for claim in CLAIMS[chapter]):
        return None, pending
    return records, pending


def finished_settings(profile: str) -> tuple[dict | None, str]:
    """Result 10's records of each setting whose main runs and peak seed reruns are all stored
    (``finished_parts``: a setting is judged on those alone, so results 11 and 12 need not wait for
    result 10's longer settings), or None and what is pending while the baseline's are not all stored."""
    finished = finished_parts(BASE_CHAPTER, profile)
    if finished is None:
        return None, f"*Pending: the 100-exposure regime (`kcl chapter {BASE_CHAPTER} --dry-run`).*"
    parts, lacking = finished
    missing = lacking.get(BASELINE, "its main runs")  # a sweep without the baseline lacks all of it
    if missing:
        return None, (f"*Pending: result 10's baseline (no junk, 100 exposures): {missing} not stored yet "
                      f"(`kcl chapter {BASE_CHAPTER} --where train.exposures=100 --workers 1` computes them).*")
    return parts, ""


def finished_parts(chapter: str, profile: str) -> tuple[dict, dict[tuple, str]] | None:
    """``chapters.finished_groups`` of a junk chapter's main sweep: the records (``main``, ``seeds``)
    of its settings whose runs and seed reruns are all stored, and what each setting of the sweep
    lacks in words ("" for a finished one); None before the 100-exposure regime is decided."""
    regime = stored_regime(chapter, profile)
    if regime is None:
        return None
    _, _, configs = chapter_sweep(chapter, profile, regime=regime)
    parts, lacking = finished_groups(chapter, configs, ResultStore(main_store(chapter, profile)))
    by_setting = {setting_of(config_dict(c)): lacking.get(group_of(chapter, c), "") for c in configs}
    return {"main": parts["main"], "seeds": parts["seeds"]}, by_setting


def sizes_text(chapter: str, profile: str) -> str:
    """The model sizes each setting of the chapter's own sweep tries, in a sentence; where some
    settings try fewer (for the budget: book/protocol.md, "Results 10-12"), it says that a peak at
    the edge of its sizes may lie beyond them. "" before the regime is decided."""
    regime = stored_regime(chapter, profile)
    if regime is None and profile != "smoke":
        return ""
    _, _, configs = chapter_sweep(chapter, profile, regime=regime)
    sizes: dict[tuple, dict[str, None]] = {}
    for config in map(config_dict, configs):
        sizes.setdefault(setting_of(config), {})[size_label(config["model"])] = None

    def tried(models: list[str]) -> str:
        return f"1 size ({models[0]})" if len(models) == 1 else f"{len(models)} sizes ({models[0]} to {models[-1]})"

    text = "Sizes tried: " + "; ".join(f"{setting_label(s)}: {tried(list(m))}"
                                       for s, m in sorted(sizes.items(), key=lambda item: (item[0][2], item[0]))) + "."
    if len({len(m) for m in sizes.values()}) > 1:
        text += (" Where a setting tries fewer sizes, the protocol's budget set them, so a peak at the edge of its"
                 " sizes may lie beyond them (the finding says where one is).")
    return text


def so_far(chapter: str, profile: str) -> list:
    """Items for ``plots.show`` while the chapter's sweep runs: what is stored and what is left
    (``StoredSoFar.note``), the points stored so far (each the best of the rates stored for it), and
    the peaks of the settings already finished (runs and seed reruns all stored), with no verdict;
    [] before the first run or once the sweep is complete."""
    parts, running, _ = shown_so_far(chapter, profile)
    if running is None:
        return []
    items = [running.note(), *figure(points(parts["main"]), title=SO_FAR_TITLE)]
    finished = finished_parts(chapter, profile)
    heads = headlines(finished[0]) if finished else {}
    if heads:
        items += ["**Settings finished so far** (every run and the peak's seed reruns stored; the mean over "
                  "seeds, 95% interval). A claim is judged once its setting and the baseline are finished (the "
                  "finding above); the others wait for their settings' runs.", plots.table(peak_table(heads))]
    return items


def headlines(records: dict) -> dict[tuple, dict]:
    """Each setting's ``law.headline``: its peak, the mean over the peak's seeds and the interval."""
    return law.headlines_by(records, lambda r: setting_of(r.config))


def claims(chapter: str, heads: dict[tuple, dict]) -> list[Judgement]:
    """The chapter's loss factors: the baseline's figure over each setting's, about the paper's."""
    base = heads[BASELINE]
    out = []
    for claim in CLAIMS[chapter]:
        setting = claimed(claim, heads)
        if setting is None:
            continue
        h = heads[setting]
        out.append(judge_ratio(f"loss factor, {claim.words}: no-junk peak at 100 exposures / this peak", claim.paper,
                               (base["R"], base["low"], base["high"]), (h["R"], h["low"], h["high"]), kind="about"))
    return out


def verdict_sections(chapter: str, records: dict | None, pending: str) -> list[Section]:
    """The page's verdicts: the claims whose settings are finished (``chapter_records``), then one
    section held back for the claims still training, saying what they wait for; or one section held
    back saying why nothing is judged yet."""
    if records is None:
        return [Section("committed", None, pending)]
    heads = headlines(records)
    if BASELINE not in heads:
        return [Section("committed", None, "*Pending: no records of the baseline (no junk, 100 exposures).*")]
    judged = claims(chapter, heads)
    if not judged:
        return [Section("committed", None, f"*Pending: no records of {', '.join(c.words for c in CLAIMS[chapter])}.*")]
    waiting = [claim.words for claim in CLAIMS[chapter] if claimed(claim, heads) is None]
    if not waiting:
        return [Section("committed", judged)]
    why = pending.strip().strip("*") or "their settings' runs are not all stored yet"
    return [Section("committed", judged),
            Section("still training", None, f"*{'; '.join(waiting)}: {why}*")]


def reading(chapter: str, records: dict | None) -> str:
    """The finding in plain words, from the records: the no-junk peak, then each claimed setting's
    peak and its loss factor beside the paper's (each the mean over its seeds, with the peak's size
    and P), a factor below 1 said to be a gain, and the sizes at which the setting stores nothing;
    "" without the baseline or any claimed setting."""
    beside = law.heads_beside(records, headlines, BASELINE)
    if beside is None:
        return ""
    heads, base = beside
    found = [(claim, setting, heads[setting]) for claim in CLAIMS[chapter] if (setting := claimed(claim, heads))]
    if not found:
        return ""

    def where(head: dict) -> str:
        peak = head["record"]
        edge = size_edge(records, head)
        return (f"{size_label(peak.model)}, P = {peak.result.params.total:,}{f', {edge}' if edge else ''}, "
                f"{seeds_text(len(head['values']))}")

    settings = "; ".join(f"with {claim.words}, {h['R']:#.3g} ({where(h)}): {factor_text(base, h)} against the "
                         f"paper's {claim.paper:g}{gain_text(base, h)}{nothing_text(records, setting)}"
                         for claim, setting, h in found)
    return (f"Without junk the useful people's peak stores {base['R']:#.3g} bits per parameter at 100 exposures "
            f"({where(base)}). "
            f"{settings[0].upper()}{settings[1:]}. The figures count every parameter (the paper's count); "
            f"a loss factor is the no-junk peak over the setting's peak.")


def size_label(model: dict) -> str:
    """A model's size in prose: its label without the regime's options (``gpt2-2-2 d=32``)."""
    return model_label({**model, "options": ()})


def nothing_text(records: dict, setting: tuple) -> str:
    """"; at N of its M sizes (a to b, seed 0) it stores nothing" where some of the setting's sizes,
    each at the best of its rates (seed 0), store no bits (a and b: the smallest and largest of
    them); else ""."""
    best = law.points_frame([r for r in records["main"] if setting_of(r.config) == setting])
    if best.empty:
        return ""
    best = best.sort_values("P")
    gone = best[~plots.on_log_axis(best)]
    if gone.empty:
        return ""
    by_key = {r.key: r for r in records["main"]}
    labels = [size_label(by_key[k].model) for k in gone["key"]]
    span = labels[0] if len(labels) == 1 else f"{labels[0]} to {labels[-1]}"
    return f"; at {len(gone)} of its {len(best)} sizes ({span}, seed 0) it stores nothing"


def seeds_text(n: int) -> str:
    return "seed 0 alone" if n == 1 else f"the mean over {n} seeds"


def factor_text(base: dict, head: dict) -> str:
    """The loss factor in words; where the setting's peak stores nothing (mean R ≤ 0), no finite
    factor (``stats.judge_ratio`` gives ∞)."""
    if not head["R"] > 0:
        return "no finite loss factor (its peak stores nothing)"
    factor = base["R"] / head["R"]
    return f"a loss factor of {factor:.2g}" if factor < 10 else f"a loss factor of {factor:.0f}"


def gain_text(base: dict, head: dict) -> str:
    """" (below 1: its peak stores more than the peak without junk)" where the setting's peak is above
    the baseline's; else ""."""
    return " (below 1: its peak stores more than the peak without junk)" if head["R"] > base["R"] > 0 else ""


def size_edge(records: dict, head: dict) -> str:
    """The words "the largest size tried" or "the smallest size tried" where a setting's peak is at
    that edge of its sweep's sizes, "the only size tried" where it has one (the protocol asks the
    page to say so: a size beyond might store more); else ""."""
    peak = head["record"]
    setting = setting_of(peak.config)
    sizes = {r.result.params.total for r in records["main"] if setting_of(r.config) == setting}
    P = peak.result.params.total
    if len(sizes) < 2:
        return "the only size tried"
    if min(sizes) < P < max(sizes):
        return ""
    return f"the {'largest' if P == max(sizes) else 'smallest'} size tried"


def points(records: list[Record]) -> pd.DataFrame:
    """``law.points_frame`` with each point's setting, and the share of junk tokens and a junk
    person's mean appearances (as text: from thousands down to thousandths) from the record's stream."""
    frame = law.points_frame(records)
    by_key = {r.key: r for r in records}
    rows = [by_key[k] for k in frame["key"]]
    frame.insert(0, "setting", [setting_label(setting_of(r.config)) for r in rows])
    stream = [r.result.train.get("stream", {}) for r in rows]
    frame["junk_share"] = [s.get("junk_share", 0.0) for s in stream]
    frame["appearances per junk person"] = [appearances_text(s["junk_appearances_mean"]) if s else "" for s in stream]
    return frame


def appearances_text(mean: float) -> str:
    """A junk person's mean appearances as text: whole numbers from 100 up ("35,000"), else two
    significant figures ("0.0035")."""
    return f"{mean:,.0f}" if round(mean) >= 100 else f"{mean:.2g}"


def peak_table(heads: dict[tuple, dict]) -> pd.DataFrame:
    """Each setting's peak: model, seeds' figures, mean and interval, and whether its rate is the
    highest or lowest of its three (a rate beyond might store more; shown, never judged), the
    baseline's first."""
    order = sorted(heads, key=lambda s: (s != BASELINE, s[0], s[1], s[2]))
    return pd.DataFrame([{"setting": setting_label(s), "model": heads[s]["model"],
                          "R (per seed)": ", ".join(f"{v:.3f}" for v in heads[s]["values"]), "R": heads[s]["R"],
                          "R_low": heads[s]["low"], "R_high": heads[s]["high"],
                          "R_non_embedding": heads[s]["non_embedding"],
                          "rate": f"{heads[s]['record'].train['lr']:g}, {rate_at_edge(heads[s]['record']) or 'inside'}"}
                         for s in order])


def undrawn(frame: pd.DataFrame) -> str:
    """The points the chart's log axis cannot draw (bits ≤ 0: the model stores nothing of its
    useful people), named in a sentence for beneath it; "" when every point is drawn."""
    return plots.left_off(frame, lambda row: f"{row.setting}, {row.model} (R = {row.R:.3f})")


def figure(frame: pd.DataFrame, title: str | None = None) -> list:
    """Items for ``plots.show``: the chart of the points a log axis can draw (none where no point
    stores bits: an empty log scale cannot be laid out), then ``undrawn``'s sentence where some
    point is left off."""
    items = [chart(frame) if title is None else chart(frame).properties(title=title)] if plots.on_log_axis(frame).any() else []
    if gone := undrawn(frame):
        items.append(gone)
    return items


def chart(frame: pd.DataFrame):
    """Bits stored against parameters, one line per setting, the no-junk baseline dashed (the form
    of the paper's Fig. 8: each setting beside the 100-exposure law without junk). Points with no
    bits stored are left out (the log axis): ``undrawn`` names them."""
    baseline = setting_label(BASELINE)
    data = frame[plots.on_log_axis(frame)].assign(baseline=lambda f: f["setting"] == baseline)
    lines = alt.Chart().mark_line(point=True).encode(
        x=alt.X("P:Q", scale=alt.Scale(type="log"), title="parameters P (the paper's count)"),
        y=alt.Y("bits:Q", scale=alt.Scale(type="log"), title="bits of knowledge stored (useful data)"),
        color=alt.Color("setting:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=0)),
        strokeDash=alt.StrokeDash("baseline:N", legend=None, scale=alt.Scale(domain=[True, False],
                                                                              range=[[4, 4], [1, 0]])),
        tooltip=["setting", "model", alt.Tooltip("P:Q", format=","), alt.Tooltip("bits:Q", format=",.0f"),
                 alt.Tooltip("R:Q", format=".3f"), "best_lr"])
    return alt.layer(lines, data=data).properties(
        width=520, height=300, title="Each point the best of its rates (seed 0); dashed: no junk, 100 exposures")


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
def _first_page(name: str, profile: str) -> tuple[list[Section], int]:
    sections = verdict_sections(name, *chapter_records(name, profile))
    return sections, len(sections)  # the claims judged so far and, while others train, their pending row


FIRST_PAGE = {name: (lambda profile, name=name: _first_page(name, profile)) for name in ("result10", "result11", "result12")}
