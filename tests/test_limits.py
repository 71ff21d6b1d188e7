"""Limits that keep one visitor from harming another: refusals counted per client, submitters kept private."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from leaderboard.intake import SubmissionError, SubmissionMeta
from leaderboard.service import Leaderboard
from space.submit_tab import private_submitters


def test_one_clients_refused_files_never_lock_out_another_client(tmp_path: Path, built_dataset: Path) -> None:
    board = Leaderboard(tmp_path / "home", built_dataset, Settings(refusal_limit=(2, 3600.0)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "nope", "prediction": "A"}\n')
    meta = SubmissionMeta(model="Some-Model")
    for _ in range(2):
        with pytest.raises(SubmissionError, match="not a question"):
            board.submit(bad, meta, "local", client="10.0.0.1")
    with pytest.raises(SubmissionError, match="Too many refused submissions"):
        board.submit(bad, meta, "local", client="10.0.0.1")
    with pytest.raises(SubmissionError, match="not a question"):  # the same anonymous submitter, another client
        board.submit(bad, meta, "local", client="10.0.0.2")
    for _ in range(2):  # signed in: counted per user, wherever they are
        with pytest.raises(SubmissionError, match="not a question"):
            board.submit(bad, meta, "alice")
    with pytest.raises(SubmissionError, match="Too many refused submissions"):
        board.submit(bad, meta, "alice")
    board.store.close()


def test_the_status_shows_a_submitter_only_to_that_submitter() -> None:
    rows = [{"id": "sub-1", "submitter": "alice"}, {"id": "sub-2", "submitter": "bob"}]
    assert [r["submitter"] for r in private_submitters(rows, "alice")] == ["alice", ""]
    assert [r["submitter"] for r in private_submitters(rows, None)] == ["", ""]


def test_sigterm_stops_the_space_cleanly_and_a_restart_writes_at_once(built_dataset: Path,
                                                                       tmp_path_factory) -> None:
    """How a Space is stopped and restarted: the lease is released and the temporary files removed."""
    import signal
    import tempfile

    from tests.space_app import SpaceProcess, make_home

    home = make_home(built_dataset, tmp_path_factory, "sigterm")
    before = set(Path(tempfile.gettempdir()).glob("medcmr-space-*"))
    first = SpaceProcess(home)
    made = set(Path(tempfile.gettempdir()).glob("medcmr-space-*")) - before
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(60) == 0
    assert "Stopped: lease released" in first.log()
    assert made and not any(path.exists() for path in made)
    second = SpaceProcess(home)
    try:
        assert f"Home: {home.resolve()}\n" in second.log()  # not "(another process serves it...)": it writes
        board = Leaderboard(home, home / "medcmr")
        assert board.store.acquire_lease("probe", 30)[0] is False  # and it holds the lease
        board.store.close()
    finally:
        second.kill()
