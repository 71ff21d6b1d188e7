"""Settings: every default is written once, on its field, and the environment only overrides it."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.settings import EndpointSettings, Settings, SettingsError, configuration_markdown


def test_no_environment_gives_exactly_the_defaults():
    assert Settings.from_env({}) == Settings()


def test_a_blank_variable_counts_as_unset():
    blank = {name: " " for name in ("MEDCMR_RATE_LIMIT", "MEDCMR_WAITING_ROOM", "MEDCMR_AUDIT_SAMPLE", "MEDCMR_HOME",
                                    "MEDCMR_LEASE_S", "MEDCMR_JUDGE_BATCH", "MEDCMR_DATASET_REPO", "XDG_CACHE_HOME")}
    assert Settings.from_env(blank) == Settings()


def _shifted(value: object) -> object:
    """A different value of the same shape, so a default written a second time would show."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 2**20
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return value[0] + 1, value[1] * 2
    if isinstance(value, EndpointSettings):
        return dataclasses.replace(value, timeout=value.timeout + 1, max_retries=value.max_retries + 1)
    if isinstance(value, Path):
        return value / "elsewhere"
    if value is None:
        return None
    return value


def test_from_env_reads_each_default_from_its_field():
    """A subclass that moves every default: from_env({}) must follow each one, so none is restated in from_env."""
    moved = {item.name: _shifted(getattr(Settings(), item.name)) for item in dataclasses.fields(Settings)}
    moved = {name: value for name, value in moved.items() if value != getattr(Settings(), name)}
    assert {"judge", "lease_s", "rate_limit", "waiting_room", "audit_sample", "max_file_bytes", "cache_root",
            "judge_batch"} <= set(moved)
    Moved = dataclasses.make_dataclass(
        "Moved", [(name, object, dataclasses.field(default=value)) for name, value in moved.items()],
        bases=(Settings,), frozen=True)
    read = Moved.from_env({})
    assert {name: getattr(read, name) for name in moved} == moved


def test_the_home_folders_follow_the_home_directory_of_the_moment(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().data_root == tmp_path / ".local" / "share"
    assert Settings.from_env({}) == Settings()
    assert "`~/.cache`" in configuration_markdown()


def test_the_environment_overrides_and_a_bare_count_keeps_the_default_window():
    read = Settings.from_env({"MEDCMR_RATE_LIMIT": "7", "MEDCMR_WAITING_ROOM": "3", "MEDCMR_AUDIT_SAMPLE": "9",
                              "MEDCMR_MAX_FILE_MB": "2", "MEDCMR_JUDGE_TIMEOUT": "5", "MEDCMR_HOME": "/srv/h"})
    assert read.rate_limit == (7, Settings().rate_limit[1])
    assert read.waiting_room == (3, Settings().waiting_room[1])
    assert read.audit_sample == (9, 0.0)
    assert read.max_file_bytes == 2 * 2**20
    assert read.judge.timeout == 5.0 and read.judge.max_retries == Settings().judge.max_retries
    assert read.home == Path("/srv/h")


@pytest.mark.parametrize("name, value", [("MEDCMR_RATE_LIMIT", "x/1"), ("MEDCMR_WAITING_ROOM", "0/5"),
                                         ("MEDCMR_AUDIT_SAMPLE", "5/2"), ("MEDCMR_LEASE_S", "0"),
                                         ("MEDCMR_JUDGE_BATCH", "maybe")])
def test_a_malformed_value_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
