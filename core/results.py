"""The results document: what the judge writes for one submission and every reader consumes.

One typed shape for the command line's summary, the Space's result card, the board and the Hub
mirror. It travels as JSON (`to_dict`/`from_dict`); reading checks `results_version`, so a
document of an unknown version is refused instead of half-read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

RESULTS_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1 lacks the trust fields, which read as their defaults


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
    flagged: int = 0  # answers that addressed the grader: scored 0 by rule, never by their own verdict

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
class Results:
    mcq: McqResults
    open: OpenResults
    coverage: Coverage
    judge: JudgeInfo
    dataset: DatasetInfo
    mcq_only: bool = False
    results_version: int = RESULTS_VERSION

    def to_dict(self) -> dict:
        """The JSON-ready document (`results.json`)."""
        return {"results_version": self.results_version, "mcq_only": self.mcq_only,
                **{name: asdict(getattr(self, name)) for name in ("mcq", "open", "coverage", "judge", "dataset")}}

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
                       mcq_only=bool(document.get("mcq_only", False)), results_version=RESULTS_VERSION)
        except (KeyError, TypeError) as error:
            raise ResultsError(f"results document (version {version}) is missing or mistypes {error}") from None


def _read(kind: type, data: dict, group: type | None = None):
    """A dataclass from its dict; `by_*` breakdowns become dicts of `group` cells."""
    values = {}
    for item in fields(kind):
        if item.name not in data:
            continue
        value = data[item.name]
        if group is not None and item.name.startswith("by_"):
            value = {key: group(**cell) for key, cell in value.items()}
        values[item.name] = value
    return kind(**values)
