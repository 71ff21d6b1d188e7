"""An upload is parsed once and its MCQs extracted once, through the real Leaderboard service: the check
hands its parse to the MCQ lane, and the judge lane takes up the MCQ lane's pass (its details file) instead
of reading the upload again."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import judge
import judge.score
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionMeta
from leaderboard.service import Leaderboard
from tests.answers import write_predictions
from tests.judge_responders import fixed_judge
from tests.openai_server import OpenAIServer

GRADES = {"consistency": 9, "coherence": 7, "visual_accuracy": 6, "ground_truth": 5}


@pytest.fixture
def counted(monkeypatch) -> dict[str, Counter]:
    """Every read of a predictions file (by the name it was uploaded as) and every extraction of an MCQ letter
    from an answer these tests wrote ("Answer: X"; the board's reference rows extract their own)."""
    counts = {"parsed": Counter(), "extracted": Counter()}
    read, extract = judge.read_predictions, judge.score.extract_choice

    def counting_read(source, *args, **kwargs):
        counts["parsed"][kwargs.get("name") or Path(source).name] += 1
        return read(source, *args, **kwargs)

    def counting_extract(text, options):
        if text.startswith("Answer:"):
            counts["extracted"][text] += 1
        return extract(text, options)

    monkeypatch.setattr(judge, "read_predictions", counting_read)
    monkeypatch.setattr(judge.score, "extract_choice", counting_extract)
    return counts


@pytest.fixture
def boards(built_dataset):
    made: list[Leaderboard] = []

    def make(home: Path, endpoint: Endpoint | None = None) -> Leaderboard:
        made.append(Leaderboard(home, built_dataset, endpoint=endpoint))
        return made[-1]

    yield make
    for board in made:
        board.stop()


def _endpoint(server: OpenAIServer) -> Endpoint:
    return Endpoint(base_url=server.base_url, model="judge-test", api_key="sk-parsed-once", timeout=10, max_retries=3)


def _mcq_answers(questions: list[dict]) -> int:
    return sum(q["question_type"] == "mcq" for q in questions)


def test_one_parse_and_one_extraction_per_upload_with_a_judge(tmp_path, boards, questions, counted):
    accuracy = write_predictions(tmp_path / "preds.jsonl", questions)
    write_predictions(tmp_path / "blind.jsonl", questions, right=0, open_answers=False)
    with OpenAIServer(fixed_judge(GRADES)) as server:
        board = boards(tmp_path / "home", _endpoint(server))
        submission = board.submit(tmp_path / "preds.jsonl", SubmissionMeta(model="Once"), "alice",
                                  blind=tmp_path / "blind.jsonl")["id"]
        board.start()
        assert board.wait_idle(120)
    assert board.status(submission)[0]["status"] == "finished"
    assert counted["parsed"]["preds.jsonl"] == 1
    assert counted["parsed"]["blind.jsonl"] == 2  # its check and the MCQ lane; the judge lane keeps its block
    assert sum(counted["extracted"].values()) == 2 * _mcq_answers(questions)  # the upload's and the blind run's
    scores = board.scores(submission)
    assert scores.mcq.accuracy == pytest.approx(accuracy, abs=1e-3) and scores.open.judged == scores.open.n
    assert scores.blind is not None and scores.blind.n == _mcq_answers(questions)


def test_the_judge_lane_after_a_restart_scores_the_same_document_without_reading_the_upload(
        tmp_path, boards, questions, counted):
    write_predictions(tmp_path / "preds.jsonl", questions, tag=" (restart)")
    first = boards(tmp_path / "home")
    submission = first.submit(tmp_path / "preds.jsonl", SubmissionMeta(model="Later"), "bob")["id"]
    first.start()
    assert first.wait_idle(60) and first.status(submission)[0]["status"] == "awaiting_judge"
    first.stop()
    extracted = sum(counted["extracted"].values())
    with OpenAIServer(fixed_judge(GRADES)) as server:
        second = boards(tmp_path / "home", _endpoint(server))
        second.start()
        assert second.wait_idle(120) and second.status(submission)[0]["status"] == "finished"
        assert counted["parsed"]["preds.jsonl"] == 1  # the check's: the judge lane read none
        assert sum(counted["extracted"].values()) == extracted  # nor extracted an MCQ again
        by_hand = judge.score_submission(judge.read_predictions(tmp_path / "preds.jsonl"), questions,
                                         endpoint=_endpoint(server), dataset=second.dataset)
    kept = second.scores(submission).to_dict()
    fresh = by_hand.to_dict()
    for block in ("mcq", "open", "coverage", "dataset", "mcq_only"):
        assert kept[block] == fresh[block], block


def test_without_the_mcq_pass_the_judge_lane_reads_the_upload(tmp_path, boards, questions, counted):
    """A home whose details are gone (or were written by another build or extraction) is scored from its file."""
    write_predictions(tmp_path / "preds.jsonl", questions)
    first = boards(tmp_path / "home")
    submission = first.submit(tmp_path / "preds.jsonl", SubmissionMeta(model="Gone"), "carol")["id"]
    first.start()
    assert first.wait_idle(60)
    first.stop()
    for path in (tmp_path / "home" / "details").iterdir():
        path.unlink()
    with OpenAIServer(fixed_judge(GRADES)) as server:
        second = boards(tmp_path / "home", _endpoint(server))
        second.start()
        assert second.wait_idle(120) and second.status(submission)[0]["status"] == "finished"
    assert counted["parsed"]["preds.jsonl"] == 2
    assert second.scores(submission).open.judged == second.scores(submission).open.n
