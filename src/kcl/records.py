"""What a stored record says, in words: the data set's and the model's short names, and one line
per record (``kcl show``). Engine code and the book both name runs this way."""

from __future__ import annotations

from kcl.models.config import default_width
from kcl.record import Record


def data_name(data: dict) -> str:
    """A data set's name from its config dict, with the knobs a run sets away from their defaults:
    the bioR proxy's filler sentences and template pool (``bioR-proxy fillers 0–0 templates bioS``)
    and a subword tokenizer (``bioS tokenizer bpe``); records leave them out at their defaults."""
    fillers, templates, tokenizer = data.get("fillers"), data.get("templates"), data.get("tokenizer")
    return " ".join([data["name"], *([f"fillers {fillers[0]}–{fillers[1]}"] if fillers else []),
                     *([f"templates {templates}"] if templates else []),
                     *([f"tokenizer {tokenizer}"] if tokenizer else [])])


def model_width(m: dict) -> int:
    """A model's hidden size from its config dict: ``d_model``, or the paper's GPT2-ℓ-h width where
    it is None (``default_width``, as ``ModelConfig`` fills it in)."""
    return m.get("d_model") or default_width(m["n_head"])


def model_options(m: dict) -> dict:
    """A model config dict's further options (``ModelSpec.options``, pairs in a record) as a dict."""
    return dict(map(tuple, m.get("options") or ()))


def model_label(m: dict) -> str:
    """A model's short name from its config dict: ``gpt2-2-2 d=32`` (plus any extra options)."""
    width = model_width(m)
    options = "".join(f",{k}={v}" for k, v in model_options(m).items())
    return f"{m['arch']}-{m['n_layer']}-{m['n_head']} d={width}{options}"


def summary_line(record: Record) -> str:
    """One line of a record: key, data, model, exposures, rate, R with its interval, R^max, R per
    non-embedding parameter, the count P, accuracy, wall time and throughput."""
    r = record.result
    ci = r.R_ci
    interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    return (f"{record.key}  {data_name(record.data)}(N={record.data['n_people']}) {model_label(record.model)} "
            f"E={record.train['exposures']} lr={record.train['lr']:g}  "
            f"R={r.R:.3f}{interval} R_max={r.R_max:.3f} R_nonemb={r.R_non_embedding:.3f} "
            f"P={r.params.total:,} acc={r.accuracy_mean:.3f} "
            f"{r.train.wall_seconds:.0f}s {r.train.tokens_per_second:.0f} tok/s")
