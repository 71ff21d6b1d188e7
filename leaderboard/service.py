"""The leaderboard facade the Space wires to: it builds the parts and keeps the reading side.

`Leaderboard` puts together the store, the questions, the reviews, the intake (`leaderboard.intake`:
every check, then the submission stored before `submit` answers) and the worker
(`leaderboard.worker`: the lease and the background lanes that score). What stays here is what
reads the results (the board and its cache, status, scores, item analysis), the operator's actions
(moderate, clear a review, rescore, retry) and the optional mirror, which copies each submission's
results and the board to the Hub once the worker says they were written. Each submission's reproduction
(`leaderboard.reproduce`) joins its row, its status, its results and its mirrored record here.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pandas as pd

from core.results import BlindResults, ItemResult, ItemStatus, Reproduction, Results, ResultsError
from core.settings import Settings
from judge.endpoint import Endpoint
from leaderboard import board as board_logic
from leaderboard import details, explore, items, reference
from leaderboard.intake import HANDED_ON, CheckedReads, Intake, SubmissionError, SubmissionMeta
from leaderboard.items import ItemStats
from leaderboard.reproduce import SELF_REPORTED, Reproductions
from leaderboard.records import SCORED_STATUSES, Column, RowReview, Source, SubmissionStatus
from leaderboard.review import Reviews
from leaderboard.store import Store
from leaderboard.worker import Worker
from release.built import load_questions, provenance

if TYPE_CHECKING:
    from judge.outbound import Resolver
    from leaderboard.integrity import Finding
    from leaderboard.mirror import HubMirror
    from release.hub import ShardImages

log = logging.getLogger(__name__)

PAPER_CSV = Path(__file__).with_name("paper_results.csv")


class Leaderboard:
    """Submissions, their scoring in background lanes, and the board built from them.

    Every tunable number comes from `settings` (default: `Settings()`, not the environment); the
    runtime collaborators (judge and audit endpoints, mirror, remote images) are given as such."""

    def __init__(self, home: Path, data_dir: Path, settings: Settings | None = None, *,
                 endpoint: Endpoint | None = None, audit: Endpoint | None = None,
                 mirror: "HubMirror | None" = None, images: "ShardImages | None" = None,
                 paper_csv: Path | None = None, store_wait_s: float = 30.0,
                 resolve: "Resolver | None" = None) -> None:
        self.settings = settings if settings is not None else Settings()
        self.home = Path(home)
        self.data_dir = Path(data_dir)
        self.images = images  # remote images for the explorer when the build has no local shards
        self.endpoint = endpoint if endpoint is not None and endpoint.configured else None
        self.mirror = mirror
        self.store = Store(self.home / "leaderboard.sqlite", busy_timeout=store_wait_s)
        self.cache_path = self.home / "judge_cache.sqlite"
        self.questions = load_questions(self.data_dir)
        self.dataset = provenance(self.data_dir)
        self._paper_csv = paper_csv or PAPER_CSV
        self._paper = board_logic.paper_frame(self._paper_csv)
        self._reference = board_logic.frame(reference.reference_records(self.questions, self.dataset))
        self.reviews = Reviews(self.store, self.questions, self.details_path, audit=audit,
                               sample=self.settings.audit_sample, tolerance=self.settings.audit_tolerance,
                               cache_path=self.cache_path, concurrency=self.settings.judge_concurrency,
                               retry_s=self.settings.retry_failed_after_s,
                               item_tolerance=self.settings.audit_item_tolerance)
        checked_reads = CheckedReads(HANDED_ON)  # a file checked at the submit is parsed once, not twice
        self.reproductions = Reproductions(self.store, self.questions, self.details_path, self.settings,
                                           home=self.home, data_dir=self.data_dir, images=images,
                                           judge_endpoint=self.endpoint, cache_path=self.cache_path, resolve=resolve)
        self.worker = Worker(self.store, self.questions, self.dataset, self.reviews, self.settings,
                             endpoint=self.endpoint, cache_path=self.cache_path, details_path=self.details_path,
                             on_written=self._publish, on_serving=self._backfill_mirror, checked_reads=checked_reads,
                             reproductions=self.reproductions)
        self.intake = Intake(self.store, self.questions, self.settings, paper_models=self._paper[Column.MODEL].tolist(),
                             judged=self.endpoint is not None, on_queued=self.worker.wake, checked_reads=checked_reads)
        self._board_lock = threading.Lock()
        self._board: tuple[int, pd.DataFrame] | None = None
        self._records_made: dict[str, tuple[int, dict]] = {}  # id -> (hash of its results text, board row)
        self._items: tuple[int, list[ItemStats]] | None = None

    @property
    def max_file_bytes(self) -> int:
        """The largest upload accepted (the Space tells Gradio, which refuses bigger ones as they stream)."""
        return self.settings.max_file_bytes

    def submit(self, file_path: Path, meta: SubmissionMeta, submitter: str, client: str | None = None, *,
               given_up: bool = False, blind: Path | None = None, circular: Path | None = None) -> dict:
        """Check a predictions file and its metadata, then queue it (`Intake.submit`); nothing is judged here."""
        return self.intake.submit(file_path, meta, submitter, client, given_up=given_up, blind=blind,
                                  circular=circular)

    # -- the worker ------------------------------------------------------------------------

    def start(self) -> None:
        """Take the home's lease (or watch for it) and run the lanes while it is held; check kept uploads."""
        self.worker.start()
        self.intake.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the checks and the lanes, give the lease up and push what the mirror has left."""
        self.intake.stop(timeout)
        self.worker.stop(timeout)
        self.store.close()
        if self.mirror is not None:
            try:
                self.mirror.stop()
            except Exception as err:  # noqa: BLE001 - the store keeps everything; the next run pushes
                log.warning("final mirror push failed: %s", type(err).__name__)

    @property
    def serving(self) -> bool:
        """True while this process holds the lease and runs the lanes."""
        return self.worker.serving

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is left to score for now (`Worker.wait_idle`)."""
        return self.worker.wait_idle(timeout)

    # -- the mirror ------------------------------------------------------------------------

    def _backfill_mirror(self) -> None:
        """Give a mirror configured after submissions were scored their results (once each)."""
        if self.mirror is None:
            return
        missing = [s.id for s in self.store.statuses() if s.status in SCORED_STATUSES and not self.mirror.has(s.id)]
        for submission_id in missing:
            self._publish(submission_id, with_board=False)
        if missing:
            self._mirror_board()

    def _mirror_board(self) -> None:
        try:
            self.mirror.write_board(self.board())
        except Exception as err:  # noqa: BLE001 - the mirror is a copy; the store stays the truth
            log.warning("mirror update failed: %s", type(err).__name__)

    def _publish(self, submission_id: str, with_board: bool = True) -> None:
        """Copy a submission's record, results, review state and details (consent applied) to the mirror."""
        if self.mirror is None:
            return
        try:
            review, record = self.reviews.states().get(submission_id), self.store.record(submission_id)
            self.mirror.record(submission_id, record.public() if record else {},
                               self._results_document(submission_id), review=review.to_dict() if review else None)
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
        return record is None or record.public_details

    def details_path(self, submission_id: str) -> Path:
        """Where the worker writes a submission's per-question details (`leaderboard.details`)."""
        return self.home / "details" / f"{submission_id}{details.SUFFIX}"

    def status(self, submission_id: str | None = None) -> list[dict]:
        """Submissions, newest first (or the one asked for), with the uploads waiting to be checked
        (status `checking`, `ahead`: how many wait before it) and those refused after it (`refused`,
        the reason in `error`). While the store cannot write, queued and running ones say why in `error`."""
        rows = [record.status_fields() for record in self.store.statuses(submission_id)]
        ahead = {submission_id: position for position, submission_id in enumerate(self.store.waiting_ids())}
        states = self.reviews.states()
        reproductions = self.reproductions.views()
        for row in rows:
            state = states.get(row["id"]) or RowReview()
            if row["id"] in ahead:
                row["ahead"] = ahead[row["id"]]
            row.update(audit=state.audit, review=state.review or state.audit_error, audit_summary=state.audit_summary,
                       moderation=state.moderation, moderation_reason=state.moderation_reason,
                       integrity=state.integrity, integrity_reason=state.integrity_reason)
            reproduction = reproductions.get(row["id"], SELF_REPORTED)
            row.update(reproduction=reproduction.label, reproduction_reason=reproduction.reason,
                       runner_model=reproduction.runner_model)
        trouble = self.worker.trouble()
        if trouble:
            for row in rows:
                cause = trouble.get(row["id"]) or trouble.get(None)
                if cause and row["status"] in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
                    row["error"] = (f"the server cannot write right now ({cause}); the work is kept "
                                    "and retried until it can")
        return rows

    def scores(self, submission_id: str) -> Results | None:
        """The results of a scored (or awaiting) submission, typed (the stored document's version checked), with
        its reproduction; `.to_dict()` is the JSON the mirror publishes."""
        document = self.store.results(submission_id)
        if not document:
            return None
        results = Results.from_dict(document)
        results.reproduction = self.reproductions.results(submission_id)
        return results

    def reproduction(self, submission_id: str) -> tuple[Reproduction, list[ItemResult]]:
        """A submission's reproduction and the runner's scored answers to its sample (Explore's evidence)."""
        return self.reproductions.results(submission_id), self.reproductions.runner_items(submission_id)

    def _results_document(self, submission_id: str) -> dict:
        """The stored results document with the submission's reproduction, as the mirror publishes it."""
        document = self.store.results(submission_id) or {}
        return {**document, "reproduction": asdict(self.reproductions.results(submission_id))} if document else {}

    def best_blind(self) -> tuple[str, BlindResults] | None:
        """The visible submission on the served build whose blind run answers most MCQs right: how much
        of the benchmark the text alone answers (the About tab shows it per dimension). Read off the
        board, so only that one submission's results are parsed."""
        frame = self.board()
        mine = frame[(frame[Column.SOURCE] == Source.SCORED) & (frame[Column.BUILD] == (self.dataset.fingerprint or ""))
                     & frame[Column.BLIND_MCQ].notna()]
        if mine.empty:
            return None
        best = mine.loc[mine[Column.BLIND_MCQ].idxmax()]
        results = self.scores(best[Column.ID])
        return (best[Column.MODEL], results.blind) if results is not None and results.blind is not None else None

    # -- the operator ----------------------------------------------------------------------

    def moderate(self, submission_id: str, state: str, reason: str, actor: str) -> None:
        """Flag, hide or restore (`visible`) a submission with a public reason; the board, the status
        and the mirror show it at once."""
        self.reviews.moderate(submission_id, state, reason, actor)
        log.info("moderation: %s set %s to %s (%s)", actor, submission_id, state, reason)
        self._publish(submission_id)

    def clear_review(self, submission_id: str, actor: str) -> None:
        """Accept an audited submission held for review: it is ranked again."""
        self.reviews.clear_review(submission_id)
        log.info("moderation: %s cleared the review of %s", actor, submission_id)
        self._publish(submission_id)

    def rescore(self, submission_id: str, actor: str) -> None:
        """Score a stored submission again with the current extraction, screen and judge (its previous
        results are kept; answers already judged come from the cache, with no judge call)."""
        if self.store.record(submission_id) is None:
            raise SubmissionError(f"No submission with id {submission_id}.")
        self.store.archive_results(submission_id, f"rescored by {actor}")
        self.store.forget_answers(submission_id)
        if not self.store.requeue((*SCORED_STATUSES, SubmissionStatus.FAILED), submission_id):
            raise SubmissionError(f"{submission_id} is queued or running; rescore it once it is scored.")
        log.info("rescore: %s queued %s again", actor, submission_id)
        self.worker.wake()

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
        for record in self.store.statuses():
            if record.status not in SCORED_STATUSES or record.id in hidden:
                continue
            scores = self.scores(record.id)
            path = self.details_path(record.id)
            if scores is None or scores.dataset.fingerprint != self.dataset.fingerprint or not details.exists(path):
                continue
            responses[record.id] = {item.id: bool(item.correct) for item in details.read_details(path)
                                    if item.question_type == "mcq" and item.status is not ItemStatus.MISSING}
        stats = items.analyse(responses)
        with self._board_lock:
            self._items = (version, stats)
        return stats

    def findings(self, submission_id: str) -> list["Finding"]:
        """What the copy checks found about a submission, with the questions that show it (held first)."""
        return self.reviews.findings(submission_id)

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
                scored, holds = self._reproduced(board_logic.frame(self._records(hidden)), self.reviews.holds(states))
                frames = [f for f in (self._paper, scored, self._reference) if not f.empty]
                self._board = (version, board_logic.rank(pd.concat(frames, ignore_index=True), self.dataset,
                                                         holds=holds))
            return self._board[1].copy()

    def _reproduced(self, scored: pd.DataFrame, holds: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
        """The submissions' rows with their reproduction (column and agreement), and the holds with the rows a
        reproduction keeps unranked added (both reasons when a row is held twice)."""
        views = self.reproductions.views()
        shown = {submission_id: (view.label, view.agreement) for submission_id, view in views.items()}
        merged = dict(holds)
        for submission_id, why in self.reproductions.holds(list(scored[Column.ID]), views).items():
            merged[submission_id] = f"{merged[submission_id]}; {why}" if submission_id in merged else why
        return board_logic.with_reproduction(scored, shown, SELF_REPORTED.label), merged
