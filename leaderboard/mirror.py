"""An optional copy of the results on a Hub dataset repo, pushed in the background.

The store stays the source of truth; the mirror writes one JSON per scored submission, its
per-question details as `details/<id>.jsonl` (the Open LLM Leaderboard's convention; the caller
applies the submitter's consent) and the board as CSV into a local folder that
`huggingface_hub.CommitScheduler` commits every few minutes.
"""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import Future
from pathlib import Path

import pandas as pd
from huggingface_hub import CommitScheduler, HfApi

from core.files import atomic_write
from core.settings import Settings
from leaderboard.board import export_csv

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What a submission's public record carries; the submitter, file and hashes stay in the store.
PUBLIC_FIELDS = ("id", "model", "link", "weights", "medical", "params_b", "description", "created_at")


class HubMirror:
    """Mirror results to the dataset repo `repo_id` (created if missing) every `every_min` minutes."""

    def __init__(self, repo_id: str, token: str | None, folder: Path, hf_api: HfApi | None = None,
                 every_min: float = 5.0) -> None:
        self.folder = Path(folder)
        (self.folder / "results").mkdir(parents=True, exist_ok=True)
        (self.folder / "details").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.scheduler = CommitScheduler(
            repo_id=repo_id, repo_type="dataset", folder_path=self.folder, every=every_min,
            token=token, private=None, allow_patterns=["results/*.json", "details/*.jsonl", "board.csv"],
            hf_api=hf_api or HfApi(token=token))

    @classmethod
    def from_settings(cls, folder: Path, settings: Settings) -> "HubMirror | None":
        """A mirror when the caller's settings name a results repo and an HF token, else None;
        `results_every_min` sets the minutes between commits."""
        if not (settings.results_repo and settings.hf_token):
            return None
        return cls(settings.results_repo, settings.hf_token, folder, every_min=settings.results_every_min)

    def record(self, submission_id: str, meta: dict, results: dict, review: dict | None = None) -> Path:
        """Write one submission's public metadata, results document and review state (audit,
        moderation with its public reason) as results/<id>.json."""
        if not _SAFE_ID.match(submission_id):
            raise ValueError(f"not a submission id: {submission_id!r}")
        public = {k: meta[k] for k in PUBLIC_FIELDS if k in meta}
        path = self.folder / "results" / f"{submission_id}.json"
        document = {"submission": public, "results": results, "review": review or {}}
        self._write(path, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))
        return path

    def record_details(self, submission_id: str, data: bytes) -> Path:
        """Write one submission's per-question details (JSONL, consent already applied) as details/<id>.jsonl."""
        if not _SAFE_ID.match(submission_id):
            raise ValueError(f"not a submission id: {submission_id!r}")
        path = self.folder / "details" / f"{submission_id}.jsonl"
        self._write(path, data)
        return path

    def has(self, submission_id: str) -> bool:
        """Whether a submission's results file is already in the mirror folder."""
        return (self.folder / "results" / f"{submission_id}.json").exists()

    def write_board(self, board: pd.DataFrame) -> Path:
        """Write the whole board as board.csv (spreadsheet formulas neutralised)."""
        path = self.folder / "board.csv"
        self._write(path, export_csv(board))
        return path

    def _write(self, path: Path, data: bytes) -> None:
        # Under the scheduler's lock, so a commit never reads a half-written file.
        with self.scheduler.lock, self._lock:
            atomic_write(path, data)

    def push(self) -> Future:
        """Commit now instead of waiting for the schedule."""
        return self.scheduler.trigger()

    def stop(self, timeout: float = 60.0) -> None:
        """Commit what is left, then stop the schedule."""
        try:
            self.push().result(timeout)
        finally:
            self.scheduler.stop()
