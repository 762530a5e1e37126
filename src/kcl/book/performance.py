"""The Performance page's tables, from ``kcl bench``'s record (``kcl.bench_record``)."""

from __future__ import annotations

import pandas as pd


def tables(record: dict) -> dict:
    """The benchmark record as pandas tables: training (kcl vs transformers), measurement, pipeline."""
    training = pd.DataFrame(record["training"])
    keep = ["model", "arch", "params", "shape", "kcl_tokens_per_s", "kcl_mfu", "hf_tokens_per_s", "speedup_vs_hf"]
    training = training[[c for c in keep if c in training]].rename(columns={
        "kcl_tokens_per_s": "kcl tokens/s", "kcl_mfu": "kcl MFU", "hf_tokens_per_s": "transformers tokens/s",
        "speedup_vs_hf": "kcl / transformers",
        "params": "params (every row, as the FLOPs count them; not the paper's count)"})
    profile = pd.DataFrame([{"model": r["model"], "shape": r["shape"], "impl": r["impl"], "threads": r["threads"],
                             "ms/step": r["ms_per_step"], "aten ops/step": r["aten_ops_per_step"],
                             **r["shares"]} for r in record.get("profile", [])])
    if len(profile):  # families in the order of kcl's first case, largest first; missing ones are 0
        families = sorted(record["profile"][0]["shares"], key=lambda f: -record["profile"][0]["shares"][f])
        profile = profile[["model", "shape", "impl", "threads", "ms/step", "aten ops/step",
                           *families]].fillna(0.0)
    variants = pd.DataFrame(record.get("variants", [])).rename(columns={
        "eager_fp32_tokens_per_s": "eager fp32 tokens/s", "variant_tokens_per_s": "variant tokens/s",
        "compile_seconds": "compile s"})
    subnormals = pd.DataFrame(record.get("subnormals", [])).rename(columns={
        "ms_per_step_kept": "ms/step, subnormals kept", "ms_per_step_zero": "ms/step, taken as zero"})
    prefetch = pd.DataFrame(record.get("prefetch", [])).rename(columns={
        "workers": "render workers", "first_batch_seconds": "first batch s", "tokens_per_s": "tokens/s"})
    return {"training": training, "threads": pd.DataFrame(record.get("threads", [])), "subnormals": subnormals,
            "prefetch": prefetch,
            "ranks": pd.DataFrame(record.get("ranks", [])), "profile": profile,
            "variants": variants, "measurement": pd.DataFrame(record["measurement"]),
            "pipeline": pd.DataFrame(record["pipeline"]), "machine": pd.Series(record["machine"])}
