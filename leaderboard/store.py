"""The submissions store: one SQLite file (WAL), one connection per thread, short transactions.

Every submission is a row holding its metadata, the uploaded bytes and their sha256, its status
and progress, the judge's results document and the board row derived from it. A row is committed
before `submit` answers, so a crash at any later point loses nothing.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1

QUEUED, RUNNING, FINISHED, FAILED, AWAITING = "queued", "running", "finished", "failed", "awaiting_judge"
STATUSES = (QUEUED, RUNNING, FINISHED, FAILED, AWAITING)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    weights TEXT NOT NULL,
    medical INTEGER NOT NULL,
    params_b REAL,
    description TEXT NOT NULL DEFAULT '',
    submitter TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_format TEXT NOT NULL,
    file_bytes BLOB NOT NULL,
    file_sha256 TEXT NOT NULL,
    coverage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    results TEXT,
    board_row TEXT,
    created_ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status, seq);
CREATE INDEX IF NOT EXISTS submissions_submitter ON submissions (submitter, created_ts);
"""

STATUS_FIELDS = ("id", "model", "submitter", "status", "progress_done", "progress_total", "error",
                 "created_at", "updated_at")


class DuplicateError(ValueError):
    """The submitter already sent this file or this model name."""


class RateLimitError(ValueError):
    """The submitter sent too many submissions in the window."""


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def utc_now(timestamp: float | None = None) -> str:
    """A UTC time stamp (now, or of `timestamp`) that sorts as text."""
    moment = datetime.now(timezone.utc) if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Submissions in a SQLite file; safe to use from many threads at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)  # idempotent; executescript manages its own commit
        with self._transaction() as db:
            found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(found[0]) != SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema version {found[0]}, this code reads "
                                   f"{SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                 check_same_thread=True)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA busy_timeout = 30000")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction, taking the write lock up front (no upgrade deadlocks)."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (other threads close theirs when they end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- writing -------------------------------------------------------------------------

    def add(self, row: dict[str, Any], *, rate_limit: tuple[int, float]) -> None:
        """Insert a queued submission, atomically with the duplicate and rate-limit checks."""
        now = time.time()
        limit, window = rate_limit
        with self._transaction() as db:
            self._check(db, row["submitter"], row["model"], row["file_sha256"], limit, window, now)
            stamp = utc_now()
            db.execute(
                "INSERT INTO submissions (id, model, link, weights, medical, params_b, description,"
                " submitter, file_name, file_format, file_bytes, file_sha256, coverage, status,"
                " created_ts, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (row["id"], row["model"], row["link"], row["weights"], int(row["medical"]),
                 row["params_b"], row["description"], row["submitter"], row["file_name"],
                 row["file_format"], row["file_bytes"], row["file_sha256"],
                 json.dumps(row["coverage"]), QUEUED, now, stamp, stamp))

    def precheck(self, submitter: str, model: str, sha256: str, rate_limit: tuple[int, float]) -> None:
        """The duplicate and rate-limit checks alone, for a cheap refusal before parsing a file."""
        self._check(self._connection(), submitter, model, sha256, *rate_limit, time.time())

    @staticmethod
    def _check(db: sqlite3.Connection, submitter: str, model: str, sha256: str | None,
               limit: int, window: float, now: float) -> None:
        same = db.execute(
            "SELECT id, model, status, file_sha256 = ? AS same_file FROM submissions"
            " WHERE submitter = ? AND (file_sha256 = ? OR lower(model) = lower(?)) ORDER BY seq LIMIT 1",
            (sha256, submitter, sha256, model)).fetchone()
        if same is not None:
            what = "this predictions file" if same["same_file"] else f"the model name {same['model']!r}"
            after = (" It failed in the judge and keeps its file: it is judged again when the judge"
                     " is back, no need to submit it again." if same["status"] == FAILED else "")
            raise DuplicateError(f"You already submitted {what} (submission {same['id']}, "
                                 f"{same['status']}); duplicates are not queued again.{after}")
        recent = db.execute("SELECT count(*), min(created_ts) FROM submissions"
                            " WHERE submitter = ? AND created_ts > ?",
                            (submitter, now - window)).fetchone()
        if recent[0] >= limit:
            wait_min = max(1, int((recent[1] + window - now) // 60) + 1)
            raise RateLimitError(f"Rate limit: at most {limit} submissions per {_duration(window)} "
                                 f"per submitter; try again in about {wait_min} min.")

    def claim_next(self) -> sqlite3.Row | None:
        """Mark the oldest queued submission running and return it (with its file bytes)."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM submissions WHERE status = ? ORDER BY seq LIMIT 1",
                             (QUEUED,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE submissions SET status = ?, attempts = attempts + 1, error = '',"
                       " updated_at = ? WHERE id = ?", (RUNNING, utc_now(), row["id"]))
        return row

    def set_progress(self, submission_id: str, done: int, total: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE submissions SET progress_done = ?, progress_total = ?, updated_at = ?"
                       " WHERE id = ?", (done, total, utc_now(), submission_id))

    def finish(self, submission_id: str, status: str, results: dict, board_row: dict) -> None:
        """Store the results document and its board row, and the final (or awaiting) status."""
        with self._transaction() as db:
            db.execute("UPDATE submissions SET status = ?, results = ?, board_row = ?, error = '',"
                       " updated_at = ? WHERE id = ?",
                       (status, json.dumps(results), json.dumps(board_row), utc_now(), submission_id))
            db.execute("INSERT INTO meta VALUES ('board_version', '1') ON CONFLICT (key)"
                       " DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def fail(self, submission_id: str, reason: str) -> None:
        """Mark failed with a reason; the file and any earlier results stay for a retry."""
        with self._transaction() as db:
            db.execute("UPDATE submissions SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                       (FAILED, reason, utc_now(), submission_id))

    def requeue(self, statuses: tuple[str, ...], submission_id: str | None = None, *,
                idle_for: float | None = None) -> int:
        """Put submissions in the given statuses back in the queue (only those unchanged for
        `idle_for` seconds, when given); returns how many."""
        marks = ",".join("?" * len(statuses))
        sql = f"UPDATE submissions SET status = ?, updated_at = ? WHERE status IN ({marks})"
        args: list[Any] = [QUEUED, utc_now(), *statuses]
        if submission_id is not None:
            sql += " AND id = ?"
            args.append(submission_id)
        if idle_for is not None:
            sql += " AND updated_at <= ?"
            args.append(utc_now(time.time() - idle_for))
        with self._transaction() as db:
            return db.execute(sql, args).rowcount

    # -- reading -------------------------------------------------------------------------

    def statuses(self, submission_id: str | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(STATUS_FIELDS)} FROM submissions"
        args: tuple = ()
        if submission_id is not None:
            sql, args = sql + " WHERE id = ?", (submission_id,)
        rows = self._connection().execute(sql + " ORDER BY seq DESC", args).fetchall()
        return [dict(r) for r in rows]

    def results(self, submission_id: str) -> dict | None:
        row = self._connection().execute("SELECT results FROM submissions WHERE id = ?",
                                         (submission_id,)).fetchone()
        return json.loads(row[0]) if row is not None and row[0] else None

    def record(self, submission_id: str) -> dict | None:
        """A submission's metadata and status (no file bytes)."""
        row = self._connection().execute(
            "SELECT id, model, link, weights, medical, params_b, description, submitter, file_name,"
            " file_sha256, coverage, status, progress_done, progress_total, error, attempts,"
            " created_at, updated_at FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        return dict(row) if row is not None else None

    def models_of_others(self, submitter: str) -> list[str]:
        """Model names other submitters already took (a name identifies one row on the board)."""
        rows = self._connection().execute("SELECT DISTINCT model FROM submissions WHERE submitter != ?",
                                          (submitter,)).fetchall()
        return [row[0] for row in rows]

    def board_rows(self) -> list[dict]:
        """Board rows of every scored submission, oldest first. A row being re-judged keeps its
        previous (MCQ) row until the new one is written."""
        rows = self._connection().execute(
            "SELECT board_row FROM submissions WHERE board_row IS NOT NULL ORDER BY seq").fetchall()
        return json.loads("[" + ",".join(r[0] for r in rows) + "]")

    def board_version(self) -> int:
        """Changes whenever a board row is written; lets readers cache the board."""
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'board_version'").fetchone()
        return int(row[0]) if row else 0

    def pending(self) -> int:
        """Submissions the worker still has to take or finish."""
        row = self._connection().execute("SELECT count(*) FROM submissions WHERE status IN (?, ?)",
                                         (QUEUED, RUNNING)).fetchone()
        return int(row[0])

    def queue_position(self, submission_id: str) -> int:
        """1 for the next one the worker takes; 0 when it is not queued."""
        row = self._connection().execute(
            "SELECT CASE WHEN s.status = ? THEN (SELECT count(*) FROM submissions q"
            " WHERE q.status IN (?, ?) AND q.seq <= s.seq) ELSE 0 END FROM submissions s"
            " WHERE s.id = ?", (QUEUED, QUEUED, RUNNING, submission_id)).fetchone()
        return int(row[0]) if row else 0
