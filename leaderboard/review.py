"""Whether a row can be trusted: the audit judge's verdict and the operator's word on it.

A submission's open scores are audited by a second judge after they are written (never before:
the primary result and the MCQ lane never wait for it). A submission the primary judge scores
clearly above the audit is **under review**: unranked, with the reason on its row, until the
operator clears it. The operator can also flag a row (shown unranked, with a public reason),
hide it (off the board; its status says why) and restore it. The board, the status API and the
mirror all read these states from here.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from core.results import ItemStatus, Results
from judge.audit import AuditError, AuditSummary, agreement, audit_items
from judge.endpoint import Endpoint
from leaderboard.details import read_details, write_open
from leaderboard.store import (AUDIT_DONE, AUDIT_PENDING, FLAGGED, HIDDEN, MODERATION_STATES, REVIEW_CLEARED,
                               UNDER_REVIEW, VISIBLE, Store)

log = logging.getLogger(__name__)

AUDIT_RETRY_S = 60.0  # first retry of a failed audit; doubles per failure
AUDIT_RETRY_MAX_S = 6 * 3600.0


class ReviewError(ValueError):
    """A moderation request that cannot be carried out (unknown submission, state or empty reason)."""


class Reviews:
    """The audit lane's work and the moderation states of the board's rows."""

    def __init__(self, store: Store, questions: list[dict], details_path: Callable[[str], Path], *,
                 audit: Endpoint | None, sample: tuple[int, float], tolerance: float, cache_path: Path | None,
                 concurrency: int = 8, retry_s: float = AUDIT_RETRY_S) -> None:
        self.store = store
        self.questions = {q["id"]: q for q in questions}
        self.details_path = details_path
        self.audit = audit if audit is not None and audit.configured else None
        self.sample, self.tolerance = sample, tolerance
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
        try:
            items = read_details(path)
            summary, verdicts = audit_items(items, self.questions, self.audit, seed=submission_id,
                                            sample=self.sample, tolerance=self.tolerance,
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

    def agreement(self) -> dict:
        """The two judges' agreement over every audited item of every submission (for the About tab)."""
        pairs = [pair for audit in self.store.audits().values() if audit["summary"]
                 for pair in audit["summary"]["pairs"]]
        return agreement(pairs)

    # -- what the board, the status and the mirror show ---------------------------------

    def states(self) -> dict[str, dict]:
        """Submission id -> {audit, audit_error, review, moderation, moderation_reason} for rows with any."""
        found: dict[str, dict] = {}
        for submission_id, audit in self.store.audits().items():
            summary = AuditSummary.from_dict(audit["summary"]) if audit["summary"] else None
            review = summary.reason if summary is not None and audit["state"] == UNDER_REVIEW else ""
            found[submission_id] = {"audit": audit["state"], "audit_error": audit["error"] if
                                    audit["state"] == AUDIT_PENDING else "", "review": review,
                                    "audit_summary": None if summary is None else {
                                        key: getattr(summary, key) for key in
                                        ("n", "audit_model", "mean_diff", "ci95", "tolerance", "criteria")}}
        for submission_id, moderated in self.store.moderation().items():
            found.setdefault(submission_id, {"audit": "", "audit_error": "", "review": "", "audit_summary": None})
            found[submission_id].update(moderation=moderated["state"], moderation_reason=moderated["reason"])
        for state in found.values():
            state.setdefault("moderation", VISIBLE)
            state.setdefault("moderation_reason", "")
        return found

    def holds(self, states: dict[str, dict] | None = None) -> dict[str, str]:
        """Rows kept unranked and why: under review by the audit, or flagged by the operator."""
        holds = {}
        for submission_id, state in (states if states is not None else self.states()).items():
            reasons = [state["review"]] if state["review"] else []
            if state["moderation"] == FLAGGED:
                reasons.append(f"flagged by the operator: {state['moderation_reason']}")
            if reasons:
                holds[submission_id] = "; ".join(reasons)
        return holds

    def hidden(self, states: dict[str, dict] | None = None) -> set[str]:
        """Rows the operator took off the board."""
        return {i for i, s in (states if states is not None else self.states()).items() if s["moderation"] == HIDDEN}

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
        """The operator looked and accepts the primary judge's scores: the row is ranked again."""
        if not self.store.set_review(submission_id, REVIEW_CLEARED):
            raise ReviewError(f"{submission_id!r} has no audit to clear")
