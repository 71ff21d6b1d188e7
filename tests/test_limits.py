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
    """How a Space is stopped and restarted: the lease is released, the temporary files removed, and the
    same port serves again at once (the connections the first left in TIME_WAIT do not block it)."""
    import http.client
    import signal

    from tests.space_app import SpaceProcess, make_home

    home = make_home(built_dataset, tmp_path_factory, "sigterm")
    temp = home.parent / "tmp"  # the Space's own temporary folder: nothing else writes there
    temp.mkdir()
    first = SpaceProcess(home, {"TMPDIR": str(temp)})
    visitor = http.client.HTTPConnection("127.0.0.1", first.port, timeout=60)  # a browser's keep-alive connection:
    visitor.request("GET", "/gradio_api/info")  # open at the stop, the server closes it first, and its side of
    assert visitor.getresponse().read()  # the connection holds the port (FIN-WAIT, TIME_WAIT) for a while
    made = list(temp.glob("medcmr-space-*"))
    assert made, f"no workdir in {temp}: {sorted(temp.iterdir())}"
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(60) == 0
    assert "Stopped: lease released" in first.log()
    assert not any(path.exists() for path in made)
    second = SpaceProcess(home, {"TMPDIR": str(temp)}, port=first.port)
    visitor.close()
    try:
        assert f"Home: {home.resolve()} (given with --home)\n" in second.log()
        assert "Another process serves this home" not in second.log()  # it writes
        board = Leaderboard(home, home / "medcmr")
        assert board.store.acquire_lease("probe", 30)[0] is False  # and it holds the lease
        board.store.close()
    finally:
        second.kill()
