"""The background work on the queue: the home's lease and the lanes that score while it is held.

The MCQ lane scores multiple-choice answers in seconds and puts that row on the board ("awaiting
judge"); the judge lane then judges open answers, one submission at a time within a deadline, and
replaces the row with the full document (with batch judging, it sends a submission's batch, goes on
with others and comes back for it: `judge.batch`); the audit lane (with an audit judge) re-scores a
sample; the reproduce lane (with runners the operator trusts) re-asks a sample of each scored submission
whose model a runner serves (`leaderboard.reproduce`). Only the process holding the store's lease runs
these lanes; another process on the same home
serves reads and queues submissions, and takes over when the lease expires. A crash loses nothing:
unfinished work is queued again and the judge's cache makes already-judged answers free. A write
the storage refuses is kept and retried until it works.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import judge
from core.results import DatasetInfo, ItemResult, ItemStatus, Results
from core.settings import Settings
from judge.batch import BatchJudging, judge_folder
from judge.answers import NORMALISATION_VERSION
from judge.endpoint import Endpoint
from judge.extract import EXTRACTION_VERSION
from judge.score import JudgeStep, OnlineJudging
from leaderboard import companions, details
from leaderboard.intake import CheckedReads, read_predictions
from leaderboard.reproduce import Reproductions
from leaderboard.review import Reviews
from leaderboard.records import SubmissionRecord, SubmissionStatus
from leaderboard.store import Store, StoreUnavailable, _duration, storage_cause

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
RETRY_MAX_S = 24 * 3600.0  # retries back off (doubling) up to once a day
IDLE_POLL_S = 1.0  # how often an idle lane looks for work queued by another process


@dataclass
class _McqPass:
    """The MCQ lane's pass over an upload, as the judge lane takes it up: every output as submitted (from the
    details file), the MCQ items it scored, and its results document (the companions' blocks)."""

    predictions: list[dict]
    mcq_items: list[ItemResult]
    document: Results


class _Stopped(Exception):
    """Raised inside the judge's progress callback to abandon a run when the worker stops."""


@dataclass(frozen=True)
class _Work:
    """What a lane other than scoring claims: the id it works on (a submission's, or the copy checks'), and
    the reproduction's claimed row for the reproduce lane. A scoring lane claims a `SubmissionRecord`."""

    id: str
    claimed: dict = field(default_factory=dict)


class Worker:
    """The lease and the lanes of one process. It knows the store, the judge and the reviews, not
    what is shown: `on_written(id)` is called once a submission's results (or its audit) are
    written, `on_serving()` once this process takes the lease, before its lanes start."""

    def __init__(self, store: Store, questions: list[dict], dataset: DatasetInfo, reviews: Reviews,
                 settings: Settings, *, endpoint: Endpoint | None, cache_path: Path,
                 details_path: Callable[[str], Path], on_written: Callable[[str], None],
                 on_serving: Callable[[], None], checked_reads: CheckedReads | None = None,
                 reproductions: Reproductions | None = None) -> None:
        self.store = store
        self.questions = questions
        self._known_ids = frozenset(question["id"] for question in questions)
        self.dataset = dataset
        self.reviews = reviews
        self.settings = settings
        self.endpoint = endpoint
        self.cache_path = cache_path
        self.details_path = details_path
        self._on_written = on_written
        self._on_serving = on_serving
        self._checked_reads = checked_reads or CheckedReads(0)
        self.reproductions = reproductions if reproductions is not None and reproductions.enabled else None
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._leader = threading.Event()
        self._wake_mcq = threading.Event()
        self._wake_judge = threading.Event()
        self._wake_audit = threading.Event()
        self._wake_reproduce = threading.Event()
        self._wake_integrity = threading.Event()
        self._busy = {name: threading.Event() for name in ("mcq", "judge", "audit", "reproduce", "integrity")}
        self._threads: list[threading.Thread] = []
        self._lanes_started = False
        self._follower_logged = False
        self._trouble_lock = threading.Lock()
        self._trouble: dict[str | None, str] = {}  # submission id (None: the store as a whole) -> cause

    def wake(self) -> None:
        """Work was queued: the MCQ lane looks now rather than at its next poll."""
        self._wake_mcq.set()

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
        self._wake_reproduce.set()
        self._wake_integrity.set()
        for thread in list(self._threads):  # the lease thread first: no lane starts after it ends
            thread.join(timeout)
        self._threads = []
        self._lanes_started = False
        if self._leader.is_set():
            self._leader.clear()
            try:
                self.store.release_lease(self._owner)
            except StoreUnavailable as err:  # it expires on its own
                log.warning("could not release the lease (%s); it expires in %g s", err.cause,
                            self.settings.lease_s)

    @property
    def serving(self) -> bool:
        """True while this process holds the lease and runs the lanes."""
        return self._leader.is_set()

    def trouble(self) -> dict[str | None, str]:
        """Why writes cannot happen now: submission id (None: the store as a whole) -> cause."""
        with self._trouble_lock:
            return dict(self._trouble)

    def wait_idle(self, timeout: float) -> bool:
        """True once no submission is queued or running, nor (with a judge) awaiting it or due
        for a retry (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(b.is_set() for b in self._busy.values()) \
                    and self.store.pending(judging=self.endpoint is not None) == 0 \
                    and not (self._lanes_started and self.store.integrity_due()):
                return True
            time.sleep(0.02)
        return False

    # -- the lease -----------------------------------------------------------------------

    def _supervise(self) -> None:
        try:
            while not self._stop.wait(self.settings.lease_s / 4):
                self._heartbeat()
        finally:
            self.store.close()

    def _heartbeat(self) -> None:
        """Renew (or take) the lease; on taking it, recover unfinished work and start the lanes."""
        try:
            held, holder = self.store.acquire_lease(self._owner, self.settings.lease_s)
            if held and not self._leader.is_set():
                self.store.requeue((SubmissionStatus.RUNNING,))  # whoever ran these is gone: its lease expired
                self.store.requeue_reproductions()
                if self.endpoint is not None:
                    self.store.retry_failed_now()
                if self.reproductions is not None:
                    self.reproductions.refresh()
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
        self._on_serving()
        lanes = [("mcq", self.store.claim_next, self._score_mcq, self._wake_mcq)]
        if self.endpoint is not None:
            lanes.append(("judge", self.store.claim_judging, self._judge_open, self._wake_judge))
        if self.reviews.audit is not None:
            lanes.append(("audit", self._claim_audit, self._audit, self._wake_audit))
        if self.reproductions is not None:
            lanes.append(("reproduce", self._claim_reproduction, self._reproduce, self._wake_reproduce))
        lanes.append(("integrity", self._claim_integrity, self._check_integrity, self._wake_integrity))
        for name, claim, work, wake in lanes:
            thread = threading.Thread(target=self._lane, args=(name, claim, work, wake),
                                      name=f"leaderboard-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- the lanes -----------------------------------------------------------------------

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
                    self._until_written(row.id, lambda: work(row))
                except StoreUnavailable as err:  # taking work failed; it stays queued
                    self._set_trouble(None, err.cause)
                    self._stop.wait(2.0)
                except Exception as err:  # noqa: BLE001 - a bug must not end the lane nor strand the row
                    log.exception("%s lane: unexpected error", name)
                    if row is not None:
                        reason = _reason(err)  # `err` is unbound once the except block ends
                        self._until_written(row.id, lambda: self._failed(row.id, reason))
                    self._stop.wait(1.0)
                finally:
                    busy.clear()
        finally:
            self.store.close()

    def _until_written(self, submission_id: str, work: Callable[[], Callable[[], object] | None]) -> None:
        """Run `work` (it computes an outcome and returns how to write it), then write it; while
        the storage refuses (disk full, read-only, locked), keep the row running, show the cause
        in `status` (through `trouble`), and try again with backoff until it works or the lanes stop."""
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

    def _score_mcq(self, row: SubmissionRecord) -> Callable[[], object] | None:
        """The fast lane: MCQ scored, open answers left awaiting; the row goes on the board."""
        submission_id = row.id
        try:
            predictions = self._checked_reads.take(submission_id) \
                or read_predictions(row.file_path, row.file_name, self._known_ids)
            typed = judge.score_submission(
                predictions, self.questions, endpoint=None, progress=self._progress(submission_id, threading.Event()),
                dataset=self.dataset)
            companions.attach(typed, row.companions, self.questions)
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
        status = SubmissionStatus.AWAITING if typed.open.awaiting else SubmissionStatus.FINISHED

        def write() -> None:
            if self.store.finish(submission_id, status, results, owner=self._owner):
                if status == SubmissionStatus.AWAITING:
                    self._wake_judge.set()
                self._wake_reproduce.set()
                self._wake_integrity.set()
                self._on_written(submission_id)
        return write

    def _judge_open(self, row: SubmissionRecord) -> Callable[[], object] | None:
        """The judge lane: the whole document with open answers judged, within the deadline. The
        judging runs in its own thread so a judge that never answers cannot hold this lane."""
        submission_id = row.id
        cancelled = threading.Event()
        outcome: dict = {}
        worker = threading.Thread(target=self._judge_in_thread, args=(row, cancelled, outcome),
                                  name=f"judge-{submission_id}", daemon=True)
        worker.start()
        deadline_s = self.settings.judge_deadline_s
        deadline = time.monotonic() + deadline_s
        while worker.is_alive() and not self._stop.is_set() and time.monotonic() < deadline:
            worker.join(0.1)
        if worker.is_alive():
            cancelled.set()  # its calls end at their own timeout; nothing it does is written
            if self._stop.is_set():
                return None  # left "running": the next start re-queues it
            return self._failed(submission_id, f"judging open answers passed the deadline of "
                                               f"{deadline_s:g} s (MEDCMR_JUDGE_DEADLINE_S); "
                                               "the MCQ score stays on the board")
        error = outcome.get("error")
        if isinstance(error, _Stopped):
            return None
        if error is not None:
            if storage_cause(error):
                raise error
            log.warning("submission %s failed in the judge lane: %s", submission_id, type(error).__name__)
            return self._failed(submission_id, _reason(error))
        if outcome.get("waiting"):
            return self._look_again_later(submission_id)
        return self._judged(submission_id, outcome["results"])

    def _judge_in_thread(self, row: SubmissionRecord, cancelled: threading.Event, outcome: dict) -> None:
        """Score the submission with its open answers judged into `outcome["results"]` (or `"waiting"`: its
        batch is still at the judge; or `"error"`)."""
        submission_id = row.id
        step = self._judge_step(submission_id)
        try:
            if isinstance(step, BatchJudging) and step.running(self.endpoint):
                outcome["waiting"] = True  # one look at its batch, still at the judge: nothing to score yet
                return
            first = self._mcq_pass(row)
            predictions = first.predictions if first else \
                read_predictions(row.file_path, row.file_name, self._known_ids)
            typed = outcome["results"] = judge.score_submission(
                predictions, self.questions, endpoint=self.endpoint, cache_path=self.cache_path,
                progress=self._progress(submission_id, cancelled), dataset=self.dataset,
                concurrency=self.settings.judge_concurrency, judge_step=step,
                scored_mcq=first.mcq_items if first else None)
            if first:
                typed.circular, typed.blind = first.document.circular, first.document.blind
            else:
                companions.attach(typed, row.companions, self.questions)
        except BaseException as err:  # noqa: BLE001 - handed to the lane
            outcome["error"] = err
        finally:
            self.store.close()

    def _mcq_pass(self, row: SubmissionRecord) -> "_McqPass | None":
        """What the MCQ lane left of this submission, when it scored this build with this code: the upload is
        then neither parsed nor its MCQs extracted again. None (the upload is read) when the MCQ lane failed,
        the home is older, or the build or the extraction changed since."""
        path, stored = self.details_path(row.id), self.store.results(row.id)
        if not stored or not details.exists(path):
            return None
        try:
            document = Results.from_dict(stored)
            if document.dataset != self.dataset or document.mcq.extraction_version != EXTRACTION_VERSION \
                    or document.judge.normalisation_version != NORMALISATION_VERSION:
                return None
            items = details.read_details(path)
        except (ValueError, OSError) as error:  # a broken document or details file (ResultsError, DetailsError)
            log.warning("submission %s: its MCQ pass cannot be reused (%s); reading its file", row.id, error)
            return None
        answered = [{"id": item.id, "prediction": item.prediction} for item in items if item.prediction is not None]
        return _McqPass(answered, [item for item in items if item.question_type == "mcq"], document)

    def _look_again_later(self, submission_id: str) -> Callable[[], object]:
        """Its batch is at the judge: awaiting, looked at again after the poll interval."""
        return lambda: self.store.defer(submission_id, time.time() + self.settings.judge_batch_poll_s,
                                        owner=self._owner)

    def _judged(self, submission_id: str, typed: Results) -> Callable[[], object]:
        """How to write a judged document: finished (or awaiting), failed when some answers could not be judged,
        or looked at again when a batch left answers at the judge."""
        if self.settings.judge_batch and typed.open.awaiting and not typed.open.failed:
            return self._look_again_later(submission_id)
        details.write_open(self.details_path(submission_id), typed.items)
        results = typed.to_dict()
        if typed.open.failed:
            # A partly judged Open score would not be comparable: keep the file, let a retry finish it.
            first_error = next((item.error for item in typed.items if item.error and item.status is ItemStatus.FAILED),
                               "no reason recorded")
            return self._failed(submission_id, f"{typed.open.failed} of {typed.open.n} open answers could "
                                               f"not be judged ({first_error}); the file is kept, "
                                               "judged answers are cached, and a retry judges only the rest")
        status = SubmissionStatus.AWAITING if typed.open.awaiting else SubmissionStatus.FINISHED

        def write() -> None:
            if self.store.finish(submission_id, status, results, owner=self._owner):
                if self.reviews.request(submission_id, typed):
                    self._wake_audit.set()
                self._wake_reproduce.set()
                self._on_written(submission_id)
        return write

    def _judge_step(self, submission_id: str) -> JudgeStep:
        """Online calls, or with batch judging the submission's batch (its folder beside the verdict
        cache keeps the batch id across restarts, one per judge; an ended batch's unfinished answers
        fail, to be retried later). The estimate and what a batch did go to the log."""
        def say(text: str) -> None:
            log.info("submission %s: %s", submission_id, text)

        def announce(estimate) -> None:
            say(estimate.describe())

        if not self.settings.judge_batch:
            return OnlineJudging(announce)
        folder = judge_folder(self.cache_path.parent / "judge_batches" / submission_id, self.endpoint)
        return BatchJudging(folder, resubmit_unfinished=False, announce=announce, say=say)

    def _claim_audit(self, owner: str) -> _Work | None:
        submission_id = self.store.next_audit(owner)
        return None if submission_id is None else _Work(submission_id)

    def _audit(self, work: _Work) -> Callable[[], object] | None:
        """The audit lane: a second judge re-scores a sample of the submission's judged open items."""
        if self.reviews.run(work.id) is not None:
            self._on_written(work.id)
        return None

    def _claim_reproduction(self, owner: str) -> _Work | None:
        claimed = self.store.claim_reproduction(owner, judging=self.endpoint is not None)
        return None if claimed is None else _Work(claimed["submission_id"], claimed)

    def _reproduce(self, work: _Work) -> Callable[[], object] | None:
        """The reproduce lane: a runner re-asks the submission's sample (`Reproductions.run`). Whatever goes wrong
        is the reproduction's failure, never the submission's: its scores and its row stay as they are."""
        try:
            state = self.reproductions.run(work.claimed, self._stop.is_set)
        except Exception as err:  # noqa: BLE001 - recorded on the reproduction, retried with backoff
            if storage_cause(err):
                raise
            log.exception("reproduce lane: unexpected error")
            state = self.reproductions.failed(work.claimed, _reason(err))
        if state is not None:
            self._on_written(work.id)
        return None

    def _claim_integrity(self, owner: str) -> _Work | None:
        return _Work("copy checks") if self._leader.is_set() and self.store.integrity_due() else None

    def _check_integrity(self, work: _Work) -> Callable[[], object] | None:
        """The copy checks' lane: every row on the served build read against the others, after any change."""
        for submission_id in self.reviews.check_integrity(self.dataset.fingerprint or ""):
            self._on_written(submission_id)
        return None

    def _failed(self, submission_id: str, reason: str) -> Callable[[], object]:
        """How to record a judging failure: tried again after a backoff that doubles per failure."""
        def write() -> None:
            failures = self.store.judge_failures(submission_id)
            wait = min(max(self.settings.retry_failed_after_s, 1.0) * 2 ** failures, RETRY_MAX_S)
            self.store.fail(submission_id, f"{reason}; tried again after {_duration(wait)}",
                            retry_ts=time.time() + wait, owner=self._owner)
        return write


def _reason(err: Exception) -> str:
    """A failure reason for the status view: the error's type and message, bounded."""
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 500 else text[:497] + "..."
