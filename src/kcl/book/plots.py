"""The Altair charts the chapters share (one function per kind of chart, records in, chart out).

``setup()`` makes every chart an offline Vega-Lite output drawn as SVG (``kcl.book.vega_mime``): JupyterLab
draws it with its bundled Vega, the book with ``book/_static/vega-offline.js``; never a CDN.
"""

from __future__ import annotations

import re
import textwrap

import altair as alt
import pandas as pd

from kcl.record import Record
from kcl.records import model_label
from kcl.book.stats import r_interval, unbroken_intervals
from kcl.book import vega_mime
from kcl.book.knobs import DEFAULT_KNOBS, KNOBS

WIDTH = 520
TERMS = ("name", "value", "diversity")  # the three terms of Definition 4.1 (bioS has no diversity)
KINDS = ["measured (lower bound)", "maximum (perfect model)"]


def _theme():
    """The book's chart defaults: axis and legend labels whole (Vega cuts them at 180 px), and an
    axis's labels at least 4 px apart (a log axis's "4,000" and "5,000" would otherwise touch)."""
    return alt.theme.ThemeConfig({"config": {"axis": {"labelLimit": 0, "labelSeparation": 4},
                                             "legend": {"labelLimit": 0}}})


def setup() -> None:
    """Emit charts as offline Vega-Lite outputs drawn as SVG, and show tables whole (every column, no
    cell cut short: a page's tables list every rate tried); call once at the top of a notebook."""

    if "kcl" not in alt.renderers.names():
        alt.renderers.register("kcl", vega_mime.mimebundle)
    alt.renderers.enable("kcl")
    alt.theme.register("kcl", enable=True)(_theme)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)


#: column names as a page shows them
COLUMN_NAMES = {
    "P": "P (paper's count)", "P_non_embedding": "P, non-embedding", "R": "R", "R [95%]": "R [95% interval]",
    "R_widened [95%]": "R, rate grid widened [95% interval]", "R_low": "R, 95% low",
    "R_high": "R, 95% high", "R_max": "R^max", "R_non_embedding": "R per non-embedding parameter",
    "R_over_R_max": "R / R^max", "best_lr": "best rate", "best_lr_at_edge": "best rate at the grid's edge",
    "best_lr_widened": "best rate, grid widened", "lr_tried": "rates tried: R", "models_tried": "models tried",
    "max_bits": "max bits", "bits_name": "bits, names", "bits_value": "bits, values", "used_tokens": "used tokens",
    "name_pools": "name pools", "minutes": "minutes", "lr": "rate", "n_runs": "runs",
    "log_share_of_paper_range": "share of the paper's range (log scale)",
}


def column_name(column) -> str:
    """A frame's column as a page names it: ``COLUMN_NAMES``, else the field with spaces."""
    return COLUMN_NAMES.get(column, str(column).replace("_", " "))


class Table(pd.DataFrame):
    """A frame that a notebook shows as ``styled`` does (its HTML), and that code still reads,
    sorts and indexes by its fields like any frame."""

    _metadata = ["digits", "wrap"]
    digits = 3
    wrap = None

    @property
    def _constructor(self):
        return Table

    def _repr_html_(self) -> str:
        return styled(self, self.digits, self.wrap).to_html()


def table(frame: pd.DataFrame, digits: int = 3, wrap: bool | None = None) -> Table:
    """``frame`` to show on a page (``styled``): the same rows and fields, displayed for people."""
    out = Table(frame)
    out.digits, out.wrap = digits, wrap
    return out


def with_intervals(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``frame`` with each figure and its interval in one column: where ``R``, ``R_low`` and
    ``R_high`` are all present (or ``R_widened``, ``R_low_widened``, ``R_high_widened``: any suffix),
    ``R`` becomes the text "1.234 [1.100, 1.350]" and the two bounds go; a missing bound leaves
    the figure alone."""
    out = pd.DataFrame(frame).copy()
    for low in [c for c in out.columns if isinstance(c, str) and c.startswith("R_low")]:
        suffix = low[len("R_low"):]
        figure, high = f"R{suffix}", f"R_high{suffix}"
        if figure not in out.columns or high not in out.columns:
            continue
        if not all(pd.api.types.is_numeric_dtype(out[c]) for c in (figure, low, high)):
            continue
        out[figure] = [("" if pd.isna(v) else f"{v:.{digits}f}") if pd.isna(lo) or pd.isna(hi)
                       else f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                       for v, lo, hi in zip(out[figure], out[low], out[high])]
        out = out.drop(columns=[low, high]).rename(columns={figure: f"{figure} [95%]"})
    return out


def breakable_lists(text) -> str:
    """``text`` with a line break allowed after each comma of a list written without spaces (a
    model's options, "d=16,init=torch,tie_embeddings=True"), each slash of a path and each
    underscore of a long field name ("moe_eval_capacity_factor=8.0"), so that one cell does not set
    a table's width; a comma or slash before a digit ("1,000", "1/4") stays whole."""
    return re.sub(r"([,/_])(?=[A-Za-z])", "\\1\u200b", str(text))


#: a table of at most this many columns wraps its cells' text to fit the page's column; a wider one
#: (every run's fields) keeps one line per cell and scrolls inside its box
WRAP_COLUMNS = 14


def styled(frame: pd.DataFrame, digits: int = 3, wrap: bool | None = None):
    """A frame as a page shows it: each figure with its interval in one column (``with_intervals``),
    readable column names, thousands separators, ``digits`` decimals (bits and other large figures
    whole, rates as tried: 2.5e-3 rounded to 3 decimals would read 0.002, a rate never tried), yes/no
    for flags, no index column, every row (a pandas frame would cut a long one to ten rows and a
    "..." row). ``wrap``: whether its cells wrap to fit the text column (default: a table of at most
    ``WRAP_COLUMNS`` columns does; one of wide measurements, one line per cell, scrolls instead)."""
    frame = with_intervals(frame, digits)
    rates = {c for c in frame.columns if "lr" in str(c).split("_") or c == "rate"}
    formats = {}
    for column in frame.columns:
        values = frame[column]
        if column in rates and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            formats[column] = lambda v: "" if pd.isna(v) else f"{v:g}"
        elif pd.api.types.is_bool_dtype(values):
            formats[column] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_integer_dtype(values):
            formats[column] = "{:,}"
        elif pd.api.types.is_float_dtype(values):
            large = values.abs().max() >= 1000 if values.notna().any() else False
            formats[column] = "{:,.0f}" if large else f"{{:,.{digits}f}}"
    for column in frame.columns:  # an interval breaks before its bracket, never inside it
        if str(column).endswith("[95%]") and not pd.api.types.is_numeric_dtype(frame[column]):
            formats[column] = lambda v: "" if pd.isna(v) else unbroken_intervals(v)
        elif column not in formats and frame[column].map(lambda v: isinstance(v, str)).any():
            formats[column] = lambda v: "" if pd.isna(v) else breakable_lists(v)
    shown = frame.reset_index(drop=True)
    wraps = " kcl-wrap" if (len(shown.columns) <= WRAP_COLUMNS if wrap is None else wrap) else ""
    return (shown.style.format(formats, na_rep="").hide(axis="index")
            .relabel_index([column_name(c) for c in shown.columns], axis="columns")
            .set_table_attributes(f'class="dataframe kcl-table{wraps}"'))


def show(items) -> None:
    """Display a page part's ``items`` in a notebook: strings as Markdown, anything else as itself."""
    from IPython.display import Markdown, display

    for item in items:
        display(Markdown(item) if isinstance(item, str) else item)


def glue_values(values: dict[str, str]) -> None:
    """Glue each figure a page's text quotes (myst-nb's ``glue:text`` role, by name), without displaying it."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


def run_label(record: Record) -> str:
    """A short name of a record's run: model, exposures, learning rate, seed."""
    t = record.train
    return f"{model_label(record.model)} E={t['exposures']} lr={t['lr']:g} seed={t['seed']}"


def loss_curve_frame(records: list[Record]) -> pd.DataFrame:
    """Long table of the training loss curves: run, step, exposures so far, loss (nats/token)."""
    rows = []
    for record in records:
        train = record.result.train
        steps, exposures = train.steps, record.train["exposures"]
        for step, loss in train["loss_curve"]:
            rows.append({"run": run_label(record), "step": step, "exposures": step / steps * exposures, "loss": loss})
    return pd.DataFrame(rows, columns=["run", "step", "exposures", "loss"])


def loss_curve(records: list[Record], title: str = "Training loss") -> alt.Chart:
    """Mean next-token loss over all tokens against exposures per person (paper §2.3)."""
    return alt.Chart(loss_curve_frame(records), title=title).mark_line().encode(
        x=alt.X("exposures:Q", title="exposures per person"),
        y=alt.Y("loss:Q", title="loss (nats per token)", scale=alt.Scale(type="log")),
        color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None, labelLimit=0)),
        tooltip=["run", "step", alt.Tooltip("exposures:Q", format=".0f"), alt.Tooltip("loss:Q", format=".4f")],
    ).properties(width=WIDTH, height=260)


def bits_frame(records: list[Record]) -> pd.DataFrame:
    """Measured and maximum bits per term (name, value, diversity) of each record."""
    rows = []
    for record in records:
        r = record.result
        for term in TERMS:
            rows.append({"run": run_label(record), "term": term, "kind": KINDS[0], "bits": r[f"bits_{term}"]})
            rows.append({"run": run_label(record), "term": term, "kind": KINDS[1], "bits": r[f"max_bits_{term}"]})
    return pd.DataFrame(rows, columns=["run", "term", "kind", "bits"])


def bits_by_term(records: list[Record], title: str = "Bits by term: measured vs maximum") -> alt.Chart:
    """Grouped bars: the measured bits of each term of Definition 4.1 beside its maximum."""
    base = alt.Chart(bits_frame(records), title=title).encode(
        y=alt.Y("term:N", sort=list(TERMS), title=None),
        yOffset=alt.YOffset("kind:N", sort=KINDS),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0),
                        scale=alt.Scale(domain=KINDS, range=["#4c78a8", "#bab0ac"])),
        tooltip=["run", "term", "kind", alt.Tooltip("bits:Q", format=",.0f")],
    )
    bars = base.mark_bar().encode(x=alt.X("bits:Q", title="bits"))
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(x="bits:Q", text=alt.Text("bits:Q", format=",.0f"))
    return (bars + text).properties(width=WIDTH, height=160)


def capacity_frame(records: list[Record], control_results: dict | None = None) -> pd.DataFrame:
    """R (bits per parameter, paper count) with its interval for the records and the controls."""
    rows = []
    for record in records:
        r = record.result
        low, high = r_interval(r)
        rows.append({"predictor": "trained model", "R": r.R, "low": low, "high": high, "R_max": r.R_max})
    for kind, r in (control_results or {}).items():
        rows.append({"predictor": f"{kind} control", "R": r["R"], "low": r["R"], "high": r["R"], "R_max": r["R_max"]})
    return pd.DataFrame(rows, columns=["predictor", "R", "low", "high", "R_max"])


def capacity_with_controls(records: list[Record], control_results: dict | None = None, threshold: float | None = None,
                           title: str = "Bits per parameter: model and controls") -> alt.Chart:
    """R of the trained model (with its bootstrap interval) between the uniform control (0 bits)
    and the oracle (R = R^max), with the claim's threshold as a dashed rule."""
    frame = capacity_frame(records, control_results)
    order = ["uniform control", "trained model", "oracle control"]
    base = alt.Chart(frame, title=title).encode(y=alt.Y("predictor:N", sort=order, title=None))
    layers = [
        base.mark_bar(color="#4c78a8", opacity=0.8).encode(
            x=alt.X("R:Q", title="bits per parameter (R, paper count)"),
            tooltip=["predictor", alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("low:Q", format=".3f"),
                     alt.Tooltip("high:Q", format=".3f"), alt.Tooltip("R_max:Q", format=".3f")]),
        base.mark_rule(color="black", strokeWidth=2).encode(x="low:Q", x2="high:Q"),
        base.mark_text(align="left", dx=4).encode(x="R:Q", text=alt.Text("R:Q", format=".3f")),
    ]
    if threshold is not None:
        rule = pd.DataFrame({"threshold": [threshold], "label": [f"claim: {threshold:g}"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[4, 3], color="#e45756").encode(x="threshold:Q"))
        layers.append(alt.Chart(rule).mark_text(color="#e45756", align="left", dx=3, dy=-4, baseline="bottom")
                      .encode(x="threshold:Q", y=alt.value(0), text="label:N"))
    return alt.layer(*layers).properties(width=WIDTH, height=130)


# -- log axes of bits ---------------------------------------------------------------------------
def on_log_axis(frame: pd.DataFrame, column: str = "bits") -> pd.Series:
    """The rows a log axis of ``column`` can draw: values > 0. A value ≤ 0 (a model that stores
    nothing, measured by a lower bound below zero) would make Vega's whole log scale invalid, and an
    empty one cannot be laid out at all; NaN is left off too."""
    return frame[column] > 0


def left_off(frame: pd.DataFrame, name, column: str = "bits") -> str:
    """The sentence naming the rows ``on_log_axis`` leaves off (``name(row)`` for each row of
    ``itertuples``); "" where every row is drawn."""
    gone = frame[~on_log_axis(frame, column)]
    if gone.empty:
        return ""
    return f"Not drawn (they store no bits, which a log axis cannot show): {'; '.join(map(name, gone.itertuples()))}."


def titled(title: str, note: str, width: int = 95) -> alt.Title | str:
    """A chart's title with ``note`` (``left_off``'s sentence) beneath it as a wrapped subtitle."""
    return alt.Title(title, subtitle=textwrap.wrap(note, width)) if note else title


# -- the capacity law (results 1 and 4) ---------------------------------------------------------
def capacity_law(points: pd.DataFrame, lines: tuple[float, ...] = (2.0, 1.0),
                 title: str = "Bits stored against parameters (the form of the paper's Fig. 1)") -> alt.Chart:
    """Bits of knowledge stored (Definition 4.1) against P (paper count), log-log, one colour per
    data set, one shape per depth, with lines of constant bits per parameter and each data set's
    maximum (a perfect model) as a dashed rule. Points that store no bits are named beneath the
    title (``left_off``)."""
    every = points.assign(depth=points["layers"].astype(str) + " layers")
    frame = every[on_log_axis(every)]
    lo, hi = every["P"].min() / 1.5, every["P"].max() * 1.5
    guide = pd.DataFrame([{"P": p, "bits": rate * p, "line": f"{rate:g} bits/param"}
                          for rate in lines for p in (lo, hi)])
    maxima = every.groupby("data", as_index=False)["max_bits"].first()
    x = alt.X("P:Q", title="parameters P (paper count)", scale=alt.Scale(type="log", domain=[lo, hi]))
    layers = [
        alt.Chart(guide).mark_line(color="#888", strokeDash=[5, 3]).encode(x=x, y="bits:Q", detail="line:N"),
        alt.Chart(guide[guide["P"] == hi]).mark_text(align="right", dx=-4, dy=-6, color="#666").encode(
            x="P:Q", y="bits:Q", text="line:N"),
        alt.Chart(maxima).mark_rule(strokeDash=[2, 2], opacity=0.6).encode(
            y="max_bits:Q", color=alt.Color("data:N", title="data")),
        alt.Chart(frame).mark_point(filled=True, size=70).encode(
            x=x, y=alt.Y("bits:Q", title="bits stored (lower bound)", scale=alt.Scale(type="log")),
            color=alt.Color("data:N", title="data"), shape=alt.Shape("depth:N", title="depth"),
            tooltip=["data", "model", alt.Tooltip("P:Q", format=","), alt.Tooltip("bits:Q", format=",.0f"),
                     alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("R_max:Q", format=".2f"),
                     alt.Tooltip("best_lr:Q", format="g"), "lr_tried"]),
    ]
    note = left_off(every, lambda row: f"{row.data}, {row.model} (R = {row.R:.3f})")
    return alt.layer(*layers, title=titled(title, note)).properties(width=WIDTH, height=340)


def ratio_frame(points: pd.DataFrame) -> pd.DataFrame:
    """R per point under both counts, long: the paper count and the non-embedding count."""
    rows = []
    for _, p in points.iterrows():
        common = {"data": p["data"], "model": p["model"], "layers": f"{p['layers']} layers", "R_max": p["R_max"]}
        rows.append({**common, "count": "paper count (all, used rows)", "P": p["P"], "R": p["R"],
                     "low": p["R_low"], "high": p["R_high"]})
        scale = p["P"] / p["P_non_embedding"]
        rows.append({**common, "count": "non-embedding", "P": p["P_non_embedding"], "R": p["R_non_embedding"],
                     "low": p["R_low"] * scale, "high": p["R_high"] * scale})
    return pd.DataFrame(rows)


def ratio_vs_params(points: pd.DataFrame, claim: float | None = None,
                    title: str = "Bits per parameter, under both counts") -> alt.Chart:
    """R against P with its bootstrap interval, one panel per parameter count (the verdicts use
    the paper count), and the claim as a dashed rule."""
    frame = ratio_frame(points)
    base = alt.Chart().encode(x=alt.X("P:Q", title="parameters (this panel's count)", scale=alt.Scale(type="log")),
                              color=alt.Color("data:N", title="data"))
    layers = [base.mark_rule().encode(y="low:Q", y2="high:Q"),
              base.mark_point(filled=True, size=60).encode(
                  y=alt.Y("R:Q", title="bits per parameter"), shape=alt.Shape("layers:N", title="depth"),
                  tooltip=["data", "model", "count", alt.Tooltip("P:Q", format=","), alt.Tooltip("R:Q", format=".3f"),
                           alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f"),
                           alt.Tooltip("R_max:Q", format=".2f")])]
    if claim is not None:
        layers.append(alt.Chart().mark_rule(color="#e45756", strokeDash=[4, 3]).encode(y=alt.datum(claim)))
    return alt.layer(*layers, data=frame).properties(width=300, height=260).facet(
        column=alt.Column("count:N", title=None, sort=["paper count (all, used rows)", "non-embedding"]),
        title=title).resolve_scale(x="independent", y="independent")


def lr_sweep(frame: pd.DataFrame, title: str = "Every learning rate tried (each point takes the best)") -> alt.Chart:
    """R against the learning rate, one line per model, one panel per data set (three to a row)."""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("lr:Q", title="peak learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("R:Q", title="bits per parameter (R)"),
        color=alt.Color("model:N", title="model", sort=alt.SortField("P")),
        detail="seed:N",
        tooltip=["data", "model", alt.Tooltip("lr:Q", format="g"), alt.Tooltip("R:Q", format=".3f"), "seed"],
    ).properties(width=260, height=220).facet(facet=alt.Facet("data:N", title=None), columns=3, title=title)


# -- results 2 and 3 ------------------------------------------------------------------------------
def data_types(heads: dict, claim: float | None = 2.0,
               title: str = "Bits per parameter by data type (mean over seeds, 95% interval)") -> alt.Chart:
    """One bar per data type (``kcl.book.law.by_data_type``) with its interval and each seed as a dot."""
    frame = pd.DataFrame([{"data": name, "R": h["R"], "low": h["low"], "high": h["high"], "model": h["model"]}
                          for name, h in heads.items()])
    seeds = pd.DataFrame([{"data": name, "R": v} for name, h in heads.items() for v in h["values"]])
    order = list(heads)
    y = alt.Y("data:N", sort=order, title=None)
    layers = [alt.Chart(frame).mark_bar(opacity=0.7).encode(
                  y=y, x=alt.X("R:Q", title="bits per parameter (R, paper count)"),
                  tooltip=["data", "model", alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("low:Q", format=".3f"),
                           alt.Tooltip("high:Q", format=".3f")]),
              alt.Chart(frame).mark_rule(color="black", strokeWidth=2).encode(y=y, x="low:Q", x2="high:Q"),
              alt.Chart(seeds).mark_point(color="black", filled=True, size=30).encode(y=y, x="R:Q")]
    if claim is not None:
        layers.append(alt.Chart().mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x=alt.datum(claim)))
    return alt.layer(*layers, title=title).properties(width=WIDTH, height=120)


def knob_sweep(settings: pd.DataFrame, claim: float = 2.0,
               title: str = "Peak bits per parameter as one bioD knob moves (the form of the paper's Fig. 2)") -> alt.Chart:
    """Peak R per setting against the value of the knob it moves, one panel per knob; the default
    setting appears in every panel at its own value."""

    rows = settings[settings["knob"] != "default"].to_dict("records")
    for row in settings[settings["knob"] == "default"].to_dict("records"):
        rows += [{**row, "knob": knob, "value": DEFAULT_KNOBS[knob], "setting": "default"} for knob in KNOBS]
    frame = pd.DataFrame(rows)
    frame["is_default"] = frame["setting"] == "default"
    base = alt.Chart().encode(x=alt.X("value:Q", title="knob value", scale=alt.Scale(type="log"),
                                                 axis=alt.Axis(values=[1, 10, 100, 1000, 10000], format=",")))
    layers = [base.mark_rule().encode(y="R_low:Q", y2="R_high:Q"),
              base.mark_line(color="#bbb").encode(y="R:Q"),
              base.mark_point(filled=True, size=60).encode(
                  y=alt.Y("R:Q", title="peak R (paper count)"),
                  color=alt.Color("is_default:N", title="default setting", scale=alt.Scale(range=["#4c78a8", "#f58518"])),
                  tooltip=["setting", "N", "model", alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("R_max:Q", format=".2f"),
                           "models_tried", alt.Tooltip("best_lr:Q", format="g")]),
              alt.Chart().mark_rule(color="#e45756", strokeDash=[4, 3]).encode(y=alt.datum(claim))]
    return alt.layer(*layers, data=frame).properties(width=150, height=200).facet(
        column=alt.Column("knob:N", sort=list(KNOBS), title=None), title=title)


def bits_terms_by_setting(settings: pd.DataFrame,
                          title: str = "The bound's three terms per setting, measured (the form of Fig. 13)") -> alt.Chart:
    """Stacked bars of the measured name, value and diversity bits of each setting's peak model."""
    rows = [{"setting": row["setting"], "term": term, "bits": row[f"bits_{term}"]}
            for row in settings.to_dict("records") for term in TERMS]
    return alt.Chart(pd.DataFrame(rows), title=title).mark_bar().encode(
        y=alt.Y("setting:N", title=None, sort=list(settings["setting"])),
        x=alt.X("bits:Q", title="bits stored", stack="zero"),
        color=alt.Color("term:N", sort=list(TERMS), title="term"),
        tooltip=["setting", "term", alt.Tooltip("bits:Q", format=",.0f")],
    ).properties(width=WIDTH, height=22 * max(len(settings), 1))


def r_against_steps(frame: pd.DataFrame, title: str = "The same data in more steps: R against the steps "
                    "(smaller batches)") -> alt.Chart:
    """Every run of ``kcl.book.positions.steps_frame``: R with its 95% bootstrap interval against the
    training steps, one line per learning rate, one panel per point."""
    frame = frame.sort_values("lr")
    frame = frame.assign(rate=frame["lr"].map("{:g}".format))  # a legend in rising rate order
    x = alt.X("steps:Q", title="training steps (same exposures; smaller batch to the right)",
              scale=alt.Scale(type="log", nice=False, padding=12),
              axis=alt.Axis(format=",d", values=sorted(set(frame["steps"]))))
    rate = alt.Color("rate:N", title="peak learning rate", sort=list(dict.fromkeys(frame["rate"])))
    base = alt.Chart().encode(x=x, color=rate)
    lines = base.mark_line(point=True).encode(
        y=alt.Y("R:Q", title="bits per parameter (R, paper count)"), detail="seed:N",
        tooltip=["batch", "steps", "rate", "seed", alt.Tooltip("R:Q", format=".3f"),
                 alt.Tooltip("R_low:Q", format=".3f"), alt.Tooltip("R_high:Q", format=".3f"),
                 alt.Tooltip("R_non_embedding:Q", format=".3f")])
    bars = base.mark_rule().encode(y="R_low:Q", y2="R_high:Q")
    return alt.layer(lines, bars, data=frame).properties(width=360, height=240).facet(
        facet=alt.Facet("point:N", title=None), columns=2, title=title)
