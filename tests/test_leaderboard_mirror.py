"""The Hub mirror through huggingface_hub's own `hf_api` seam: no network, real CommitScheduler."""
from __future__ import annotations

import json

import pytest

from leaderboard import board
from leaderboard.mirror import HubMirror
from leaderboard.service import PAPER_CSV
from tests.hub_fakes import RecordingHfApi


@pytest.fixture
def api() -> RecordingHfApi:
    return RecordingHfApi()


def test_mirror_creates_the_dataset_repo_and_commits_results_and_board(tmp_path, api):
    mirror = HubMirror("org/medcmr-results", "hf_fake_token_for_tests", tmp_path / "mirror",
                       hf_api=api, every_min=60)
    try:
        assert api.calls[0] == ("create_repo", {"repo_id": "org/medcmr-results", "private": None,
                                                "repo_type": "dataset", "exist_ok": True})
        mirror.push().result(10)  # the scheduler's own first run may race this one: both are fine
        mirror.record("sub-abc123", {"model": "M", "submitter": "alice", "file_sha256": "ff",
                                     "file_name": "p.jsonl"}, {"mcq": {"accuracy": 50.0}})
        mirror.write_board(board.rank(board.paper_frame(PAPER_CSV)))
        mirror.push().result(10)
        last = api.commits()[-1]
        assert last["repo_type"] == "dataset" and last["repo_id"] == "org/medcmr-results"
        assert sorted(last["paths"]) == ["board.csv", "results/sub-abc123.json"]
        document = json.loads(api.uploaded["results/sub-abc123.json"])
        assert document == {"submission": {"model": "M"}, "results": {"mcq": {"accuracy": 50.0}}, "review": {}}
        assert b"GPT-5" in api.uploaded["board.csv"]
        commits_before = len(api.commits())
        mirror.push().result(10)
        assert len(api.commits()) == commits_before  # nothing changed: no empty commit
    finally:
        mirror.stop()


def test_mirror_refuses_an_id_that_could_be_a_path(tmp_path, api):
    mirror = HubMirror("org/r", None, tmp_path, hf_api=api, every_min=60)
    try:
        with pytest.raises(ValueError):
            mirror.record("../../etc/passwd", {}, {})
    finally:
        mirror.stop()


def test_a_mirror_needs_both_repo_and_token_from_the_callers_settings(tmp_path, monkeypatch):
    from core.settings import Settings

    monkeypatch.setenv("MEDCMR_RESULTS_REPO", "org/r")  # the environment is the caller's to read, not the mirror's
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    assert HubMirror.from_settings(tmp_path, Settings()) is None
    assert HubMirror.from_settings(tmp_path, Settings(results_repo="org/r")) is None
    assert HubMirror.from_settings(tmp_path, Settings(hf_token="hf_x")) is None


def test_the_leaderboard_mirrors_each_scored_submission_and_backfills_on_start(tmp_path, built_dataset):
    import medcmr
    from leaderboard.intake import SubmissionMeta
    from leaderboard.service import Leaderboard

    questions = medcmr.load_questions(built_dataset)
    lines = [json.dumps({"id": q["id"], "prediction": q["answer"] if q["question_type"] == "mcq" else "x"})
             for q in questions]
    (tmp_path / "p.jsonl").write_text("\n".join(lines), encoding="utf-8")
    home = tmp_path / "home"
    plain = Leaderboard(home, built_dataset)  # scored before any mirror was configured
    first = plain.submit(tmp_path / "p.jsonl", SubmissionMeta(model="Before-Mirror"), "olga")["id"]
    plain.start()
    assert plain.wait_idle(60)
    plain.stop()

    api = RecordingHfApi()
    mirror = HubMirror("org/results", "hf_fake_token_for_tests", home / "mirror", hf_api=api, every_min=60)
    board = Leaderboard(home, built_dataset, mirror=mirror)
    try:
        board.start()
        (tmp_path / "q.jsonl").write_text("\n".join(lines[:-1]), encoding="utf-8")
        second = board.submit(tmp_path / "q.jsonl", SubmissionMeta(model="With-Mirror"), "olga")["id"]
        assert board.wait_idle(60)
        mirror.push().result(10)
        paths = {path for commit in api.commits() for path in commit["paths"]}
        assert {f"results/{first}.json", f"results/{second}.json", "board.csv"} <= paths
        document = json.loads(api.uploaded[f"results/{second}.json"])
        assert document["submission"]["model"] == "With-Mirror" and "submitter" not in document["submission"]
        assert document["results"]["mcq"]["accuracy"] == board.scores(second).mcq.accuracy
        board_csv = (home / "mirror" / "board.csv").read_text(encoding="utf-8")
        assert "Before-Mirror" in board_csv and "With-Mirror" in board_csv
    finally:
        board.stop()
