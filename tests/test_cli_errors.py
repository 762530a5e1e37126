"""Bad input to ``kcl`` gets one line naming the problem and exit status 2, before any work."""

import shutil
from pathlib import Path

import pytest

from kcl.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ref(tmp_path) -> Path:
    return Path(shutil.copy(ROOT / "sweeps/reference.yaml", tmp_path / "ref.yaml"))


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("kcl: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("text, says", [("base: [\n", "is not valid YAML (line 2"),
                                        ("- 1\n- 2\n", "must hold a mapping"),
                                        ("base: 3\n", "'base' must be a mapping"),
                                        ("base: {}\ngrid: [1]\n", "'grid' must be a mapping")])
def test_a_malformed_sweep_file(capsys, tmp_path, text, says):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert says in one_error_line(capsys, ["run", str(path), "--dry-run"])


def test_a_missing_file_and_a_folder(capsys, tmp_path):
    assert "no such sweep file" in one_error_line(capsys, ["run", str(tmp_path / "nope.yaml")])
    assert "a folder, not a sweep file" in one_error_line(capsys, ["sweep", str(tmp_path)])


@pytest.mark.parametrize("setting, says", [("train.lr=abc", "lr must be a number"),
                                           ("train.lr=[1", "is not a value"),
                                           ("train.lr", "--set takes key=value"),
                                           ("model.n_head=3", "d_model=32 is invalid; allowed: a positive multiple of n_head=3"),
                                           ("data.K=0", "K must be in [1, inf]"),
                                           ("model.depth=2", "unknown ModelSpec field")])
def test_a_bad_setting_is_named_before_anything_trains(capsys, ref, tmp_path, setting, says):
    store = tmp_path / "store"
    assert says in one_error_line(capsys, ["run", str(ref), "--set", setting, "--store", str(store)])
    assert not store.exists()


def test_show_on_a_file_that_is_not_a_record(capsys, tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    (tmp_path / "y.yaml").write_text("base: {}\n")
    assert "is not a record" in one_error_line(capsys, ["show", str(tmp_path / "x.json")])
    assert "is not a record" in one_error_line(capsys, ["show", str(tmp_path / "y.yaml")])
    assert "no store or record" in one_error_line(capsys, ["show", str(tmp_path / "z")])
