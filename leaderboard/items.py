"""Item analysis: which questions are hard, which tell strong models from weak ones, which look broken.

Classical test theory over the submissions scored on one build (each an MCQ response vector):

- **difficulty** `p`: the share of submissions that got the question right;
- **discrimination** `r`: the point-biserial correlation between being right on the question and
  the submission's accuracy on the *other* questions (the rest score, so a question never
  correlates with itself). Good questions have r > 0: strong models get them right more often;
- **suspect**, once at least `MIN_SUBMISSIONS` submissions answered it: `negative discrimination`,
  the signature of a wrong answer key (a model that picks the true option gets a mis-keyed question
  "wrong", so strong models are right less often than weak ones). Each question is tested on its own
  (an exact one-sided Mann-Whitney test: do the submissions right on it have lower rest scores than
  those wrong on it?) and the flags are chosen over all questions at once with the Benjamini-Hochberg
  procedure at a false-discovery rate of `FDR`: at most one flagged question in twenty is expected to
  be sound, however many submissions and questions there are. With few submissions a question can
  only be flagged when the evidence is overwhelming, so few are; `q_value` says how close each came.

`bench/bench_items.py` times it on 100 full-size submissions and reports false suspects and the
recall of planted wrong keys at several numbers of submissions; tests/test_items.py checks both.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as scipy_stats

MIN_SUBMISSIONS = 20
FDR = 0.05  # the false-discovery rate of the suspect flags (Benjamini-Hochberg)
EXACT_MAX = 200  # submissions up to which the Mann-Whitney p-value is exact (normal approximation above)
COLUMNS = ("id", "n", "difficulty", "discrimination", "suspect", "rule")
SUSPECT_RULE = "negative discrimination"


@dataclass(frozen=True)
class ItemStats:
    """One question's statistics over the submissions that answered it."""

    id: str
    n: int
    difficulty: float | None
    discrimination: float | None
    suspect: bool
    rule: str
    q_value: float | None = None  # the Benjamini-Hochberg adjusted p-value of negative discrimination


def _matrices(responses: dict[str, dict[str, bool]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    questions = sorted({question for answers in responses.values() for question in answers})
    index = {question: column for column, question in enumerate(questions)}
    right = np.zeros((len(responses), len(questions)), dtype=bool)
    seen = np.zeros_like(right)
    for row, answers in enumerate(responses.values()):
        for question, correct in answers.items():
            right[row, index[question]] = bool(correct)
            seen[row, index[question]] = True
    return questions, right, seen


def _rest(right: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each submission's accuracy on the other questions it answered (per question), and where defined."""
    x = right.astype(np.float64)
    others = seen.sum(axis=1, keepdims=True) - seen
    mask = seen & (others > 0)
    rest = np.where(mask, (x.sum(axis=1, keepdims=True) - x) / np.maximum(others, 1), 0.0)
    return rest, mask


def analyse(responses: dict[str, dict[str, bool]]) -> list[ItemStats]:
    """Item statistics from `responses`: submission id -> {question id: right?} (MCQ).

    A question a submission did not answer is left out of that submission's figures for it.
    """
    if not responses:
        return []
    questions, right, seen = _matrices(responses)
    if not questions:
        return []
    rest, mask = _rest(right, seen)
    x = np.where(mask, right, 0.0)
    n = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x, mean_y = x.sum(axis=0) / n, rest.sum(axis=0) / n
        cov = (x * rest).sum(axis=0) / n - mean_x * mean_y
        var_x = (x * x).sum(axis=0) / n - mean_x ** 2
        var_y = (rest * rest).sum(axis=0) / n - mean_y ** 2
        r = cov / np.sqrt(var_x * var_y)
    q = q_values(right, seen)
    stats = []
    for column, question in enumerate(questions):
        count = int(n[column])
        defined = count >= 2 and var_x[column] > 1e-12 and var_y[column] > 1e-12
        suspect = bool(q[column] <= FDR)
        stats.append(ItemStats(question, count, float(mean_x[column]) if count else None,
                               float(r[column]) if defined else None, suspect, SUSPECT_RULE if suspect else "",
                               None if math.isnan(q[column]) else round(float(q[column]), 6)))
    return stats


def q_values(right: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of negative discrimination per question (NaN where fewer than
    MIN_SUBMISSIONS answered it): `right` and `seen` are submissions x questions."""
    rest, mask = _rest(right, seen)
    tested = mask.sum(axis=0) >= MIN_SUBMISSIONS
    q = np.full(right.shape[1], np.nan)
    if tested.any():
        p = _negative_discrimination_p(right[:, tested], rest[:, tested], mask[:, tested])
        q[tested] = scipy_stats.false_discovery_control(p, method="bh")
    return q


def suspect_mask(right: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Which questions are suspect (negative discrimination at the stated FDR), as a boolean mask."""
    return np.nan_to_num(q_values(right, seen), nan=1.0) <= FDR


def _negative_discrimination_p(right: np.ndarray, rest: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One-sided Mann-Whitney p-value per question: P(U <= observed) where U counts the pairs in which a
    submission right on the question has the higher rest score than one wrong on it. Ties in rest scores
    are broken by submission order, so the exact null distribution applies."""
    rows = right.shape[0]
    jitter = np.arange(rows, dtype=np.float64)[:, None] * 1e-12
    keyed = np.where(mask, rest + jitter, np.inf)
    ranks = keyed.argsort(axis=0, kind="stable").argsort(axis=0) + 1  # 1..n among answered (unanswered last)
    hits = right & mask
    m = hits.sum(axis=0)
    others = mask.sum(axis=0) - m
    u = np.where(hits, ranks, 0).sum(axis=0) - m * (m + 1) / 2
    p = np.ones(right.shape[1])
    for size_right, size_wrong in set(zip(m.tolist(), others.tolist())):
        if size_right == 0 or size_wrong == 0:
            continue
        chosen = (m == size_right) & (others == size_wrong)
        p[chosen] = _mann_whitney_lower(u[chosen], size_right, size_wrong)
    return p


def _mann_whitney_lower(u: np.ndarray, m: int, n: int) -> np.ndarray:
    """P(U <= u) for the Mann-Whitney U of samples of sizes m and n without ties: exact up to EXACT_MAX,
    else the normal approximation with a continuity correction."""
    if m + n > EXACT_MAX:
        mean, sd = m * n / 2, math.sqrt(m * n * (m + n + 1) / 12)
        return scipy_stats.norm.cdf((u + 0.5 - mean) / sd)
    cumulative = _u_distribution(min(m, n), max(m, n))
    return cumulative[np.clip(np.round(u).astype(int), 0, m * n)]


@lru_cache(maxsize=512)
def _u_distribution(m: int, n: int) -> np.ndarray:
    """The cumulative distribution of U for sizes m <= n: the coefficients of the Gaussian binomial
    [m + n choose m]_q, built as the product of (1 - q^(n+i)) / (1 - q^i), i = 1..m (rescaled as it grows)."""
    size = m * n + 1
    poly = np.zeros(size)
    poly[0] = 1.0
    for i in range(1, m + 1):
        shift = n + i
        if shift < size:
            poly[shift:] -= poly[:size - shift].copy()
        for start in range(i):
            poly[start::i] = np.cumsum(poly[start::i])
        poly /= poly.max()
    cumulative = np.cumsum(poly)
    return np.minimum(cumulative / cumulative[-1], 1.0)


def items_csv(stats: list[ItemStats], questions: dict[str, dict] | None = None, *, suspects_only: bool = False) -> bytes:
    """Item statistics as CSV for the dataset's maintainers (with the key and the question text when known)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, "answer", "question"])
    for item in stats:
        if item.suspect or not suspects_only:
            question = (questions or {}).get(item.id, {})
            row = asdict(item)
            writer.writerow([row[column] for column in COLUMNS] + [question.get("answer", ""),
                                                                  question.get("question", "")])
    return out.getvalue().encode("utf-8")
