"""One committed point per chapter, retrained from scratch, matches its record (issue 5).

Slow (minutes per chapter on 2 cores), so deselected by default; run with

    pytest -m retrain tests/test_retrain.py

Each chapter's cheapest finished record (shortest training) is retrained from its stored config
and its R must come back within ``TOLERANCE`` (relative). The retrained run is seeded exactly as the
record's, but kernels, thread counts and library versions may differ from the machine that wrote
the record, so bit-identity is not required. A chapter without records yet is skipped, saying so.
"""

from __future__ import annotations

import pytest

from kcl.book import chapters
from kcl.book.law import RETRAIN_TOLERANCE
from kcl.run import run
from kcl.store import ResultStore

TOLERANCE = RETRAIN_TOLERANCE  # relative difference in R; the reference config retrained after the
# switch to fused AdamW came back 0.8% away (1.837 vs 1.823)
# result 2's own runs take about 1.5 h each on one core: its cheapest point is a pilot run (about
# 25 min), whose records choose the chapter's rates
CHAPTER_STORES = {"reference": "results/reference", "result1": "results/result1", "result2": "results/pilots/lr-bios",
                  "result3": "results/result3", "result4": "results/result4", "result4-bios": "results/result4-bios"}


@pytest.mark.retrain
@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("chapter", sorted(CHAPTER_STORES))
def test_a_committed_point_retrains_to_its_record(chapter, monkeypatch):
    import torch

    store = ResultStore(chapters.repo_root() / CHAPTER_STORES[chapter])
    records = store.records()
    if not records:
        pytest.skip(f"{chapter}: no committed records yet")
    record = min(records, key=lambda r: r.result.train.wall_seconds)
    # on the record's own thread count where it kept one (a worker of a 2-worker sweep: 1): the
    # order of floating-point sums changes with it, and a 100-exposure run retrained on 2 threads
    # instead of 1 moved 8% (0.479 → 0.441), on 1 thread it came back bit for bit
    threads = record.result.train.threads
    saved = torch.get_num_threads()
    if threads:
        monkeypatch.setenv("OMP_NUM_THREADS", str(threads))  # kcl.train.train keeps it
        torch.set_num_threads(threads)
    try:
        fresh = run(chapters.record_config(record), progress=False)
    finally:
        torch.set_num_threads(saved)
    assert fresh["R"] == pytest.approx(record.result.R, rel=TOLERANCE), (record.key, fresh["R"])
