"""The results document: what the judge writes for one submission and every reader consumes.

One typed shape for the command line's summary, the Space's result card, the board and the Hub
mirror. It travels as JSON (`to_dict`/`from_dict`); reading checks `results_version`, so a
document of an unknown version is refused instead of half-read.
"""
from __future__ import annotations

import copy
import gzip
import json
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import BinaryIO, Iterable

from core.files import atomic_write

RESULTS_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)  # older versions lack later fields, which read as their defaults
ITEM_VERSION = 2  # the lines of a details file; version 1 lines (no `item_version`) are read too


class ResultsError(ValueError):
    """A results document this code cannot read."""


@dataclass
class McqGroup:
    n: int
    correct: int
    accuracy: float | None


@dataclass
class OpenGroup:
    n: int
    judged: int
    score: float | None


@dataclass
class McqResults:
    n: int
    answered: int
    correct: int
    accuracy: float | None
    unparsed: int
    unparsed_rate: float | None
    missing: int
    ci95: list[float] | None
    by_dimension: dict[str, McqGroup]
    by_medical_intelligence: dict[str, McqGroup]
    by_modality: dict[str, McqGroup]
    by_organ_system: dict[str, McqGroup]
    extraction_version: str = ""
    not_answered: int = 0  # empty outputs and tools' failure markers (scored as wrong)


@dataclass
class OpenResults:
    n: int
    judged: int
    failed: int
    awaiting: int
    empty: int
    score: float | None
    ci95: list[float] | None
    criteria: dict[str, float | None]
    by_dimension: dict[str, OpenGroup]
    by_medical_intelligence: dict[str, OpenGroup]
    by_modality: dict[str, OpenGroup]
    by_organ_system: dict[str, OpenGroup]
    flagged: int = 0  # answers with spans that addressed the grader: cut out, the rest judged
    not_answered: int = 0  # empty outputs and tools' failure markers: never sent to a judge, scored 0

    @property
    def all_empty(self) -> bool:
        """No open answer was given at all (the Open score would only measure absence)."""
        return bool(self.n) and self.empty == self.n


@dataclass
class Coverage:
    expected: int
    given: int
    missing: int
    unknown: int = 0
    missing_ids: list[str] = field(default_factory=list)
    not_answered: int = 0  # given, but empty or a tool's failure marker
    normalised: int = 0  # outputs from which chat-template format or reasoning blocks were removed


@dataclass
class JudgeInfo:
    host: str | None
    model: str | None
    prompt_version: str
    temperature: float
    json_mode: bool | None
    concurrency: int
    calls: int
    cached: int
    tokens: dict[str, int]
    reasks: int = 0  # replies without one readable verdict, asked again with a fresh nonce
    screen_version: str = ""  # the answer screen that cut spans addressing the grader
    normalisation_version: str = ""  # the answer normalisation applied before anything read an answer
    engine: str = "online"  # how verdicts were asked: online calls, batch-api or batch-file (judge.batch)


@dataclass
class DatasetInfo:
    """The build a submission was scored on: comparable rows share its fingerprint."""

    fingerprint: str | None = None
    source: str | None = None
    revision: str | None = None
    sha256: str | None = None
    questions: int | None = None
    official: bool = False  # built from the pinned official release (by its sha256)


@dataclass
class CircularResults:
    """MCQ asked in the five rotations of its options (CircularEval): right only if right in every one."""

    n: int                               # MCQs with at least one rotation answered
    correct: int                         # right in all five rotations
    accuracy: float | None               # circular accuracy, %
    ci95: list[float] | None
    first_rotation_accuracy: float | None  # plain accuracy on the options as published (rotation 0), %
    missing_rotations: int               # rotations with no line (counted as wrong)
    chosen_positions: dict[str, float]   # share of each letter position among the extracted answers, %
    key_positions: dict[str, float]      # share of each letter position holding the key, %


@dataclass
class BlindResults:
    """The same questions asked without their images: how much the text alone answers."""

    n: int                               # MCQs answered in both runs
    accuracy: float | None               # MCQ accuracy without the image, %
    image_gain: float | None             # MCQ accuracy with the image minus without, points, on the same questions
    ci95: list[float] | None             # paired 95% interval of the gain
    by_dimension: dict[str, dict] = field(default_factory=dict)  # dimension -> {n, accuracy, image_gain}


class ReproductionState(StrEnum):
    """Whether a runner the operator trusts re-asked a sample of the submission and got the file's answers."""

    PENDING = "pending"                # a runner serves the named model; re-asked once the file is scored
    RUNNING = "running"                # being re-asked now
    REPRODUCED = "reproduced"          # the runner's answers agree with the file's within the tolerance
    NOT_REPRODUCED = "not_reproduced"  # they do not: held (unranked), the reason on the row
    SELF_REPORTED = "self_reported"    # no runner named, or none this Space trusts serves it
    FAILED = "failed"                  # the runner could not answer; tried again with backoff
    OVER_BUDGET = "over_budget"        # today's budget of runner calls is spent; waits for the next day

    @property
    def label(self) -> str:
        """The words the board and the status show ("not reproduced", "self-reported", ...)."""
        return REPRODUCTION_LABELS[self]


REPRODUCTION_LABELS = {ReproductionState.PENDING: "pending", ReproductionState.RUNNING: "running",
                       ReproductionState.REPRODUCED: "reproduced", ReproductionState.NOT_REPRODUCED: "not reproduced",
                       ReproductionState.SELF_REPORTED: "self-reported",
                       ReproductionState.FAILED: "reproduction failed", ReproductionState.OVER_BUDGET: "over budget"}


@dataclass
class AgreementGroup:
    """MCQ agreement of the file and the runner within one group of the sample (e.g. a dimension)."""

    n: int
    agree: int
    agreement: float | None  # %


@dataclass
class Reproduction:
    """A runner's re-run of a seeded sample chosen after the upload, compared with the file's answers."""

    state: str                               # a ReproductionState value
    runner: str = ""                         # the operator's name for the runner
    model: str = ""                          # the model as the runner serves it (named with the upload)
    reason: str = ""                         # in words: the agreement, why it was held, failed or waits
    sample: list[str] = field(default_factory=list)  # the question ids re-asked
    mcq_n: int = 0                           # sampled MCQs compared (extracted letter against letter)
    mcq_agree: int = 0
    agreement: float | None = None           # MCQ agreement, %
    floor: float | None = None               # the honest floor it is tested against, %
    p_value: float | None = None             # one-sided exact binomial p of the agreement under the floor
    by_dimension: dict[str, AgreementGroup] = field(default_factory=dict)
    open_n: int = 0                          # sampled open answers compared by their judged scores
    open_compared: bool = False              # False without a judge: the open answers were re-asked, not compared
    open_diff: float | None = None           # mean judged score, file minus runner, points (0-100)
    open_ci95: list[float] | None = None     # its paired 95% interval
    open_tolerance: float | None = None      # points the file may exceed the runner (the whole interval) before held
    calls: int = 0                           # questions asked of the runner
    seconds: float | None = None             # how long the re-ask and its comparison took
    finished_at: str = ""                    # UTC, when the comparison was made

    @classmethod
    def from_dict(cls, data: dict) -> "Reproduction":
        """Read a stored reproduction (its `by_dimension` cells typed)."""
        return _read(cls, data, AgreementGroup)


class ItemStatus(StrEnum):
    """What happened to one question of a submission."""

    ANSWERED = "answered"          # MCQ: a letter was extracted
    UNPARSED = "unparsed"          # MCQ: an answer without one clear letter (wrong)
    JUDGED = "judged"              # open: the judge's verdict
    FLAGGED = "flagged"            # open: judged after spans addressing the grader were cut
    FAILED = "failed"              # open: no readable verdict (excluded from the score, counted)
    AWAITING = "awaiting"          # open: waits for a configured judge
    NOT_ANSWERED = "not_answered"  # empty, or a tool's failure marker: never judged, scored as wrong / 0
    MISSING = "missing"            # no line for the question: scored as wrong / 0


_LEGACY_STATUS = {"empty": ItemStatus.NOT_ANSWERED}


@dataclass
class ItemResult:
    """One line of a submission's details file: the outcome of one question and how it was reached."""

    id: str
    question_type: str
    status: ItemStatus
    dimension: str | None = None
    prediction: str | None = None          # the model's output as submitted
    answer: str | None = None              # MCQ: the key's letter
    extracted: str | None = None           # MCQ: the letter read from the output
    correct: bool | None = None            # MCQ
    criteria: dict[str, float] | None = None  # open: the four criteria, 0-100
    score: float | None = None             # open: the weighted score, 0-100
    rationale: str | None = None
    raw: str | None = None                 # the judge's reply
    error: str | None = None               # why judging failed, or why the output is no answer
    flags: list[str] = field(default_factory=list)          # spans cut because they addressed the grader
    normalisation: list[str] = field(default_factory=list)  # format removed before reading
    cached: bool = False
    audit: dict | None = None              # a second judge's verdict on this item, when audited
    item_version: int = ITEM_VERSION

    @property
    def scored(self) -> bool:
        """An open item whose score counts in the mean (judged, flagged, not answered or missing)."""
        return self.score is not None

    def to_dict(self) -> dict:
        """The JSON-ready line: every field, so readers of the file find the same keys on every line.
        Copied field by field (`dataclasses.asdict` recurses into every value: over half of writing a
        full-size submission's details went there)."""
        line = {name: getattr(self, name) for name in _ITEM_FIELDS}
        line.update(status=self.status.value, flags=list(self.flags), normalisation=list(self.normalisation),
                    criteria=dict(self.criteria) if self.criteria is not None else None,
                    audit=copy.deepcopy(self.audit) if self.audit is not None else None)
        return line

    @classmethod
    def from_dict(cls, line: dict) -> "ItemResult":
        """Read one details line (version 1 or 2); raises ResultsError for a broken one."""
        if not isinstance(line, dict):
            raise ResultsError(f"a details line is a JSON object, not {type(line).__name__}")
        version = line.get("item_version", 1)
        if version not in (1, ITEM_VERSION):
            raise ResultsError(f"item_version {version!r}: this code reads versions 1 and {ITEM_VERSION}")
        values = {item.name: line[item.name] for item in fields(cls) if item.name in line}
        status = line.get("status")
        try:
            values["status"] = _LEGACY_STATUS.get(status) or ItemStatus(status)
            if version == 1 and line.get("flag"):
                values["flags"] = [line["flag"]]
            values["item_version"] = ITEM_VERSION
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise ResultsError(f"details line {line.get('id')!r}: {error}") from None


_ITEM_FIELDS = tuple(item.name for item in fields(ItemResult))


def write_details(path: Path, items: Iterable[ItemResult]) -> Path:
    """The one writer of the details format: a JSON line per item, gzip-compressed (level 1: model outputs
    shrink several times for a few milliseconds per MiB) when `path` ends in `.gz`; replaced whole, so a
    reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def lines(out: BinaryIO) -> None:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) if path.name.endswith(".gz") \
                else nullcontext(out) as stream:
            for item in items:
                stream.write(json.dumps(item.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n")
    return atomic_write(path, lines)


@dataclass
class Results:
    mcq: McqResults
    open: OpenResults
    coverage: Coverage
    judge: JudgeInfo
    dataset: DatasetInfo
    mcq_only: bool = False
    results_version: int = RESULTS_VERSION
    items: list[ItemResult] | None = field(default=None, repr=False, compare=False)  # in memory only: the details
    circular: CircularResults | None = None  # when the MCQs were also asked in all rotations
    blind: BlindResults | None = None        # when a blind run of the same model came with it
    reproduction: Reproduction | None = None  # the leaderboard's re-run of a sample by a trusted runner

    def to_dict(self) -> dict:
        """The JSON-ready document (`results.json`)."""
        document = {"results_version": self.results_version, "mcq_only": self.mcq_only,
                    **{name: asdict(getattr(self, name)) for name in ("mcq", "open", "coverage", "judge", "dataset")}}
        for name in ("circular", "blind", "reproduction"):
            if getattr(self, name) is not None:
                document[name] = asdict(getattr(self, name))
        return document

    @classmethod
    def from_dict(cls, document: dict) -> "Results":
        """Read a stored document; raises ResultsError for an unknown version or a broken shape."""
        if not isinstance(document, dict):
            raise ResultsError(f"a results document is a JSON object, not {type(document).__name__}")
        version = document.get("results_version")
        if version not in READABLE_VERSIONS:
            raise ResultsError(f"results_version {version!r}: this code reads versions {READABLE_VERSIONS}")
        try:
            return cls(mcq=_read(McqResults, document["mcq"], McqGroup),
                       open=_read(OpenResults, document["open"], OpenGroup),
                       coverage=_read(Coverage, document["coverage"]),
                       judge=_read(JudgeInfo, document["judge"]),
                       dataset=_read(DatasetInfo, document.get("dataset") or {}),
                       mcq_only=bool(document.get("mcq_only", False)), results_version=RESULTS_VERSION,
                       circular=_read(CircularResults, document["circular"]) if document.get("circular") else None,
                       blind=_read(BlindResults, document["blind"]) if document.get("blind") else None,
                       reproduction=Reproduction.from_dict(document["reproduction"])
                       if document.get("reproduction") else None)
        except (KeyError, TypeError) as error:
            raise ResultsError(f"results document (version {version}) is missing or mistypes {error}") from None


@cache
def _names(kind: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(kind))


def _read(kind: type, data: dict, group: type | None = None):
    """A dataclass from its dict; `by_*` breakdowns become dicts of `group` cells."""
    values = {name: data[name] for name in _names(kind) if name in data}
    if group is not None:
        for name in values:
            if name.startswith("by_"):
                values[name] = {key: group(**cell) for key, cell in values[name].items()}
    return kind(**values)


def _schema_rows(kind: type, prefix: str) -> list[str]:
    rows = []
    hints = {item.name: item.type for item in fields(kind)}
    for item in fields(kind):
        kind_of = {"mcq": McqResults, "open": OpenResults, "coverage": Coverage, "judge": JudgeInfo,
                   "dataset": DatasetInfo, "circular": CircularResults, "blind": BlindResults,
                   "reproduction": Reproduction}.get(item.name) if kind is Results else None
        if item.name == "items":
            continue
        if kind_of is not None:
            rows += _schema_rows(kind_of, f"{prefix}{item.name}.")
        else:
            shown = str(hints[item.name]).replace("|", "\\|")  # a pipe would end the Markdown cell
            rows.append(f"| `{prefix}{item.name}` | `{shown}` |")
    return rows


def schema_markdown() -> str:
    """The results document's keys and types, and a details line's, made from the dataclasses
    (tests/test_docs.py keeps the docs equal to this)."""
    lines = [f"`results.json` (version {RESULTS_VERSION}):", "", "| key | type |", "|---|---|",
             *_schema_rows(Results, ""), "", f"A line of a details file (`item_version` {ITEM_VERSION}); `status` is one "
             f"of {', '.join(f'`{status.value}`' for status in ItemStatus)}:", "", "| key | type |", "|---|---|",
             *_schema_rows(ItemResult, "")]
    return "\n".join(lines) + "\n"
