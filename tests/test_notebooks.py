"""Every notebook in notebooks/ runs end to end through papermill in the smoke profile.

The smoke profile trains a seconds-long config into a temporary folder, so this exercises the
whole chapter path (sweep → run → record → charts → verdict) without touching results/.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from kcl.book.assets import chapter_notebooks

pytestmark = pytest.mark.slow  # starts processes or builds: make test runs it, pytest -m "not slow" skips it

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
CHAPTER_NOTEBOOKS = chapter_notebooks(ROOT)
SMOKE = {"profile": "smoke", "allow_train": True}


@pytest.fixture(scope="module", autouse=True)
def shared_smoke_store(tmp_path_factory):
    """One smoke store for the session's notebooks (kcl.book.chapters.SMOKE_STORE_ENV): each chapter's
    smoke sweep trains once, not once per notebook that reads it. The kernels inherit it, and one
    thread per training process (OMP_NUM_THREADS): the smoke models are tiny, and two OpenMP threads
    per process on two cores that another job also uses wait on each other many times over (result
    10's smoke sweep: 42 s on one thread, over 600 s on two beside one training run)."""
    from kcl.book.chapters import SMOKE_STORE_ENV

    wanted = {SMOKE_STORE_ENV: str(tmp_path_factory.mktemp("smoke-store")), "OMP_NUM_THREADS": "1"}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _results_snapshot() -> dict:
    return {str(p.relative_to(ROOT)): p.stat().st_mtime_ns for p in (ROOT / "results").rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", CHAPTER_NOTEBOOKS)
def test_each_chapter_commits_its_verdict_output_for_nbval(name):
    """A chapter notebook has one verdict cell (the one that glues ``verdicts``) tagged
    ``nbval-check-output``, with the verdict it displayed on the committed records (``make verdicts``),
    so that ``make test``'s nbval run has something to compare and fails when a verdict changes."""
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    checked = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert len(checked) == 1 and 'glue("verdicts"' in checked[0].source
    shown = [o for o in checked[0].outputs if "text/markdown" in o.get("data", {})]
    assert shown, f"{name}: its verdict cell has no committed output (run `make verdicts`)"


@pytest.mark.parametrize("name", CHAPTER_NOTEBOOKS)
def test_a_chapter_shows_its_code_only_on_request(name):
    """A chapter page is read, not studied as code: each code cell's input is removed or collapsed
    (``remove-input``, ``hide-input`` or ``remove-cell``); the reader opens it where wanted."""
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    shown = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code"
             and not {"remove-input", "hide-input", "remove-cell"} & set(c.metadata.get("tags", []))]
    assert not shown, f"{name}: code shown on the page: {shown}"


def test_there_are_notebooks():
    assert "reference.ipynb" in NOTEBOOKS and "explorer.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_clean_and_parameterised(name):
    """Committed notebooks carry no outputs but their verdict cell's (a chapter's, tagged for nbval),
    use the python3 kernel and have a parameters cell with ``profile`` and ``allow_train``
    defaulting to the book's (cpu, no training)."""
    nb = nbformat.read(NB_DIR / name, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert all(not c.outputs and c.execution_count is None for c in code if c not in checked), \
        f"{name} has committed outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    values = {}
    exec(params[0].source, {}, values)
    assert values.get("profile") == "cpu" and values.get("allow_train") is False
    if name != "explorer.ipynb":  # a chapter: where allow_train trains, as kcl chapter --executor
        assert values.get("executor") == "local" and values.get("checkpoints") is None
        assert any("train_with(executor, checkpoints, allow_train=allow_train)" in c.source for c in code)
        text = [c.source for c in nb.cells if c.cell_type == "markdown"]  # the finding first, the method last
        assert any(t.startswith("## The finding") or "\n## The finding" in t for t in text), f"{name}: no finding"
        assert "```{dropdown} How this was measured" in text[-1], f"{name} does not end with how it was measured"


@pytest.mark.timeout(720)  # result 4 reads five chapters' smoke sweeps (about 2 min on an idle machine if alone)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_smoke_profile(name, tmp_path):
    before = _results_snapshot()
    out = tmp_path / name
    pm.execute_notebook(str(NB_DIR / name), str(out), parameters=SMOKE, kernel_name="python3",
                        progress_bar=False, cwd=str(NB_DIR), execution_timeout=600)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "profile = \"smoke\"" in injected[0].source
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    charts = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "application/vnd.vegalite.v5+json" in o.get("data", {})]
    assert charts, f"{name} drew no chart"
    assert all("$schema" in json.dumps(o["data"]["application/vnd.vegalite.v5+json"]) for o in charts)
    assert _results_snapshot() == before, "a smoke run wrote into results/"
    if name != "explorer.ipynb":  # a chapter: its smoke figures say nothing of the paper's claims
        shown = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                        for o in c.get("outputs", []))
        assert "Smoke run: no verdict" in shown
        assert not re.search(r"Verdict: |→ \*\*(reproduced|partly|not reproduced|inconclusive)", shown), name


def test_nbval_fails_when_a_verdict_output_changes(tmp_path):
    """The check ``make test`` runs: nbval re-executes a chapter on the committed records and fails
    on a verdict cell whose committed output differs from what it displays now (one figure changed).
    The reference chapter's records are complete: its committed output never trails them."""
    import subprocess
    import sys

    nb = json.loads((NB_DIR / "reference.ipynb").read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
    out = next(o for o in cell["outputs"] if "text/markdown" in o.get("data", {}))
    out["data"]["text/markdown"] = "".join(out["data"]["text/markdown"]) + "\nA changed verdict."
    changed = tmp_path / "reference.ipynb"
    changed.write_text(json.dumps(nb), encoding="utf-8")
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                          "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests" / "nbval-sanitize.cfg"),
                          "--rootdir", str(tmp_path), str(changed)], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 1 and "A changed verdict." in ran.stdout and "1 failed" in ran.stdout
