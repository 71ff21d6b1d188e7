"""A persistent cache of judge verdicts in one SQLite file, so reruns and resubmissions are free.

Keyed by judge model, prompt version, question id, the question's references and the answer
text: the same answer to the same question is never judged twice, and a changed reference or
prompt is. Each verdict is committed as soon as it arrives (a killed run resumes where it
stopped). WAL mode and a busy timeout let several processes share the file; a lock, several threads.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    judge_model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    question_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)
"""


def cache_key(judge_model: str, prompt_version: str, question: dict, answer: str) -> str:
    """A digest of everything the verdict depends on."""
    parts = [judge_model, prompt_version, question["id"], question["question"], question["answer"],
             question.get("visual_description", ""), answer]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


class VerdictCache:
    """get/put of verdict dicts over one connection, usable from any thread; autocommit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                           check_same_thread=False)
        self._connection.execute("PRAGMA busy_timeout=30000")
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(_SCHEMA)

    def get(self, key: str) -> dict | None:
        with self._lock:
            row = self._connection.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, judge_model: str, prompt_version: str, question_id: str, verdict: dict) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO verdicts (key, judge_model, prompt_version, question_id, verdict) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, judge_model, prompt_version, question_id, json.dumps(verdict, ensure_ascii=False)),
            )

    def close(self) -> None:
        with self._lock:
            self._connection.close()
