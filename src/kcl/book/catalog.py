"""The table of every run: one row per current record in ``results/*/`` (the book's "All runs").

Each row names the store folder and the record key, the config (data set, model, exposures,
learning rate, seeds), the measurement under both parameter counts (R = bits / P with the
paper's count, and bits / non-embedding parameters; see ``kcl.params``), the parameter breakdown
and the code version (kcl version, git commit, semantics version). Records from another
``SEMANTICS_VERSION`` are left out (they are stale); files that are not run records (for
example the benchmark's ``results/bench/latest.json``) are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kcl.data import data_label
from kcl.record import Record
from kcl.records import model_label
from kcl.store import ResultStore

#: Column order of the table (and of the CSV the book offers for download).
COLUMNS = (
    "store", "key", "data", "model", "exposures", "lr", "batch_size", "train_seed", "data_seed",
    "bits", "max_bits", "R", "R_ci_low", "R_ci_high", "R_max", "R_non_embedding", "accuracy",
    "params_total", "params_non_embedding", "params_embedding", "params_lm_head", "params_attention",
    "params_mlp", "params_norms", "used_tokens", "wall_seconds", "trained",
    "kcl_version", "git_commit", "semantics_version", "created",
)


def pools_label(data: dict) -> str:
    """``100³`` or ``400×400×1000``: the sizes of the name pools ("" without pools)."""
    pools = data.get("pools") or ()
    if not pools:
        return ""
    return f"{pools[0]}³" if len(set(pools)) == 1 else "×".join(str(n) for n in pools)


def trained_as(train: dict) -> str:
    """How a run was trained, from its training summary: "1 process" or "N ranks" (data parallel,
    ``kcl.parallel``), and "compiled" where it went through ``torch.compile``; the thread count
    where it was recorded; where subnormal floats were taken as zero (``kcl.train.subnormals_flushed``),
    from which step if not the first. For a run resumed from its checkpoint, how its last part was trained."""
    processes = train.get("processes", 1)
    where = "1 process" if processes == 1 else f"{processes} ranks"
    threads = f" × {train['threads']} thread{'s' if train['threads'] > 1 else ''}" if train.get("threads") else ""
    flushed = train.get("subnormals_flushed_from_step")
    subnormals = "" if flushed is None else ", subnormals as zero" + (f" from step {flushed:,}" if flushed else "")
    return where + threads + (", compiled" if train.get("compiled") else "") + subnormals


def record_row(store: str, record: Record) -> dict:
    """One row of the table from one record."""
    r, p, t = record.result, record.result.params, record.train
    ci = r.R_ci or [None, None]
    return {
        "store": store, "key": record.key, "data": data_label(record.data, names_population=True), "model": model_label(record.model),
        "exposures": t["exposures"], "lr": t["lr"], "batch_size": t["batch_size"], "train_seed": t["seed"],
        "data_seed": record.data["seed"], "bits": r.bits, "max_bits": r.max_bits, "R": r.R,
        "R_ci_low": ci[0], "R_ci_high": ci[1], "R_max": r.R_max, "R_non_embedding": r.R_non_embedding,
        "accuracy": r.get("accuracy_mean"), "params_total": p.total, "params_non_embedding": p.non_embedding,
        "params_embedding": p.embedding, "params_lm_head": p["lm_head"], "params_attention": p["attention"],
        "params_mlp": p["mlp"], "params_norms": p["norms"], "used_tokens": p.get("used_tokens"),
        "wall_seconds": (r.get("train") or {}).get("wall_seconds"), "trained": trained_as(r.get("train") or {}),
        "kcl_version": record.kcl_version,
        "git_commit": record.git_commit, "semantics_version": record.semantics_version,
        "created": record.created,
    }


def _is_run_record(record: Record) -> bool:
    return record.config_class == "RunConfig" and "R" in record.result


def run_records(results_dir: str | Path = "results", profile: str | None = None,
                stores: tuple[str, ...] | None = None) -> list[tuple[str, Record]]:
    """Every current run record in any store under ``results_dir`` (nested stores such as
    ``pilots/lr-100`` included), each with its store folder relative to ``results_dir``. With
    ``profile``, only that profile's stores: ``gpu`` the ones under ``gpu/``, ``cpu`` all others,
    ``smoke`` none (it trains into temporary folders). With ``stores``, only those folders (relative
    to ``results_dir``; one not there has no records)."""
    if profile not in (None, "smoke", "cpu", "gpu"):
        raise ValueError(f"profile={profile!r} is invalid; allowed: None, 'smoke', 'cpu' or 'gpu'")
    if isinstance(stores, str):
        raise TypeError(f"stores must be a tuple of store folders, got the string {stores!r}")
    root = Path(results_dir)
    folders = [root / s for s in stores] if stores is not None else sorted({p.parent for p in root.rglob("*.json")})
    out = []
    for folder in folders:
        store = folder.relative_to(root).as_posix()
        in_gpu = store == "gpu" or store.startswith("gpu/")
        if profile == "smoke" or (profile is not None and in_gpu != (profile == "gpu")):
            continue
        out += [(store, record) for record in ResultStore(folder).records() if _is_run_record(record)]
    return out


def runs_table(results_dir: str | Path = "results") -> pd.DataFrame:
    """``run_records`` as a table, one row per record (columns: ``COLUMNS``)."""
    rows = [record_row(store, record) for store, record in run_records(results_dir)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_runs_csv(path: str | Path, results_dir: str | Path = "results") -> Path:
    """Write ``runs_table`` as CSV (the book's download) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    runs_table(results_dir).to_csv(path, index=False)
    return path
