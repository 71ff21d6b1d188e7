"""The leaderboard's typed records and vocabulary: the store's real SQLite file, the board's real frames.

What a user reads must not change with the types: the statuses the database accepts, the status API's
fields, the mirror's metadata, the board's sources and the compare API's keys."""
from __future__ import annotations

import json
import sqlite3

import pytest

from core.results import ItemResult, ItemStatus
from leaderboard import board, stats
from leaderboard.records import (SCORED_STATUSES, STORED_STATUSES, Column, RowReview, Source, SubmissionRecord,
                                 SubmissionStatus)
from leaderboard.service import PAPER_CSV
from leaderboard.store import STATUS_FIELDS, Store


def _row(number: int, medical: bool) -> dict:
    return {"id": f"sub-{number:012d}", "model": f"Model-{number}", "link": "", "weights": "open",
            "medical": medical, "params_b": 7.0, "description": "d", "submitter": "someone",
            "file_name": "p.jsonl", "file_format": ".jsonl", "file_bytes": b"{}", "file_sha256": f"{number:064x}",
            "coverage": {"expected": 4, "given": 3, "missing": 1, "unknown": 0, "missing_sample": ["mcq-3"]}}


def test_the_database_accepts_the_stored_statuses_and_refuses_any_other(tmp_path) -> None:
    store = Store(tmp_path / "leaderboard.sqlite")
    store.add(_row(1, False), rate_limit=(10, 60.0))
    with sqlite3.connect(tmp_path / "leaderboard.sqlite") as db:
        for status in STORED_STATUSES:
            db.execute("UPDATE submissions SET status = ?", (status,))
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE submissions SET status = ?", ("awaiting judge",))  # the board's words, not a status
    assert {status.value for status in STORED_STATUSES} | {"checking", "refused"} == set(SubmissionStatus)
    assert set(SCORED_STATUSES) == {"finished", "awaiting_judge"}
    store.close()


def test_a_stored_submission_reads_typed_and_serialises_as_before(tmp_path) -> None:
    store = Store(tmp_path / "leaderboard.sqlite")
    store.add(_row(2, True), rate_limit=(10, 60.0))
    record = store.record("sub-000000000002")
    assert isinstance(record, SubmissionRecord) and record.status is SubmissionStatus.QUEUED
    assert record.medical is True and record.public_details is True and record.coverage["missing_sample"] == ["mcq-3"]
    shown = record.status_fields()
    assert list(shown) == list(STATUS_FIELDS) and shown["status"] == "queued" and type(shown["status"]) is str
    assert json.loads(json.dumps(record.public())) == {"id": "sub-000000000002", "model": "Model-2", "link": "",
                                                       "weights": "open", "medical": 1, "params_b": 7.0,
                                                       "description": "d", "created_at": record.created_at}
    claimed = store.claim_next()
    assert claimed.id == record.id and claimed.file_path == store.file_path(record.file_sha256)
    assert claimed.file_path.read_bytes() == b"{}"
    assert [s.status for s in store.statuses()] == [SubmissionStatus.RUNNING]
    assert store.record("sub-nobody") is None
    store.close()


def test_the_board_writes_its_sources_and_columns_from_the_records() -> None:
    rows = board.paper_frame(PAPER_CSV)
    assert set(rows[Column.SOURCE]) == {Source.PAPER} and len(rows) == 18
    assert board.SOURCES == ("paper", "scored here", "reference")
    named = {value for name, value in vars(Column).items() if name.isupper()}
    assert set(board.FRAME_COLUMNS) - named <= set(board.COLUMN_GROUPS["Dimensions"]
                                                   + board.COLUMN_GROUPS["Open criteria"]
                                                   + board.COLUMN_GROUPS["Medical intelligence"])


def test_a_row_no_review_touched_reads_visible_and_unheld() -> None:
    untouched = RowReview()
    assert (untouched.moderation, untouched.review, untouched.integrity) == ("visible", "", "")
    assert set(untouched.to_dict()) == {"audit", "audit_error", "review", "audit_summary", "moderation",
                                        "moderation_reason", "integrity", "integrity_reason"}


def test_the_compare_summary_answers_the_api_keys_with_counts_for_the_id_lists() -> None:
    a = [ItemResult(id=f"q{i}", question_type="mcq", status=ItemStatus.ANSWERED, dimension="causal", correct=i < 3)
         for i in range(4)]
    b = [ItemResult(id=f"q{i}", question_type="mcq", status=ItemStatus.ANSWERED, dimension="causal", correct=i > 0)
         for i in range(4)]
    summary = stats.compare(a, b).summary()
    assert set(summary) == {"names", "shared", "only_in_a", "only_in_b", "mcq", "open"}
    assert (summary["mcq"]["only_a"], summary["mcq"]["only_b"], summary["mcq"]["disagree"]) == (1, 1, 2)
    assert "disagree_ids" not in summary["mcq"] and summary["open"]["disagree"] == 0
    assert set(summary["mcq"]["by_dimension"]["causal"]) == {"n", "both_right", "only_a", "only_b", "both_wrong",
                                                            "accuracy_a", "accuracy_b", "diff", "p", "significant"}
    json.dumps(summary)  # the API answers it as JSON
