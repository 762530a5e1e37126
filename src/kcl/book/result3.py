"""Result 3's chapter: bioD's knobs K, C, D, L and T, moved one at a time around a default (paper §5.2, Fig. 2).

A *setting* is one bioD configuration; its figure is the peak over its models, each at its best
learning rate (``kcl.book.stats.best_of_lr``), and Result 3 claims that peak is at least 2 bits per
parameter whatever the knobs. The default setting's runs are result 1's at N = 1000. ``page``
reads the chapter once; its ``sections`` are the verdicts the notebook and the first page show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from kcl.book import chapters, law, stats
from kcl.book.addenda import EDGE_RATES
from kcl.book.knobs import DEFAULT_KNOBS, KNOBS, PAPER_KNOB_RANGES, RESULT1_CEILING, setting_label, varied_knob
from kcl.book.stats import (WIDENED_COLUMNS, Judgement, Section, beside_widened, best_of_lr, judge, peak, r_interval,
                            rate_at_edge)
from kcl.record import Record
from kcl.records import model_label


def knob_frame(records: list[Record]) -> pd.DataFrame:
    """One row per bioD setting: the knob it moves, its value, N, the peak point over models (best
    learning rate each) with its interval, and the three terms of the bits (Definition 4.1)."""
    rows = []
    best = best_of_lr(records)
    settings: dict = {}
    for record in best:
        d = record.data
        settings.setdefault(tuple(d[k] for k in KNOBS) + (d["n_people"],), []).append(record)
    for members in settings.values():
        top = peak(members)
        d, r = top.data, top.result
        knob = varied_knob(d)
        low, high = r_interval(r)
        rows.append({"knob": knob, "value": d[knob] if knob != "default" else None,
                     "setting": setting_label(d), "N": d["n_people"],
                     "model": model_label(top.model), "P": r.params.total, "R": r.R, "R_low": low, "R_high": high,
                     "R_max": r.R_max, "R_non_embedding": r.R_non_embedding, "best_lr": top.train["lr"],
                     "best_lr_at_edge": rate_at_edge(top),
                     "models_tried": ", ".join(f"{model_label(m.model)}: {m.result.R:.3f}" for m in members),
                     "bits_name": r.get("bits_name"), "bits_value": r.get("bits_value"), "bits_diversity": r["bits_diversity"],
                     "max_bits_name": r["max_bits_name"], "max_bits_value": r["max_bits_value"],
                     "max_bits_diversity": r["max_bits_diversity"], "accuracy": r.accuracy_mean})
    return pd.DataFrame(rows)


def knob_coverage(settings: pd.DataFrame) -> pd.DataFrame:
    """Per knob: the paper's range (§5.2), the values our settings took (the default included) and
    the share of the paper's range they span on a log scale (0 when only one value was tried)."""
    rows = []
    for knob in KNOBS:
        values = sorted({DEFAULT_KNOBS[knob], *settings.loc[settings["knob"] == knob, "value"].astype(int)})
        low, high = PAPER_KNOB_RANGES[knob]
        inside = [min(max(v, low), high) for v in (values[0], values[-1])]
        share = math.log(inside[1] / inside[0]) / math.log(high / low)
        rows.append({"knob": knob, "paper": f"{low:,}–{high:,}", "ours": ", ".join(f"{v:,}" for v in values),
                     "log_share_of_paper_range": round(share, 2)})
    return pd.DataFrame(rows)


def edge_rate_frame(committed: pd.DataFrame, widened: pd.DataFrame, reran: list[Record]) -> pd.DataFrame:
    """The settings the edge-rates addendum reran (those of the ``reran`` records), their
    committed figure beside the one with the extra rate (two ``knob_frame`` tables: main, and
    main + the edge runs)."""
    touched = {(setting_label(r.data), r.data["n_people"]) for r in reran}
    return beside_widened(committed, widened, ["setting", "N"], touched, ["model"] + WIDENED_COLUMNS)


def addendum_note(committed: pd.DataFrame, widened: pd.DataFrame, reran: list[Record]) -> str:
    """What the addendum's verdicts rest on (Markdown), naming the settings whose best rate is still at
    an edge of the four rates (the addendum adds one rate beyond, never a second)."""
    frame = edge_rate_frame(committed, widened, reran)
    still = frame[frame["best_lr_at_edge_widened"] != ""]
    note = "Only the settings it reran, each at its best of four rates."
    if len(still):
        note += (" Still at an edge of the four, so a rate further out might store more: "
                 + "; ".join(f"{r.setting} ({r.best_lr_widened:g}, the {r.best_lr_at_edge_widened})"
                             for r in still.itertuples()) + ".")
    return f"*{note}*"


def claims_result3(settings: pd.DataFrame) -> list[Judgement]:
    """Result 3: every setting's peak R ≥ 2."""
    return [judge(f"{row.setting} (N={row.N:,}): peak R(F)", 2.0, row.R, row.R_low, row.R_high, "at_least",
                  row.R_non_embedding)
            for row in settings.itertuples()]


def default_runs(result1_main: list[Record], main: list[Record]) -> list[Record]:
    """The default setting's runs: result 1's at N = 1000 with the models result 3's settings use (the
    same ``catalog.model_label``: architecture, depth, heads, width and options)."""
    models = {model_label(r.model) for r in main}
    return [r for r in result1_main
            if r.data["n_people"] == 1000 and model_label(r.model) in models]


def settings_notes(settings: pd.DataFrame) -> str:
    """What a reader should know of the settings beyond their verdicts (Markdown): those whose best
    rate sits at the edge of its grid, and those above ``RESULT1_CEILING``."""
    edge = settings[settings["best_lr_at_edge"] != ""]
    above = settings[settings["R"] > RESULT1_CEILING]
    notes = []
    if len(edge):
        notes.append("**Best rate at the edge of its grid** (a rate beyond the three tried might store more; these "
                     "stand as measured, and the addendum below tries one rate beyond): "
                     + "; ".join(f"{r.setting} ({r.model}: {r.best_lr:g}, the {r.best_lr_at_edge})"
                                 for r in edge.itertuples()) + ".")
    if len(above):
        notes.append(f"**Above {RESULT1_CEILING} bits per parameter**, the ceiling Result 1 states for bioS (Result 3 "
                     "claims only a floor): " + "; ".join(f"{r.setting}: R = {r.R:.2f} [{r.R_low:.2f}, {r.R_high:.2f}]"
                                                          for r in above.itertuples()) + ".")
    return "\n\n".join(notes) or f"Every setting's best rate lies inside its grid, and none exceeds {RESULT1_CEILING}."


def addendum_claims(settings: pd.DataFrame, widened: pd.DataFrame, reran: list[Record]) -> list[Judgement]:
    """The edge-rates addendum: the claims of the settings it reran (``reran``, one rate beyond the edge),
    each at its best of four rates (``widened``: ``knob_frame`` of main + the edge runs)."""
    changed = set(edge_rate_frame(settings, widened, reran)["setting"])
    return [c for c, row in zip(claims_result3(widened), widened.itertuples()) if row.setting in changed]


@dataclass
class Page:
    """What result 3's page shows and judges, read once: its runs, result 1's (the default
    setting and its seeds) and each setting's figure, committed and one rate beyond the edge."""
    parts: dict[str, list[Record]]
    result1: dict[str, list[Record]]
    settings: pd.DataFrame
    widened: pd.DataFrame

    @property
    def claims(self) -> list[Judgement]:
        return claims_result3(self.settings)

    @property
    def seed_spread(self) -> dict[str, dict]:
        """Result 1's peak over its seeds, at seed 0's rate and with each seed at its own best rate."""
        r1 = self.result1
        return {"at seed 0's rate": law.headline(r1["main"], r1["seeds"]),
                "each seed at its best rate": law.headline_per_seed(r1["main"], r1["seeds"] + r1["seed_rates"])}

    def sections(self) -> list[Section]:
        """The committed verdicts (the first page's row) and the edge-rates addendum beside them."""
        claims, reran = self.claims, self.parts["edge_rates"]
        addendum = addendum_claims(self.settings, self.widened, reran)  # the settings it reran, best of four rates
        return [Section("committed", claims),
                *([stats.addendum_section(f"one rate beyond the edge ({EDGE_RATES})", addendum, claims,
                                          addendum_note(self.settings, self.widened, reran))] if addendum else [])]


def page(profile: str = "cpu", *, allow_train: bool = False) -> Page:
    """Result 3's records and result 1's default setting (training what is missing where ``allow_train``)."""
    parts = chapters.chapter_parts("result3", profile, allow_train=allow_train)
    result1 = chapters.chapter_parts("result1", profile, allow_train=allow_train)
    default = default_runs(result1["main"], parts["main"])
    return Page(parts, result1, knob_frame(parts["main"] + default),
                knob_frame(parts["main"] + parts["edge_rates"] + default))


#: the first page's reading of this chapter's verdicts (``kcl.book.claims``): by notebook, the
#: verdict sections from the committed records and how many of them the first page shows
FIRST_PAGE = {"result3": lambda profile: (page(profile).sections(), 1)}
