import json

from kcl.bench import flops_per_token, run_bench
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
    assert row["parallel_gain"] == round(row[parallel[0]] / row["one_run_all_threads"], 2)
