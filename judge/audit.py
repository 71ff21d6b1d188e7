"""A second judge audits the first: the defence that does not depend on guessing phrasings.

An answer can talk a gullible judge into full marks in ways no screen foresees. A second judge
(another model, its own endpoint) re-scores a sample of each submission's judged open items,
reading exactly what the primary judge read (`judge.screen.judge_input`):

- **what it reads first**: every answer the screen cut something from, every answer whose text
  carries what a person does not write (`unnatural`: long base64 or hex runs, bidi and other format
  characters, letter-spaced words, scripts mixed inside a word), and every answer the primary judge
  graded far above that question's usual grade across submissions; then a seeded random sample of
  the rest, up to max(MIN, FRACTION) of the judged items;
- **per answer**: an answer the primary grades more than `item_tolerance` points above the audit is
  an outlier (two honest judges differ that much on about one answer in 1,500, bench/bench_audit.py).
  One outlier and the audit reads every judged answer of the submission before its row is ranked
  again (the row is held meanwhile);
- **per submission**: held for review when the outliers account for `MATERIAL_POINTS` or more of its
  Open score (the *audited estimate* re-scores them with the audit's grades, shown beside the primary
  score), or when the whole 95% interval of primary - audit over the audited answers lies above the
  tolerance (a primary more generous everywhere than two honest judges would disagree).

Across all audited items, the two judges' agreement (weighted kappa and Spearman per criterion, mean
difference with its interval) says how far the Open column can be trusted.
"""
from __future__ import annotations

import hashlib
import math
import random
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from statistics import fmean, stdev
from typing import Callable

from scipy import stats as scipy_stats

from core.results import ItemResult, ItemStatus
from core.vocabulary import CRITERION_KEYS, weighted_score

from .endpoint import Endpoint
from .llm import JUDGE_PROMPT_VERSION, RAW_MAX
from .report import Z95
from .score import judge_cached
from .screen import judge_input

AUDITED = (ItemStatus.JUDGED, ItemStatus.FLAGGED)
MATERIAL_POINTS = 1.0  # Open points the outliers must account for before they hold a row
FAR_ABOVE = 30.0       # primary grade this far above a question's usual grade (and 2 SDs) is read first
MIN_NORM = 3           # other submissions' grades needed to know a question's usual grade
WHY_SCREENED, WHY_UNNATURAL, WHY_FAR_ABOVE, WHY_RANDOM = ("the screen cut a span", "unnatural text",
                                                          "far above the question's usual grade", "random")


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
    item_tolerance: float | None = None
    outliers: list[str] = field(default_factory=list)  # audited answers the primary grades far above the audit
    full: bool = False                                  # every judged answer was audited
    primary_open: float | None = None                   # the Open score as the primary judge scored it
    audited_open: float | None = None                   # the same with the outliers re-scored by the audit
    why: dict[str, str] = field(default_factory=dict)   # audited id -> why it was chosen

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "AuditSummary":
        known = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def outlier_points(self) -> float:
        """How many Open points the outliers account for (primary minus audited estimate)."""
        if self.primary_open is None or self.audited_open is None:
            return 0.0
        return self.primary_open - self.audited_open

    @property
    def reason(self) -> str:
        """Why the row is held (for the board and the status), or ""."""
        if not self.under_review:
            return ""
        parts = []
        if self.outliers and self.outlier_points >= MATERIAL_POINTS:
            parts.append(f"the primary judge grades {len(self.outliers)} of {self.n} audited answers more than "
                         f"{self.item_tolerance:g} points above the audit judge ({self.audit_model}): Open "
                         f"{self.primary_open:.1f} by the primary judge, {self.audited_open:.1f} with the audit's "
                         "grades on those answers")
        if self.ci95 is not None and self.ci95[0] > self.tolerance:
            low, high = self.ci95
            parts.append(f"the primary judge scores this submission {self.mean_diff:.1f} points above the audit "
                         f"judge ({self.audit_model}) on {self.n} audited answers (95% CI {low:.1f} to {high:.1f}; "
                         f"tolerance {self.tolerance:g})")
        return "under review: " + "; ".join(parts)

    @property
    def escalation(self) -> str:
        """Why every answer is being audited before the row is ranked (a partial summary), or ""."""
        if self.full or not self.outliers:
            return ""
        return (f"held while every open answer is audited: the primary judge grades {len(self.outliers)} audited "
                f"answer(s) more than {self.item_tolerance:g} points above the audit judge ({self.audit_model})")


def sample_ids(items: list[ItemResult], seed: str, minimum: int, fraction: float) -> list[str]:
    """A seeded random sample of the judged open items: max(`minimum`, `fraction`) of them, at most all."""
    judged = sorted(item.id for item in items if item.question_type == "open" and item.status in AUDITED
                    and item.criteria)
    size = min(len(judged), max(minimum, math.ceil(fraction * len(judged))))
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))
    return sorted(rng.sample(judged, size))


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_HEX_RUN = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_SPACED = re.compile(r"(?<!\w)(?:\w[ \u00a0]){5,}\w(?!\w)")
_WORD = re.compile(r"\w{2,}")


def unnatural(text: str) -> str:
    """What in `text` a person does not write (why the audit reads it first), or "": a long base64 or hex run,
    a bidi or other format character, a letter-spaced word, or scripts mixed inside one word (a leading
    Greek letter, as in "μg" or "α1", is science, not a disguise)."""
    for match in _BASE64_RUN.finditer(text):
        run = match.group(0)
        if any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run):
            return "a long base64-like run"
    if _HEX_RUN.search(text):
        return "a long hexadecimal run"
    if any(unicodedata.category(c) == "Cf" for c in text):
        return "invisible format characters"
    if _SPACED.search(text):
        return "letter-spaced words"
    for word in _WORD.findall(text):
        scripts = [unicodedata.name(c, "UNKNOWN").split(" ")[0] for c in word if c.isalpha()]
        if scripts and scripts[0] == "GREEK":
            scripts = scripts[1:]
        if len(set(scripts) - {"UNKNOWN"}) > 1:
            return f"scripts mixed inside the word {word[:40]!r}"
    return ""


def choose(items: list[ItemResult], seed: str, sample: tuple[int, float],
           norms: dict[str, tuple[float, float, int]] | None = None) -> dict[str, str]:
    """Which judged open items the audit reads, and why: the suspicious ones (screened, unnatural text, far
    above the question's usual grade: `norms` is question id -> (mean, SD, submissions)) always, then a
    seeded random sample of the rest up to max(MIN, FRACTION) of the judged items."""
    chosen: dict[str, str] = {}
    norms = norms or {}
    for item in items:
        if item.question_type != "open" or item.status not in AUDITED or not item.criteria:
            continue
        usual = norms.get(item.id)
        if item.status is ItemStatus.FLAGGED:
            chosen[item.id] = WHY_SCREENED
        elif unnatural(item.prediction or ""):
            chosen[item.id] = f"{WHY_UNNATURAL}: {unnatural(item.prediction or '')}"
        elif usual is not None and usual[2] >= MIN_NORM and item.score is not None \
                and item.score - usual[0] > max(FAR_ABOVE, 2 * usual[1]):
            chosen[item.id] = f"{WHY_FAR_ABOVE} ({item.score:.0f} against {usual[0]:.0f})"
    for item_id in sample_ids(items, seed, *sample):
        chosen.setdefault(item_id, WHY_RANDOM)
    return dict(sorted(chosen.items()))


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


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when either side is constant."""
    if len(a) < 2 or len(a) != len(b) or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return float(scipy_stats.spearmanr(a, b).statistic)


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


def summarise(pairs: list[dict], audit_model: str, tolerance: float, *, item_tolerance: float | None = None,
              items: list[ItemResult] | None = None, full: bool = False,
              why: dict[str, str] | None = None) -> AuditSummary:
    """The per-submission summary. With `item_tolerance`, audited answers the primary grades more than it above
    the audit are outliers; with `items` (the submission's open items), the audited estimate re-scores them
    with the audit's grades. Held for review when the whole 95% interval of primary - audit lies above
    `tolerance`, or, once every answer was audited (`full`), when the outliers account for MATERIAL_POINTS
    or more of the Open score."""
    if not pairs:
        return AuditSummary(0, audit_model, JUDGE_PROMPT_VERSION, None, None, None, None, tolerance, False,
                            item_tolerance=item_tolerance, full=full, why=why or {})
    found = agreement(pairs)
    primary = [weighted_score(pair["primary"]) for pair in pairs]
    audit = [weighted_score(pair["audit"]) for pair in pairs]
    low, high = found["score"]["ci95"]
    outliers = [] if item_tolerance is None else [pair["id"] for pair, p, a in zip(pairs, primary, audit)
                                                  if p - a > item_tolerance]
    primary_open, audited_open = _estimates(items, {pair["id"]: a for pair, a in zip(pairs, audit)
                                                    if pair["id"] in outliers})
    summary = AuditSummary(
        n=len(pairs), audit_model=audit_model, prompt_version=JUDGE_PROMPT_VERSION,
        primary_mean=round(fmean(primary), 4), audit_mean=round(fmean(audit), 4),
        mean_diff=round(found["score"]["mean_diff"], 4), ci95=[round(low, 4), round(high, 4)],
        tolerance=tolerance, under_review=False,
        criteria={key: {"mean_diff": round(v["mean_diff"], 4), "kappa": v["kappa"]}
                  for key, v in found["criteria"].items()},
        spearman=found["score"]["spearman"], pairs=pairs, item_tolerance=item_tolerance, outliers=outliers,
        full=full, primary_open=primary_open, audited_open=audited_open, why=why or {})
    summary.under_review = (len(pairs) >= 2 and low > tolerance) or (
        full and bool(outliers) and summary.outlier_points >= MATERIAL_POINTS)
    return summary


def _estimates(items: list[ItemResult] | None, rescored: dict[str, float]) -> tuple[float | None, float | None]:
    """The Open score as scored (every scored open item), and with `rescored` items' scores replaced."""
    scored = [item for item in items or () if item.question_type == "open" and item.score is not None]
    if not scored:
        return None, None
    primary = fmean(item.score for item in scored)
    audited = fmean(rescored.get(item.id, item.score) for item in scored)
    return round(primary, 4), round(audited, 4)


def audit_items(items: list[ItemResult], questions: dict[str, dict], endpoint: Endpoint, *, seed: str,
                sample: tuple[int, float], tolerance: float, item_tolerance: float | None = None,
                norms: dict[str, tuple[float, float, int]] | None = None, everything: bool = False,
                on_escalate: Callable[[AuditSummary], None] | None = None, cache_path: Path | None = None,
                concurrency: int = 8) -> tuple[AuditSummary, dict[str, dict]]:
    """`run_audit` with the audit judge behind `endpoint` (its verdicts cached). Raises AuditError when any
    chosen item gets no verdict (verdicts judged so far are cached, so a later try asks only for the rest)."""
    def grade(chosen: dict[str, str], judged: dict[str, ItemResult]) -> dict[str, dict]:
        return _audit(chosen, judged, questions, endpoint, cache_path, concurrency)

    return run_audit(items, grade, endpoint.model, seed=seed, sample=sample, tolerance=tolerance,
                     item_tolerance=item_tolerance, norms=norms, everything=everything, on_escalate=on_escalate)


def run_audit(items: list[ItemResult], grade: Callable[[dict[str, str], dict[str, ItemResult]], dict[str, dict]],
              audit_model: str, *, seed: str, sample: tuple[int, float], tolerance: float,
              item_tolerance: float | None = None, norms: dict[str, tuple[float, float, int]] | None = None,
              everything: bool = False, on_escalate: Callable[[AuditSummary], None] | None = None
              ) -> tuple[AuditSummary, dict[str, dict]]:
    """Audit the chosen items (`choose`; `grade` returns the audit's verdict per chosen id); an outlier among
    them (or `everything`) and every judged open item is audited before the summary is final (`on_escalate`
    hears the partial summary first, so the row can be held meanwhile). Returns (summary, item id -> audit
    verdict for the details)."""
    judged = {item.id: item for item in items if item.question_type == "open" and item.status in AUDITED
              and item.criteria}
    why = choose(items, seed, sample, norms)
    if everything:
        why = {item_id: why.get(item_id, WHY_RANDOM) for item_id in sorted(judged)}
    verdicts = grade(why, judged)
    summary = summarise(_pairs(why, judged, verdicts), audit_model, tolerance, item_tolerance=item_tolerance,
                        items=items, full=len(why) == len(judged), why=why)
    if summary.outliers and not summary.full:
        if on_escalate is not None:
            on_escalate(summary)
        why = {item_id: why.get(item_id, "every answer, after an outlier") for item_id in sorted(judged)}
        verdicts = grade(why, judged)
        summary = summarise(_pairs(why, judged, verdicts), audit_model, tolerance, item_tolerance=item_tolerance,
                            items=items, full=True, why=why)
    return summary, verdicts


def _pairs(why: dict[str, str], judged: dict[str, ItemResult], verdicts: dict[str, dict]) -> list[dict]:
    return [{"id": item_id, "primary": judged[item_id].criteria, "audit": verdicts[item_id]["criteria"]}
            for item_id in why]


def _audit(chosen: dict[str, str], judged: dict[str, ItemResult], questions: dict[str, dict], endpoint: Endpoint,
           cache_path: Path | None, concurrency: int) -> dict[str, dict]:
    """The audit judge's verdict on every chosen item, through the one cache-or-judge loop (`judge_cached`)."""
    work = [(questions[item_id], judge_input(judged[item_id].prediction or "")) for item_id in chosen]
    found = judge_cached(endpoint, work, cache_path=cache_path, concurrency=concurrency)
    failures = [f"{item_id}: {found.by_id[item_id].get('error')}" for item_id in chosen
                if found.by_id[item_id]["criteria"] is None]
    if failures:
        raise AuditError(f"{len(failures)} of {len(chosen)} audited answers got no verdict (first: {failures[0]})")
    return {item_id: {"criteria": found.by_id[item_id]["criteria"], "rationale": found.by_id[item_id]["rationale"],
                      "model": endpoint.model} for item_id in chosen}
