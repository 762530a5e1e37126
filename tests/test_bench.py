import json

import pytest

from kcl.bench import flops_per_token
from kcl.cli import main
from kcl.models import ModelConfig, build_model


def test_flops_per_token_counts_the_tied_head_and_attention():
    m = build_model(ModelConfig(arch="gpt2", vocab_size=371, n_layer=2, n_head=2, d_model=32))
    # matmuls per block: qkv 3d² + out d² + mlp 8d² = 12d²; head 371·d; attention 12·ℓ·T·d
    d = 32
    assert flops_per_token(m, 24) == 6 * (2 * 12 * d * d + 371 * d) + 12 * 2 * 24 * d


def test_quick_bench_produces_a_complete_record(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--seconds", "0.3", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["matmul_peak_gflops"] > 0
    row = record["training"][0]
    assert row["kcl_tokens_per_s"] > 0 and 0 < row["kcl_mfu"] < 1 and row["speedup_vs_hf"] > 0
    assert record["measurement"][0]["people_per_s"] > 0 and len(record["pipeline"]) == 2
    assert "fp32 matmul peak" in capsys.readouterr().out


def test_thread_bench_compares_one_run_with_parallel_runs():
    from kcl.bench import MODELS, bench_threads

    (row,) = bench_threads(0.2, models=MODELS[:1], shape=("tiny", 8, 16), log=lambda _: None)
    parallel = [k for k in row if k.endswith("_runs_one_thread_each")]
    assert row["one_run_all_threads"] > 0 and row["one_run_one_thread"] > 0 and row[parallel[0]] > 0
    # the gain comes from the unrounded rates, the row holds rates rounded to a token per second
    assert row["parallel_gain"] == pytest.approx(row[parallel[0]] / row["one_run_all_threads"], rel=0.01, abs=0.02)


def test_quick_record_has_profile_variants_and_conditions(tmp_path):
    from kcl.book.performance import tables

    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--seconds", "0.2", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    impls = {row["impl"] for row in record["profile"]}
    assert impls == {"kcl", "transformers"}
    for row in record["profile"]:
        assert row["ms_per_step"] > 0 and row["threads"] == 1
        assert abs(sum(row["shares"].values()) - 1) < 0.02 or row["shares"]["python and dispatch"] == 0
    (variant,) = record["variants"]  # quick: bf16 only, no compile
    assert variant["variant"] == "bf16 autocast" and variant["speedup"] > 0
    assert set(record["measured"]) == {"training", "threads", "ranks", "profile", "variants", "subnormals",
                                       "measurement", "pipeline", "prefetch"}
    stepped = {row["store"]: row for row in record["subnormals"]}  # the committed trained models, 2 steps each way
    assert set(stepped) == {"results/result2-v4", "results/result5"}
    assert all(row["ms_per_step_kept"] > 0 and row["ms_per_step_zero"] > 0 and row["threads"] == 1
               for row in stepped.values())
    assert stepped["results/result2-v4"]["data"] == "bioS" and stepped["results/result2-v4"]["batch"] == "8×512"
    assert [row["workers"] for row in record["prefetch"]] == [0, 1]
    assert all(row["tokens_per_s"] > 0 and row["first_batch_seconds"] >= 0 for row in record["prefetch"])
    assert all(0 <= m["other_cpu_share"] <= 1 for m in record["measured"].values())
    t = tables(record)
    assert list(t["profile"]["impl"]) == ["kcl", "transformers"] and "matmul" in t["profile"]
    assert "variant tokens/s" in t["variants"]
    assert "ms/step, taken as zero" in t["subnormals"]


def test_only_reruns_one_section_and_keeps_the_others(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "pipeline", "--out", str(out)]) == 2
    assert "run `kcl bench` first" in capsys.readouterr().err
    out.write_text(json.dumps({"created": "then", "training": ["kept"], "measured": {"training": {"created": "then"}},
                               "pipeline": []}))
    assert main(["bench", "--only", "pipeline", "--quick", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["training"] == ["kept"] and record["created"] == "then" and len(record["pipeline"]) == 2
    assert set(record["measured"]) == {"training", "pipeline"}


def test_the_subnormal_check_leaves_out_a_store_without_a_trained_model(tmp_path):
    from kcl.bench_step import bench_subnormals

    (tmp_path / "results" / "empty").mkdir(parents=True)
    (tmp_path / "sweeps").mkdir()  # a checkout's root, for repo_root
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "results" / "empty" / "note.json").write_text("{}")  # not a record
    assert bench_subnormals(stores=("results/empty", "results/missing"), steps=1, root=tmp_path, log=lambda _: None) == []
