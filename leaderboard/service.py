"""The leaderboard facade the Space wires to: submit, a background worker, status, results, board.

`submit` checks everything before any judge call and commits the submission (metadata and file
bytes) to the store before it answers. One worker thread scores queued submissions with the judge;
a crash at any point loses nothing, because `start()` puts unfinished work back in the queue and
the judge's cache makes already-judged items free.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

import judge
from core.results import Results
from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard import board as board_logic
from leaderboard.store import AWAITING, FAILED, FINISHED, RUNNING, Store
from release.built import load_questions, provenance

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaderboard.mirror import HubMirror

log = logging.getLogger(__name__)

PAPER_CSV = Path(__file__).with_name("paper_results.csv")
PREDICTION_FORMATS = (".jsonl", ".json", ".csv")
PROGRESS_EVERY_S = 0.5
_DEFAULTS = Settings()
RETRY_FAILED_AFTER_S = _DEFAULTS.retry_failed_after_s  # a submission failed by the judge is tried again this long after
MISSING_SHOWN = 20
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class SubmissionError(ValueError):
    """A clear, user-facing message: what is wrong and where."""


@dataclass(frozen=True)
class SubmissionMeta:
    model: str                       # required, 1-100 chars
    link: str = ""                   # http(s) URL or empty
    group: str = "open"              # "open" | "closed"  (weights)
    medical: bool = False            # medical-specialised model?
    params_b: float | None = None    # billions of parameters, or unknown
    description: str = ""            # prompt and generation settings, <= 2000 chars


class _Stopped(Exception):
    """Raised inside the judge's progress callback to abandon a run when the worker stops."""


def _checked_meta(meta: SubmissionMeta) -> dict:
    """The metadata as stored, or a SubmissionError naming the field."""
    model = (meta.model or "").strip()
    if not model or len(model) > 100:
        raise SubmissionError("Model name: required, 1 to 100 characters.")
    if _CONTROL_CHARS.search(model):
        raise SubmissionError("Model name: control characters (tabs, line breaks) are not allowed.")
    link = (meta.link or "").strip()
    if link:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 500 \
                or _CONTROL_CHARS.search(link) or " " in link:
            raise SubmissionError("Link: give an http(s) URL (at most 500 characters) or leave it empty.")
    if meta.group not in ("open", "closed"):
        raise SubmissionError('Weights: choose "open" or "closed".')
    if not isinstance(meta.medical, bool):
        raise SubmissionError("Domain: `medical` is true (medical-specialised) or false (general).")
    params_b = meta.params_b
    if params_b is not None:
        try:
            params_b = float(params_b)
        except (TypeError, ValueError):
            raise SubmissionError("Params (B): a number of billions of parameters, or empty.") from None
        if not math.isfinite(params_b) or not 0 < params_b <= 100_000:
            raise SubmissionError("Params (B): a positive number of billions of parameters "
                                  "(e.g. 7 or 0.5), or empty when unknown.")
    description = meta.description or ""
    if len(description) > 2000:
        raise SubmissionError(f"Description: at most 2000 characters (got {len(description)}).")
    return {"model": model, "link": link, "weights": meta.group, "medical": meta.medical,
            "params_b": params_b, "description": description}


class Leaderboard:
    """Submissions, their scoring in one background thread, and the board built from them."""

    def __init__(self, home: Path, data_dir: Path, *, endpoint: Endpoint | None = None,
                 paper_csv: Path | None = None, mirror: "HubMirror | None" = None,
                 max_file_bytes: int = _DEFAULTS.max_file_bytes, rate_limit: tuple[int, float] = _DEFAULTS.rate_limit,
                 retry_failed_after: float = RETRY_FAILED_AFTER_S) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir)
        self.endpoint = endpoint if endpoint is not None and endpoint.configured else None
        self.mirror = mirror
        self.max_file_bytes = max_file_bytes
        self.rate_limit = rate_limit
        self.retry_failed_after = retry_failed_after
        self.store = Store(self.home / "leaderboard.sqlite")
        self.cache_path = self.home / "judge_cache.sqlite"
        self.questions = load_questions(self.data_dir)
        self.dataset = provenance(self.data_dir)
        self._paper_csv = paper_csv or PAPER_CSV
        self._paper = board_logic.paper_frame(self._paper_csv)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None
        self._board_lock = threading.Lock()
        self._board: tuple[int, pd.DataFrame] | None = None

    # -- submitting ----------------------------------------------------------------------

    def submit(self, file_path: Path, meta: SubmissionMeta, submitter: str) -> dict:
        """Check a predictions file and its metadata, then queue it; nothing is judged here."""
        fields = _checked_meta(meta)
        submitter = (submitter or "").strip() or "anonymous"
        shown = Path(str(file_path)).name  # the upload's name: shown in messages, never a path
        path = Path(file_path)
        if not path.is_file():
            raise SubmissionError(f"{shown}: no file was uploaded.")
        size = path.stat().st_size
        if size == 0:
            raise SubmissionError(f"{shown}: the file is empty.")
        if size > self.max_file_bytes:
            raise SubmissionError(f"{shown}: {size / 2**20:.1f} MiB is over the "
                                  f"{self.max_file_bytes / 2**20:g} MiB limit.")
        file_format = path.suffix.lower()
        if file_format not in PREDICTION_FORMATS:
            raise SubmissionError(f"{shown}: unsupported file type {file_format or '(none)'!r}; "
                                  "upload .jsonl, .json or .csv with `id` and `prediction`.")
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            self.store.precheck(submitter, fields["model"], sha256, self.rate_limit)
        except ValueError as err:
            raise SubmissionError(str(err)) from None
        coverage = self._check_file(data, file_format, shown)
        submission_id = f"sub-{uuid.uuid4().hex[:12]}"
        row = {**fields, "id": submission_id, "submitter": submitter, "file_name": shown,
               "file_format": file_format, "file_bytes": data, "file_sha256": sha256,
               "coverage": coverage}
        try:
            self.store.add(row, rate_limit=self.rate_limit)
        except ValueError as err:
            raise SubmissionError(str(err)) from None
        self._wake.set()
        missing = coverage.get("missing") or 0
        message = (f"Queued as {submission_id}: {coverage.get('given', 0)} of "
                   f"{coverage.get('expected', 0)} questions answered")
        message += f"; {missing} missing count as wrong." if missing else "."
        if self.endpoint is None:
            message += " No judge is configured: MCQ is scored now, open answers wait (awaiting judge)."
        return {"id": submission_id, "status": "queued", "message": message, "coverage": coverage,
                "position": self.store.queue_position(submission_id)}

    def _parse(self, data: bytes, file_format: str, shown: str) -> list[dict]:
        """Read predictions from bytes through the judge's reader, naming the upload in errors."""
        with tempfile.TemporaryDirectory(prefix="medcmr-upload-") as tmp:
            copy = Path(tmp) / f"predictions{file_format}"
            copy.write_bytes(data)
            try:
                return judge.read_predictions(copy)
            except judge.PredictionsError as err:
                raise SubmissionError(str(err).replace(copy.name, shown)) from None

    def _check_file(self, data: bytes, file_format: str, shown: str) -> dict:
        predictions = self._parse(data, file_format, shown)
        try:
            coverage = judge.check_predictions(predictions, self.questions)
        except judge.PredictionsError as err:
            raise SubmissionError(f"{shown}: {err}") from None
        if not coverage.get("given"):
            raise SubmissionError(f"{shown}: no prediction matches a question id of this dataset "
                                  "(ids look like mcq-0 or open-12).")
        missing_ids = coverage.pop("missing_ids", None) or []
        return {**coverage, "missing_sample": missing_ids[:MISSING_SHOWN]}

    def retry(self, submission_id: str) -> bool:
        """Queue a failed submission again (its file is still stored); True when it was failed."""
        requeued = self.store.requeue((FAILED,), submission_id) > 0
        self._wake.set()
        return requeued

    # -- the worker ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the one worker thread; unfinished (and, with a judge, awaiting) work is re-queued."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.store.requeue((RUNNING,))
        if self.endpoint is not None:
            self.store.requeue((AWAITING, FAILED))
        self._stop.clear()
        self._backfill_mirror()
        self._thread = threading.Thread(target=self._run, name="leaderboard-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the worker; a run in progress is abandoned and resumes on the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.mirror is not None:
            try:
                self.mirror.stop()
            except Exception as err:  # noqa: BLE001 - the store keeps everything; the next run pushes
                log.warning("final mirror push failed: %s", type(err).__name__)

    def wait_idle(self, timeout: float) -> bool:
        """True once no submission is queued or running (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._busy.is_set() and self.store.pending() == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                self._busy.set()
                try:
                    row = self.store.claim_next()
                    if row is None:
                        self._busy.clear()
                        if self.endpoint is not None:  # the judge may be back: failed work gets another try
                            self.store.requeue((FAILED,), idle_for=self.retry_failed_after)
                        self._wake.wait(1.0)
                        continue
                    self._score(row)
                except Exception:  # noqa: BLE001 - e.g. a locked store: the worker lives on; a row
                    log.exception("worker: store error")  # left "running" resumes on the next start
                    self._stop.wait(5.0)
        finally:
            self._busy.clear()
            self.store.close()

    def _score(self, row) -> None:
        submission_id = row["id"]
        written = (0.0, -1)  # (when, done) of the last progress write

        def progress(done: int, total: int) -> None:
            """Throttled: at most every PROGRESS_EVERY_S or every 1% of the items, and the end."""
            nonlocal written
            if self._stop.is_set():
                raise _Stopped
            now = time.monotonic()
            if done >= total or now - written[0] >= PROGRESS_EVERY_S \
                    or done - written[1] >= max(1, total // 100):
                written = (now, done)
                self.store.set_progress(submission_id, done, total)

        details = self.home / "details" / f"{submission_id}.jsonl"
        try:
            predictions = self._parse(row["file_bytes"], row["file_format"], row["file_name"])
            results = judge.score_submission(
                predictions, self.questions, endpoint=self.endpoint, cache_path=self.cache_path,
                progress=progress, details_path=details, dataset=self.dataset)
        except _Stopped:
            return  # left "running": the next start() re-queues it
        except Exception as err:  # noqa: BLE001 - any judge failure is recorded, never lost
            log.warning("submission %s failed: %s", submission_id, type(err).__name__)
            self.store.fail(submission_id, _reason(err))
            return
        typed = Results.from_dict(results)
        if typed.open.failed:
            # A partly judged Open score would not be comparable: keep the file, let a retry finish it.
            self.store.fail(submission_id, f"{typed.open.failed} of {typed.open.n} open answers could "
                                           f"not be judged ({_first_error(details)}); the file is kept, "
                                           "judged answers are cached, and a retry judges only the rest.")
            return
        status = AWAITING if typed.open.awaiting else FINISHED
        meta = self.store.record(submission_id)
        self.store.finish(submission_id, status, results, board_logic.submission_record(meta, typed))
        self._mirror(submission_id, meta, results)

    def _backfill_mirror(self) -> None:
        """Give a mirror configured after submissions were scored their results (once each)."""
        if self.mirror is None:
            return
        missing = [s["id"] for s in self.store.statuses()
                   if s["status"] in (FINISHED, AWAITING) and not self.mirror.has(s["id"])]
        for submission_id in missing:
            self._mirror(submission_id, self.store.record(submission_id) or {},
                         self.store.results(submission_id) or {}, with_board=False)
        if missing:
            self._mirror_board()

    def _mirror_board(self) -> None:
        try:
            self.mirror.write_board(self.board())
        except Exception as err:  # noqa: BLE001 - the mirror is a copy; the store stays the truth
            log.warning("mirror update failed: %s", type(err).__name__)

    def _mirror(self, submission_id: str, meta: dict, results: dict, with_board: bool = True) -> None:
        if self.mirror is None:
            return
        try:
            self.mirror.record(submission_id, meta, results)
        except Exception as err:  # noqa: BLE001 - the mirror is a copy; the store stays the truth
            log.warning("mirror update failed: %s", type(err).__name__)
        if with_board:
            self._mirror_board()

    # -- reading -------------------------------------------------------------------------

    def status(self, submission_id: str | None = None) -> list[dict]:
        """Submissions, newest first (or the one asked for)."""
        return self.store.statuses(submission_id)

    def result(self, submission_id: str) -> dict | None:
        """The judge's results document of a scored (or awaiting) submission, as stored (JSON)."""
        return self.store.results(submission_id)

    def scores(self, submission_id: str) -> Results | None:
        """The same document, typed (its version checked)."""
        document = self.store.results(submission_id)
        return Results.from_dict(document) if document else None

    def paper_notes(self) -> dict[str, str]:
        """The paper rows' own notes (e.g. a published total that disagrees with the formula)."""
        return board_logic.paper_notes(self._paper_csv)

    def board_version(self) -> int:
        """Changes whenever a board row is written: lets pages re-render only when the board changed."""
        return self.store.board_version()

    def board(self) -> pd.DataFrame:
        """The paper's rows and every scored submission, ranked (rebuilt only when a row changed)."""
        version = self.store.board_version()
        with self._board_lock:
            if self._board is None or self._board[0] != version:
                scored = board_logic.frame(self.store.board_rows())
                frames = [f for f in (self._paper, scored) if not f.empty]
                self._board = (version, board_logic.rank(pd.concat(frames, ignore_index=True), self.dataset))
            return self._board[1].copy()


def _first_error(details: Path) -> str:
    """The first per-item judge error recorded in a details file."""
    try:
        with details.open(encoding="utf-8") as lines:
            for line in lines:
                error = json.loads(line).get("error")
                if error:
                    return error
    except OSError:
        pass
    return "no reason recorded"


def _reason(err: Exception) -> str:
    """A failure reason for the status view: the error's type and message, bounded."""
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 500 else text[:497] + "..."
