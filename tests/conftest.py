"""Tests marked ``cuda`` need a CUDA device: without one they are skipped (``tools/gpu_check.sh``
runs them on a lent GPU)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (tools/gpu_check.sh runs these on a GPU)")
    for item in marked:
        item.add_marker(skip)
