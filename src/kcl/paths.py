"""Where the checkout is: the folder holding ``sweeps/`` and ``pyproject.toml``."""

from __future__ import annotations

from pathlib import Path


def repo_root(start: str | Path | None = None) -> Path:
    """The checkout holding ``sweeps/`` and ``pyproject.toml``: searched upwards from ``start``
    (default: the working directory), else the one this package was installed from (editable)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "sweeps").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    fallback = Path(__file__).resolve().parents[2]
    if (fallback / "sweeps").is_dir():
        return fallback
    raise FileNotFoundError(f"no kcl checkout (a folder with sweeps/ and pyproject.toml) above {here}")
