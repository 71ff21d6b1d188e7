"""Whether a row can be trusted: the audit judge's verdict and the operator's word on it.

A submission's open scores are audited by a second judge after they are written (never before:
the primary result and the MCQ lane never wait for it). A submission the primary judge scores
clearly above the audit is **under review**: unranked, with the reason on its row, until the
operator clears it. The operator can also flag a row (shown unranked, with a public reason),
hide it (off the board; its status says why) and restore it. The board, the status API and the
mirror all read these states from here.
"""
from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from core.results import ItemStatus, Results
from judge.answers import normalise_answer
from judge.audit import AuditError, AuditSummary, agreement, audit_items
from judge.endpoint import Endpoint
from leaderboard import details
from leaderboard.details import read_details, write_open
from leaderboard.integrity import MIN_ROWS, Answers, Finding, Population, Questions
from leaderboard.items import suspect_mask
from leaderboard.records import RowReview
from leaderboard.store import (AUDIT_DONE, AUDIT_PENDING, FLAGGED, HIDDEN, INTEGRITY_CLEAR, INTEGRITY_HELD,
                               INTEGRITY_NOTED, MODERATION_STATES, REVIEW_CLEARED, UNDER_REVIEW, VISIBLE, Store)

log = logging.getLogger(__name__)

OPEN_KEPT_CHARS = 4000  # of each open answer, for the copy checks (a copy shows in its first paragraphs)
AUDIT_RETRY_S = 60.0  # first retry of a failed audit; doubles per failure
AUDIT_RETRY_MAX_S = 6 * 3600.0


class ReviewError(ValueError):
    """A moderation request that cannot be carried out (unknown submission, state or empty reason)."""


class Reviews:
    """The audit lane's work and the moderation states of the board's rows."""

    def __init__(self, store: Store, questions: list[dict], details_path: Callable[[str], Path], *,
                 audit: Endpoint | None, sample: tuple[int, float], tolerance: float, cache_path: Path | None,
                 concurrency: int = 8, retry_s: float = AUDIT_RETRY_S, item_tolerance: float | None = None) -> None:
        self.store = store
        self.questions = {q["id"]: q for q in questions}
        self._integrity_questions = Questions.from_rows(questions)
        self.details_path = details_path
        self.audit = audit if audit is not None and audit.configured else None
        self.sample, self.tolerance, self.item_tolerance = sample, tolerance, item_tolerance
        self.cache_path, self.concurrency, self.retry_s = cache_path, concurrency, retry_s

    # -- the audit -----------------------------------------------------------------------

    def request(self, submission_id: str, results: Results) -> bool:
        """Queue the audit of a submission whose open answers were judged; True when queued."""
        judged = results.items is not None and any(item.status in (ItemStatus.JUDGED, ItemStatus.FLAGGED)
                                                   for item in results.items)
        if self.audit is None or not judged:
            return False
        self.store.request_audit(submission_id)
        return True

    def run(self, submission_id: str) -> AuditSummary | None:
        """Audit one submission now; a failing audit endpoint leaves it pending (retried with backoff)."""
        path = self.details_path(submission_id)
        before = self.store.audits().get(submission_id, {}).get("summary")
        try:
            items = read_details(path)
            summary, verdicts = audit_items(
                items, self.questions, self.audit, seed=submission_id, sample=self.sample, tolerance=self.tolerance,
                item_tolerance=self.item_tolerance, norms=self.norms(submission_id),
                everything=bool(before and AuditSummary.from_dict(before).escalation),
                on_escalate=lambda partial: self.store.escalate_audit(submission_id, partial.to_dict()),
                cache_path=self.cache_path, concurrency=self.concurrency)
        except (AuditError, OSError, ValueError) as error:
            attempts = self.store.audits().get(submission_id, {}).get("attempts", 0)
            wait = min(self.retry_s * 2 ** attempts, AUDIT_RETRY_MAX_S)
            self.store.audit_failed(submission_id, f"audit not finished: {error}; tried again in {wait:g} s",
                                    time.time() + wait)
            log.warning("audit of %s not finished: %s", submission_id, type(error).__name__)
            return None
        for item in items:
            if item.id in verdicts:
                item.audit = verdicts[item.id]
        write_open(path, items)
        self.store.finish_audit(submission_id, UNDER_REVIEW if summary.under_review else AUDIT_DONE,
                                summary.to_dict())
        return summary

    def norms(self, submission_id: str) -> dict[str, tuple[float, float, int]]:
        """Each open question's usual primary grade over the other submissions: id -> (mean, SD, count)."""
        grades: dict[str, list[float]] = {}
        for row in self.store.scored():
            if row["id"] == submission_id:
                continue
            try:
                opened = details.read_open(self.details_path(row["id"]))
            except (OSError, details.DetailsError):
                continue
            for item in opened:
                if item.score is not None and item.status in (ItemStatus.JUDGED, ItemStatus.FLAGGED):
                    grades.setdefault(item.id, []).append(item.score)
        return {item_id: (float(np.mean(values)), float(np.std(values)), len(values))
                for item_id, values in grades.items()}

    def agreement(self) -> dict:
        """The two judges' agreement over every audited item of every submission (for the About tab)."""
        pairs = [pair for audit in self.store.audits().values() if audit["summary"]
                 for pair in audit["summary"]["pairs"]]
        return agreement(pairs)

    # -- the copy checks -----------------------------------------------------------------

    def check_integrity(self, build: str) -> list[str]:
        """Read every visible row scored on `build` against the others (`leaderboard.integrity`) and keep
        what was found; the ids whose state changed. A new row's answers are read once from its details."""
        read_at = self.store.board_version()
        self._record_answers(build)
        hidden = self.hidden()
        relations = self.store.relations()
        rows = [Answers(row["id"], row["model"], row["submitter"], np.frombuffer(row["letters"], dtype=np.int8),
                        json.loads(gzip.decompress(row["open"])),
                        (relations[row["id"]][1],) if row["id"] in relations else ())
                for row in self.store.answers(build) if row["id"] not in hidden]
        population = Population(self._integrity_questions, rows)
        suspects = suspect_mask(population.right, population.seen) if len(rows) > MIN_ROWS else None
        states = {}
        for index, row in enumerate(rows):
            findings = [f for f in population.check(index, suspects) if f.held or f.reason]
            state = (INTEGRITY_HELD if any(f.held for f in findings) else INTEGRITY_NOTED if findings
                     else INTEGRITY_CLEAR)
            states[row.id] = (state, json.dumps([f.to_dict() for f in findings]))
        return self.store.set_integrity(states, read_at)

    def _record_answers(self, build: str) -> None:
        """Keep the compact answers of scored rows on `build` that have none yet."""
        kept = self.store.answered()
        for row in self.store.scored():
            if row["id"] in kept or json.loads(row["results"]).get("dataset", {}).get("fingerprint") != build:
                continue
            path = self.details_path(row["id"])
            if not details.exists(path):
                continue
            items = read_details(path)
            letters = self._integrity_questions.letters({item.id: item.extracted for item in items
                                                         if item.question_type == "mcq"})
            answers = {item.id: normalise_answer(item.prediction).text[:OPEN_KEPT_CHARS] for item in items
                       if item.question_type == "open" and item.prediction}
            self.store.set_answers(row["id"], build, letters.tobytes(),
                                   gzip.compress(json.dumps(answers).encode(), compresslevel=1))

    def findings(self, submission_id: str) -> list[Finding]:
        """What the copy checks found about a submission (held findings first)."""
        found = self.store.integrity().get(submission_id)
        if found is None:
            return []
        return sorted((Finding.from_dict(f) for f in found["findings"]), key=lambda f: not f.held)

    # -- what the board, the status and the mirror show ---------------------------------

    def states(self) -> dict[str, RowReview]:
        """Submission id -> what the audit, the operator and the copy checks say of it, for rows with any."""
        found: dict[str, RowReview] = {}
        for submission_id, audit in self.store.audits().items():
            summary = AuditSummary.from_dict(audit["summary"]) if audit["summary"] else None
            review = (summary.reason if audit["state"] == UNDER_REVIEW else summary.escalation
                      if audit["state"] == AUDIT_PENDING else "") if summary is not None else ""
            found[submission_id] = RowReview(
                audit=audit["state"], audit_error=audit["error"] if audit["state"] == AUDIT_PENDING else "",
                review=review, audit_summary=None if summary is None else {
                    key: getattr(summary, key) for key in ("n", "audit_model", "mean_diff", "ci95", "tolerance",
                                                           "criteria", "outliers", "full", "primary_open",
                                                           "audited_open")})
        for submission_id, moderated in self.store.moderation().items():
            row = found.setdefault(submission_id, RowReview())
            row.moderation, row.moderation_reason = moderated["state"], moderated["reason"]
        for submission_id, checked in self.store.integrity().items():
            held = [f for f in checked["findings"] if f["held"]]
            state = checked["state"]
            if state == INTEGRITY_HELD and _signature(held) <= set(checked["cleared"].split("\n")):
                state = REVIEW_CLEARED
            row = found.setdefault(submission_id, RowReview())
            row.integrity = state
            row.integrity_reason = "; ".join(f["reason"] for f in (held if state == INTEGRITY_HELD
                                                                    else checked["findings"]))
        return found

    def holds(self, states: dict[str, RowReview] | None = None) -> dict[str, str]:
        """Rows kept unranked and why: under review by the audit, or flagged by the operator."""
        holds = {}
        for submission_id, state in (states if states is not None else self.states()).items():
            reasons = [state.review] if state.review else []
            if state.integrity == INTEGRITY_HELD:
                reasons.append(f"held: {state.integrity_reason}")
            if state.moderation == FLAGGED:
                reasons.append(f"flagged by the operator: {state.moderation_reason}")
            if reasons:
                holds[submission_id] = "; ".join(reasons)
        return holds

    def hidden(self, states: dict[str, RowReview] | None = None) -> set[str]:
        """Rows the operator took off the board."""
        return {i for i, s in (states if states is not None else self.states()).items() if s.moderation == HIDDEN}

    # -- the operator ---------------------------------------------------------------------

    def moderate(self, submission_id: str, state: str, reason: str, actor: str) -> None:
        """Flag, hide or restore (`visible`) a submission with a public reason."""
        if state not in MODERATION_STATES:
            raise ReviewError(f"state must be one of {', '.join(MODERATION_STATES)}, not {state!r}")
        if not (reason or "").strip() and state != VISIBLE:
            raise ReviewError("a public reason is required to flag or hide a submission")
        if self.store.record(submission_id) is None:
            raise ReviewError(f"no submission with id {submission_id!r}")
        self.store.moderate(submission_id, state, " ".join(reason.split())[:300], actor)

    def clear_review(self, submission_id: str) -> None:
        """The operator looked and accepts the row as it is (the primary judge's scores, and what the copy
        checks found so far): it is ranked again. A later finding of another kind or source holds it again."""
        checked = self.store.integrity().get(submission_id)
        held = [f for f in checked["findings"] if f["held"]] if checked else []
        cleared_audit = self.store.set_review(submission_id, REVIEW_CLEARED)
        cleared_copies = bool(held) and self.store.clear_integrity(submission_id, "\n".join(sorted(_signature(held))))
        if not (cleared_audit or cleared_copies):
            raise ReviewError(f"{submission_id!r} has no audit or copy finding to clear")


def _signature(findings: list[dict]) -> set[str]:
    """What an operator's clearance covers: each held finding's check and source."""
    return {f"{finding['check']}|{finding.get('source') or ''}" for finding in findings}
