"""The leaderboard facade end to end: a real SQLite store, the real judge, a real HTTP judge server.

Each test gets its own home folder; the dataset is the sample release built once per run.
"""
from __future__ import annotations

import gzip
import itertools
import json
import math
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.results import ItemStatus
from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard.details import open_path, read_details
from leaderboard.intake import SubmissionError, SubmissionMeta
from leaderboard.service import Leaderboard
from leaderboard.store import SCHEMA_VERSION
from tests.answers import write_predictions
from tests.judge_responders import fixed_judge
from tests.openai_server import OpenAIServer, Reply
from tests.polling import until

ROOT = Path(__file__).resolve().parent.parent
GRADES = {"consistency": 10, "coherence": 8, "visual_accuracy": 5, "ground_truth": 6}
EXPECTED_OPEN = (100 + 80 + 4 * 50 + 4 * 60) / 10  # the paper's weights over GRADES on 0-100
FAKE_KEY = "sk-leaderboard-test-secret-0123456789"


def close(value: float, expected: float) -> bool:
    """Equal to the judge's rounding (4 decimals)."""
    return math.isclose(value, expected, abs_tol=1e-3)


verdict_responder = fixed_judge(GRADES)  # a judge that grades every answer GRADES


def failing_responder(request: dict) -> Reply:
    """An endpoint that rejects every call (400 is not retried, so the failure is quick)."""
    return Reply(status=400, body={"error": {"message": "model not found", "type": "invalid_request"}})


def endpoint_for(server: OpenAIServer, max_retries: int = 3) -> Endpoint:
    """The test server as judge endpoint. Retries absorb refused connects when 16 judge calls
    hit the server's small listen backlog at once on a loaded machine."""
    return Endpoint(base_url=server.base_url, model="judge-test", api_key=FAKE_KEY, timeout=10,
                    max_retries=max_retries)


@pytest.fixture
def make_board(tmp_path: Path, built_dataset: Path, running):
    def make(home: Path | None = None, settings: Settings | None = None, **kwargs) -> Leaderboard:
        return running(Leaderboard(home or tmp_path / "home", built_dataset, settings, **kwargs), worker=False)

    return make


def n_open(questions: list[dict]) -> int:
    return sum(q["question_type"] == "open" for q in questions)


def test_submit_queues_then_worker_scores_mcq_and_open_awaits_judge(tmp_path, make_board, questions):
    board = make_board()
    expected = write_predictions(tmp_path / "preds.jsonl", questions)
    answer = board.submit(tmp_path / "preds.jsonl", SubmissionMeta(model="Half-Right", params_b=7),
                          "alice")
    assert answer["status"] == "queued" and answer["coverage"]["missing"] == 0
    assert "awaiting judge" in answer["message"]
    # Nothing is scored inside the request: before the worker starts, it is only queued.
    assert [(s["id"], s["status"]) for s in board.status()] == [(answer["id"], "queued")]
    assert board.scores(answer["id"]) is None
    board.start()
    assert board.wait_idle(60)
    [status] = board.status(answer["id"])
    assert status["status"] == "awaiting_judge" and status["error"] == ""
    assert status["progress_done"] == status["progress_total"] == len(questions)
    result = board.scores(answer["id"])
    assert close(result.mcq.accuracy, expected)
    assert result.open.awaiting == n_open(questions) and result.open.score is None
    row = board.board().set_index("Model").loc["Half-Right"]
    assert row["Source"] == "scored here" and row["MCQ"] == round(expected, 2)
    assert math.isnan(row["Open"]) and row["Judge"] == "awaiting judge"
    assert row["Params (B)"] == 7 and row["Submitted"] == status["created_at"][:10]
    by_class = result.mcq.by_medical_intelligence
    assert row["DX"] == round(by_class["Diagnosis"].accuracy, 2)
    assert row["LTG"] == round(result.mcq.by_dimension["long_tail"].accuracy, 2)


def test_awaiting_submission_is_judged_after_restart_with_an_endpoint(tmp_path, make_board, questions):
    home = tmp_path / "home"
    first = make_board(home)
    write_predictions(tmp_path / "p.jsonl", questions)
    submission = first.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Later-Judged"), "bob")["id"]
    first.start()
    assert first.wait_idle(60)
    first.stop()
    assert first.status(submission)[0]["status"] == "awaiting_judge"
    with OpenAIServer(verdict_responder) as server:
        second = make_board(home, endpoint=endpoint_for(server))
        second.start()
        assert second.wait_idle(60)
        assert second.status(submission)[0]["status"] == "finished"
        assert server.calls == n_open(questions)
        result = second.scores(submission)
        assert close(result.open.score, EXPECTED_OPEN)
        assert result.judge.model == "judge-test"
        row = second.board().set_index("Model").loc["Later-Judged"]
        assert row["Open"] == EXPECTED_OPEN and row["Judge"] == "judge-test" and row["VA"] == 50.0
    # A third start with the same judge re-judges nothing: the judge's cache holds every verdict.
    with OpenAIServer(verdict_responder) as server:
        third = make_board(home, endpoint=endpoint_for(server))
        third.start()
        assert third.wait_idle(30)
        assert server.calls == 0 and third.status(submission)[0]["status"] == "finished"


def test_answers_reach_the_disk_once_and_later_verdicts_are_written_beside_them(tmp_path, make_board, questions):
    home = tmp_path / "home"
    given_up, kept = tmp_path / "upload.jsonl", tmp_path / "mine.jsonl"
    write_predictions(given_up, questions, tag=" (upload)")
    write_predictions(kept, questions, tag=" (mine)")
    kept_bytes = kept.read_bytes()
    with OpenAIServer(verdict_responder) as server:
        board = make_board(home, endpoint=endpoint_for(server))
        linked = board.submit(given_up, SubmissionMeta(model="Linked"), "alice", given_up=True)["id"]
        copied = board.submit(kept, SubmissionMeta(model="Copied"), "alice")["id"]
        stored = {sid: board.store.file_path(board.store.record(sid).file_sha256) for sid in (linked, copied)}
        assert stored[linked].stat().st_ino == given_up.stat().st_ino  # a Gradio upload: linked, not copied
        assert stored[copied].stat().st_ino != kept.stat().st_ino
        kept.write_text("overwritten by the submitter's next run\n")  # a file the caller keeps may change...
        assert stored[copied].read_bytes() == kept_bytes              # ...the stored copy does not
        board.start()
        assert board.wait_idle(60) and board.status(linked)[0]["status"] == "finished"
        board.stop()

    path = board.details_path(linked)
    answers = {line["id"]: line["prediction"] for line in map(json.loads, given_up.read_text().splitlines())}
    first = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert {line["id"]: line["prediction"] for line in first} == answers  # every answer, once, compressed
    later = [json.loads(line) for line in gzip.decompress(open_path(path).read_bytes()).splitlines()]
    assert len(later) == n_open(questions) and all(line["prediction"] is None for line in later)
    merged = read_details(path)
    assert all(item.status is ItemStatus.JUDGED and item.prediction == answers[item.id]
               for item in merged if item.question_type == "open")
    assert {item.id: item.prediction for item in merged} == answers
    # A home written before compression keeps its plain details file, read as it is.
    legacy = path.with_name(f"{linked}.jsonl")
    legacy.write_bytes(gzip.decompress(path.read_bytes()))
    path.unlink()
    assert [item.prediction for item in read_details(path)] == [item.prediction for item in merged]

    # Scored again with no judge: the old verdicts never sit on the new run's answers.
    again = make_board(home)
    again.rescore(linked, "operator")
    again.start()
    assert again.wait_idle(60) and again.status(linked)[0]["status"] == "awaiting_judge"
    assert not open_path(path).exists() and not legacy.exists()
    assert all(item.status is ItemStatus.AWAITING for item in read_details(path) if item.question_type == "open")


def test_a_row_left_running_by_a_crash_is_resumed_on_start(tmp_path, make_board, questions):
    home = tmp_path / "home"
    board = make_board(home)
    expected = write_predictions(tmp_path / "p.jsonl", questions, right=3)
    submission = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Crashed"), "carol")["id"]
    with sqlite3.connect(home / "leaderboard.sqlite") as db:  # what a kill mid-judging leaves
        db.execute("UPDATE submissions SET status = 'running', progress_done = 5 WHERE id = ?",
                   (submission,))
    restarted = make_board(home)
    assert restarted.status(submission)[0]["status"] == "running"
    restarted.start()
    assert restarted.wait_idle(60)
    assert restarted.status(submission)[0]["status"] == "awaiting_judge"
    assert close(restarted.scores(submission).mcq.accuracy, expected)


_KILLED_WORKER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard.service import Leaderboard
board = Leaderboard(Path({home!r}), Path({data!r}), Settings(lease_s=2),
                    endpoint=Endpoint(base_url={url!r}, model="judge-test", api_key="k", max_retries=0))
board.start()
time.sleep(600)
"""


def _progress_row(home: Path, submission: str) -> tuple:
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        return db.execute("SELECT status, progress_done, progress_total FROM submissions WHERE id = ?",
                          (submission,)).fetchone()


def _cached_verdicts(home: Path) -> int:
    try:
        with sqlite3.connect(home / "judge_cache.sqlite") as db:
            return db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
    except sqlite3.OperationalError:  # the cache file or its table is not there yet
        return 0


def test_a_process_killed_mid_judging_resumes_without_redoing_cached_verdicts(
        tmp_path, make_board, questions, built_dataset):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    submission = make_board(home).submit(tmp_path / "p.jsonl", SubmissionMeta(model="Killed"), "dan")["id"]
    total_open = n_open(questions)

    answered, lock = itertools.count(), threading.Lock()

    def slow_after_half(request: dict) -> Reply:
        # Counted here, under a lock: the server's own call count is read by concurrent handlers before
        # later requests are recorded, so more than half could be answered fast (and all finish).
        with lock:
            number = next(answered)
        reply = verdict_responder(request)
        reply.delay = 0.0 if number < total_open // 2 else 30.0
        return reply

    with OpenAIServer(slow_after_half) as server:
        script = _KILLED_WORKER.format(root=str(ROOT), home=str(home), data=str(built_dataset),
                                       url=server.base_url)
        process = subprocess.Popen([sys.executable, "-c", script])
        try:
            def mid_run_state() -> tuple | None:  # the fast verdicts cached and the progress written
                row, cached_now = _progress_row(home, submission), _cached_verdicts(home)
                return (row, cached_now) if cached_now >= total_open // 2 and row[1] > len(questions) - total_open else None

            mid_run, _ = until(mid_run_state, 60, "the mid-run state: half the verdicts cached, progress written")
        finally:
            process.kill()
            process.wait()
        calls_before_kill = server.calls
    assert calls_before_kill > total_open // 2
    status, done, total = mid_run  # progress is visible while the judge works
    assert status == "running" and len(questions) - total_open < done < total == len(questions)
    with sqlite3.connect(home / "judge_cache.sqlite") as db:
        cached = db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
    assert 0 < cached < total_open
    with OpenAIServer(verdict_responder) as server:
        board = make_board(home, Settings(lease_s=2), endpoint=endpoint_for(server))
        assert board.status(submission)[0]["status"] == "running"
        board.start()  # the killed process's lease expires within 2 s; this one then takes over
        assert board.wait_idle(60)
        assert board.status(submission)[0]["status"] == "finished", board.status(submission)[0]["error"]
        assert server.calls == total_open - cached
        assert close(board.scores(submission).open.score, EXPECTED_OPEN)


def test_stop_mid_judging_leaves_the_submission_for_the_next_start(tmp_path, make_board, questions):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    with OpenAIServer(verdict_responder, latency=0.5) as server:
        board = make_board(home, endpoint=endpoint_for(server))
        submission = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Stopped"), "sam")["id"]
        board.start()
        until(lambda: server.calls > 0, 30, "the first judge call", every=0.02)
        board.stop()
        assert board.status(submission)[0]["status"] == "running"  # abandoned, not failed or lost
        restarted = make_board(home, endpoint=endpoint_for(server))
        restarted.start()
        assert restarted.wait_idle(60)
        assert restarted.status(submission)[0]["status"] == "finished"
        assert close(restarted.scores(submission).open.score, EXPECTED_OPEN)


def test_concurrent_submissions_from_many_threads_are_all_recorded(tmp_path, make_board, questions):
    board = make_board()
    board.start()
    files = []
    for number in range(12):
        path = tmp_path / f"p{number}.jsonl"
        write_predictions(path, questions, right=number % 5, tag=str(number))
        files.append(path)
    answers, errors = [], []

    def send(number: int) -> None:
        try:
            answers.append(board.submit(files[number], SubmissionMeta(model=f"Model-{number}"),
                                        f"user-{number % 4}"))
        except Exception as err:  # noqa: BLE001 - collected and asserted on below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len({a["id"] for a in answers}) == 12
    assert board.wait_idle(120)
    statuses = board.status()
    assert len(statuses) == 12 and {s["status"] for s in statuses} == {"awaiting_judge"}
    assert {f"Model-{n}" for n in range(12)} <= set(board.board()["Model"])


def test_rate_limit_per_submitter_survives_restart(tmp_path, make_board, questions):
    home = tmp_path / "home"
    board = make_board(home, Settings(rate_limit=(2, 3600.0)))
    for number in range(3):
        write_predictions(tmp_path / f"p{number}.jsonl", questions, right=number)
    board.submit(tmp_path / "p0.jsonl", SubmissionMeta(model="A"), "eve")
    board.submit(tmp_path / "p1.jsonl", SubmissionMeta(model="B"), "eve")
    with pytest.raises(SubmissionError, match=r"Rate limit: at most 2 submissions per 1 h"):
        board.submit(tmp_path / "p2.jsonl", SubmissionMeta(model="C"), "eve")
    restarted = make_board(home, Settings(rate_limit=(2, 3600.0)))
    with pytest.raises(SubmissionError, match="Rate limit"):
        restarted.submit(tmp_path / "p2.jsonl", SubmissionMeta(model="C"), "eve")
    board.submit(tmp_path / "p2.jsonl", SubmissionMeta(model="C"), "frank")
    assert len(board.status()) == 3


def test_duplicate_file_or_model_name_from_the_same_submitter_is_refused(tmp_path, make_board, questions):
    board = make_board()
    write_predictions(tmp_path / "p.jsonl", questions)
    write_predictions(tmp_path / "q.jsonl", questions, right=1)
    first = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Model-X"), "gina")["id"]
    with pytest.raises(SubmissionError, match=f"this predictions file \\(submission {first}, queued\\)"):
        board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Model-Y"), "gina")
    with pytest.raises(SubmissionError, match=f"the model name 'Model-X' .*{first}"):
        board.submit(tmp_path / "q.jsonl", SubmissionMeta(model="  model-x "), "gina")
    with pytest.raises(SubmissionError, match="another submitter's model"):  # a name identifies one row
        board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="model x"), "hal")
    board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Model-Z"), "hal")
    assert len(board.status()) == 2


@pytest.mark.parametrize("meta, message", [
    (SubmissionMeta(model=""), "Model name: required"),
    (SubmissionMeta(model="x" * 101), "Model name: required, 1 to 100"),
    (SubmissionMeta(model="a\nb"), r"Model name: a control character \(U\+000A\)"),
    (SubmissionMeta(model="M", link="javascript:alert(1)"), "Link: give an http"),
    (SubmissionMeta(model="M", group="semi"), 'Weights: choose "open" or "closed"'),
    (SubmissionMeta(model="M", medical="general"), "Domain: `medical` is true"),
    (SubmissionMeta(model="M", params_b=-3), r"Params \(B\): a positive number"),
    (SubmissionMeta(model="M", params_b=float("nan")), r"Params \(B\): a positive number"),
    (SubmissionMeta(model="M", description="d" * 2001), "Description: at most 2000 characters"),
])
def test_metadata_errors_name_the_field(tmp_path, make_board, questions, meta, message):
    board = make_board()
    write_predictions(tmp_path / "p.jsonl", questions)
    with pytest.raises(SubmissionError, match=message):
        board.submit(tmp_path / "p.jsonl", meta, "ivy")
    assert board.status() == []


def _bad_files(questions: list[dict]) -> dict[str, tuple[str, str]]:
    first, second = questions[0]["id"], questions[1]["id"]
    return {
        "empty.jsonl": ("", "empty.jsonl: the file is empty"),
        "broken.jsonl": (f'{{"id": "{first}", "prediction": "A"}}\n{{"id": "{second}", "prediction": \n',
                         "broken.jsonl line 2: not valid JSON"),
        "nofield.jsonl": (f'{{"id": "{first}", "prediction": "A"}}\n{{"id": "{second}"}}\n',
                          f"nofield.jsonl line 2 \\(id '{second}'\\): missing field 'prediction'"),
        "unknown.jsonl": ('{"id": "mcq-999999", "prediction": "A"}\n',
                          r"unknown.jsonl line 1: id 'mcq-999999' is not a question of this dataset"),
        "dupes.csv": (f"id,prediction\n{first},A\n{first},B\n", f"dupes.csv line 3: duplicate id '{first}'"),
        "noheader.csv": (f"{first},A\n", "noheader.csv line 1: CSV header must have columns"),
        "notalist.json": ('{"id": 1}', "notalist.json line 1: field 'id' must be a non-empty string"),
        "preds.txt": (f'{{"id": "{first}", "prediction": "A"}}\n', "preds.txt: unsupported file type '.txt'"),
    }


def test_every_file_error_is_refused_before_any_judge_call(tmp_path, make_board, questions):
    with OpenAIServer(verdict_responder) as server:
        board = make_board(settings=Settings(max_file_bytes=4096), endpoint=endpoint_for(server))
        board.start()
        for name, (content, message) in _bad_files(questions).items():
            (tmp_path / name).write_text(content, encoding="utf-8")
            with pytest.raises(SubmissionError, match=message):
                board.submit(tmp_path / name, SubmissionMeta(model=name), "jan")
        big = tmp_path / "big.jsonl"
        write_predictions(big, questions)
        big.write_bytes(big.read_bytes() * 20)
        with pytest.raises(SubmissionError, match=r"big.jsonl: .* MiB is over the 0.00390625 MiB limit"):
            board.submit(big, SubmissionMeta(model="Big"), "jan")
        with pytest.raises(SubmissionError, match="missing.jsonl: no file was uploaded"):
            board.submit(tmp_path / "missing.jsonl", SubmissionMeta(model="M"), "jan")
        assert board.status() == [] and server.calls == 0


def test_partial_coverage_is_accepted_and_missing_answers_count_as_wrong(tmp_path, make_board, questions):
    board = make_board()
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    path = tmp_path / "partial.csv"
    path.write_text("id,prediction\n" + f"{mcqs[0]['id']},{mcqs[0]['answer']}\n", encoding="utf-8")
    answer = board.submit(path, SubmissionMeta(model="Partial"), "kim")
    assert answer["coverage"]["given"] == 1 and answer["coverage"]["missing"] == len(questions) - 1
    assert f"{len(questions) - 1} missing count as wrong" in answer["message"]
    board.start()
    assert board.wait_idle(60)
    assert close(board.scores(answer["id"]).mcq.accuracy, 100 / len(mcqs))
    row = board.board().set_index("Model").loc["Partial"]
    assert row["MCQ"] == round(100 / len(mcqs), 2) and math.isnan(row["Open"])
    assert "no open answers submitted" in row["Note"] and f"{len(questions) - 1} questions unanswered" in row["Note"]


def test_judge_failures_mark_the_submission_failed_and_a_later_start_retries(tmp_path, make_board, questions):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    with OpenAIServer(failing_responder) as server:
        board = make_board(home, endpoint=endpoint_for(server))
        submission = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Unlucky"), "lee")["id"]
        board.start()
        assert board.wait_idle(60)
        board.stop()
    [status] = board.status(submission)
    assert status["status"] == "failed"
    assert f"{n_open(questions)} of {n_open(questions)} open answers could not be judged" in status["error"]
    assert "HTTP 400" in status["error"]
    kept = board.board().set_index("Model").loc["Unlucky"]  # the MCQ row stays; Open waits for a retry
    assert kept["MCQ"] == round(board.scores(submission).mcq.accuracy, 2)
    assert math.isnan(kept["Open"]) and kept["Judge"] == "awaiting judge"
    with pytest.raises(SubmissionError, match="failed\\); duplicates are not queued again. It failed in the judge"):
        board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Unlucky again"), "lee")
    with OpenAIServer(verdict_responder) as server:
        fixed = make_board(home, endpoint=endpoint_for(server))
        fixed.start()
        assert fixed.wait_idle(60)
        assert fixed.status(submission)[0]["status"] == "finished", fixed.status(submission)[0]["error"]
        assert fixed.board().set_index("Model").loc["Unlucky", "Open"] == EXPECTED_OPEN


def wait_for(board: Leaderboard, submission: str, wanted: str, timeout: float = 60.0) -> dict:
    def reached() -> dict | None:
        status = board.status(submission)[0]
        return status if status["status"] == wanted else None

    return until(reached, timeout, f"{submission} {wanted}")


def test_a_failed_submission_is_judged_again_while_running_once_the_judge_is_back(
        tmp_path, make_board, questions):
    write_predictions(tmp_path / "p.jsonl", questions)
    with OpenAIServer(failing_responder) as server:
        board = make_board(settings=Settings(retry_failed_after_s=1.0), endpoint=endpoint_for(server))
        submission = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Judge-Outage"), "olga")["id"]
        board.start()
        assert wait_for(board, submission, "failed")["status"] == "failed"
        server.responder = verdict_responder  # the judge is back; nobody restarts or resubmits
        assert wait_for(board, submission, "finished")["status"] == "finished"
        assert board.board().set_index("Model").loc["Judge-Outage", "Open"] == EXPECTED_OPEN


def test_the_worker_survives_a_store_error_while_taking_work(tmp_path, make_board, questions):
    board = make_board()
    take = board.store.claim_next
    errors = iter([sqlite3.OperationalError("database is locked")])

    def locked_once(owner=None):
        error = next(errors, None)
        if error is not None:
            raise error
        return take(owner)

    board.store.claim_next = locked_once  # one failure, as a long lock from another process gives
    write_predictions(tmp_path / "p.jsonl", questions)
    submission = board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="After-Lock"), "pat")["id"]
    board.start()
    assert wait_for(board, submission, "awaiting_judge")["status"] == "awaiting_judge"


def test_untrusted_text_is_data_and_no_file_is_written_from_the_upload_name(tmp_path, make_board, questions):
    home = tmp_path / "home"
    board = make_board(home)
    upload = tmp_path / "upload dir" / "..%2F..%2Fevil.jsonl"
    upload.parent.mkdir()
    write_predictions(upload, questions)
    evil = '=HYPERLINK("http://evil.example","x")<script>alert(1)</script>'
    submission = board.submit(upload, SubmissionMeta(model=evil, description="'; DROP TABLE submissions; --"),
                              "robert'); DROP TABLE submissions;--")["id"]
    board.start()
    assert board.wait_idle(60)
    assert board.status(submission)[0]["model"] == evil
    assert sorted(p.name for p in home.iterdir()) == ["details", "files", "leaderboard.sqlite",
                                                       "leaderboard.sqlite-shm", "leaderboard.sqlite-wal"]
    import hashlib

    assert [p.name for p in (home / "files").iterdir()] == [hashlib.sha256(upload.read_bytes()).hexdigest()]
    assert [p.name for p in (home / "details").iterdir()] == [f"{submission}.jsonl.gz"]
    from leaderboard.board import export_csv

    assert b"'=HYPERLINK" in export_csv(board.board())


def test_the_store_records_its_schema_version_and_never_the_judge_key(tmp_path, make_board, questions):
    home = tmp_path / "home"
    write_predictions(tmp_path / "p.jsonl", questions)
    with OpenAIServer(verdict_responder) as server:
        board = make_board(home, endpoint=endpoint_for(server))
        board.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Keyed"), "nora")
        board.start()
        assert board.wait_idle(60)
        board.stop()
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    for path in home.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
