"""The project files agree with each other: environment.yml follows pyproject.toml."""

import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert project["requires-python"] == ">=" + python.split("=")[1]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    extras = pip[0].split("[")[1].rstrip("]").split(",")
    assert set(extras) <= set(project["optional-dependencies"])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_api_reference_has_a_page_for_every_module(tmp_path):
    """The book's assets write one API page per kcl module (the command-line entry point aside),
    each with its module's automodule; _toc.yml lists them by a glob under the API page."""
    from kcl.book.assets import write_api_pages

    package = ROOT / "src" / "kcl"
    modules = {".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
               for p in package.rglob("*.py")} - {"kcl.__main__"}
    pages = write_api_pages(tmp_path)
    documented = {m for page in pages for m in re.findall(r"automodule:: (\S+)", page.read_text())}
    assert documented == modules and len(pages) == len(modules)
    assert "glob: book/api/*" in (ROOT / "_toc.yml").read_text()


def test_a_long_sweep_imports_every_module_before_it_trains():
    """``kcl chapter`` and ``kcl sweep`` hold the code they started with: every kcl module is
    imported up front, and the command line (``kcl.__main__``) is not run by it."""
    import subprocess

    code = ("import sys; from kcl import cli; cli.import_every_module(); "
            "print(sorted(m for m in sys.modules if m.startswith('kcl.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for module in ("kcl.book.law", "kcl.book.catalog", "kcl.book.progress", "kcl.book.positions", "kcl.book.chapters", "kcl.book.stats"):
        assert f"'{module}'" in out
    assert "kcl.__main__" not in out


#: the committed records and weights stay small enough for a plain clone (issue 31)
RESULTS_BUDGET_MB = 60


def test_the_records_and_weights_git_would_commit_stay_under_their_budget():
    """Every file under results/ that git tracks or would add (ignored ones aside: the weights no
    chapter measures, .gitignore) counts; the largest stores are named where the budget is passed."""
    import subprocess

    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "results"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        import pytest
        pytest.skip("not a git checkout: nothing says which files would be committed")
    sizes: dict[str, int] = {}
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file():
            store = "/".join(Path(name).parts[:2])
            sizes[store] = sizes.get(store, 0) + path.stat().st_size
    total = sum(sizes.values()) / 1e6
    largest = ", ".join(f"{store} {size / 1e6:.1f} MB" for store, size in sorted(sizes.items(), key=lambda s: -s[1])[:5])
    assert total < RESULTS_BUDGET_MB, f"results/ holds {total:.1f} MB, over {RESULTS_BUDGET_MB} MB; largest: {largest}"
    assert total > 1  # the committed records are there: a listing that found nothing is not a pass
