"""A second judge audits the first: the defence that does not depend on guessing phrasings.

An answer can talk a gullible judge into full marks in ways no screen foresees. A second judge
(another model, its own endpoint) re-scores a seeded random sample of each submission's judged
open items, reading exactly what the primary judge read (`judge.screen.judge_input`). If the
primary's scores exceed the audit's by more than a tolerance, beyond the noise of two honest
judges, the submission is held for review. Across all audited items, the two judges' agreement
(weighted kappa and Spearman per criterion, mean difference with its interval) says how far the
Open column can be trusted.
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import fmean, stdev

from core.results import ItemResult, ItemStatus
from core.vocabulary import CRITERION_KEYS, weighted_score

from .cache import VerdictCache, cache_key
from .endpoint import Endpoint
from .llm import JUDGE_PROMPT_VERSION, RAW_MAX, JudgeCall
from .report import Z95
from .score import judge_all, run_async
from .screen import JudgeInput, judge_input

AUDITED = (ItemStatus.JUDGED, ItemStatus.FLAGGED)


class AuditError(RuntimeError):
    """The audit could not finish (its endpoint failed some items); what it judged stays cached."""


@dataclass
class AuditSummary:
    """One submission's audit: the paired difference primary − audit and the agreement per criterion."""

    n: int
    audit_model: str
    prompt_version: str
    primary_mean: float | None
    audit_mean: float | None
    mean_diff: float | None
    ci95: list[float] | None
    tolerance: float
    under_review: bool
    criteria: dict[str, dict] = field(default_factory=dict)  # key -> {mean_diff, kappa}
    spearman: float | None = None
    pairs: list[dict] = field(default_factory=list)  # {"id", "primary": {...}, "audit": {...}} criteria 0-100

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "AuditSummary":
        return cls(**data)

    @property
    def reason(self) -> str:
        """Why the row is held (for the board and the status), or ""."""
        if not self.under_review:
            return ""
        low, high = self.ci95
        return (f"under review: the primary judge scores this submission {self.mean_diff:.1f} points above the "
                f"audit judge ({self.audit_model}) on {self.n} audited answers (95% CI {low:.1f} to {high:.1f}; "
                f"tolerance {self.tolerance:g})")


def sample_ids(items: list[ItemResult], seed: str, minimum: int, fraction: float) -> list[str]:
    """A seeded random sample of the judged open items: max(`minimum`, `fraction`) of them, at most all."""
    judged = sorted(item.id for item in items if item.question_type == "open" and item.status in AUDITED
                    and item.criteria)
    size = min(len(judged), max(minimum, math.ceil(fraction * len(judged))))
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))
    return sorted(rng.sample(judged, size))


def paired_interval(differences: list[float]) -> tuple[float, float, float]:
    """Mean of paired differences and its normal 95% interval (0 wide for fewer than two)."""
    mean = fmean(differences)
    if len(differences) < 2:
        return mean, mean, mean
    half = Z95 * stdev(differences) / math.sqrt(len(differences))
    return mean, mean - half, mean + half


def weighted_kappa(a: list[int], b: list[int], categories: int = RAW_MAX + 1) -> float | None:
    """Cohen's kappa with quadratic weights for two raters' grades 0..categories-1; None when undefined."""
    if not a or len(a) != len(b):
        return None
    n = len(a)
    weight = [[(i - j) ** 2 / (categories - 1) ** 2 for j in range(categories)] for i in range(categories)]
    observed = sum(weight[x][y] for x, y in zip(a, b)) / n
    count_a = [a.count(k) / n for k in range(categories)]
    count_b = [b.count(k) / n for k in range(categories)]
    expected = sum(weight[i][j] * count_a[i] * count_b[j] for i in range(categories) for j in range(categories))
    return None if expected == 0 else 1 - observed / expected


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    position = 0
    while position < len(order):
        end = position
        while end + 1 < len(order) and values[order[end + 1]] == values[order[position]]:
            end += 1
        for index in order[position:end + 1]:
            ranks[index] = (position + end) / 2 + 1
        position = end + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when either side is constant."""
    if len(a) < 2 or len(a) != len(b):
        return None
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = fmean(ra), fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va, vb = sum((x - ma) ** 2 for x in ra), sum((y - mb) ** 2 for y in rb)
    return None if va == 0 or vb == 0 else cov / math.sqrt(va * vb)


def _grade(value: float) -> int:
    return max(0, min(RAW_MAX, round(value * RAW_MAX / 100)))


def agreement(pairs: list[dict]) -> dict:
    """Agreement of the two judges over item pairs: per criterion weighted kappa, Spearman and mean
    difference (primary − audit) with its 95% interval; the same for the weighted item score."""
    if not pairs:
        return {"n": 0, "criteria": {}, "score": None}
    out: dict = {"n": len(pairs), "criteria": {}}
    for key in CRITERION_KEYS:
        primary = [pair["primary"][key] for pair in pairs]
        audit = [pair["audit"][key] for pair in pairs]
        mean, low, high = paired_interval([p - a for p, a in zip(primary, audit)])
        out["criteria"][key] = {"kappa": weighted_kappa([_grade(v) for v in primary], [_grade(v) for v in audit]),
                                "spearman": spearman(primary, audit), "mean_diff": mean, "ci95": [low, high]}
    primary = [weighted_score(pair["primary"]) for pair in pairs]
    audit = [weighted_score(pair["audit"]) for pair in pairs]
    mean, low, high = paired_interval([p - a for p, a in zip(primary, audit)])
    out["score"] = {"spearman": spearman(primary, audit), "mean_diff": mean, "ci95": [low, high]}
    return out


def summarise(pairs: list[dict], audit_model: str, tolerance: float) -> AuditSummary:
    """The per-submission summary: held for review when the whole 95% interval of primary − audit
    lies above `tolerance` (the primary is more generous than two honest judges would disagree)."""
    if not pairs:
        return AuditSummary(0, audit_model, JUDGE_PROMPT_VERSION, None, None, None, None, tolerance, False)
    found = agreement(pairs)
    primary = [weighted_score(pair["primary"]) for pair in pairs]
    audit = [weighted_score(pair["audit"]) for pair in pairs]
    low, high = found["score"]["ci95"]
    return AuditSummary(
        n=len(pairs), audit_model=audit_model, prompt_version=JUDGE_PROMPT_VERSION,
        primary_mean=round(fmean(primary), 4), audit_mean=round(fmean(audit), 4),
        mean_diff=round(found["score"]["mean_diff"], 4), ci95=[round(low, 4), round(high, 4)],
        tolerance=tolerance, under_review=len(pairs) >= 2 and low > tolerance,
        criteria={key: {"mean_diff": round(v["mean_diff"], 4), "kappa": v["kappa"]}
                  for key, v in found["criteria"].items()},
        spearman=found["score"]["spearman"], pairs=pairs)


def audit_items(items: list[ItemResult], questions: dict[str, dict], endpoint: Endpoint, *, seed: str,
                sample: tuple[int, float], tolerance: float, cache_path: Path | None = None,
                concurrency: int = 8) -> tuple[AuditSummary, dict[str, dict]]:
    """Re-score the sample with the audit judge; (summary, item id -> audit verdict for the details).

    Raises AuditError when any sampled item gets no verdict (verdicts judged so far are cached,
    so a later try asks only for the rest)."""
    chosen = set(sample_ids(items, seed, *sample))
    by_id = {item.id: item for item in items if item.id in chosen}
    cache = VerdictCache(cache_path) if cache_path else None
    verdicts: dict[str, dict] = {}
    work: list[tuple[dict, JudgeInput]] = []
    try:
        for item_id in sorted(chosen):
            question, prepared = questions[item_id], judge_input(by_id[item_id].prediction or "")
            cached = cache.get(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text)) \
                if cache else None
            if cached:
                verdicts[item_id] = cached
            else:
                work.append((question, prepared))
        failures: list[str] = []

        def on_done(question: dict, prepared: JudgeInput, call: JudgeCall) -> None:
            if call.criteria is None:
                failures.append(f"{question['id']}: {call.error}")
                return
            verdict = {"criteria": call.criteria, "rationale": call.rationale, "model": endpoint.model}
            verdicts[question["id"]] = verdict
            if cache:
                cache.put(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text), endpoint.model,
                          JUDGE_PROMPT_VERSION, question["id"], verdict)

        if work:
            run_async(judge_all(endpoint, work, concurrency, on_done))
    finally:
        if cache:
            cache.close()
    if failures:
        raise AuditError(f"{len(failures)} of {len(chosen)} audited answers got no verdict "
                         f"(first: {failures[0]})")
    pairs = [{"id": item_id, "primary": by_id[item_id].criteria, "audit": verdicts[item_id]["criteria"]}
             for item_id in sorted(chosen)]
    return summarise(pairs, endpoint.model, tolerance), verdicts
