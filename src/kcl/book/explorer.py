"""The K/T/C/L/D explorer: how many bits a bioD data set holds, and how large a model must be.

Two faces of one formula, the R^max numerator of Definition 4.1 (= Prop. 2.3's upper bound with
N0 ≫ N and T^L ≫ D, paper §2.1 and §4):

    bits = N·log2(N0/N)  +  N·K·C·log2 D  +  K·D·(L·log2 T − log2 D)
           name             value             diversity (0 when D = T^L: 𝒟_a is then all of 𝒯^L)

* ``static_explorer``: an Altair chart with sliders (K, C, L, T, D, N, N0 and a model size P) that
  computes the formula inside the chart (Vega expressions), so it works on the static site with no
  kernel; measured capacity ratios from result-3 records are overlaid where that setting was run;
* ``ExplorerPanel``: the ipywidgets panel for JupyterLab: the same numbers, a generated bioD sample,
  and a button that trains a small model on the chosen setting with a progress bar.
"""

from __future__ import annotations

import math
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from kcl.book import plots
from kcl.book.samples import marked_html
from kcl.book.stats import best_of_lr
from kcl.config import ModelSpec, RunConfig
from kcl.data import DataConfig
from kcl.run import estimated_seconds, run
from kcl.store import ResultStore
from kcl.train import TrainConfig

N0_PAPER = 400 * 400 * 1000  # the bioS name pools (paper §2.2); bioD reuses them
N0_REFERENCE = 100 * 100 * 100  # the reference benchmark's pools (issue 2)
POOLS = {N0_PAPER: (400, 400, 1000), N0_REFERENCE: (100, 100, 100)}
RATIOS = (2.0, 1.0)  # bits per parameter: 1000 exposures (Result 1), 100 exposures (Result 4)
# Slider ranges: the paper's Result-3 sweeps (§5.2: K, C, L in 1..50, D in 10..10^4, T in 20..4·10^4).
RANGES = {"K": (1, 50), "C": (1, 50), "L": (1, 50), "T": (2, 40_000), "D": (1, 10_000), "N": (10, 10_000_000),
          "P": (1_000, 1_000_000_000)}
DEFAULTS = {"N": 1000, "K": 4, "C": 4, "D": 64, "L": 1, "T": 64, "N0": N0_PAPER, "P": 37_280}


def bit_content(N: int, K: int, C: int, D: int, L: int, T: int, N0: int = N0_PAPER) -> dict:
    """Bits a perfect model of bioD(N, K, C, D, L, T) stores, by term (Definition 4.1, R^max)."""
    if D > T ** L:
        raise ValueError(f"D must be in [1, T^L = {T ** L:,}], got {D:,}")
    if N > N0:
        raise ValueError(f"N must be at most N0 = {N0:,}, got {N:,}")
    name = N * math.log2(N0 / N)
    value = N * K * C * math.log2(D)
    diversity = K * D * (L * math.log2(T) - math.log2(D))  # exactly 0 when D = T^L
    total = name + value + diversity
    return {"name": name, "value": value, "diversity": diversity, "total": total,
            **{f"params_at_{r:g}": total / r for r in RATIOS}}


# -- measured points (result-3 sweeps) -------------------------------------------------------------
MEASURED_COLUMNS = ["store", "N", "K", "C", "D", "L", "T", "N0", "P", "bits", "R", "R_max", "accuracy", "lr"]


def measured_points(results_dir: str | Path = "results", pattern: str = "result3*") -> pd.DataFrame:
    """One row per bioD point in ``results_dir/<pattern>/``: each setting and model at its best
    learning rate (``kcl.book.stats.best_of_lr``), current records only (empty if there is none)."""

    rows = []
    for folder in sorted(Path(results_dir).glob(pattern)):
        runs = [r for r in ResultStore(folder).records()
                if r.config.get("data", {}).get("name") == "bioD" and "R" in r.result]
        for record in best_of_lr(runs):
            d, r = record.data, record.result
            rows.append({"store": folder.name, "N": d["n_people"], "K": d["K"], "C": d["C"], "D": d["D"],
                         "L": d["L"], "T": d["T"], "N0": int(np.prod(d["pools"])), "P": r.params.total,
                         "bits": r.bits, "R": r.R, "R_max": r.R_max, "accuracy": r.get("accuracy_mean"),
                         "lr": record.train["lr"]})
    return pd.DataFrame(rows, columns=MEASURED_COLUMNS)


# -- the static chart ------------------------------------------------------------------------------
def _log_slider(name: str, label: str, low: float, high: float, value: float):
    """A slider over log10 of a knob (its name starts with "lg"), in steps of 0.01. Its default is
    the knob's exact log10, so that the default knob is exact; the page shows no log10 number beside
    it (book/_static/kcl.css), the readout above the chart gives the knob itself."""
    return alt.param(name=name, value=round(math.log10(value), 5),
                     bind=alt.binding_range(min=round(math.log10(low), 3), max=round(math.log10(high), 3),
                                            step=0.01, name=label))


def _params(defaults: dict) -> list:
    lin = lambda knob, label: alt.param(name=knob, value=defaults[knob], bind=alt.binding_range(
        min=RANGES[knob][0], max=RANGES[knob][1], step=1, name=label))
    return [
        _log_slider("lgN", "log10 N (people) ", *RANGES["N"], defaults["N"]),
        lin("K", "K (attributes) "), lin("C", "C (chunks per value) "), lin("L", "L (symbols per chunk) "),
        _log_slider("lgT", "log10 T (alphabet) ", *RANGES["T"], defaults["T"]),
        _log_slider("lgD", "log10 D (diversity) ", *RANGES["D"], defaults["D"]),
        alt.param(name="N0", value=defaults["N0"], bind=alt.binding_select(
            options=[N0_PAPER, N0_REFERENCE], labels=["400·400·1000 (paper)", "100·100·100 (reference)"],
            name="N0 (name pool) ")),
        _log_slider("lgP", "log10 P (model parameters) ", *RANGES["P"], defaults["P"]),
    ]


# Vega expressions: the knobs from the sliders, then Definition 4.1's R^max numerator.
_KNOBS = {
    "T": "round(pow(10, lgT))",
    "N": "min(round(pow(10, lgN)), N0)",
    "D": "min(round(pow(10, lgD)), pow(datum.T, L))",  # D ≤ T^L (Definition 2.2)
    "P": "round(pow(10, lgP))",
    "name": "datum.N * log(N0 / datum.N) / LN2",
    "value": "datum.N * K * C * log(datum.D) / LN2",
    "diversity": "datum.D >= pow(datum.T, L) ? 0 : K * datum.D * (L * log(datum.T) - log(datum.D)) / LN2",
    "total": "datum.name + datum.value + datum.diversity",
    "need2": "datum.total / 2",
    "need1": "datum.total / 1",
    "Rmax": "datum.total / datum.P",
}


def _with_knobs(chart: alt.Chart) -> alt.Chart:
    for name, expr in _KNOBS.items():
        chart = chart.transform_calculate(**{name: expr})
    return chart


def _readout() -> alt.Chart:
    lines = [
        "'bioD(N=' + format(datum.N, ',') + ', K=' + K + ', C=' + C + ', D=' + format(datum.D, ',') + ', L=' + L"
        " + ', T=' + format(datum.T, ',') + '), N0=' + format(N0, '.3~s')",
        "'bits by term: name ' + format(datum.name, ',.0f') + ' · value ' + format(datum.value, ',.0f')"
        " + ' · diversity ' + format(datum.diversity, ',.0f')",
        "'total: ' + format(datum.total, ',.0f') + ' bits  (' + format(datum.total / datum.N, ',.1f') + ' per person)'",
        "'parameters needed: ' + format(datum.need2, ',.0f') + ' at 2 bits/param · '"
        " + format(datum.need1, ',.0f') + ' at 1 bit/param'",
        "'model of P = ' + format(datum.P, ',') + ': R^max = total/P = ' + format(datum.Rmax, '.3f')"
        " + (datum.Rmax > 2 ? ' > 2, too small' : ' ≤ 2, large enough')",
    ]
    text = " : ".join(f"datum.line == {i} ? {expr}" for i, expr in enumerate(lines[:-1])) + f" : {lines[-1]}"
    chart = alt.Chart(pd.DataFrame({"line": range(len(lines))}))
    return _with_knobs(chart).transform_calculate(text=text).mark_text(
        align="left", baseline="top", fontSize=12, font="monospace").encode(
        x=alt.value(0), y=alt.Y("line:O", axis=None), text="text:N").properties(width=600, height=19 * len(lines))


def _bars() -> alt.Chart:
    chart = _with_knobs(alt.Chart(pd.DataFrame({"term": ["name", "value", "diversity"]})))
    chart = chart.transform_calculate(
        bits="datum.term == 'name' ? datum.name : datum.term == 'value' ? datum.value : datum.diversity",
        share="datum.total > 0 ? datum.bits / datum.total : 0")
    base = chart.encode(y=alt.Y("term:N", sort=["name", "value", "diversity"], title=None),
                        tooltip=[alt.Tooltip("bits:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%")])
    return (base.mark_bar(color="#4c78a8").encode(x=alt.X("bits:Q", title="bits (Definition 4.1, perfect model)"))
            + base.mark_text(align="left", dx=3).encode(x="bits:Q", text=alt.Text("share:Q", format=".1%"))
            ).properties(width=540, height=90, title="Where the bits are")


def _capacity(measured: pd.DataFrame) -> alt.Chart:
    axis = alt.Axis(format="~s", grid=True)
    y = alt.Y("bits:Q", scale=alt.Scale(type="log"), axis=axis, title="bits")
    # the 2 and 1 bits/param lines over P in [total/100, 100·total], around the current setting
    lines = _with_knobs(alt.Chart(alt.sequence(-2, 2.01, 0.25, as_="s"))).transform_calculate(
        P_line="datum.total * pow(10, datum.s)", two="2 * datum.P_line", one="datum.P_line",
    ).transform_fold(["two", "one"], as_=["rate", "bits"]).transform_calculate(
        rate="datum.rate == 'two' ? '2 bits/param (1000 exposures)' : '1 bit/param (100 exposures)'")
    layers = [lines.mark_line(strokeDash=[5, 3]).encode(
        x=alt.X("P_line:Q", scale=alt.Scale(type="log"), axis=axis, title="model parameters P (paper count)"), y=y,
        color=alt.Color("rate:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#e45756", "#f58518"])))]
    one = _with_knobs(alt.Chart(pd.DataFrame({"row": [0]})))
    layers.append(one.mark_rule(color="#4c78a8").encode(y="total:Q"))  # the data's bits
    layers.append(one.mark_rule(color="gray", strokeDash=[2, 2]).encode(x="P:Q"))  # the chosen model size
    needs = one.transform_fold(["need2", "need1"], as_=["rate", "P_needed"])
    layers.append(needs.mark_point(filled=True, size=70, color="black").encode(
        x="P_needed:Q", y="total:Q", tooltip=[alt.Tooltip("P_needed:Q", format=",.0f", title="parameters needed")]))
    drawn = plots.on_log_axis(measured)
    stored_nothing = int((~drawn).sum())
    measured = measured[drawn]
    if len(measured):
        match = ("datum.K == K && datum.C == C && datum.L == L && datum.N0 == N0 && abs(log(datum.T) - lgT * LN10) < 0.03"
                 " && abs(log(datum.D) - lgD * LN10) < 0.03 && abs(log(datum.N) - lgN * LN10) < 0.03")
        layers.append(alt.Chart(measured).transform_calculate(here=match).mark_point(filled=True).encode(
            x="P:Q", y="bits:Q", color=alt.value("#54a24b"),
            opacity=alt.condition("datum.here", alt.value(1.0), alt.value(0.35)),
            size=alt.condition("datum.here", alt.value(120), alt.value(30)),
            tooltip=["store", "N", "K", "C", "D", "L", "T", alt.Tooltip("P:Q", format=","),
                     alt.Tooltip("R:Q", format=".3f"), alt.Tooltip("R_max:Q", format=".3f"),
                     alt.Tooltip("accuracy:Q", format=".2f"), alt.Tooltip("lr:Q", format="g", title="best rate")]))
    subtitle = ("green: measured runs (bright where the setting matches the sliders)" if len(measured)
                else "no measured result-3 run stores bits yet" if stored_nothing
                else "no result-3 records yet: measured runs will appear here")
    if stored_nothing:
        subtitle += (f"; {stored_nothing} measured run{'s' if stored_nothing > 1 else ''} storing no bits left off "
                     "(a log axis cannot show them)")
    return alt.layer(*layers).properties(
        width=540, height=320, title=alt.Title("Bits in the data vs what a model of P parameters holds",
                                               subtitle=[subtitle, "black points: parameters needed at 2 and 1 bits/param"]))


def static_explorer(measured: pd.DataFrame | None = None, **defaults) -> alt.VConcatChart:
    """The explorer chart: sliders, a readout, the bits by term and the capacity plot.

    ``defaults`` overrides ``DEFAULTS`` (N, K, C, D, L, T, N0, P); ``measured`` is
    ``measured_points()`` (empty or None: no measured layer, and the chart says so).
    """
    values = {**DEFAULTS, **defaults}
    if measured is None:
        measured = pd.DataFrame(columns=MEASURED_COLUMNS)
    return alt.vconcat(_readout(), _bars(), _capacity(measured)).add_params(*_params(values)).configure_view(
        stroke=None)


# -- the JupyterLab panel --------------------------------------------------------------------------
class ExplorerPanel:
    """ipywidgets panel: sliders → live bit content, a generated bioD sample, and a small training run.

    ``panel.widget`` is the widget to display (``display(panel)`` also works in Jupyter).
    ``train()`` is what the button calls; tests call it directly.
    """

    max_train_seconds = 120.0  # refuse settings whose estimated cost is larger (kcl.run.estimated_seconds)
    max_train_tokens = 20_000_000  # a cheap first check, before anything is built
    train_people = 200  # the training run uses at most this many people

    def __init__(self, **defaults):
        import ipywidgets as W

        v = {**DEFAULTS, **defaults}
        log_slider = lambda knob, desc: W.FloatLogSlider(value=v[knob], base=10, min=math.log10(RANGES[knob][0]),
                                                         max=math.log10(RANGES[knob][1]), step=0.01,
                                                         description=desc, readout_format=",.0f",
                                                         continuous_update=False)
        int_slider = lambda knob, desc: W.IntSlider(value=v[knob], min=RANGES[knob][0], max=RANGES[knob][1],
                                                    description=desc, continuous_update=False)
        self.knobs = {
            "N": log_slider("N", "N people"), "K": int_slider("K", "K attributes"), "C": int_slider("C", "C chunks"),
            "L": int_slider("L", "L symbols"), "T": log_slider("T", "T alphabet"), "D": log_slider("D", "D diversity"),
            "N0": W.Dropdown(options=[("400·400·1000 (paper)", N0_PAPER), ("100·100·100 (reference)", N0_REFERENCE)],
                             value=v["N0"], description="N0"),
            "P": log_slider("P", "P params"),
        }
        for w in self.knobs.values():
            w.style.description_width = "90px"
        self.numbers = W.HTML()
        self.sample = W.HTML()
        self.exposures = W.IntSlider(value=100, min=10, max=1000, step=10, description="exposures",
                                     continuous_update=False)
        self.button = W.Button(description="Train a small model", icon="play", button_style="primary",
                               layout=W.Layout(width="auto"))
        self.progress = W.Output()
        self.button.on_click(lambda _: self.train())
        for w in self.knobs.values():
            w.observe(lambda _: self.update(), names="value")
        controls = W.VBox(list(self.knobs.values()), layout=W.Layout(width="430px"))
        trainer = W.VBox([W.HTML("<b>Train</b> (at most 200 people, GPT2 2 layers, d = 32)"),
                          W.HBox([self.exposures, self.button]), self.progress])
        self.widget = W.VBox([W.HBox([controls, self.numbers]), W.HTML("<b>A generated sample</b>"), self.sample,
                              trainer])
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def setting(self) -> dict:
        """The current knob values as integers, D clipped to T^L and N to N0."""
        s = {k: int(round(w.value)) for k, w in self.knobs.items()}
        s["D"] = min(s["D"], s["T"] ** s["L"])
        s["N"] = min(s["N"], s["N0"])
        return s

    def data_config(self, n_people: int | None = None):

        s = self.setting()
        return DataConfig(name="bioD", n_people=min(s["N"], n_people or s["N"]), K=s["K"], C=s["C"], D=s["D"],
                          L=s["L"], T=s["T"], pools=POOLS[s["N0"]])

    def update(self) -> dict:
        """Recompute the numbers and the sample for the current setting; returns the numbers."""
        s = self.setting()
        bits = bit_content(s["N"], s["K"], s["C"], s["D"], s["L"], s["T"], s["N0"])
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{bits[k]:,.0f}</td></tr>"
                       for k in ("name", "value", "diversity", "total"))
        self.numbers.value = (
            f"<table><tr><th>term</th><th>bits</th></tr>{rows}</table>"
            f"<p>parameters needed: <b>{bits['params_at_2']:,.0f}</b> at 2 bits/param, "
            f"<b>{bits['params_at_1']:,.0f}</b> at 1 bit/param<br>"
            f"a model of P = {s['P']:,}: R<sup>max</sup> = {bits['total'] / s['P']:.3f} bits/param</p>")
        self.sample.value = marked_html(self.data_config(n_people=50), 3, max_tokens=120)
        return bits

    def train(self, exposures: int | None = None) -> dict | None:
        """Train and measure a small model on the current setting (at most ``train_people`` people),
        with a progress bar; returns the result (None if the estimated cost is too large)."""

        config = RunConfig(data=self.data_config(n_people=self.train_people),
                           model=ModelSpec(arch="gpt2", n_layer=2, n_head=2, d_model=32),
                           train=TrainConfig(exposures=int(exposures or self.exposures.value), batch_size=32,
                                             lr=5e-3, packing="per_bio"), bootstrap=100)
        self.progress.clear_output()
        with self.progress:
            s = self.setting()
            tokens = config.data.n_people * config.train.exposures * (5 + s["K"] * (1 + s["C"] * s["L"]))
            if tokens > self.max_train_tokens:
                print(f"{tokens:,} training tokens: more than {self.max_train_tokens:,}; "
                      "lower K, C, L or the exposures")
                return None
            cost = estimated_seconds(config)
            if cost > self.max_train_seconds:
                print(f"estimated {cost:.0f} s on this machine: more than {self.max_train_seconds:.0f} s; "
                      "lower T, L, K, C or the exposures")
                return None
            print(f"{config.label()}: estimated {cost:.0f} s")
            result = run(config, progress=True)
            print(f"R = {result['R']:.3f} bits/param (R^max = {result['R_max']:.3f}), "
                  f"accuracy {result['accuracy_mean']:.2f}, {result['train']['wall_seconds']:.1f} s")
        return result
