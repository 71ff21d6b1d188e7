"""Where the leaderboard keeps its home: never inside the installed code, always said at start, and a
home written by the previous version (a checkout's `.medcmr_home`) read exactly as that version read it."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from core.results import RESULTS_VERSION
from core import settings as settings_module
from core.settings import Settings, resolve_home
from leaderboard.service import Leaderboard

PREVIOUS = Path(__file__).resolve().parent / "homes" / "721a3e6"


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A checkout (with pyproject.toml) and a user data folder, no Space storage; the code's own paths untouched."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("[project]\nname = 'medcmr-hub'\n", encoding="utf-8")
    monkeypatch.setattr(settings_module, "SPACE_STORAGE", tmp_path / "no-space-storage")
    monkeypatch.setattr(settings_module, "CHECKOUT", checkout)
    monkeypatch.setattr(settings_module, "LEGACY_HOME", checkout / ".medcmr_home")
    return {"checkout": checkout, "data": tmp_path / "xdg-data", "legacy": checkout / ".medcmr_home"}


def test_the_home_is_the_user_data_folder_unless_something_says_otherwise(layout, tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(layout["data"])})
    home = resolve_home(settings)
    assert home.path == layout["data"] / "medcmr" and "user data folder" in home.why and home.note is None
    assert resolve_home(Settings.from_env({})).path == Path.home() / ".local" / "share" / "medcmr"  # no XDG_DATA_HOME
    given = resolve_home(settings, tmp_path / "given")
    assert (given.path, given.why) == (tmp_path / "given", "given with --home")
    chosen = resolve_home(Settings.from_env({"MEDCMR_HOME": str(tmp_path / "env"),
                                             "XDG_DATA_HOME": str(layout["data"])}))
    assert (chosen.path, chosen.why) == (tmp_path / "env", "from MEDCMR_HOME")


def test_a_space_with_storage_keeps_its_home_there(layout, tmp_path: Path, monkeypatch) -> None:
    storage = tmp_path / "data"
    storage.mkdir()
    monkeypatch.setattr(settings_module, "SPACE_STORAGE", storage)
    layout["legacy"].mkdir()  # even beside an old checkout home: the Space's storage is what persists
    home = resolve_home(Settings.from_env({"XDG_DATA_HOME": str(layout["data"])}))
    assert home.path == storage / "medcmr" and str(storage) in home.why


def test_a_checkouts_home_from_the_previous_version_keeps_working(layout) -> None:
    layout["legacy"].mkdir()
    home = resolve_home(Settings.from_env({"XDG_DATA_HOME": str(layout["data"])}))
    assert home.path == layout["legacy"] and "earlier version" in home.why and "MEDCMR_HOME" in home.why


@pytest.mark.parametrize("name", ["site-packages", "dist-packages"])
def test_a_home_inside_an_installed_kit_is_never_used_but_named(layout, tmp_path: Path, monkeypatch,
                                                                name: str) -> None:
    installed = tmp_path / "lib" / name
    (installed / ".medcmr_home").mkdir(parents=True)
    (installed / "pyproject.toml").write_text("", encoding="utf-8")  # a stray file some package left there
    monkeypatch.setattr(settings_module, "CHECKOUT", installed)
    monkeypatch.setattr(settings_module, "LEGACY_HOME", installed / ".medcmr_home")
    home = resolve_home(Settings.from_env({"XDG_DATA_HOME": str(layout["data"])}))
    assert home.path == layout["data"] / "medcmr"
    assert str(installed / ".medcmr_home") in home.note and str(home.path) in home.note


def same(read: object, expected: object, where: str = "") -> None:
    """`read` holds everything `expected` holds (new keys may be added), numbers equal up to float noise."""
    if isinstance(expected, dict):
        assert isinstance(read, dict), where
        for key, value in expected.items():
            assert key in read, f"{where}.{key} is gone"
            same(read[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(read, list) and len(read) == len(expected), where
        for number, (a, b) in enumerate(zip(read, expected)):
            same(a, b, f"{where}[{number}]")
    elif isinstance(expected, float) and not isinstance(read, str):
        assert read is not None and (math.isclose(read, expected, abs_tol=1e-3)
                                     or math.isnan(read) and math.isnan(expected)), f"{where}: {read} != {expected}"
    else:
        assert read == expected, f"{where}: {read!r} != {expected!r}"


def test_a_home_written_by_the_previous_version_reads_the_same(layout, built_dataset: Path) -> None:
    shutil.copytree(PREVIOUS / "home", layout["legacy"])
    home = resolve_home(Settings.from_env({"XDG_DATA_HOME": str(layout["data"])}))
    assert home.path == layout["legacy"]
    shutil.copytree(built_dataset, home.path / "medcmr")
    expected = json.loads((PREVIOUS / "expected.json").read_text(encoding="utf-8"))
    board = Leaderboard(home.path, home.path / "medcmr")
    try:
        same(json.loads(board.board().to_json(orient="records")), expected["board"], "board")
        same(json.loads(json.dumps(board.status(), default=str)), expected["status"], "status")
        for name, submission in expected["ids"].items():
            read = board.scores(submission).to_dict()
            assert read["results_version"] == RESULTS_VERSION  # read as the current version, nothing lost
            same(read, {**expected["results"][name], "results_version": RESULTS_VERSION}, f"results of {name}")
    finally:
        board.store.close()
