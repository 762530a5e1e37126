"""The 100-exposure regime: the recipe pilot's rule (book/protocol.md, "The 100-exposure regime:
a recipe pilot"), and how a chapter's sweep takes the regime it chose.

A *recipe* is a batch size and an initialisation (model option ``init``). For each recipe and rate,
the mean R over the pilot's seeds; the recipe's score is that mean at its best rate. Where the best
rate is at an edge of the rates tried, the recipe is also run one rate two-fold beyond it, at every
seed (``recipe_edge_configs``), and the best of them all counts. The regime is the recipe with the
highest score at its best rate r; scores within ``TIE`` of the highest go to the largest batch among
them. A chapter that names the pilot (``Chapter.regime``) trains at the regime's batch size and
initialisation, at the rates r/2, r and 2r (its sweep file's ``train.lr: from_regime``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from kcl.config import config_from_dict
from kcl.record import Record
from kcl.records import model_options

DEFAULT_INIT = "gpt2"
#: each initialisation (model option ``init``) as a page names it
INIT_NAMES = {"gpt2": "GPT-2's", "torch": "PyTorch's defaults", "embedding_unit": "GPT-2's, embedding N(0, 1)"}
#: scores within this share of the highest count as tied (the largest batch among them wins)
TIE = 0.02
#: a sweep file's ``train.lr`` grid that the regime decides: r/2, r, 2r; or the best rate r alone
FROM_REGIME = "from_regime"
FROM_REGIME_BEST = "from_regime_best"


@dataclass(frozen=True)
class Regime:
    """The recipe the pilot chose: batch size, initialisation, best rate, and its score (mean R)."""

    batch_size: int
    init: str
    lr: float
    score: float

    @property
    def rates(self) -> list[float]:
        """The rates a chapter trains at: r/2, r, 2r."""
        return [float(f"{self.lr / 2:.3g}"), float(self.lr), float(f"{self.lr * 2:.3g}")]

    def describe(self) -> str:
        """The regime in words, as a page states it."""
        return (f"batch {self.batch_size}, initialisation: {INIT_NAMES.get(self.init, self.init)}; rates "
                f"{', '.join(f'{r:g}' for r in self.rates)} (the pilot's best {self.lr:g}: mean R {self.score:.3f})")


def provisional(spec: dict) -> Regime:
    """A stand-in regime to price a sweep before the recipe pilot has chosen one: the sweep file's
    own batch size and base rate, GPT-2's initialisation, no score."""
    train = spec["base"]["train"]
    return Regime(int(train["batch_size"]), DEFAULT_INIT, float(train["lr"]), float("nan"))


def recipe_init(record: Record) -> str:
    """A run's initialisation (model option ``init``; GPT-2's when unset)."""
    return model_options(record.model).get("init", DEFAULT_INIT)


def rate_table(records: list[Record]) -> pd.DataFrame:
    """One row per recipe and rate: mean R over seeds, the seeds' figures and their count."""
    rows = [{"batch_size": r.train["batch_size"], "init": recipe_init(r), "lr": r.train["lr"],
             "seed": r.train["seed"], "R": r.result.R} for r in records]
    frame = pd.DataFrame(rows, columns=["batch_size", "init", "lr", "seed", "R"])
    table = frame.groupby(["batch_size", "init", "lr"], as_index=False).agg(
        R=("R", "mean"), seeds=("seed", "nunique"), values=("R", lambda v: ", ".join(f"{x:.3f}" for x in v)))
    return table.sort_values(["batch_size", "init", "lr"]).reset_index(drop=True)


def recipe_table(records: list[Record]) -> pd.DataFrame:
    """One row per recipe: its best rate, the mean R there (its score), the rates tried and whether
    the best is at an edge of them; highest score first."""
    rows = []
    for (batch, init), group in rate_table(records).groupby(["batch_size", "init"]):
        best = group.loc[group["R"].idxmax()]
        rates = sorted(group["lr"])
        edge = "lowest" if best["lr"] == rates[0] else "highest" if best["lr"] == rates[-1] else ""
        rows.append({"batch_size": int(batch), "init": init, "best_lr": float(best["lr"]), "score": float(best["R"]),
                     "rates_tried": ", ".join(f"{r:g}" for r in rates), "best_at_edge": edge})
    return pd.DataFrame(rows).sort_values("score", ascending=False).reset_index(drop=True)


def recipe_edge_configs(records: list[Record]) -> list:
    """For each recipe whose best rate is at an edge of the rates tried: its runs at one rate
    two-fold beyond, at every seed the pilot ran it at."""
    out = []
    for row in recipe_table(records).itertuples():
        if not row.best_at_edge:
            continue
        rates = [float(r) for r in row.rates_tried.split(", ")]
        beyond = min(rates) / 2 if row.best_at_edge == "lowest" else max(rates) * 2
        members = [r for r in records if r.train["batch_size"] == row.batch_size
                   and recipe_init(r) == row.init and r.train["lr"] == row.best_lr]
        for record in members:
            config = config_from_dict(record.config)
            out.append(dataclasses.replace(config, train=dataclasses.replace(config.train, lr=beyond)))
    return out


def choose(records: list[Record]) -> Regime:
    """The regime by the rule (module docstring) from the pilot's records, its edge runs included."""
    if not records:
        raise ValueError("the recipe pilot has no records to choose a regime from")
    table = recipe_table(records)
    top = table["score"].max()
    tied = table[table["score"] >= top - TIE * abs(top)]
    chosen = tied.sort_values(["batch_size", "score"], ascending=[False, False]).iloc[0]
    return Regime(int(chosen["batch_size"]), str(chosen["init"]), float(chosen["best_lr"]), float(chosen["score"]))


def windows_per_step(regime: Regime, biography_tokens: float, window: int) -> int:
    """The regime's batch for a sweep that packs biographies into windows (``concat``): as many
    biographies per step as the regime's one-biography sequences, ``biography_tokens`` each plus
    its end-of-text token, in windows of ``window`` tokens; at least one window."""
    return max(1, round(regime.batch_size * (biography_tokens + 1) / window))


def apply_to_spec(spec: dict, regime: Regime, where: str, biography_tokens: float | None = None) -> dict:
    """A sweep spec at the regime: the base's batch size (for a sweep packing windows, the same
    biographies per step: ``windows_per_step`` with the data's mean ``biography_tokens``), and the
    rates r/2, r, 2r where its grid's ``train.lr`` says ``from_regime`` (r alone for
    ``from_regime_best``; ``where`` names the file in errors)."""
    grid = dict(spec.get("grid") or {})
    marker = grid.get("train.lr")
    rates = {FROM_REGIME: regime.rates, FROM_REGIME_BEST: [regime.lr]}.get(marker) if isinstance(marker, str) else None
    if rates is None:
        raise ValueError(f"{where}: a chapter that takes the 100-exposure regime lists `train.lr: {FROM_REGIME}` "
                         f"(or `{FROM_REGIME_BEST}`) in its grid")
    base = dict(spec.get("base") or {})
    train = base.get("train", {})
    batch = regime.batch_size
    if train.get("packing") == "concat":
        if biography_tokens is None:
            raise ValueError(f"{where}: packs windows; the regime's batch needs the data's biography length")
        batch = windows_per_step(regime, biography_tokens, train.get("window", 512))
    base["train"] = {**train, "batch_size": batch}
    return {**spec, "base": base, "grid": {**grid, "train.lr": rates}}


def apply_to_configs(configs: list, regime: Regime) -> list:
    """Each config with the regime's initialisation among its model options (none added for the
    default, so that those configs keep the keys of runs made before the option existed)."""
    if regime.init == DEFAULT_INIT:
        return list(configs)
    out = []
    for c in configs:
        options = tuple(sorted({**dict(c.model.options), "init": regime.init}.items()))
        out.append(dataclasses.replace(c, model=dataclasses.replace(c.model, options=options)))
    return out
