"""Result 5's page: each architecture's peak capacity ratio at 1000 exposures against GPT2's.

The chapter's runs are ``sweeps/result5.yaml`` (LLaMA untied and tied, Mistral, GPT2 with a 1/4
MLP, GPT2 without MLP, on result 1's bioD); GPT2's points are result 1's records (same data, same
keys), except in the smoke profile, whose own sweep holds a GPT2 model. Each architecture's peak is
its best point (each point the best of its rates); the claim is the ratio of that peak to GPT2's.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from kcl.book import law
from kcl.book.chapters import parts_or_pending
from kcl.book.stats import Judgement, Section, judge_ratio

CHAPTER = "result5"
GPT2 = "GPT2"


def architecture(model: dict) -> str:
    """An architecture's name from a model config dict: the paper's names, "tied" where a LLaMA-family
    model shares its embedding and output matrix (GPT2's are tied by default)."""
    names = {"gpt2": GPT2, "gpt2_quarter_mlp": "GPT2, 1/4 MLP", "gpt2_no_mlp": "GPT2, no MLP", "llama": "LLaMA",
             "mistral": "Mistral", "llama_std_mlp": "LLaMA, standard MLP", "gpt2_moe": "GPT2-MoE"}
    tied = dict(model.get("options") or ()).get("tie_embeddings")
    return names.get(model["arch"], model["arch"]) + (" (tied)" if tied and model["arch"] in ("llama", "mistral") else "")


def points(records: list[dict]) -> pd.DataFrame:
    """``law.points_frame`` with each point's architecture."""
    frame = law.points_frame(records)
    best = {r["key"]: r for r in records}
    frame.insert(0, "architecture", [architecture(best[k]["config"]["model"]) for k in frame["key"]])
    return frame


def peaks(frame: pd.DataFrame) -> pd.DataFrame:
    """Each architecture's peak point (largest R), largest first."""
    top = frame.loc[frame.groupby("architecture")["R"].idxmax()]
    return top.sort_values("R", ascending=False).reset_index(drop=True)


def claims(peak_frame: pd.DataFrame) -> list[Judgement]:
    """Each architecture's peak R against GPT2's (paper: about 1), the ratio's interval combining
    the two peaks' bootstrap intervals at their extremes."""
    gpt2 = peak_frame[peak_frame["architecture"] == GPT2]
    if gpt2.empty:
        raise ValueError("the peaks hold no GPT2 point to compare with")
    bottom = tuple(gpt2.iloc[0][["R", "R_low", "R_high"]])
    return [judge_ratio(f"{row.architecture}: peak R(F) / GPT2's peak R(F) at 1000 exposures", 1.0,
                        (row.R, row.R_low, row.R_high), bottom, kind="about")
            for row in peak_frame.itertuples() if row.architecture != GPT2]


def chapter_points(profile: str, allow_train: bool = False) -> tuple[pd.DataFrame | None, str]:
    """Every point of the chapter with GPT2's beside them (result 1's, or the smoke sweep's own), or
    None and the sentence saying what is pending."""
    parts, pending = parts_or_pending(CHAPTER, profile, allow_train=allow_train)
    if parts is None:
        return None, pending
    records = parts["main"]
    if profile != "smoke":
        gpt2, pending = parts_or_pending("result1", profile, allow_train=allow_train)
        if gpt2 is None:
            return None, pending
        records = records + gpt2["main"]
    return points(records), ""


def verdict_sections(frame: pd.DataFrame | None, pending: str) -> list[Section]:
    """The page's verdicts: every architecture's ratio, or one section held back saying why."""
    if frame is None:
        return [Section("committed", None, pending)]
    return [Section("committed", claims(peaks(frame)))]


def chart(frame: pd.DataFrame):
    """R against the parameter count P, one line per architecture, one panel per N (the form of the
    paper's Fig. 3): the 2-bit line for reference."""
    data = frame.assign(N=frame["N"].map(lambda n: f"N = {n:,}"))
    lines = alt.Chart().mark_line(point=True).encode(
        x=alt.X("P:Q", scale=alt.Scale(type="log"), title="parameters P (the paper's count)"),
        y=alt.Y("R:Q", title="R(F), bits per parameter"),
        color=alt.Color("architecture:N", title=None, legend=alt.Legend(orient="bottom", columns=3, labelLimit=0)),
        tooltip=["architecture", "model", alt.Tooltip("P:Q", format=","), alt.Tooltip("R:Q", format=".3f"),
                 alt.Tooltip("R_non_embedding:Q", format=".3f"), "best_lr"])
    rule = alt.Chart().mark_rule(strokeDash=[4, 4], color="#888").encode(y=alt.datum(2.0))
    return alt.layer(lines, rule, data=data).properties(width=260, height=220).facet(
        column=alt.Column("N:N", title=None), title="Each architecture's points, each the best of its rates")
