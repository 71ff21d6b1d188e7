"""A non-editable install, from another folder, carries what it needs (the fakes too), and keeps its home
in the user data folder, never inside the installed code."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.space_app import SpaceProcess

ROOT = Path(__file__).resolve().parent.parent


def test_pip_install_dot_builds_the_sample_and_serves_the_space(tmp_path: Path) -> None:
    if Path("/data").is_dir():
        pytest.skip("/data exists on this machine: the Space would take it for its storage and keep its home there")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # Offline: the dependencies (pip, setuptools and wheel too) are this environment's, reached through a
    # .pth file; the kit itself is built into a wheel from a clean clone of the checkout and installed.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    build = tmp_path / "build-copy"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(build)], check=True, timeout=300)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", str(build)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    where = subprocess.run([str(python), "-c", "import release.card as c; print(c.__file__, c.CARD_TEMPLATE.is_file())"],
                           cwd=elsewhere, capture_output=True, text=True, env=env, timeout=120)
    assert "site-packages" in where.stdout and where.stdout.strip().endswith("True"), where.stdout + where.stderr
    data_home = tmp_path / "xdg-data"  # the user data folder: where the home goes when nothing names one
    home = data_home / "medcmr"
    for step in (["sample", "--out", "sample.zip"], ["build", "--source", "sample.zip", "--out", str(home / "medcmr")],
                 ["fake-judge", "--help"]):
        done = subprocess.run([str(venv / "bin" / "medcmr"), *step], cwd=elsewhere, capture_output=True, text=True,
                              env=env, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "Med-CMR" in (home / "medcmr" / "README.md").read_text()
    earlier = Path(site) / ".medcmr_home"  # where an earlier version kept it: named at start, never used
    earlier.mkdir()
    space = SpaceProcess(home, {"PYTHONPATH": "", "XDG_DATA_HOME": str(data_home), "MEDCMR_HOME": ""},
                         command=[str(venv / "bin" / "medcmr-space")], cwd=elsewhere)
    space.kill()
    assert f"Home: {home} (the user data folder" in space.log()
    assert f"Note: an earlier version's home inside the installed kit, {earlier}, is not used" in space.log()
    assert (home / "leaderboard.sqlite").is_file() and not any(earlier.iterdir())
    assert not [path for path in Path(site).rglob("*.sqlite")], "the installed kit holds no store"
