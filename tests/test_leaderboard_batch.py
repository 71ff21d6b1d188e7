"""The Space's judge lane with batch judging (MEDCMR_JUDGE_BATCH): the real worker and store, a fake
Batch API over real HTTP; each submission scored exactly as online judging of the same replies."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

import judge
from core.settings import Settings, SettingsError
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionMeta
from leaderboard.service import Leaderboard
from tests.answers import write_predictions
from tests.batch_server import BatchServer
from tests.judge_responders import fake_judge
from tests.openai_server import OpenAIServer
from tests.polling import until

KEY = "sk-batch-lane-secret-5a0c7e"
BATCH = Settings(judge_batch=True, judge_batch_poll_s=0.2, retry_failed_after_s=2.0)


@pytest.fixture
def make_board(tmp_path: Path, built_dataset: Path, running):
    def make(server: BatchServer, home: Path | None = None, model: str = "judge-test") -> Leaderboard:
        endpoint = Endpoint(base_url=server.base_url, model=model, api_key=KEY, timeout=10, max_retries=3)
        return running(Leaderboard(home or tmp_path / "home", built_dataset, BATCH, endpoint=endpoint))

    return make


def online_open(path: Path, questions: list[dict]) -> dict:
    """The open block of judging the file online with the same judge."""
    with OpenAIServer(fake_judge) as server:
        endpoint = Endpoint(base_url=server.base_url, model="judge-test", api_key=KEY, timeout=10)
        results = judge.score_submission(judge.read_predictions(path), questions, endpoint=endpoint)
    return results.to_dict()["open"]


def status_of(board: Leaderboard, submission: str) -> dict:
    return board.status(submission)[0]


def test_the_judge_lane_sends_batches_and_comes_back_for_them_without_holding_anyone(
        tmp_path: Path, make_board, questions: list[dict], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="leaderboard")
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_predictions(first, questions, tag="first")
    expected_b = write_predictions(second, questions, right=3, tag="second")
    with BatchServer(fake_judge, api_key=KEY) as server:
        server.hold = True
        board = make_board(server)
        a = board.submit(first, SubmissionMeta(model="Batch-A"), "ann")["id"]
        until(lambda: "batch_1" in server.batches, 60, "the first submission's batch is sent")
        until(lambda: status_of(board, a)["status"] == "awaiting_judge", 60, "the lane leaves it at the judge")
        b = board.submit(second, SubmissionMeta(model="Batch-B"), "ben")["id"]
        until(lambda: "batch_2" in server.batches, 60, "the second batch is sent while the first is at the judge")
        assert status_of(board, b)["status"] in ("awaiting_judge", "running")  # its MCQ row did not wait for A's
        assert board.board().set_index("Model").loc["Batch-B", "MCQ"] == round(expected_b, 2)
        assert server.answered == []
        server.hold = False
        until(lambda: all(status_of(board, s)["status"] == "finished" for s in (a, b)), 60, "both batches read")
        assert sorted(server.batches) == ["batch_1", "batch_2"]
        for submission, path in ((a, first), (b, second)):
            scored = board.scores(submission)
            assert scored.to_dict()["open"] == online_open(path, questions)
            assert scored.judge.engine == "batch-api" and scored.open.judged == scored.open.n
    for path in (tmp_path / "home" / "judge_batches").rglob("*"):
        assert path.is_dir() or KEY not in path.read_text()
    assert "batch batch_1 sent to 127.0.0.1" in caplog.text and "judge estimate" in caplog.text
    assert KEY not in caplog.text


def test_a_batch_at_the_judge_is_looked_at_without_scoring_the_submission_again(
        tmp_path: Path, make_board, questions: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    scored = []
    real = judge.score_submission
    monkeypatch.setattr(judge, "score_submission", lambda *args, **kwargs: scored.append(1) or real(*args, **kwargs))
    path = tmp_path / "p.jsonl"
    write_predictions(path, questions)
    with BatchServer(fake_judge, api_key=KEY) as server:
        server.hold = True
        board = make_board(server)
        submission = board.submit(path, SubmissionMeta(model="Polled"), "pia")["id"]
        until(lambda: "batch_1" in server.batches, 60, "the batch is sent")
        sent = len(scored)  # the reference rows, the MCQ lane and the judge lane's run that sent the batch
        until(lambda: server.looks >= 5, 60, "the lane looks at the batch again and again")
        assert len(scored) == sent
        server.hold = False
        until(lambda: status_of(board, submission)["status"] == "finished", 60, "the batch is read")
        assert len(scored) == sent + 1


def test_a_restart_reads_the_batch_it_sent_and_sends_none_again(
        tmp_path: Path, make_board, questions: list[dict]) -> None:
    path = tmp_path / "p.jsonl"
    write_predictions(path, questions)
    with BatchServer(fake_judge, api_key=KEY) as server:
        server.hold = True
        board = make_board(server)
        submission = board.submit(path, SubmissionMeta(model="Restarted"), "rae")["id"]
        until(lambda: "batch_1" in server.batches, 60, "the batch is sent")
        board.stop()
        server.hold = False
        again = make_board(server, tmp_path / "home")
        until(lambda: status_of(again, submission)["status"] == "finished", 60, "the batch is read after the restart")
        assert list(server.batches) == ["batch_1"]
        assert again.scores(submission).to_dict()["open"] == online_open(path, questions)


def test_a_new_judge_sends_its_own_batch_instead_of_waiting_on_the_old_one(
        tmp_path: Path, make_board, questions: list[dict]) -> None:
    path = tmp_path / "p.jsonl"
    write_predictions(path, questions)
    with BatchServer(fake_judge, api_key=KEY) as server:
        server.hold = True
        board = make_board(server)
        submission = board.submit(path, SubmissionMeta(model="Rejudged"), "ray")["id"]
        until(lambda: "batch_1" in server.batches, 60, "the first judge's batch is sent")
        board.stop()
        again = make_board(server, tmp_path / "home", model="judge-two")
        until(lambda: "batch_2" in server.batches, 60, "the new judge sends its own batch")
        assert {line["body"]["model"] for line in server.input_lines("batch_2")} == {"judge-two"}
        server.hold = False
        until(lambda: status_of(again, submission)["status"] == "finished", 60, "the new judge's batch is read")
        assert again.scores(submission).judge.model == "judge-two"


def test_an_expired_batch_fails_the_submission_with_its_reason_and_the_retry_finishes_it(
        tmp_path: Path, make_board, questions: list[dict]) -> None:
    path = tmp_path / "p.jsonl"
    write_predictions(path, questions)
    n_open = sum(q["question_type"] == "open" for q in questions)
    with BatchServer(fake_judge, api_key=KEY) as server:
        server.expire_after = n_open // 2
        board = make_board(server)
        submission = board.submit(path, SubmissionMeta(model="Expired"), "eve")["id"]
        until(lambda: "batch_1" in server.batches, 60, "the batch is sent")
        server.expire_after = None
        failed = until(lambda: (row := status_of(board, submission))["status"] == "failed" and row, 60,
                       "the expired batch fails the submission")
        assert f"{n_open - n_open // 2} of {n_open} open answers could not be judged" in failed["error"]
        assert f"batch batch_1 expired with {n_open // 2} of {n_open} requests done" in failed["error"]
        assert "tried again after" in failed["error"]
        until(lambda: status_of(board, submission)["status"] == "finished", 60, "the retry sends and reads the rest")
        assert list(server.batches) == ["batch_1", "batch_2"]
        assert len(server.input_lines("batch_2")) == n_open - n_open // 2
        assert board.scores(submission).to_dict()["open"] == online_open(path, questions)


def test_the_operator_turns_batch_judging_on_from_the_environment() -> None:
    settings = Settings.from_env({"MEDCMR_JUDGE_BATCH": "yes", "MEDCMR_JUDGE_BATCH_POLL_S": "300"})
    assert (settings.judge_batch, settings.judge_batch_poll_s) == (True, 300.0)
    assert Settings.from_env({"MEDCMR_JUDGE_BATCH": "0"}).judge_batch is False
    assert Settings.from_env({}).judge_batch is False
    with pytest.raises(SettingsError, match="MEDCMR_JUDGE_BATCH='maybe'"):
        Settings.from_env({"MEDCMR_JUDGE_BATCH": "maybe"})
