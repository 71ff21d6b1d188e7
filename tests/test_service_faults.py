"""The leaderboard service under faults, with real parts: a full or read-only file system (a
small tmpfs mounted for the test), a store locked by another connection, a judge server that
never answers, two app processes on one home, a version-1 store file, and the judge CLI's exit
status. Waits poll the state with a deadline; nothing sleeps a fixed time.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionError, SubmissionMeta
from leaderboard.service import Leaderboard
from leaderboard.store import SCHEMA_VERSION, StoreUnavailable
from tests.answers import write_predictions
from tests.polling import until
from tests.judge_responders import read_request
from tests.openai_server import OpenAIServer, Reply
from tests.test_leaderboard import (EXPECTED_OPEN, close, endpoint_for, failing_responder, make_board,  # noqa: F401
                                    n_open, verdict_responder, wait_for)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_fs(tmp_path: Path):
    """Mount a tmpfs of the given size (a real small file system); unmounted at the end."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        target = tmp_path / name
        target.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the file system refuses (ENOSPC); returns it (delete it to free the space)."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (b"\0" * 2**20, b"\0" * 4096, b"\0"):
            while True:
                try:
                    os.write(descriptor, chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(descriptor)
    return filler


def test_disk_full_refuses_in_words_keeps_the_cause_visible_and_recovers_without_restart(
        tmp_path, small_fs, make_board, questions):
    home = small_fs("home", "6m")
    board = make_board(home, Settings(lease_s=2))
    for name in ("a", "b", "c"):
        write_predictions(tmp_path / f"{name}.jsonl", questions, tag=name)
    first = board.submit(tmp_path / "a.jsonl", SubmissionMeta(model="Before-Full"), "ann")["id"]
    filler = fill(home)
    with pytest.raises(SubmissionError, match=r"^The server cannot store submissions right now \(disk full\); "
                                              r"nothing was queued, try later\.$"):
        board.submit(tmp_path / "b.jsonl", SubmissionMeta(model="While-Full"), "ann")
    assert [s["id"] for s in board.status()] == [first]
    assert len(list((home / "files").iterdir())) == 1  # no half-written upload left behind

    board.start()  # the worker cannot write: the submission is never left silently "running"
    stuck = until(lambda: next((s for s in board.status(first) if "disk full" in s["error"]), None),
                  30, "the status shows the disk-full cause")
    assert stuck["status"] in ("queued", "running")
    assert "retried until it can" in stuck["error"]
    filler.unlink()  # space again: no restart, no resubmission
    recovered = wait_for(board, first, "awaiting_judge", timeout=60)
    assert recovered["status"] == "awaiting_judge" and recovered["error"] == ""
    assert "Before-Full" in set(board.board()["Model"])
    again = board.submit(tmp_path / "b.jsonl", SubmissionMeta(model="After-Full"), "ann")["id"]
    assert wait_for(board, again, "awaiting_judge")["status"] == "awaiting_judge"


def test_a_read_only_home_refuses_to_start_in_one_line(tmp_path, small_fs, make_board, questions, built_dataset):
    home = small_fs("home", "4m")
    board = make_board(home)
    write_predictions(tmp_path / "p.jsonl", questions)
    board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Before-RO"), "bea")
    board.stop()
    subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)  # a read-only mount binds root too

    with pytest.raises(StoreUnavailable) as refused:
        Leaderboard(home, built_dataset)
    assert str(home / "leaderboard.sqlite") in str(refused.value)

    done = subprocess.run([sys.executable, "-m", "space", "--home", str(home), "--port", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: the home folder {home} (given with --home) is not writable (Read-only file system); give a "
        "writable --home or MEDCMR_HOME"]


def test_a_locked_store_refuses_the_submit_in_words_then_accepts_it(tmp_path, make_board, questions):
    home = tmp_path / "home"
    board = make_board(home, store_wait_s=0.3)
    write_predictions(tmp_path / "p.jsonl", questions)
    other = sqlite3.connect(home / "leaderboard.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with pytest.raises(SubmissionError, match=r"cannot store submissions right now \(database locked\)"):
            board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Locked-Out"), "cy")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert board.status() == []
    board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Locked-Out"), "cy")
    assert [s["model"] for s in board.status()] == ["Locked-Out"]


def test_a_judge_that_never_answers_holds_back_no_mcq_and_fails_at_the_deadline(tmp_path, make_board, questions):
    released = threading.Event()

    def hang(request: dict) -> Reply:
        released.wait(120)
        return verdict_responder(request)

    write_predictions(tmp_path / "open.jsonl", questions)
    mcq_only_accuracy = write_predictions(tmp_path / "mcq.jsonl", questions, right=2, open_answers=False)
    with OpenAIServer(hang) as server:
        try:
            endpoint = Endpoint(base_url=server.base_url, model="judge-test", api_key="k", timeout=120,
                                max_retries=0)
            board = make_board(settings=Settings(judge_deadline_s=3), endpoint=endpoint)
            board.start()
            slow = board.submit(tmp_path / "open.jsonl", SubmissionMeta(model="Open-Hung"), "dee")["id"]
            until(lambda: server.calls > 0, 30, "the judge receives the open answers")
            quick = board.submit(tmp_path / "mcq.jsonl", SubmissionMeta(model="MCQ-Behind"), "dee")["id"]
            until(lambda: board.status(quick)[0]["status"] == "finished", 10, "the MCQ-only result, judge hung")
            rows = board.board().set_index("Model")
            assert rows.loc["MCQ-Behind", "MCQ"] == round(mcq_only_accuracy, 2)
            assert rows.loc["Open-Hung", "Judge"] == "awaiting judge"  # its MCQ is on the board meanwhile

            failed = wait_for(board, slow, "failed", timeout=30)
            assert failed["status"] == "failed"
            assert "passed the deadline of 3 s (MEDCMR_JUDGE_DEADLINE_S)" in failed["error"]
            kept = board.board().set_index("Model").loc["Open-Hung"]
            assert kept["MCQ"] == round(board.scores(slow).mcq.accuracy, 2)
        finally:
            released.set()


_APP = """
import logging, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard.service import Leaderboard
board = Leaderboard(Path({home!r}), Path({data!r}), Settings(lease_s={lease}),
                    endpoint=Endpoint(base_url={url!r}, model="judge-test", api_key="k", timeout=60, max_retries=0))
board.start()
print("SERVING" if board.serving else "READING", flush=True)
time.sleep(600)
"""


def _app(tmp_path: Path, name: str, home: Path, data: Path, url: str, lease: float):
    log = tmp_path / f"{name}.log"
    script = _APP.format(root=str(ROOT), home=str(home), data=str(data), url=url, lease=lease)
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-c", script], stdout=out, stderr=subprocess.STDOUT)
    return process, log


def gated_judge(gate: threading.Event):
    """A judge that holds every reply until `gate` opens (at most 60 s), so judging stays mid-way."""
    def gated(request: dict) -> Reply:
        gate.wait(60)
        return verdict_responder(request)
    return gated


def test_two_app_processes_on_one_home_judge_each_open_answer_once(tmp_path, make_board, questions, built_dataset):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    submission = make_board(home).submit(tmp_path / "p.jsonl", SubmissionMeta(model="Twice?"), "eli")["id"]
    gate = threading.Event()  # the first process stays mid-judging while the second one starts
    gated = gated_judge(gate)

    reader = make_board(home)
    processes = []
    with OpenAIServer(gated) as server:
        try:
            first, first_log = _app(tmp_path, "first", home, built_dataset, server.base_url, 30)
            processes.append(first)
            until(lambda: "SERVING" in first_log.read_text(), 60, "the first process serves the home")
            until(lambda: server.calls == n_open(questions), 60, "the first process judges")
            second, second_log = _app(tmp_path, "second", home, built_dataset, server.base_url, 30)
            processes.append(second)
            until(lambda: "READING" in second_log.read_text(), 60, "the second process starts")
            assert f"another process (pid {first.pid} on " in second_log.read_text()
            assert reader.status(submission)[0]["status"] == "running"  # not re-queued by the second start
            gate.set()
            assert wait_for(reader, submission, "finished")["status"] == "finished"
            assert close(reader.scores(submission).open.score, EXPECTED_OPEN)
        finally:
            gate.set()
            for process in processes:
                process.kill()
                process.wait()
        judged = [read_request(r)[1]["question"] for r in server.requests]
    open_texts = [q["question"] for q in questions if q["question_type"] == "open"]
    assert sorted(judged) == sorted(open_texts)  # each open answer reached the judge once
    assert "took over" not in second_log.read_text()


def test_a_process_that_dies_is_taken_over_when_its_lease_expires(tmp_path, make_board, questions, built_dataset):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    submission = make_board(home).submit(tmp_path / "p.jsonl", SubmissionMeta(model="Orphan"), "fay")["id"]
    gate = threading.Event()
    gated = gated_judge(gate)

    with OpenAIServer(gated) as server:
        first, first_log = _app(tmp_path, "first", home, built_dataset, server.base_url, 2)
        try:
            until(lambda: server.calls > 0, 60, "the first process judges")
            heir = make_board(home, Settings(lease_s=2), endpoint=endpoint_for(server))
            heir.start()
            assert not heir.serving and heir.status(submission)[0]["status"] == "running"
            first.send_signal(signal.SIGKILL)
            first.wait()
            gate.set()
            until(lambda: heir.serving, 30, "the lease passes to the surviving process")
            assert wait_for(heir, submission, "finished")["status"] == "finished"
            assert close(heir.scores(submission).open.score, EXPECTED_OPEN)
        finally:
            gate.set()
            first.kill()
            first.wait()


_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, model TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '', weights TEXT NOT NULL, medical INTEGER NOT NULL, params_b REAL,
    description TEXT NOT NULL DEFAULT '', submitter TEXT NOT NULL, file_name TEXT NOT NULL,
    file_format TEXT NOT NULL, file_bytes BLOB NOT NULL, file_sha256 TEXT NOT NULL, coverage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'awaiting_judge')),
    progress_done INTEGER NOT NULL DEFAULT 0, progress_total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, results TEXT, board_row TEXT,
    created_ts REAL NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX submissions_status ON submissions (status, seq);
CREATE INDEX submissions_submitter ON submissions (submitter, created_ts);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def test_a_version_1_store_is_migrated_with_its_file_bytes_moved_out(tmp_path, make_board, questions):
    home = tmp_path / "home"
    home.mkdir()
    expected = write_predictions(tmp_path / "p.jsonl", questions, right=3)
    data = (tmp_path / "p.jsonl").read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        db.executescript(_V1_SCHEMA)
        db.execute("INSERT INTO submissions (id, model, weights, medical, submitter, file_name, file_format,"
                   " file_bytes, file_sha256, coverage, status, created_ts, created_at, updated_at)"
                   " VALUES ('sub-old', 'Old-Model', 'open', 0, 'gus', 'p.jsonl', '.jsonl', ?, ?, '{}',"
                   " 'queued', 0, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')", (data, sha256))
    board = make_board(home)
    assert (home / "files" / sha256).read_bytes() == data
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        columns = {row[1] for row in db.execute("PRAGMA table_info(submissions)")}
    assert "file_bytes" not in columns and {"public_details", "retry_ts"} <= columns
    assert board.store.record("sub-old").public_details is True
    board.start()
    assert wait_for(board, "sub-old", "awaiting_judge")["status"] == "awaiting_judge"
    assert close(board.scores("sub-old").mcq.accuracy, expected)


def test_the_upload_is_stored_once_and_the_consent_is_kept(tmp_path, make_board, questions):
    home = tmp_path / "home"
    board = make_board(home)
    write_predictions(tmp_path / "p.jsonl", questions)
    data = (tmp_path / "p.jsonl").read_bytes()
    shared = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Shared", public_details=False), "hana")["id"]
    board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Shared too"), "ivan")  # same bytes, another submitter
    assert [(p.name, p.read_bytes()) for p in (home / "files").iterdir()] == [(hashlib.sha256(data).hexdigest(), data)]
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        assert [r for r in db.execute("PRAGMA table_info(submissions)") if r[2].upper() == "BLOB"] == []
        assert db.execute("SELECT max(length(CAST(coverage AS BLOB))) FROM submissions").fetchone()[0] < len(data)
    assert board.store.record(shared).public_details is False
    with pytest.raises(SubmissionError, match="Public details: true"):
        board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Other", public_details="yes"), "jo")


def test_a_refusal_logs_one_line_without_a_traceback(tmp_path, make_board, questions, caplog):
    board = make_board()
    (tmp_path / "bad.jsonl").write_text('{"id": "mcq-0"}\n', encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="leaderboard.intake"):
        with pytest.raises(SubmissionError):
            board.submit(tmp_path / "bad.jsonl", SubmissionMeta(model="Refused"), "kai")
    [record] = [r for r in caplog.records if r.name == "leaderboard.intake"]
    message = record.getMessage()
    assert record.exc_info is None and "\n" not in message
    assert "'Refused'" in message and "'kai'" in message and "missing field 'prediction'" in message


def test_the_judge_cli_exits_1_when_open_answers_failed(tmp_path, built_dataset, questions):
    write_predictions(tmp_path / "p.jsonl", questions)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    with OpenAIServer(failing_responder) as server:
        done = subprocess.run(
            [sys.executable, "-m", "judge", "score", "--predictions", str(tmp_path / "p.jsonl"),
             "--data", str(built_dataset), "--out", str(tmp_path / "results.json"),
             "--judge-base-url", server.base_url, "--judge-model", "judge-test", "--judge-max-retries", "0"],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["open"]["score"] is None and results["open"]["failed"] == n_open(questions)
    assert "exit status 1" in done.stderr
    helped = subprocess.run([sys.executable, "-m", "judge", "score", "--help"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert "exit status:" in helped.stdout and "1  some open answers could not be judged" in helped.stdout
