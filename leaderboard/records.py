"""The leaderboard's records and words, stated once: where a board row comes from (`Source`), where a
submission stands (`SubmissionStatus`), the board's column names (`Column`), and the typed records that
cross the store, the reviews, the service and the Space.

The enums are `StrEnum`s whose values are the strings the database, the status API's JSON and the
mirror's files have always held, so typing them changes nothing a user reads.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Mapping


class Source(StrEnum):
    """Where a board row comes from (its "Source" column)."""

    PAPER = "paper"              # the paper's Table 2/3
    SCORED = "scored here"       # a submission scored by this Space's judge
    REFERENCE = "reference"      # a baseline scored on the served build (never ranked)


class SubmissionStatus(StrEnum):
    """Where a submission stands, as the store keeps it and the status API says it."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    AWAITING = "awaiting_judge"  # MCQ scored; open answers wait for a judge
    # An upload taken while every check was busy: checking in turn, then queued or refused with its reason.
    CHECKING = "checking"
    REFUSED = "refused"


# The statuses of a row of the `submissions` table (the other two live in the waiting room).
STORED_STATUSES = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, SubmissionStatus.FINISHED,
                   SubmissionStatus.FAILED, SubmissionStatus.AWAITING)
# The operator's word on a row: shown, shown unranked with a public reason, or off the board.
VISIBLE, FLAGGED, HIDDEN = "visible", "flagged", "hidden"
# A submission whose results are written: on the board, in the explorer, in the mirror.
SCORED_STATUSES = (SubmissionStatus.FINISHED, SubmissionStatus.AWAITING)


class Column:
    """The board's column names (dimensions, criteria and classes are named by their `core.vocabulary` abbr)."""

    RANK = "Rank"
    MODEL = "Model"
    MCQ = "MCQ"
    OPEN = "Open"
    SOURCE = "Source"
    MCQ_CIRCULAR = "MCQ circular"
    BLIND_MCQ = "Blind MCQ"
    IMAGE_GAIN = "Image gain"
    REPRODUCED = "Reproduced"
    AGREEMENT = "Agreement (%)"
    PARAMS = "Params (B)"
    WEIGHTS = "Weights"
    DOMAIN = "Domain"
    SUBMITTED = "Submitted"
    JUDGE = "Judge"
    NOTE = "Note"
    LINK = "Link"
    BAND = "Band"
    MCQ_LOW = "MCQ low"
    MCQ_HIGH = "MCQ high"
    OPEN_BAND = "Open band"
    UNRANKED = "Unranked"
    COVERAGE = "Coverage (%)"
    BUILD = "Build"
    JUDGE_PROMPT = "Judge prompt"
    ID = "Id"
    OPEN_LOW = "Open low"    # the Open interval `rank` reads and drops
    OPEN_HIGH = "Open high"


@dataclass
class McqAgreement:
    """Two submissions' MCQs question by question: who got what right, and the exact McNemar p."""

    n: int
    both_right: int
    only_a: int
    only_b: int
    both_wrong: int
    accuracy_a: float | None   # %, None without shared questions
    accuracy_b: float | None
    diff: float | None         # A − B in accuracy points
    p: float
    significant: bool


@dataclass
class McqComparison(McqAgreement):
    """The MCQ agreement overall, its sentence, the questions exactly one got right, and per dimension."""

    sentence: str
    disagree_ids: list[str]
    by_dimension: dict[str, McqAgreement]


@dataclass
class OpenComparison:
    """Two submissions' open scores over the items scored for both: mean difference, bootstrap interval, sign test."""

    n: int
    paired: int
    unscored: int
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None
    ci95: list[float] | None
    p: float
    significant: bool
    disagree_ids: list[str]
    sentence: str


@dataclass
class Comparison:
    """Question-by-question agreement of two scored submissions (`leaderboard.stats.compare`)."""

    names: list[str]
    shared: int
    only_in_a: int
    only_in_b: int
    mcq: McqComparison
    open: OpenComparison

    def summary(self) -> dict:
        """As the API answers it: every field, with the long id lists as counts (`disagree`)."""
        document = asdict(self)
        for block in (document["mcq"], document["open"]):
            block["disagree"] = len(block.pop("disagree_ids"))
        return document


@dataclass
class RowReview:
    """What the audit, the operator and the copy checks say of one submission's row (`Reviews.states`); a row
    none of them touched reads as the defaults."""

    audit: str = ""                    # the audit's state ("" before one)
    audit_error: str = ""              # why a pending audit did not finish
    review: str = ""                   # why the audit holds the row (or why it escalated)
    audit_summary: dict | None = None  # the audit's figures the status API shows
    moderation: str = VISIBLE          # the operator's word: visible, flagged or hidden
    moderation_reason: str = ""
    integrity: str = ""                # the copy checks' state ("" before a pass read the row)
    integrity_reason: str = ""

    def to_dict(self) -> dict:
        """As the mirror writes it beside the submission's results."""
        return asdict(self)


@dataclass
class SubmissionRecord:
    """One submission as the store keeps it (`Store.record`, `Store.statuses`, a claimed row): its metadata,
    status and progress, typed. An upload still waiting in the check room (checking, or refused after it)
    carries only what the status shows: id, model, submitter, status, error and its times."""

    id: str
    model: str
    submitter: str
    status: SubmissionStatus
    link: str = ""
    weights: str = ""
    medical: bool = False
    params_b: float | None = None
    description: str = ""
    file_name: str = ""
    file_format: str = ""
    file_sha256: str = ""
    coverage: dict = field(default_factory=dict)    # expected, given, missing, unknown, missing_sample
    progress_done: int = 0
    progress_total: int = 0
    error: str = ""
    attempts: int = 0
    created_at: str = ""
    updated_at: str = ""
    public_details: bool = True
    companions: dict[str, dict] = field(default_factory=dict)  # kind -> {sha256, file_name[, path]}
    file_path: Path | None = None                   # where the upload's bytes are (a claimed row)

    @classmethod
    def from_row(cls, row: Mapping, **paths: Any) -> "SubmissionRecord":
        """From a database row (the columns it has), the JSON columns parsed; `paths`: file_path, companions."""
        given = {name: row[name] for name in row.keys() if name in _RECORD_FIELDS}
        for name in ("coverage", "companions"):
            if isinstance(given.get(name), str):
                given[name] = json.loads(given[name] or "{}")
        for name in ("medical", "public_details"):
            if name in given:
                given[name] = bool(given[name])
        return cls(**{**given, "status": SubmissionStatus(given["status"]), **paths})

    def status_fields(self) -> dict:
        """What the status API says of it, before the reviews and the reproduction join it."""
        return {"id": self.id, "model": self.model, "submitter": self.submitter, "status": self.status.value,
                "progress_done": self.progress_done, "progress_total": self.progress_total, "error": self.error,
                "created_at": self.created_at, "updated_at": self.updated_at}

    def public(self) -> dict:
        """The submitter's metadata the mirror publishes (`medical` as the store's 0/1, as it always was)."""
        return {"id": self.id, "model": self.model, "link": self.link, "weights": self.weights,
                "medical": int(self.medical), "params_b": self.params_b, "description": self.description,
                "created_at": self.created_at}


_RECORD_FIELDS = frozenset(f.name for f in fields(SubmissionRecord))
