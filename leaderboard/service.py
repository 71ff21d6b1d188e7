"""The leaderboard facade the Space wires to: submit, two background lanes, status, results, board.

`submit` checks everything before any judge call and commits the submission (metadata and, once,
the file's bytes) before it answers. Two worker threads share the queue: the MCQ lane scores
multiple-choice answers in seconds and puts that row on the board ("awaiting judge"); the judge
lane then judges open answers, one submission at a time within a deadline, and replaces the row
with the full document. Only the process holding the store's lease runs these lanes; another
process on the same home serves reads and queues submissions, and takes over when the lease
expires. A crash loses nothing: unfinished work is queued again and the judge's cache makes
already-judged answers free.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import json
import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

import pandas as pd

import judge
import judge.predictions
from core.results import BlindResults, ItemStatus, Results, ResultsError
from core.settings import Settings
from core.vocabulary import MODEL_WEIGHTS, OPEN_WEIGHTS
from judge.endpoint import Endpoint
from leaderboard import board as board_logic
from leaderboard import companions, details, explore, identity, items, reference
from leaderboard.items import ItemStats
from leaderboard.review import Reviews
from leaderboard.store import (AWAITING, FAILED, FINISHED, QUEUED, RUNNING, Store, StoreUnavailable,
                               _duration, storage_cause)
from release.built import load_questions, provenance

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaderboard.mirror import HubMirror
    from release.hub import ShardImages

log = logging.getLogger(__name__)

PAPER_CSV = Path(__file__).with_name("paper_results.csv")
# Ours (JSONL, JSON list, CSV) and the other tools' files as they write them: VLMEvalKit's .xlsx/.tsv,
# lmms-eval's samples_*.jsonl. The reader tells them apart by content.
PREDICTION_FORMATS = judge.predictions.FORMATS
PROGRESS_EVERY_S = 0.5
_DEFAULTS = Settings()
RETRY_FAILED_AFTER_S = _DEFAULTS.retry_failed_after_s  # first retry of a submission failed by the judge
RETRY_MAX_S = 24 * 3600.0  # retries back off (doubling) up to once a day
IDLE_POLL_S = 1.0  # how often an idle lane looks for work queued by another process
MISSING_SHOWN = 20
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
BUSY_MESSAGE = "The server is busy checking other submissions; try again in a moment."


class SubmissionError(ValueError):
    """A clear, user-facing message: what is wrong and where."""


class _NotCounted(SubmissionError):
    """A refusal that is not the submitter's doing (busy, storage) or is the refusal limit itself:
    it does not count toward the submitter's refusal limit."""


@dataclass(frozen=True)
class SubmissionMeta:
    model: str                       # required, 1-100 chars
    link: str = ""                   # http(s) URL or empty
    group: str = OPEN_WEIGHTS        # one of MODEL_WEIGHTS
    medical: bool = False            # medical-specialised model?
    params_b: float | None = None    # billions of parameters, or unknown
    description: str = ""            # prompt and generation settings, <= 2000 chars
    public_details: bool = True      # consent to publish per-question outputs


@contextmanager
def _storage_refusal() -> Iterator[None]:
    """A store that cannot write refuses the submission in words, with nothing queued."""
    try:
        yield
    except StoreUnavailable as err:
        raise _NotCounted(f"The server cannot store submissions right now ({err.cause}); "
                          "nothing was queued, try later.") from None


class _Stopped(Exception):
    """Raised inside the judge's progress callback to abandon a run when the worker stops."""


def _checked_meta(meta: SubmissionMeta) -> dict:
    """The metadata as stored, or a SubmissionError naming the field."""
    model = (meta.model or "").strip()
    if not model or len(model) > 100:
        raise SubmissionError("Model name: required, 1 to 100 characters.")
    try:
        identity.check_characters("Model name", model)
        identity.check_characters("Description", meta.description or "", identity.DESCRIPTION_ALLOWED)
    except identity.IdentityError as error:
        raise SubmissionError(str(error)) from None
    link = (meta.link or "").strip()
    if link:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 500 \
                or _CONTROL_CHARS.search(link) or " " in link:
            raise SubmissionError("Link: give an http(s) URL (at most 500 characters) or leave it empty.")
    if meta.group not in MODEL_WEIGHTS:
        raise SubmissionError("Weights: choose " + " or ".join(f'"{kind}"' for kind in MODEL_WEIGHTS) + ".")
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
    if not isinstance(meta.public_details, bool):
        raise SubmissionError("Public details: true (per-question outputs may be published) or false.")
    return {"model": model, "link": link, "weights": meta.group, "medical": meta.medical,
            "params_b": params_b, "description": description, "public_details": meta.public_details}


class Leaderboard:
    """Submissions, their scoring in two background lanes, and the board built from them."""

    def __init__(self, home: Path, data_dir: Path, *, endpoint: Endpoint | None = None,
                 paper_csv: Path | None = None, mirror: "HubMirror | None" = None,
                 max_file_bytes: int = _DEFAULTS.max_file_bytes, rate_limit: tuple[int, float] = _DEFAULTS.rate_limit,
                 check_concurrency: int = _DEFAULTS.check_concurrency, check_wait_s: float = _DEFAULTS.check_wait_s,
                 refusal_limit: tuple[int, float] = _DEFAULTS.refusal_limit,
                 retry_failed_after: float = RETRY_FAILED_AFTER_S,
                 judge_deadline_s: float = _DEFAULTS.judge_deadline_s,
                 judge_concurrency: int = _DEFAULTS.judge_concurrency,
                 lease_s: float = _DEFAULTS.lease_s, store_wait_s: float = 30.0,
                 images: "ShardImages | None" = None, audit: Endpoint | None = None,
                 audit_sample: tuple[int, float] = _DEFAULTS.audit_sample,
                 audit_tolerance: float = _DEFAULTS.audit_tolerance) -> None:
        self.home = Path(home)
        self.data_dir = Path(data_dir)
        self.images = images  # remote images for the explorer when the build has no local shards
        self.endpoint = endpoint if endpoint is not None and endpoint.configured else None
        self.mirror = mirror
        self.max_file_bytes = max_file_bytes
        self.rate_limit = rate_limit
        self.check_wait_s = check_wait_s
        self.refusal_limit = refusal_limit
        self._checks = threading.BoundedSemaphore(check_concurrency)  # file checks running at once
        self._refusals_lock = threading.Lock()
        self._refusals: dict[str, deque[float]] = {}  # submitter -> times of counted refusals, in the window
        self.retry_failed_after = retry_failed_after
        self.judge_deadline_s = judge_deadline_s
        self.judge_concurrency = judge_concurrency
        self.lease_s = lease_s
        self.store = Store(self.home / "leaderboard.sqlite", busy_timeout=store_wait_s)
        self.cache_path = self.home / "judge_cache.sqlite"
        self.questions = load_questions(self.data_dir)
        self._known_ids = frozenset(question["id"] for question in self.questions)
        self.dataset = provenance(self.data_dir)
        self._paper_csv = paper_csv or PAPER_CSV
        self._paper = board_logic.paper_frame(self._paper_csv)
        self._reference = board_logic.frame(reference.reference_records(self.questions, self.dataset))
        self.reviews = Reviews(self.store, self.questions, self.details_path, audit=audit, sample=audit_sample,
                               tolerance=audit_tolerance, cache_path=self.cache_path,
                               concurrency=judge_concurrency, retry_s=retry_failed_after)
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._leader = threading.Event()
        self._wake_mcq = threading.Event()
        self._wake_judge = threading.Event()
        self._wake_audit = threading.Event()
        self._busy = {"mcq": threading.Event(), "judge": threading.Event(), "audit": threading.Event()}
        self._threads: list[threading.Thread] = []
        self._lanes_started = False
        self._follower_logged = False
        self._trouble_lock = threading.Lock()
        self._trouble: dict[str | None, str] = {}  # submission id (None: the store as a whole) -> cause
        self._board_lock = threading.Lock()
        self._board: tuple[int, pd.DataFrame] | None = None
        self._records_made: dict[str, tuple[int, dict]] = {}  # id -> (hash of its results text, board row)
        self._items: tuple[int, list[ItemStats]] | None = None

    # -- submitting ----------------------------------------------------------------------

    def submit(self, file_path: Path, meta: SubmissionMeta, submitter: str, client: str | None = None, *,
               given_up: bool = False, blind: Path | None = None, circular: Path | None = None) -> dict:
        """Check a predictions file and its metadata, then queue it; nothing is judged here.
        A refusal is a SubmissionError, logged as one line (what, who, why). Refusals are counted
        per submitter, and per `client` address too when the submitter is not signed in, so one
        visitor's bad files never lock out the others. `given_up`: nothing writes to the file again
        (a Gradio upload), so the store may link it instead of copying it. `blind` and `circular`:
        the same model's companion runs (`leaderboard.companions`), checked and stored with it."""
        who = (submitter or "").strip() or "anonymous"
        counted = who if not client else f"{who} from {client}"
        try:
            self._check_refusals(counted)
            return self._submit(file_path, meta, who, given_up, {"blind": blind, "circular": circular})
        except SubmissionError as error:
            if not isinstance(error, _NotCounted):
                self._count_refusal(counted)
            log.info("submission refused: model %r from %r: %s", getattr(meta, "model", None), who, error)
            raise

    def _check_refusals(self, submitter: str) -> None:
        """Refuse at once, reading nothing, a submitter whose sent files and forms were refused
        `refusal_limit` times within its window (a flood of bad files costs one dictionary look-up)."""
        limit, window = self.refusal_limit
        now = time.monotonic()
        with self._refusals_lock:
            times = self._refusals.get(submitter)
            while times and times[0] <= now - window:
                times.popleft()
            if times is not None and not times:
                del self._refusals[submitter]
            elif times is not None and len(times) >= limit:
                wait_min = max(1, int((times[0] + window - now) // 60) + 1)
                raise _NotCounted(f"Too many refused submissions: at most {limit} per {_duration(window)} "
                                  f"per submitter; fix the file and try again in about {wait_min} min.")

    def _count_refusal(self, submitter: str) -> None:
        with self._refusals_lock:
            self._refusals.setdefault(submitter, deque()).append(time.monotonic())

    def _submit(self, file_path: Path, meta: SubmissionMeta, submitter: str, given_up: bool,
                runs: dict[str, Path | None]) -> dict:
        fields = _checked_meta(meta)
        shown = Path(str(file_path)).name  # the upload's name: shown in messages, never a path
        path = Path(file_path)
        size = self._check_size(path, shown)
        file_format = path.suffix.lower()
        if file_format not in PREDICTION_FORMATS:
            raise SubmissionError(f"{shown}: unsupported file type {file_format or '(none)'!r}; upload "
                                  ".jsonl, .json or .csv with `id` and `prediction`, or VLMEvalKit's .xlsx/.tsv "
                                  "or lmms-eval's samples_*.jsonl as they are.")
        extra = {kind: (Path(given), Path(str(given)).name) for kind, given in runs.items() if given}
        for kind, (companion, name) in extra.items():
            size += self._check_size(companion, f"{companions.LABELS[kind]} {name}")
        try:
            identity.check_model_name(fields["model"], self._paper["Model"].tolist(),
                                      self.store.models_of_others(submitter), reference.REFERENCE_MODELS.values())
        except identity.IdentityError as error:
            raise SubmissionError(str(error)) from None
        if not self._checks.acquire(timeout=self.check_wait_s):
            raise _NotCounted(BUSY_MESSAGE)
        try:  # reading the file is the costly part: only `check_concurrency` of them at once
            with path.open("rb") as upload:
                sha256 = hashlib.file_digest(upload, "sha256").hexdigest()
            with _storage_refusal():
                try:
                    self.store.precheck(submitter, fields["model"], sha256, self.rate_limit)
                except ValueError as err:
                    raise SubmissionError(str(err)) from None
            coverage = self._check_file(path, shown)
            checked = {kind: companions.check(kind, companion, name, self.questions, sha256)
                       for kind, (companion, name) in extra.items()}
        except companions.CompanionError as error:
            raise SubmissionError(str(error)) from None
        finally:
            self._checks.release()
            if size >= TRIM_AFTER_BYTES:
                _trim_heap()
        submission_id = f"sub-{uuid.uuid4().hex[:12]}"
        row = {**fields, "id": submission_id, "submitter": submitter, "file_name": shown,
               "file_format": file_format, "file_path": path, "file_sha256": sha256,
               "coverage": coverage, "companions": checked}
        with _storage_refusal():
            try:
                self.store.add(row, rate_limit=self.rate_limit, link=given_up)
            except ValueError as err:
                raise SubmissionError(str(err)) from None
        self._wake_mcq.set()
        missing = coverage.get("missing") or 0
        message = (f"Queued as {submission_id}: {coverage.get('given', 0)} of "
                   f"{coverage.get('expected', 0)} questions answered")
        message += f"; {missing} missing count as wrong." if missing else "."
        for kind, companion in checked.items():
            message += f" With its {companions.LABELS[kind]} ({companion['answered']} MCQs)."
        if self.endpoint is None:
            message += " No judge is configured: MCQ is scored now, open answers wait (awaiting judge)."
        else:
            message += " MCQ reaches the board in seconds; open answers are judged after."
        return {"id": submission_id, "model": fields["model"], "status": QUEUED, "message": message,
                "coverage": coverage, "position": self.store.queue_position(submission_id)}

    def _check_size(self, path: Path, shown: str) -> int:
        """The file's size in bytes, once it is known to be a file within the limit."""
        if not path.is_file():
            raise SubmissionError(f"{shown}: no file was uploaded (an upload is used for one submission "
                                  "and then deleted: choose the file again).")
        size = path.stat().st_size
        if size == 0:
            raise SubmissionError(f"{shown}: the file is empty.")
        if size > self.max_file_bytes:
            raise SubmissionError(f"{shown}: {size / 2**20:.1f} MiB is over the "
                                  f"{self.max_file_bytes / 2**20:g} MiB limit.")
        return size

    def _parse(self, source: Path, shown: str) -> list[dict]:
        """Read predictions through the judge's reader (the one place it is called), naming the upload
        as the submitter called it (its extension is the format hint); unknown and duplicate ids stop
        the read at the first offender, so a hostile file costs bounded work."""
        try:
            return judge.read_predictions(source, name=shown, known_ids=self._known_ids)
        except judge.PredictionsError as err:
            raise SubmissionError(str(err)) from None

    def _check_file(self, path: Path, shown: str) -> dict:
        predictions = self._parse(path, shown)
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
        self._wake_mcq.set()
        return requeued

    # -- the lease and the lanes ---------------------------------------------------------

    def start(self) -> None:
        """Take the home's lease (or watch for it) and run the lanes while it is held."""
        if self._threads:
            return
        self._stop.clear()
        self._heartbeat()
        supervisor = threading.Thread(target=self._supervise, name="leaderboard-lease", daemon=True)
        self._threads.append(supervisor)
        supervisor.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the lanes and give the lease up; a run in progress is abandoned and resumes on the
        next start (here or in another process)."""
        self._stop.set()
        self._wake_mcq.set()
        self._wake_judge.set()
        self._wake_audit.set()
        for thread in list(self._threads):  # the lease thread first: no lane starts after it ends
            thread.join(timeout)
        self._threads = []
        self._lanes_started = False
        if self._leader.is_set():
            self._leader.clear()
            try:
                self.store.release_lease(self._owner)
            except StoreUnavailable as err:  # it expires on its own
                log.warning("could not release the lease (%s); it expires in %g s", err.cause, self.lease_s)
        self.store.close()
        if self.mirror is not None:
            try:
                self.mirror.stop()
            except Exception as err:  # noqa: BLE001 - the store keeps everything; the next run pushes
                log.warning("final mirror push failed: %s", type(err).__name__)

    @property
    def serving(self) -> bool:
        """True while this process holds the lease and runs the lanes."""
        return self._leader.is_set()

    def _supervise(self) -> None:
        try:
            while not self._stop.wait(self.lease_s / 4):
                self._heartbeat()
        finally:
            self.store.close()

    def _heartbeat(self) -> None:
        """Renew (or take) the lease; on taking it, recover unfinished work and start the lanes."""
        try:
            held, holder = self.store.acquire_lease(self._owner, self.lease_s)
            if held and not self._leader.is_set():
                self.store.requeue((RUNNING,))  # whoever ran these is gone: its lease expired
                if self.endpoint is not None:
                    self.store.retry_failed_now()
            self._set_trouble(None, None)
        except StoreUnavailable as err:
            self._set_trouble(None, err.cause)
            return
        if held and not self._leader.is_set():
            if self._follower_logged:
                log.info("took over serving this home (the other process's lease expired)")
            self._leader.set()
            self._start_lanes()
        elif not held:
            if self._leader.is_set():
                log.warning("lost the lease to another process (pid %s); this one only serves reads",
                            holder["pid"])
                self._leader.clear()
            elif not self._follower_logged:
                log.info("another process (pid %s on %s) is serving this home; this one only serves "
                         "reads and queues submissions until its lease expires", holder["pid"], holder["host"])
                self._follower_logged = True

    def _start_lanes(self) -> None:
        if self._lanes_started or self._stop.is_set():
            return
        self._lanes_started = True
        self._backfill_mirror()
        lanes = [("mcq", self.store.claim_next, self._score_mcq, self._wake_mcq)]
        if self.endpoint is not None:
            lanes.append(("judge", self.store.claim_judging, self._judge_open, self._wake_judge))
        if self.reviews.audit is not None:
            lanes.append(("audit", self._claim_audit, self._audit, self._wake_audit))
        for name, claim, work, wake in lanes:
            thread = threading.Thread(target=self._lane, args=(name, claim, work, wake),
                                      name=f"leaderboard-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """True once no submission is queued or running, nor (with a judge) awaiting it or due
        for a retry (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(b.is_set() for b in self._busy.values()) \
                    and self.store.pending(judging=self.endpoint is not None) == 0:
                return True
            time.sleep(0.02)
        return False

    def _lane(self, name: str, claim: Callable, work: Callable, wake: threading.Event) -> None:
        busy = self._busy[name]
        try:
            while not self._stop.is_set():
                wake.clear()
                if not self._leader.is_set():
                    wake.wait(IDLE_POLL_S)
                    continue
                busy.set()
                row = None
                try:
                    row = claim(self._owner)
                    if row is None:
                        busy.clear()
                        wake.wait(IDLE_POLL_S)
                        continue
                    self._until_written(row["id"], lambda: work(row))
                except StoreUnavailable as err:  # taking work failed; it stays queued
                    self._set_trouble(None, err.cause)
                    self._stop.wait(2.0)
                except Exception as err:  # noqa: BLE001 - a bug must not end the lane nor strand the row
                    log.exception("%s lane: unexpected error", name)
                    if row is not None:
                        reason = _reason(err)  # `err` is unbound once the except block ends
                        self._until_written(row["id"], lambda: self._failed(row["id"], reason))
                    self._stop.wait(1.0)
                finally:
                    busy.clear()
        finally:
            self.store.close()

    def _until_written(self, submission_id: str, work: Callable[[], Callable[[], object] | None]) -> None:
        """Run `work` (it computes an outcome and returns how to write it), then write it; while
        the storage refuses (disk full, read-only, locked), keep the row running, show the cause
        in `status`, and try again with backoff until it works or the lanes stop."""
        delay, write = 1.0, None
        while not self._stop.is_set():
            try:
                if write is None:
                    write = work()
                if write is not None:
                    write()
                self._set_trouble(submission_id, None)
                return
            except Exception as err:  # noqa: BLE001 - only storage refusals are retried here
                cause = storage_cause(err)
                if cause is None:
                    raise
                if self._set_trouble(submission_id, cause):
                    log.warning("submission %s: cannot write its outcome (%s); retrying until it can",
                                submission_id, cause)
                self._stop.wait(delay)
                delay = min(delay * 2, 15.0)

    def _set_trouble(self, submission_id: str | None, cause: str | None) -> bool:
        """Record (or clear, with None) why a write cannot happen; True when this is news."""
        with self._trouble_lock:
            if cause is None:
                self._trouble.pop(submission_id, None)
                return False
            new = self._trouble.get(submission_id) != cause
            self._trouble[submission_id] = cause
        if new and submission_id is None:
            log.warning("the store cannot write (%s); waiting for it", cause)
        return new

    def _progress(self, submission_id: str, cancelled: threading.Event) -> Callable[[int, int], None]:
        """A throttled progress writer (at most every PROGRESS_EVERY_S or 1%, and the end) that
        abandons the run (raises _Stopped) once the lanes stop or the run is cancelled."""
        written = (0.0, -1)

        def progress(done: int, total: int) -> None:
            nonlocal written
            if self._stop.is_set() or cancelled.is_set():
                raise _Stopped
            now = time.monotonic()
            if done >= total or now - written[0] >= PROGRESS_EVERY_S \
                    or done - written[1] >= max(1, total // 100):
                written = (now, done)
                try:
                    self.store.set_progress(submission_id, done, total)
                except StoreUnavailable as err:  # progress is cosmetic; the outcome is what counts
                    self._set_trouble(submission_id, err.cause)

        return progress

    def _score_mcq(self, row: dict) -> Callable[[], object] | None:
        """The fast lane: MCQ scored, open answers left awaiting; the row goes on the board."""
        submission_id = row["id"]
        try:
            predictions = self._parse(row["file_path"], row["file_name"])
            typed = judge.score_submission(
                predictions, self.questions, endpoint=None, progress=self._progress(submission_id, threading.Event()),
                dataset=self.dataset)
            companions.attach(typed, row["companions"], self.questions)
            details.write_all(self.details_path(submission_id), typed.items)
        except _Stopped:
            return None  # left "running": the next start re-queues it
        except Exception as err:  # noqa: BLE001 - recorded, never lost
            if storage_cause(err):
                raise
            log.warning("submission %s failed in the MCQ lane: %s", submission_id, type(err).__name__)
            reason = _reason(err)  # `err` is unbound once the except block ends
            return lambda: self.store.fail(submission_id, reason, owner=self._owner)
        results = typed.to_dict()
        status = AWAITING if typed.open.awaiting else FINISHED

        def write() -> None:
            meta = self.store.record(submission_id)
            if self.store.finish(submission_id, status, results, owner=self._owner):
                if status == AWAITING:
                    self._wake_judge.set()
                self._mirror(submission_id, meta, results)
        return write

    def _judge_open(self, row: dict) -> Callable[[], object] | None:
        """The judge lane: the whole document with open answers judged, within the deadline. The
        judging runs in its own thread so a judge that never answers cannot hold this lane."""
        submission_id = row["id"]
        cancelled = threading.Event()
        outcome: dict = {}

        def run() -> None:
            try:
                predictions = self._parse(row["file_path"], row["file_name"])
                outcome["results"] = judge.score_submission(
                    predictions, self.questions, endpoint=self.endpoint, cache_path=self.cache_path,
                    progress=self._progress(submission_id, cancelled), dataset=self.dataset,
                    concurrency=self.judge_concurrency)
                companions.attach(outcome["results"], row["companions"], self.questions)
            except BaseException as err:  # noqa: BLE001 - handed to the lane
                outcome["error"] = err
            finally:
                self.store.close()

        worker = threading.Thread(target=run, name=f"judge-{submission_id}", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.judge_deadline_s
        while worker.is_alive() and not self._stop.is_set() and time.monotonic() < deadline:
            worker.join(0.1)
        if worker.is_alive():
            cancelled.set()  # its calls end at their own timeout; nothing it does is written
            if self._stop.is_set():
                return None  # left "running": the next start re-queues it
            return self._failed(submission_id, f"judging open answers passed the deadline of "
                                               f"{self.judge_deadline_s:g} s (MEDCMR_JUDGE_DEADLINE_S); "
                                               "the MCQ score stays on the board")
        error = outcome.get("error")
        if isinstance(error, _Stopped):
            return None
        if error is not None:
            if storage_cause(error):
                raise error
            log.warning("submission %s failed in the judge lane: %s", submission_id, type(error).__name__)
            return self._failed(submission_id, _reason(error))
        typed = outcome["results"]
        details.write_open(self.details_path(submission_id), typed.items)
        results = typed.to_dict()
        if typed.open.failed:
            # A partly judged Open score would not be comparable: keep the file, let a retry finish it.
            first_error = next((item.error for item in typed.items if item.error and item.status is ItemStatus.FAILED),
                               "no reason recorded")
            return self._failed(submission_id, f"{typed.open.failed} of {typed.open.n} open answers could "
                                               f"not be judged ({first_error}); the file is kept, "
                                               "judged answers are cached, and a retry judges only the rest")
        status = AWAITING if typed.open.awaiting else FINISHED

        def write() -> None:
            meta = self.store.record(submission_id)
            if self.store.finish(submission_id, status, results, owner=self._owner):
                if self.reviews.request(submission_id, typed):
                    self._wake_audit.set()
                self._mirror(submission_id, meta, results)
        return write

    def _claim_audit(self, owner: str) -> dict | None:
        submission_id = self.store.next_audit(owner)
        return None if submission_id is None else {"id": submission_id}

    def _audit(self, row: dict) -> Callable[[], object] | None:
        """The audit lane: a second judge re-scores a sample of the submission's judged open items."""
        if self.reviews.run(row["id"]) is not None:
            self._mirror(row["id"], self.store.record(row["id"]) or {}, self.store.results(row["id"]) or {})
        return None

    def _failed(self, submission_id: str, reason: str) -> Callable[[], object]:
        """How to record a judging failure: tried again after a backoff that doubles per failure."""
        def write() -> None:
            failures = self.store.judge_failures(submission_id)
            wait = min(max(self.retry_failed_after, 1.0) * 2 ** failures, RETRY_MAX_S)
            self.store.fail(submission_id, f"{reason}; tried again after {_duration(wait)}",
                            retry_ts=time.time() + wait, owner=self._owner)
        return write

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
            self.mirror.record(submission_id, meta, results, review=self.reviews.states().get(submission_id))
            path = self.details_path(submission_id)
            if details.exists(path):  # consent applied: without it, only correctness per question
                self.mirror.record_details(submission_id, explore.details_jsonl(
                    details.read_details(path), self.public_details(submission_id)))
        except Exception as err:  # noqa: BLE001 - the mirror is a copy; the store stays the truth
            log.warning("mirror update failed: %s", type(err).__name__)
        if with_board:
            self._mirror_board()

    # -- reading -------------------------------------------------------------------------

    def public_details(self, submission_id: str) -> bool:
        """Whether the submitter consented to publishing per-question outputs (the form's default: yes).
        The one place consent is read, so every view (explorer, API, download, mirror) agrees."""
        record = self.store.record(submission_id)
        return record is None or bool(record["public_details"])

    def details_path(self, submission_id: str) -> Path:
        """Where the worker writes a submission's per-question details (`leaderboard.details`)."""
        return self.home / "details" / f"{submission_id}{details.SUFFIX}"

    def status(self, submission_id: str | None = None) -> list[dict]:
        """Submissions, newest first (or the one asked for). While the store cannot write, queued
        and running ones say why in `error`."""
        rows = self.store.statuses(submission_id)
        states = self.reviews.states()
        for row in rows:
            state = states.get(row["id"], {})
            row.update(audit=state.get("audit", ""), review=state.get("review", "") or state.get("audit_error", ""),
                       audit_summary=state.get("audit_summary"),
                       moderation=state.get("moderation", "visible"),
                       moderation_reason=state.get("moderation_reason", ""))
        with self._trouble_lock:
            trouble = dict(self._trouble)
        if trouble:
            for row in rows:
                cause = trouble.get(row["id"]) or trouble.get(None)
                if cause and row["status"] in (QUEUED, RUNNING):
                    row["error"] = (f"the server cannot write right now ({cause}); the work is kept "
                                    "and retried until it can")
        return rows

    def scores(self, submission_id: str) -> Results | None:
        """The results of a scored (or awaiting) submission, typed (the stored document's version checked);
        `.to_dict()` is the JSON the mirror publishes."""
        document = self.store.results(submission_id)
        return Results.from_dict(document) if document else None

    def best_blind(self) -> tuple[str, BlindResults] | None:
        """The visible submission on the served build whose blind run answers most MCQs right: how much
        of the benchmark the text alone answers (the About tab shows it per dimension). Read off the
        board, so only that one submission's results are parsed."""
        frame = self.board()
        mine = frame[(frame["Source"] == "scored here") & (frame["Build"] == (self.dataset.fingerprint or ""))
                     & frame["Blind MCQ"].notna()]
        if mine.empty:
            return None
        best = mine.loc[mine["Blind MCQ"].idxmax()]
        results = self.scores(best["Id"])
        return (best["Model"], results.blind) if results is not None and results.blind is not None else None

    # -- the operator ----------------------------------------------------------------------

    def moderate(self, submission_id: str, state: str, reason: str, actor: str) -> None:
        """Flag, hide or restore (`visible`) a submission with a public reason; the board, the status
        and the mirror show it at once."""
        self.reviews.moderate(submission_id, state, reason, actor)
        log.info("moderation: %s set %s to %s (%s)", actor, submission_id, state, reason)
        self._mirror(submission_id, self.store.record(submission_id) or {}, self.store.results(submission_id) or {})

    def clear_review(self, submission_id: str, actor: str) -> None:
        """Accept an audited submission held for review: it is ranked again."""
        self.reviews.clear_review(submission_id)
        log.info("moderation: %s cleared the review of %s", actor, submission_id)
        self._mirror(submission_id, self.store.record(submission_id) or {}, self.store.results(submission_id) or {})

    def rescore(self, submission_id: str, actor: str) -> None:
        """Score a stored submission again with the current extraction, screen and judge (its previous
        results are kept; answers already judged come from the cache, with no judge call)."""
        if self.store.record(submission_id) is None:
            raise SubmissionError(f"No submission with id {submission_id}.")
        self.store.archive_results(submission_id, f"rescored by {actor}")
        if not self.store.requeue((FINISHED, AWAITING, FAILED), submission_id):
            raise SubmissionError(f"{submission_id} is queued or running; rescore it once it is scored.")
        log.info("rescore: %s queued %s again", actor, submission_id)
        self._wake_mcq.set()

    def previous_results(self, submission_id: str) -> list[dict]:
        """Results a rescore replaced, oldest first."""
        return self.store.previous_results(submission_id)

    def item_analysis(self) -> list[ItemStats]:
        """Difficulty, discrimination and suspects of every MCQ, from the submissions scored on the
        served build and shown on the board (cached until the board changes)."""
        version = self.store.board_version()
        with self._board_lock:
            if self._items is not None and self._items[0] == version:
                return self._items[1]
        hidden = self.reviews.hidden()
        responses = {}
        for row in self.store.statuses():
            if row["status"] not in (FINISHED, AWAITING) or row["id"] in hidden:
                continue
            scores = self.scores(row["id"])
            path = self.details_path(row["id"])
            if scores is None or scores.dataset.fingerprint != self.dataset.fingerprint or not details.exists(path):
                continue
            responses[row["id"]] = {item.id: bool(item.correct) for item in details.read_details(path)
                                    if item.question_type == "mcq" and item.status is not ItemStatus.MISSING}
        stats = items.analyse(responses)
        with self._board_lock:
            self._items = (version, stats)
        return stats

    def judge_agreement(self) -> dict:
        """The primary and audit judges' agreement over every audited item (see `judge.audit.agreement`)."""
        return self.reviews.agreement()

    def paper_notes(self) -> dict[str, str]:
        """The paper rows' own notes (e.g. a published total that disagrees with the formula)."""
        return board_logic.paper_notes(self._paper_csv)

    def board_version(self) -> int:
        """Changes whenever a board row is written: lets pages re-render only when the board changed."""
        return self.store.board_version()

    def last_scored_at(self) -> str | None:
        """When the board's submissions last changed (UTC stamp), or None before the first."""
        return self.store.last_scored_at()

    def _records(self, hidden: set[str]) -> Iterator[dict]:
        """Each visible submission's board row, made from its results now (so a new column reaches
        every row); a row is made again only when its results text changed."""
        for row in self.store.scored():
            if row["id"] in hidden:
                continue
            text = hash(row["results"])
            made = self._records_made.get(row["id"])
            if made is None or made[0] != text:
                try:
                    made = (text, board_logic.submission_record(row, Results.from_dict(json.loads(row["results"]))))
                except (ValueError, ResultsError) as error:  # a document this code cannot read: logged, left out
                    log.warning("submission %s has no board row: %s", row["id"], error)
                    continue
                self._records_made[row["id"]] = made
            yield made[1]

    def board(self) -> pd.DataFrame:
        """The paper's rows, every scored submission and the reference rows, ranked (rebuilt only
        when a row changed)."""
        version = self.store.board_version()
        with self._board_lock:
            if self._board is None or self._board[0] != version:
                states = self.reviews.states()
                hidden = self.reviews.hidden(states)
                scored = board_logic.frame(self._records(hidden))
                frames = [f for f in (self._paper, scored, self._reference) if not f.empty]
                self._board = (version, board_logic.rank(pd.concat(frames, ignore_index=True), self.dataset,
                                                         holds=self.reviews.holds(states)))
            return self._board[1].copy()


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None


_LIBC = _load_libc()
TRIM_AFTER_BYTES = 8 * 2**20


def _trim_heap() -> None:
    """Give memory back to the system after reading a large file, accepted or refused: the cycles a
    refusal's traceback makes are collected, and glibc, which keeps freed memory in its per-thread
    arenas, returns what it can (else each wave of large refused files leaves the process larger)."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _reason(err: Exception) -> str:
    """A failure reason for the status view: the error's type and message, bounded."""
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 500 else text[:497] + "..."
