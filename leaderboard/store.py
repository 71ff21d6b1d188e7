"""The submissions store: one SQLite file (WAL), one connection per thread, short transactions.

Every submission is a small row: its metadata, status, progress, the results document and the
board row derived from it. The uploaded bytes are written once, to `files/<sha256>` beside the
database (atomically, before the row that names them is committed), so status and progress
updates never rewrite them. A `lease` row names the one process that may work on the queue; any
other process on the same home only reads and queues. A write the disk, a read-only mount or a
lock refuses raises `StoreUnavailable` with the cause in words.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from core.files import atomic_copy, atomic_write
from core.results import ReproductionState
from leaderboard.records import FLAGGED, HIDDEN, STORED_STATUSES, VISIBLE, SubmissionRecord
from leaderboard.records import SubmissionStatus as Status

SCHEMA_VERSION = 4

# A submission's status (`SubmissionStatus`); an upload taken while every check was busy waits in the
# `intake` table: checking, then a submission (queued) or refused with its reason. Both show in `statuses`.
STATUSES = tuple(status.value for status in STORED_STATUSES)  # as the schema's CHECK spells them
# The audit of a submission's open scores by a second judge, and the operator's word on a row.
AUDIT_PENDING, AUDIT_DONE, UNDER_REVIEW, REVIEW_CLEARED = "audit_pending", "audited", "under_review", "cleared"
AUDIT_STATES = (AUDIT_PENDING, AUDIT_DONE, UNDER_REVIEW, REVIEW_CLEARED)
# The copy checks' word on a row (leaderboard.integrity): nothing found, something noted, or held.
INTEGRITY_CLEAR, INTEGRITY_NOTED, INTEGRITY_HELD = "clear", "noted", "held"
INTEGRITY_STATES = (INTEGRITY_CLEAR, INTEGRITY_NOTED, INTEGRITY_HELD)
MODERATION_STATES = (VISIBLE, FLAGGED, HIDDEN)
REPRODUCTION_STATES = tuple(state.value for state in ReproductionState)
# A reproduction the lane takes when due: waiting its turn, failed (retried with backoff) or over budget.
_DUE_REPRODUCTIONS = (ReproductionState.PENDING.value, ReproductionState.FAILED.value,
                      ReproductionState.OVER_BUDGET.value)

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
    file_sha256 TEXT NOT NULL,
    coverage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    results TEXT,
    created_ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    public_details INTEGER NOT NULL DEFAULT 1,
    judge_failures INTEGER NOT NULL DEFAULT 0,
    retry_ts REAL,
    companions TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS submissions_status ON submissions (status, seq);
CREATE INDEX IF NOT EXISTS submissions_submitter ON submissions (submitter, created_ts);
CREATE TABLE IF NOT EXISTS audits (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN {AUDIT_STATES}),
    summary TEXT,
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_ts REAL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS moderation (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN {MODERATION_STATES}),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS previous_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL,
    results TEXT,
    reason TEXT NOT NULL,
    archived_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relations (
    submission_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    related_to TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    submission_id TEXT PRIMARY KEY,
    build TEXT NOT NULL,
    letters BLOB NOT NULL,
    open BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS integrity (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN {INTEGRITY_STATES}),
    findings TEXT NOT NULL,
    cleared TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS intake (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    submitter TEXT NOT NULL,
    model TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('{Status.CHECKING}', '{Status.REFUSED}')),
    error TEXT NOT NULL DEFAULT '',
    created_ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_state ON intake (state, seq);
CREATE TABLE IF NOT EXISTS reproductions (
    submission_id TEXT PRIMARY KEY,
    runner_model TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN {REPRODUCTION_STATES}),
    runner TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    summary TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    retry_ts REAL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reproduction_answers (
    submission_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    prediction TEXT NOT NULL,
    PRIMARY KEY (submission_id, item_id)
);
CREATE TABLE IF NOT EXISTS reproduction_calls (
    submission_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    day TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (submission_id, attempt)
);
CREATE INDEX IF NOT EXISTS reproduction_calls_day ON reproduction_calls (day);
CREATE TABLE IF NOT EXISTS lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    expires_ts REAL NOT NULL
);
"""

# Version 1 kept the upload in the row; version 2 moves it to files/ and adds these columns.
_V2_COLUMNS = ("public_details INTEGER NOT NULL DEFAULT 1", "judge_failures INTEGER NOT NULL DEFAULT 0",
               "retry_ts REAL")
# Version 3: the companion runs of a submission (blind, circular) as JSON: kind -> {sha256, file_name};
# board rows are no longer stored (they are made from the results when the board is read).
_V3_COLUMNS = ("companions TEXT NOT NULL DEFAULT '{}'",)
# Version 4: the reproduction tables (created by _SCHEMA); a submission of an older home has no row in
# them, which reads as self-reported (no runner was named with it).

STATUS_FIELDS = ("id", "model", "submitter", "status", "progress_done", "progress_total", "error",
                 "created_at", "updated_at")


class DuplicateError(ValueError):
    """The submitter already sent this file or this model name."""


class RateLimitError(ValueError):
    """The submitter sent too many submissions in the window."""


class WaitingRoomFull(ValueError):
    """Every place for uploads waiting to be checked is taken (a burst beyond the room's bounds)."""


class StoreUnavailable(RuntimeError):
    """The store cannot write now; `cause` says why in a few words ("disk full", "read-only", ...)."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def storage_cause(error: BaseException) -> str | None:
    """"disk full", "read-only", "database locked", ... when `error` is the storage refusing a
    write (SQLite or the file system); None for any other error."""
    if isinstance(error, StoreUnavailable):
        return error.cause
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk full"
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read-only"
        return None
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        if "full" in text:
            return "disk full"
        if "readonly" in text or "read-only" in text:
            return "read-only"
        if "locked" in text or "busy" in text:
            return "database locked"
        if "unable to open" in text or "disk i/o" in text:
            return "cannot open or write the database file"
    return None


def _unavailable(error: BaseException, where: Path) -> StoreUnavailable | None:
    cause = storage_cause(error)
    if cause is None:
        return None
    return StoreUnavailable(cause, f"{where}: cannot write ({cause}): {error}")


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
    """Submissions in a SQLite file and their uploads under `files/`; safe from many threads."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.files = self.path.with_name("files")
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._add_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.files.mkdir(exist_ok=True)
            self._connection().executescript(_SCHEMA)  # idempotent; executescript manages its own commit
            self._check_version()
        except (OSError, sqlite3.OperationalError) as error:
            unavailable = _unavailable(error, self.path)
            if unavailable is None:
                raise
            raise unavailable from None

    def _check_version(self) -> None:
        db = self._connection()
        found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None:
            with self._transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        version = int(found[0])
        if version == 1:
            self._migrate_from_v1()
        if version in (1, 2):
            self._migrate_from_v2()
        if version in (1, 2, 3):
            self._migrate_from_v3()
        elif version != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: schema version {found[0]}, this code reads "
                               f"{SCHEMA_VERSION}")

    def _migrate_from_v1(self) -> None:
        """Version 1 → 2: each upload's bytes move to files/<sha256> (written before the column
        goes), and the consent and retry columns are added; one transaction, so a crash repeats it."""
        db = self._connection()
        shas = [r[0] for r in db.execute("SELECT DISTINCT file_sha256 FROM submissions")]
        for sha256 in shas:
            target = self.file_path(sha256)
            if not target.is_file():
                blob = db.execute("SELECT file_bytes FROM submissions WHERE file_sha256 = ? LIMIT 1",
                                  (sha256,)).fetchone()[0]
                atomic_write(target, bytes(blob))
        with self._transaction() as db:
            if db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] != "1":
                return  # another process migrated it meanwhile
            for column in _V2_COLUMNS:
                db.execute(f"ALTER TABLE submissions ADD COLUMN {column}")
            db.execute("ALTER TABLE submissions DROP COLUMN file_bytes")
            db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    def _migrate_from_v2(self) -> None:
        """Version 2 → 3: the companions column, and the stored board rows dropped; one transaction, so a
        crash repeats it."""
        with self._transaction() as db:
            if db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] != "2":
                return  # another process migrated it meanwhile
            for column in _V3_COLUMNS:
                db.execute(f"ALTER TABLE submissions ADD COLUMN {column}")
            for table in ("submissions", "previous_results"):
                if any(row[1] == "board_row" for row in db.execute(f"PRAGMA table_info({table})")):
                    db.execute(f"ALTER TABLE {table} DROP COLUMN board_row")
            db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")

    def _migrate_from_v3(self) -> None:
        """Version 3 → 4: the reproduction tables, already made by the schema script; only the version moves,
        so an older kit refuses this home instead of ranking rows it would not know were held."""
        with self._transaction() as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND value = '3'",
                       (str(SCHEMA_VERSION),))

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                 check_same_thread=True)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction, taking the write lock up front (no upgrade deadlocks).
        A write the storage refuses becomes StoreUnavailable."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            unavailable = _unavailable(error, self.path)
            if unavailable is None:
                raise
            raise unavailable from error

    def close(self) -> None:
        """Close this thread's connection (other threads close theirs when they end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def file_path(self, sha256: str) -> Path:
        """Where an upload's bytes live (named by their sha256, never by the upload's name)."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.files / sha256

    # -- the lease: one process works on the queue ---------------------------------------

    def acquire_lease(self, owner: str, ttl: float) -> tuple[bool, dict | None]:
        """Take or renew the lease for `ttl` seconds; (True, None), or (False, the live holder)."""
        now = time.time()
        with self._transaction() as db:
            held = db.execute("SELECT owner, pid, host, expires_ts FROM lease WHERE id = 1").fetchone()
            if held is not None and held["owner"] != owner and held["expires_ts"] > now:
                return False, dict(held)
            db.execute("INSERT INTO lease VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                       " owner = excluded.owner, pid = excluded.pid, host = excluded.host,"
                       " expires_ts = excluded.expires_ts",
                       (owner, os.getpid(), socket.gethostname(), now + ttl))
        return True, None

    def release_lease(self, owner: str) -> None:
        """Give the lease up at once (a clean stop), so another process need not wait for expiry."""
        with self._transaction() as db:
            db.execute("DELETE FROM lease WHERE owner = ?", (owner,))

    # -- writing -------------------------------------------------------------------------

    def add(self, row: dict[str, Any], *, rate_limit: tuple[int, float], link: bool = False) -> None:
        """Insert a queued submission, atomically with the duplicate and rate-limit checks.
        The upload (`row["file_path"]`, or `row["file_bytes"]`) and its companion runs
        (`row["companions"]`: kind -> {path, sha256, file_name}) are written to files/ first, once
        per distinct content (linked with `link`: see `core.files.atomic_copy`); they are removed again
        if the row cannot be committed."""
        limit, window = rate_limit
        with self._files_written(row, link) as now, self._transaction() as db:
            self._check(db, row["submitter"], row["model"], row["file_sha256"], limit, window, now)
            self._insert(db, row, now)

    @staticmethod
    def _insert(db: sqlite3.Connection, row: dict[str, Any], now: float) -> None:
        now = row.get("created_ts", now)  # an upload checked in turn keeps the time it was taken
        stamp = utc_now(now)
        companions = row.get("companions") or {}
        db.execute(
            "INSERT INTO submissions (id, model, link, weights, medical, params_b, description,"
            " submitter, file_name, file_format, file_sha256, coverage, status,"
            " created_ts, created_at, updated_at, public_details, companions)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row["id"], row["model"], row["link"], row["weights"], int(row["medical"]),
             row["params_b"], row["description"], row["submitter"], row["file_name"],
             row["file_format"], row["file_sha256"], json.dumps(row["coverage"]), Status.QUEUED,
             now, stamp, utc_now(), int(row.get("public_details", True)),
             json.dumps({kind: {"sha256": c["sha256"], "file_name": c["file_name"]}
                         for kind, c in companions.items()})))
        if row.get("reproduction"):
            Store._insert_reproduction(db, row["id"], row["reproduction"])
        if row.get("related_to"):
            db.execute("INSERT INTO relations VALUES (?, ?, ?)", (row["id"], row["relation"], row["related_to"]))

    @contextmanager
    def _files_written(self, row: dict[str, Any], link: bool) -> Iterator[float]:
        """Write the upload and its companion runs to files/ (once per distinct content), then run the
        caller's transaction (yields the time stamp); the files it created go again if that fails."""
        companions = row.get("companions") or {}
        sources = [(row["file_sha256"], row["file_bytes"] if "file_bytes" in row else Path(row["file_path"]))]
        sources += [(companion["sha256"], Path(companion["path"])) for companion in companions.values()]
        with self._add_lock:
            created: list[Path] = []
            try:
                for sha256, source in sources:
                    target = self.file_path(sha256)
                    if not target.is_file():
                        if isinstance(source, bytes):
                            atomic_write(target, source)
                        else:
                            atomic_copy(target, source, link=link)
                        created.append(target)
                yield time.time()
            except BaseException as error:
                for target in created:
                    target.unlink(missing_ok=True)
                unavailable = _unavailable(error, self.files) if isinstance(error, OSError) else None
                if unavailable is not None:
                    raise unavailable from error
                raise

    # -- the waiting room: uploads taken while every check was busy -----------------------

    def take(self, row: dict[str, Any], *, rate_limit: tuple[int, float], room: tuple[int, int],
             link: bool = False) -> int:
        """Keep an upload (`row` as for `add`, without coverage) to be checked in turn: its bytes are
        written to files/ and its row to the waiting room, atomically with the duplicate and rate-limit
        checks. `room` bounds the uploads waiting (count, bytes): beyond it, WaitingRoomFull. Returns
        how many wait ahead of it."""
        limit, window = rate_limit
        count, size = room
        fields = {key: value for key, value in row.items() if key not in ("file_path", "file_bytes")}
        fields["companions"] = {kind: {"sha256": c["sha256"], "file_name": c["file_name"]}
                                for kind, c in (row.get("companions") or {}).items()}
        with self._files_written(row, link) as now, self._transaction() as db:
            self._check(db, row["submitter"], row["model"], row["file_sha256"], limit, window, now)
            waiting, waiting_size = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM intake"
                                               " WHERE state = ?", (Status.CHECKING,)).fetchone()
            if waiting >= count or waiting_size + row["size"] > size:
                raise WaitingRoomFull(f"{waiting} uploads already wait to be checked ({waiting_size / 2**20:.0f} "
                                      f"MiB); the server takes at most {count} ({size / 2**20:.0f} MiB)")
            stamp, fields["created_ts"] = utc_now(now), now
            db.execute("INSERT INTO intake (id, submitter, model, file_sha256, size, fields, state, created_ts,"
                       " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (row["id"], row["submitter"], row["model"], row["file_sha256"], row["size"],
                        json.dumps(fields), Status.CHECKING, now, stamp, stamp))
        return waiting

    def waiting(self, skip: set[str] | frozenset[str] = frozenset()) -> dict | None:
        """The oldest upload waiting to be checked and not in `skip`: its fields, `file_path` and
        companions' paths, as `add` takes them."""
        rows = self._connection().execute("SELECT id, fields FROM intake WHERE state = ? ORDER BY seq",
                                          (Status.CHECKING,)).fetchall()
        for row in rows:
            if row["id"] not in skip:
                fields = json.loads(row["fields"])
                companions = {kind: {**c, "path": self.file_path(c["sha256"])}
                              for kind, c in fields["companions"].items()}
                return {**fields, "file_path": self.file_path(fields["file_sha256"]), "companions": companions}
        return None

    def admit(self, row: dict[str, Any]) -> bool:
        """A waiting upload passed its check: it becomes a queued submission (with `row["coverage"]`),
        in one transaction; False if it no longer waits (another process checked it)."""
        with self._transaction() as db:
            if db.execute("DELETE FROM intake WHERE id = ? AND state = ?", (row["id"], Status.CHECKING)).rowcount == 0:
                return False
            self._insert(db, row, time.time())
        return True

    def refuse(self, submission_id: str, reason: str) -> bool:
        """A waiting upload failed its check: refused with its reason (shown in `statuses`), and its
        files deleted unless another submission or upload holds the same content."""
        with self._transaction() as db:
            found = db.execute("SELECT fields FROM intake WHERE id = ? AND state = ?",
                               (submission_id, Status.CHECKING)).fetchone()
            if found is None:
                return False
            db.execute("UPDATE intake SET state = ?, error = ?, updated_at = ? WHERE id = ?",
                       (Status.REFUSED, reason, utc_now(), submission_id))
        fields = json.loads(found["fields"])
        for sha256 in [fields["file_sha256"], *(c["sha256"] for c in fields["companions"].values())]:
            if not self._content_used(sha256):
                self.file_path(sha256).unlink(missing_ok=True)
        return True

    def _content_used(self, sha256: str) -> bool:
        db = self._connection()
        return db.execute("SELECT 1 FROM submissions WHERE file_sha256 = ? OR companions LIKE ?"
                          " UNION ALL SELECT 1 FROM intake WHERE state = ? AND (file_sha256 = ? OR fields LIKE ?)"
                          " LIMIT 1", (sha256, f"%{sha256}%", Status.CHECKING, sha256, f"%{sha256}%")
                          ).fetchone() is not None

    def waiting_ids(self) -> list[str]:
        """The uploads waiting to be checked, oldest (the next checked) first."""
        return [row[0] for row in self._connection().execute("SELECT id FROM intake WHERE state = ? ORDER BY seq",
                                                             (Status.CHECKING,))]

    def waiting_count(self) -> int:
        """How many uploads wait to be checked."""
        return int(self._connection().execute("SELECT count(*) FROM intake WHERE state = ?",
                                              (Status.CHECKING,)).fetchone()[0])
    @staticmethod
    def _insert_reproduction(db: sqlite3.Connection, submission_id: str, reproduction: dict) -> None:
        """A submission's reproduction as it starts: the model named with it, the runner serving it (if any)."""
        db.execute("INSERT INTO reproductions (submission_id, runner_model, state, runner, reason, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (submission_id, reproduction["runner_model"], reproduction["state"],
                                                  reproduction.get("runner", ""), reproduction.get("reason", ""),
                                                  utc_now()))

    def precheck(self, submitter: str, model: str, sha256: str, rate_limit: tuple[int, float]) -> None:
        """The duplicate and rate-limit checks alone, for a cheap refusal before parsing a file."""
        self._check(self._connection(), submitter, model, sha256, *rate_limit, time.time())

    @staticmethod
    def _check(db: sqlite3.Connection, submitter: str, model: str, sha256: str | None,
               limit: int, window: float, now: float) -> None:
        same = db.execute(
            "SELECT id, model, status, file_sha256 = ? AS same_file FROM submissions"
            " WHERE submitter = ? AND (file_sha256 = ? OR lower(model) = lower(?))"
            " UNION ALL SELECT id, model, state, file_sha256 = ? FROM intake"
            " WHERE state = ? AND submitter = ? AND (file_sha256 = ? OR lower(model) = lower(?)) LIMIT 1",
            (sha256, submitter, sha256, model, sha256, Status.CHECKING, submitter, sha256, model)).fetchone()
        if same is not None:
            what = "this predictions file" if same["same_file"] else f"the model name {same['model']!r}"
            after = (" It failed in the judge and keeps its file: it is judged again when the judge"
                     " is back, no need to submit it again." if same["status"] == Status.FAILED else "")
            raise DuplicateError(f"You already submitted {what} (submission {same['id']}, "
                                 f"{same['status']}); duplicates are not queued again.{after}")
        recent = db.execute("SELECT count(*), min(created_ts) FROM (SELECT created_ts FROM submissions"
                            " WHERE submitter = ? AND created_ts > ? UNION ALL SELECT created_ts FROM intake"
                            " WHERE state = ? AND submitter = ? AND created_ts > ?)",
                            (submitter, now - window, Status.CHECKING, submitter, now - window)).fetchone()
        if recent[0] >= limit:
            wait_min = max(1, int((recent[1] + window - now) // 60) + 1)
            raise RateLimitError(f"Rate limit: at most {limit} submissions per {_duration(window)} "
                                 f"per submitter; try again in about {wait_min} min.")

    _HOLDS = " AND EXISTS (SELECT 1 FROM lease WHERE id = 1 AND owner = ?)"

    def _claim(self, where: str, args: tuple, owner: str | None) -> SubmissionRecord | None:
        with self._transaction() as db:
            if owner is not None and db.execute("SELECT 1 FROM lease WHERE owner = ?", (owner,)).fetchone() is None:
                return None
            row = db.execute(f"SELECT * FROM submissions WHERE {where} LIMIT 1", args).fetchone()
            if row is None:
                return None
            db.execute("UPDATE submissions SET status = ?, attempts = attempts + 1, error = '',"
                       " updated_at = ? WHERE id = ?", (Status.RUNNING, utc_now(), row["id"]))
        companions = {kind: {**companion, "path": self.file_path(companion["sha256"])}
                      for kind, companion in json.loads(row["companions"] or "{}").items()}
        return SubmissionRecord.from_row(row, file_path=self.file_path(row["file_sha256"]),
                                         companions=companions)

    def claim_next(self, owner: str | None = None) -> SubmissionRecord | None:
        """Mark the oldest queued submission running and return it (with `file_path`); only while
        `owner` holds the lease, when given."""
        return self._claim("status = ? ORDER BY seq", (Status.QUEUED,), owner)

    def claim_judging(self, owner: str | None = None) -> SubmissionRecord | None:
        """The next submission for the judge: awaiting ones first, oldest first (one whose batch
        is at the judge once its time to look again has come); then a failed one whose retry
        time has come."""
        now = time.time()
        return (self._claim("status = ? AND (retry_ts IS NULL OR retry_ts <= ?) ORDER BY seq", (Status.AWAITING, now),
                            owner)
                or self._claim("status = ? AND retry_ts <= ? ORDER BY retry_ts", (Status.FAILED, now), owner))

    def defer(self, submission_id: str, retry_ts: float, owner: str | None = None) -> bool:
        """Put a running submission back to awaiting the judge, not to be claimed before `retry_ts`
        (its batch is still at the judge); its results stay. With `owner`: only while it holds the lease."""
        sql = "UPDATE submissions SET status = ?, retry_ts = ?, updated_at = ? WHERE id = ? AND status = ?"
        args: list[Any] = [Status.AWAITING, retry_ts, utc_now(), submission_id, Status.RUNNING]
        if owner is not None:
            sql, args = sql + self._HOLDS, args + [owner]
        with self._transaction() as db:
            return db.execute(sql, args).rowcount > 0

    def set_progress(self, submission_id: str, done: int, total: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE submissions SET progress_done = ?, progress_total = ?, updated_at = ?"
                       " WHERE id = ?", (done, total, utc_now(), submission_id))

    def finish(self, submission_id: str, status: str, results: dict, owner: str | None = None) -> bool:
        """Store the results document and the final (or awaiting) status. With `owner`: only while
        it holds the lease and the row is still running (else False)."""
        sql = ("UPDATE submissions SET status = ?, results = ?, error = '', retry_ts = NULL,"
               " judge_failures = CASE WHEN ? = ? THEN 0 ELSE judge_failures END,"
               " updated_at = ? WHERE id = ?")
        args: list[Any] = [status, json.dumps(results), status, Status.FINISHED, utc_now(), submission_id]
        if owner is not None:
            sql, args = sql + " AND status = ?" + self._HOLDS, args + [Status.RUNNING, owner]
        with self._transaction() as db:
            if db.execute(sql, args).rowcount == 0:
                return False
            db.execute("INSERT INTO meta VALUES ('board_version', '1') ON CONFLICT (key)"
                       " DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        return True

    def fail(self, submission_id: str, reason: str, *, retry_ts: float | None = None,
             owner: str | None = None) -> bool:
        """Mark failed with a reason (tried again at `retry_ts` when given); the file, any earlier
        results and the board row stay. With `owner`: only while it holds the lease."""
        sql = ("UPDATE submissions SET status = ?, error = ?, retry_ts = ?, judge_failures = judge_failures + 1,"
               " updated_at = ? WHERE id = ?")
        args: list[Any] = [Status.FAILED, reason, retry_ts, utc_now(), submission_id]
        if owner is not None:
            sql, args = sql + " AND status = ?" + self._HOLDS, args + [Status.RUNNING, owner]
        with self._transaction() as db:
            return db.execute(sql, args).rowcount > 0

    def judge_failures(self, submission_id: str) -> int:
        row = self._connection().execute("SELECT judge_failures FROM submissions WHERE id = ?",
                                         (submission_id,)).fetchone()
        return int(row[0]) if row else 0

    def retry_failed_now(self) -> int:
        """Make every failed submission due for another try (a judge may have been configured)."""
        with self._transaction() as db:
            return db.execute("UPDATE submissions SET retry_ts = ? WHERE status = ?",
                              (time.time(), Status.FAILED)).rowcount

    def requeue(self, statuses: tuple[str, ...], submission_id: str | None = None) -> int:
        """Put submissions in the given statuses back in the queue; returns how many."""
        marks = ",".join("?" * len(statuses))
        sql = f"UPDATE submissions SET status = ?, updated_at = ? WHERE status IN ({marks})"
        args: list[Any] = [Status.QUEUED, utc_now(), *statuses]
        if submission_id is not None:
            sql += " AND id = ?"
            args.append(submission_id)
        with self._transaction() as db:
            return db.execute(sql, args).rowcount

    # -- reading -------------------------------------------------------------------------

    def statuses(self, submission_id: str | None = None) -> list[SubmissionRecord]:
        """Submissions and the uploads waiting to be checked (or refused after it), newest first."""
        where, args = (" WHERE id = ?", (submission_id,)) if submission_id is not None else ("", ())
        rows = self._connection().execute(
            f"SELECT {', '.join(STATUS_FIELDS)} FROM (SELECT {', '.join(STATUS_FIELDS)}, created_ts FROM submissions"
            f" UNION ALL SELECT id, model, submitter, state, 0, 0, error, created_at, updated_at, created_ts"
            f" FROM intake){where} ORDER BY created_ts DESC", args).fetchall()
        return [SubmissionRecord.from_row(row) for row in rows]

    def results(self, submission_id: str) -> dict | None:
        row = self._connection().execute("SELECT results FROM submissions WHERE id = ?",
                                         (submission_id,)).fetchone()
        return json.loads(row[0]) if row is not None and row[0] else None

    def record(self, submission_id: str) -> SubmissionRecord | None:
        """A submission's metadata and status (no file bytes)."""
        row = self._connection().execute(
            "SELECT id, model, link, weights, medical, params_b, description, submitter, file_name,"
            " file_sha256, coverage, status, progress_done, progress_total, error, attempts,"
            " created_at, updated_at, public_details, companions FROM submissions WHERE id = ?",
            (submission_id,)).fetchone()
        return None if row is None else SubmissionRecord.from_row(row)

    def models_of_others(self, submitter: str) -> list[str]:
        """Model names other submitters already took (a name identifies one row on the board)."""
        rows = self._connection().execute("SELECT DISTINCT model FROM submissions WHERE submitter != ?",
                                          (submitter,)).fetchall()
        return [row[0] for row in rows]

    def models(self) -> list[str]:
        """Every submission's model name."""
        return [row[0] for row in self._connection().execute("SELECT DISTINCT model FROM submissions")]

    def scored(self) -> list[dict]:
        """Every submission with results, oldest first: what its board row is made of (metadata and the
        results text, parsed by the caller). A submission being re-judged keeps its previous results
        until the new ones are written."""
        rows = self._connection().execute(
            "SELECT id, model, link, weights, medical, params_b, created_at, results FROM submissions"
            " WHERE results IS NOT NULL ORDER BY seq").fetchall()
        return [dict(row) for row in rows]

    def last_scored_at(self) -> str | None:
        """When a scored (or awaiting) submission last changed: the UTC stamp, or None before any."""
        row = self._connection().execute("SELECT MAX(updated_at) FROM submissions WHERE status IN (?, ?)",
                                         (Status.FINISHED, Status.AWAITING)).fetchone()
        return row[0] if row else None

    def board_version(self) -> int:
        """Changes whenever a board row is written; lets readers cache the board."""
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'board_version'").fetchone()
        return int(row[0]) if row else 0

    def pending(self, *, judging: bool = False) -> int:
        """Submissions the workers still have to take or finish; with `judging`, also those
        awaiting the judge and failed ones due for another try."""
        sql = "SELECT count(*) FROM submissions WHERE status IN (?, ?)"
        args: tuple = (Status.QUEUED, Status.RUNNING)
        if judging:
            sql += " OR status = ? OR (status = ? AND retry_ts <= ?)"
            args += (Status.AWAITING, Status.FAILED, time.time())
        return int(self._connection().execute(sql, args).fetchone()[0]) + self.waiting_count()

    def queue_position(self, submission_id: str) -> int:
        """1 for the next one the worker takes; 0 when it is not queued."""
        row = self._connection().execute(
            "SELECT CASE WHEN s.status = ? THEN (SELECT count(*) FROM submissions q"
            " WHERE q.status IN (?, ?) AND q.seq <= s.seq) ELSE 0 END FROM submissions s"
            " WHERE s.id = ?", (Status.QUEUED, Status.QUEUED, Status.RUNNING, submission_id)).fetchone()
        return int(row[0]) if row else 0

    # -- audit, moderation and earlier results ------------------------------------------

    @staticmethod
    def _board_changed(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO meta VALUES ('board_version', '1') ON CONFLICT (key)"
                   " DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def request_audit(self, submission_id: str) -> None:
        """Queue (again) the audit of a submission's open scores."""
        with self._transaction() as db:
            db.execute("INSERT INTO audits (submission_id, state, updated_at) VALUES (?, ?, ?)"
                       " ON CONFLICT (submission_id) DO UPDATE SET state = excluded.state, summary = NULL,"
                       " error = '', retry_ts = NULL, updated_at = excluded.updated_at",
                       (submission_id, AUDIT_PENDING, utc_now()))
            self._board_changed(db)

    def next_audit(self, owner: str | None = None) -> str | None:
        """The submission whose audit is due, oldest first (only while `owner` holds the lease)."""
        db = self._connection()
        if owner is not None and db.execute("SELECT 1 FROM lease WHERE owner = ?", (owner,)).fetchone() is None:
            return None
        row = db.execute("SELECT submission_id FROM audits WHERE state = ? AND (retry_ts IS NULL OR retry_ts <= ?)"
                         " ORDER BY updated_at LIMIT 1", (AUDIT_PENDING, time.time())).fetchone()
        return row[0] if row else None

    def finish_audit(self, submission_id: str, state: str, summary: dict) -> None:
        with self._transaction() as db:
            db.execute("UPDATE audits SET state = ?, summary = ?, error = '', retry_ts = NULL, updated_at = ?"
                       " WHERE submission_id = ?", (state, json.dumps(summary), utc_now(), submission_id))
            self._board_changed(db)

    def escalate_audit(self, submission_id: str, summary: dict) -> None:
        """Keep an audit pending with its partial summary (an outlier was found: every answer is audited next,
        and the row is held meanwhile)."""
        with self._transaction() as db:
            db.execute("UPDATE audits SET summary = ?, updated_at = ? WHERE submission_id = ?",
                       (json.dumps(summary), utc_now(), submission_id))
            self._board_changed(db)

    def audit_failed(self, submission_id: str, error: str, retry_ts: float) -> None:
        """Keep the audit pending with its error, due again at `retry_ts`."""
        with self._transaction() as db:
            db.execute("UPDATE audits SET error = ?, retry_ts = ?, attempts = attempts + 1, updated_at = ?"
                       " WHERE submission_id = ?", (error, retry_ts, utc_now(), submission_id))

    def set_review(self, submission_id: str, state: str) -> bool:
        """Move an audited submission to `state` (e.g. cleared by the operator); False when it has no audit."""
        with self._transaction() as db:
            changed = db.execute("UPDATE audits SET state = ?, updated_at = ? WHERE submission_id = ?",
                                 (state, utc_now(), submission_id)).rowcount
            self._board_changed(db)
        return changed > 0

    def audits(self) -> dict[str, dict]:
        """Submission id -> {state, summary, error, attempts} of every audit."""
        rows = self._connection().execute("SELECT * FROM audits").fetchall()
        return {row["submission_id"]: {"state": row["state"], "error": row["error"], "attempts": row["attempts"],
                                       "summary": json.loads(row["summary"]) if row["summary"] else None}
                for row in rows}

    def moderate(self, submission_id: str, state: str, reason: str, actor: str) -> None:
        """The operator's word on a row: visible, flagged (shown unranked) or hidden, with a public reason."""
        if state not in MODERATION_STATES:
            raise ValueError(f"moderation state must be one of {MODERATION_STATES}, not {state!r}")
        with self._transaction() as db:
            db.execute("INSERT INTO moderation VALUES (?, ?, ?, ?, ?) ON CONFLICT (submission_id) DO UPDATE SET"
                       " state = excluded.state, reason = excluded.reason, actor = excluded.actor,"
                       " updated_at = excluded.updated_at", (submission_id, state, reason, actor, utc_now()))
            self._board_changed(db)

    def moderation(self) -> dict[str, dict]:
        """Submission id -> {state, reason, actor, updated_at} of every moderated row."""
        rows = self._connection().execute("SELECT * FROM moderation").fetchall()
        return {row["submission_id"]: {key: row[key] for key in ("state", "reason", "actor", "updated_at")}
                for row in rows}

    def relations(self) -> dict[str, tuple[str, str]]:
        """Submission id -> (relation, related to) that its submitter declared."""
        rows = self._connection().execute("SELECT * FROM relations").fetchall()
        return {row["submission_id"]: (row["kind"], row["related_to"]) for row in rows}

    # -- the copy checks -------------------------------------------------------------------

    def set_answers(self, submission_id: str, build: str, letters: bytes, open_answers: bytes) -> None:
        """Keep a scored submission's answers in the compact form the copy checks read."""
        with self._transaction() as db:
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?) ON CONFLICT (submission_id) DO UPDATE SET"
                       " build = excluded.build, letters = excluded.letters, open = excluded.open",
                       (submission_id, build, letters, open_answers))

    def answers(self, build: str) -> list[dict]:
        """The compact answers of every submission scored on `build`, in the order they were submitted."""
        rows = self._connection().execute(
            "SELECT a.submission_id AS id, s.model, s.submitter, a.letters, a.open FROM answers a"
            " JOIN submissions s ON s.id = a.submission_id WHERE a.build = ? ORDER BY s.seq", (build,)).fetchall()
        return [dict(row) for row in rows]

    def forget_answers(self, submission_id: str) -> None:
        """Drop a submission's compact answers (it is scored again; the copy checks re-read them)."""
        with self._transaction() as db:
            db.execute("DELETE FROM answers WHERE submission_id = ?", (submission_id,))

    def answered(self) -> set[str]:
        """Submissions whose compact answers are kept."""
        return {row[0] for row in self._connection().execute("SELECT submission_id FROM answers")}

    def integrity_due(self) -> bool:
        """Whether the board changed since the copy checks last read it."""
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'integrity_version'").fetchone()
        return (int(row[0]) if row else -1) != self.board_version()

    def set_integrity(self, states: dict[str, tuple[str, str]], read_at: int) -> list[str]:
        """Write the copy checks' states (id -> (state, findings JSON)) of a pass that read the board at version
        `read_at`, and mark that version read; the ids whose state changed (the board changes only when one did).
        A row written while the pass ran leaves the board newer than what was read: the next pass reads it."""
        with self._transaction() as db:
            before = {row[0]: (row[1], row[2]) for row in db.execute(
                "SELECT submission_id, state, findings FROM integrity")}
            changed = [i for i, value in states.items() if before.get(i) != value]
            for submission_id in changed:
                state, findings = states[submission_id]
                db.execute("INSERT INTO integrity (submission_id, state, findings, updated_at) VALUES (?, ?, ?, ?)"
                           " ON CONFLICT (submission_id) DO UPDATE SET state = excluded.state,"
                           " findings = excluded.findings, updated_at = excluded.updated_at",
                           (submission_id, state, findings, utc_now()))
            current = int((db.execute("SELECT value FROM meta WHERE key = 'board_version'").fetchone() or [0])[0])
            if changed:
                self._board_changed(db)
            # Read up to date only when nothing else changed the board during the pass.
            seen = current + 1 if changed and current == read_at else read_at
            db.execute("INSERT INTO meta VALUES ('integrity_version', ?) ON CONFLICT (key) DO UPDATE SET"
                       " value = excluded.value", (str(seen),))
        return changed

    def integrity(self) -> dict[str, dict]:
        """Submission id -> {state, findings (parsed), cleared} of every checked submission."""
        rows = self._connection().execute("SELECT * FROM integrity").fetchall()
        return {row["submission_id"]: {"state": row["state"], "findings": json.loads(row["findings"]),
                                       "cleared": row["cleared"]} for row in rows}

    def clear_integrity(self, submission_id: str, findings: str) -> bool:
        """The operator looked at a held row and accepts it: these findings no longer hold it."""
        with self._transaction() as db:
            changed = db.execute("UPDATE integrity SET cleared = ?, updated_at = ? WHERE submission_id = ?",
                                 (findings, utc_now(), submission_id)).rowcount
            self._board_changed(db)
        return changed > 0

    def archive_results(self, submission_id: str, reason: str) -> bool:
        """Keep a submission's current results (before a rescore replaces them)."""
        with self._transaction() as db:
            return db.execute("INSERT INTO previous_results (submission_id, results, reason, archived_at)"
                              " SELECT id, results, ?, ? FROM submissions WHERE id = ? AND results"
                              " IS NOT NULL", (reason, utc_now(), submission_id)).rowcount > 0

    def previous_results(self, submission_id: str) -> list[dict]:
        """Earlier results of a submission, oldest first: {results, reason, archived_at}."""
        rows = self._connection().execute("SELECT results, reason, archived_at FROM previous_results"
                                          " WHERE submission_id = ? ORDER BY seq", (submission_id,)).fetchall()
        return [{"results": json.loads(row["results"]), "reason": row["reason"], "archived_at": row["archived_at"]}
                for row in rows]

    # -- reproductions: a trusted runner re-asks a sample ----------------------------------

    def claim_reproduction(self, owner: str | None = None, *, judging: bool = False) -> dict | None:
        """The oldest submission whose reproduction is due (waiting, failed or over budget, its retry time come)
        and whose scores it compares with are written (finished; or awaiting a judge when there is none),
        marked running; only while `owner` holds the lease."""
        scored = "s.status = ?" + ("" if judging else " OR s.status = ?")
        marks = ",".join("?" * len(_DUE_REPRODUCTIONS))
        with self._transaction() as db:
            if owner is not None and db.execute("SELECT 1 FROM lease WHERE owner = ?", (owner,)).fetchone() is None:
                return None
            row = db.execute(
                f"SELECT r.*, s.public_details FROM reproductions r JOIN submissions s ON s.id = r.submission_id"
                f" WHERE r.state IN ({marks}) AND (r.retry_ts IS NULL OR r.retry_ts <= ?) AND ({scored})"
                " ORDER BY s.seq LIMIT 1",
                (*_DUE_REPRODUCTIONS, time.time(), Status.FINISHED, *(() if judging else (Status.AWAITING,)))
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE reproductions SET state = ?, updated_at = ? WHERE submission_id = ?",
                       (ReproductionState.RUNNING.value, utc_now(), row["submission_id"]))
        return dict(row)

    def requeue_reproductions(self) -> int:
        """Reproductions left running by a process that is gone wait their turn again (their answers so far
        and their charge against the budget are kept)."""
        with self._transaction() as db:
            return db.execute("UPDATE reproductions SET state = ?, updated_at = ? WHERE state = ?",
                              (ReproductionState.PENDING.value, utc_now(), ReproductionState.RUNNING.value)).rowcount

    def set_reproduction(self, submission_id: str, state: str, *, runner: str | None = None, reason: str = "",
                         summary: dict | None = None, retry_ts: float | None = None, failed: bool = False) -> None:
        """Record a reproduction's state (with its reason, and its summary once compared); `failed` counts a
        failed attempt, so the next one is charged against the budget afresh."""
        with self._transaction() as db:
            db.execute("UPDATE reproductions SET state = ?, runner = COALESCE(?, runner), reason = ?, summary = ?,"
                       " retry_ts = ?, attempt = attempt + ?, updated_at = ? WHERE submission_id = ?",
                       (state, runner, reason, json.dumps(summary) if summary is not None else None, retry_ts,
                        int(failed), utc_now(), submission_id))
            self._board_changed(db)

    def reproductions(self) -> dict[str, dict]:
        """Submission id -> {runner_model, state, runner, reason, attempt, retry_ts, updated_at, compared,
        agreement} of every submission that has a reproduction row (those without one named no runner). The
        summaries stay in the store (`reproduction_summary`): the board and the status read this often."""
        rows = self._connection().execute(
            "SELECT submission_id, runner_model, state, runner, reason, attempt, retry_ts, updated_at,"
            " summary IS NOT NULL AS compared, json_extract(summary, '$.agreement') AS agreement"
            " FROM reproductions").fetchall()
        return {row["submission_id"]: {key: row[key] for key in row.keys() if key != "submission_id"} for row in rows}

    def reproduction_summary(self, submission_id: str) -> dict | None:
        """A reproduction's comparison as recorded (a `core.results.Reproduction` as a dict), None before one."""
        row = self._connection().execute("SELECT summary FROM reproductions WHERE submission_id = ?",
                                         (submission_id,)).fetchone()
        return json.loads(row[0]) if row is not None and row[0] else None

    def charge_reproduction(self, submission_id: str, attempt: int, calls: int, budget: int, day: str) -> bool:
        """Reserve `calls` of `day`'s `budget` for one attempt of a reproduction, once: an attempt resumed after a
        restart is already charged (True); False, with nothing reserved, when they do not fit."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM reproduction_calls WHERE submission_id = ? AND attempt = ?",
                          (submission_id, attempt)).fetchone():
                return True
            used = db.execute("SELECT COALESCE(SUM(calls), 0) FROM reproduction_calls WHERE day = ?",
                              (day,)).fetchone()[0]
            if used + calls > budget:
                return False
            db.execute("INSERT INTO reproduction_calls VALUES (?, ?, ?, ?)", (submission_id, attempt, day, calls))
        return True

    def refund_reproduction(self, submission_id: str, attempt: int, unasked: int) -> None:
        """Give back to its day's budget the calls an ended attempt reserved and never made."""
        with self._transaction() as db:
            db.execute("UPDATE reproduction_calls SET calls = MAX(0, calls - ?)"
                       " WHERE submission_id = ? AND attempt = ?", (unasked, submission_id, attempt))

    def reproduction_charged(self, submission_id: str) -> int:
        """Runner calls charged for one submission's reproduction, every attempt together."""
        return int(self._connection().execute("SELECT COALESCE(SUM(calls), 0) FROM reproduction_calls WHERE"
                                              " submission_id = ?", (submission_id,)).fetchone()[0])

    def reproduction_calls(self, day: str) -> int:
        """Runner calls charged on `day` (UTC date)."""
        return int(self._connection().execute("SELECT COALESCE(SUM(calls), 0) FROM reproduction_calls WHERE day = ?",
                                              (day,)).fetchone()[0])

    def add_reproduction_answer(self, submission_id: str, item_id: str, prediction: str) -> None:
        """Keep one answer of the runner as it arrives, so a restarted reproduction asks only the rest."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO reproduction_answers VALUES (?, ?, ?)",
                       (submission_id, item_id, prediction))

    def reproduction_answers(self, submission_id: str) -> dict[str, str]:
        """Question id -> the runner's answer, for the questions re-asked so far."""
        rows = self._connection().execute("SELECT item_id, prediction FROM reproduction_answers WHERE"
                                          " submission_id = ?", (submission_id,)).fetchall()
        return {row[0]: row[1] for row in rows}
