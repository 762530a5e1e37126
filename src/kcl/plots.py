"""The Altair charts the chapters share (one function per kind of chart, records in, chart out).

``setup()`` makes every chart an offline Vega-Lite output drawn as SVG (``kcl.vega_mime``): JupyterLab
draws it with its bundled Vega, the book with ``book/_static/vega-offline.js``; never a CDN.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

WIDTH = 520
TERMS = ("name", "value", "diversity")  # the three terms of Definition 4.1 (bioS has no diversity)
KINDS = ["measured (lower bound)", "maximum (perfect model)"]


def setup() -> None:
    """Emit charts as offline Vega-Lite outputs drawn as SVG; call once at the top of a notebook."""
    from kcl import vega_mime

    if "kcl" not in alt.renderers.names():
        alt.renderers.register("kcl", vega_mime.mimebundle)
    alt.renderers.enable("kcl")


def run_label(record: dict) -> str:
    """A short name of a record's run: model, exposures, learning rate, seed."""
    c = record["config"]
    m, t = c["model"], c["train"]
    width = m.get("d_model") or 64 * m["n_head"]
    return f"{m['arch']}-{m['n_layer']}-{m['n_head']} d={width} E={t['exposures']} lr={t['lr']:g} seed={t['seed']}"


def loss_curve_frame(records: list[dict]) -> pd.DataFrame:
    """Long table of the training loss curves: run, step, exposures so far, loss (nats/token)."""
    rows = []
    for record in records:
        train = record["result"]["train"]
        steps, exposures = train["steps"], record["config"]["train"]["exposures"]
        for step, loss in train["loss_curve"]:
            rows.append({"run": run_label(record), "step": step, "exposures": step / steps * exposures, "loss": loss})
    return pd.DataFrame(rows, columns=["run", "step", "exposures", "loss"])


def loss_curve(records: list[dict], title: str = "Training loss") -> alt.Chart:
    """Mean next-token loss over all tokens against exposures per person (paper §2.3)."""
    return alt.Chart(loss_curve_frame(records), title=title).mark_line().encode(
        x=alt.X("exposures:Q", title="exposures per person"),
        y=alt.Y("loss:Q", title="loss (nats per token)", scale=alt.Scale(type="log")),
        color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None, labelLimit=0)),
        tooltip=["run", "step", alt.Tooltip("exposures:Q", format=".0f"), alt.Tooltip("loss:Q", format=".4f")],
    ).properties(width=WIDTH, height=260)


def bits_frame(records: list[dict]) -> pd.DataFrame:
    """Measured and maximum bits per term (name, value, diversity) of each record."""
    rows = []
    for record in records:
        r = record["result"]
        for term in TERMS:
            rows.append({"run": run_label(record), "term": term, "kind": KINDS[0], "bits": r[f"bits_{term}"]})
            rows.append({"run": run_label(record), "term": term, "kind": KINDS[1], "bits": r[f"max_bits_{term}"]})
    return pd.DataFrame(rows, columns=["run", "term", "kind", "bits"])


def bits_by_term(records: list[dict], title: str = "Bits by term: measured vs maximum") -> alt.Chart:
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


def capacity_frame(records: list[dict], control_results: dict | None = None) -> pd.DataFrame:
    """R (bits per parameter, paper count) with its interval for the records and the controls."""
    rows = []
    for record in records:
        r = record["result"]
        low, high = r.get("R_ci") or (r["R"], r["R"])
        rows.append({"predictor": "trained model", "R": r["R"], "low": low, "high": high, "R_max": r["R_max"]})
    for kind, r in (control_results or {}).items():
        rows.append({"predictor": f"{kind} control", "R": r["R"], "low": r["R"], "high": r["R"], "R_max": r["R_max"]})
    return pd.DataFrame(rows, columns=["predictor", "R", "low", "high", "R_max"])


def capacity_with_controls(records: list[dict], control_results: dict | None = None, threshold: float | None = None,
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
