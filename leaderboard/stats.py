"""Which differences between models are real: paired tests, a compare view, and rank bands.

Two submissions answer the same questions, so they are compared question by question (paired),
which is far more sensitive than comparing two overall scores with their separate intervals:
MCQ with the exact McNemar test on the questions exactly one model got right, Open with a
seeded bootstrap interval of the mean paired score difference. Rank bands summarise the board
the way LMArena does: rows whose 95% intervals overlap cannot be told apart and share ranks.

The tests and intervals are scipy.stats' (`binomtest` and its Wilson `proportion_ci`, `bootstrap`),
what a reviewer of a benchmark checks them against; this module chooses them and reads their inputs.
Per-dimension p-values are not adjusted for the seven looks they take: read them as a guide, the
overall line as the verdict.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import asdict
from numbers import Real
from statistics import fmean
from typing import Iterable, Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap

from core.results import ItemResult
from core.vocabulary import RELEASE_QUESTIONS
from judge.report import wilson_bounds
from leaderboard.records import Comparison, McqAgreement, McqComparison, OpenComparison

ALPHA = 0.05
# The release's MCQ count, taken as the n behind the paper's published accuracies (it gives no per-item data).
PAPER_MCQ_N = RELEASE_QUESTIONS["mcq"]
# Open items whose scores differ by at least this many points are listed for the explorer.
OPEN_DISAGREE_POINTS = 20.0
# Below this many paired open items the percentile bootstrap understates the spread (with a
# handful of equal differences it collapses to a point), so the view declines to call a winner.
MIN_OPEN_PAIRS = 20
_BOOTSTRAP_CELLS = 2_000_000  # resample indices drawn per chunk: bounds memory at ~16 MB


def _is_number(value: object) -> bool:
    """A real number and not a bool; the plain-type check first, as it runs once per item."""
    return not isinstance(value, bool) and (isinstance(value, (int, float)) or isinstance(value, Real))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts b (only A right) and c (only B right).

    Under the null each discordant pair is a fair coin: scipy's exact binomial test of min(b, c)
    successes in b + c trials at 1/2, i.e. min(1, 2·P(X ≤ min(b, c))). Exact at b + c = 20,000 too;
    a p-value below the float range comes out as 0.0.
    """
    for name, value in (("b", b), ("c", c)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"mcnemar_exact: {name} must be a count (a non-negative int), got {value!r}")
    if b + c == 0:
        return 1.0
    return float(binomtest(min(b, c), b + c, 0.5).pvalue)


def sign_test(diffs: Iterable[float]) -> float:
    """Exact two-sided sign test on paired differences; zero differences (ties) are dropped.

    It asks how often A beats B, ignoring by how much: the binomial test of McNemar on the
    counts of positive and negative differences.
    """
    positive = negative = 0
    for position, d in enumerate(diffs):
        if not _is_number(d) or math.isnan(d):
            raise ValueError(f"sign_test: difference {position + 1} is not a number: {d!r}")
        positive += d > 0
        negative += d < 0
    return mcnemar_exact(positive, negative)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """(mean of a − b, 2.5th, 97.5th percentile of the bootstrap means): a seeded 95% interval.

    This is what decides Open significance in `compare`: the board ranks Open by the mean
    score, so the interval is of that same mean difference, without assuming the 0-100 judge
    scores (lumpy, piled at 0 for empty answers) are normal. The sign test is reported beside
    it but does not decide: it ignores margins, so a model that wins many items by a point
    and loses a few by sixty can "win" the sign test while its mean is lower.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_bootstrap: a has {len(a)} scores and b has {len(b)}; they must be paired")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size == 0 or not np.isfinite(d).all():
        raise ValueError("paired_bootstrap: needs at least one pair, and every score a finite number")
    if resamples < 1:
        raise ValueError(f"paired_bootstrap: resamples must be at least 1, got {resamples}")
    if d.size == 1:  # every resample is the one pair
        return float(d[0]), float(d[0]), float(d[0])
    # scipy draws the resamples batch by batch as `rng.integers(0, n, (batch, n))`: memory stays bounded
    result = bootstrap((d,), np.mean, n_resamples=resamples, batch=max(1, _BOOTSTRAP_CELLS // d.size),
                       confidence_level=1 - ALPHA, method="percentile", rng=np.random.default_rng(seed))
    return float(d.mean()), float(result.confidence_interval.low), float(result.confidence_interval.high)


def _format_p(p: float) -> str:
    """'p = 0.004' with enough digits that the text agrees with p < 0.05 (0.0496 is not '0.050')."""
    if p < 0.001:
        return "p < 0.001"
    for digits in (3, 4, 5, 6):
        text = f"{p:.{digits}f}"
        if (float(text) < ALPHA) == (p < ALPHA):
            return f"p = {text}"
    return "p < 0.05" if p < ALPHA else "p ≥ 0.05"


def _points(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 0.1 else f"{value:.1f}"


def _index(items: list[ItemResult], side: str) -> dict[str, ItemResult]:
    """Items by id, checked: a clear error names the list, the record and the field."""
    by_id: dict[str, ItemResult] = {}
    for position, item in enumerate(items, 1):
        where = f"{side} record {position}"
        if not isinstance(item, ItemResult):
            raise ValueError(f"{where}: expected an item result, got {type(item).__name__}")
        if not isinstance(item.id, str) or not item.id:
            raise ValueError(f"{where}: field 'id' must be a non-empty string, got {item.id!r}")
        where = f"{where} (id {item.id!r})"
        if item.id in by_id:
            raise ValueError(f"{where}: field 'id' repeats an earlier record")
        if item.question_type == "mcq":
            if not isinstance(item.correct, bool):
                raise ValueError(f"{where}: field 'correct' must be true or false, got {item.correct!r}")
        elif item.question_type == "open":
            if item.score is not None and (not _is_number(item.score) or not 0 <= item.score <= 100):
                raise ValueError(f"{where}: field 'score' must be a number from 0 to 100 or null, got {item.score!r}")
        else:
            raise ValueError(f"{where}: field 'question_type' must be 'mcq' or 'open', got {item.question_type!r}")
        by_id[item.id] = item
    return by_id


def _mcq_block(pairs: list[tuple[ItemResult, ItemResult]]) -> McqAgreement:
    both = only_a = only_b = 0
    for a, b in pairs:
        both += a.correct and b.correct
        only_a += a.correct and not b.correct
        only_b += b.correct and not a.correct
    n = len(pairs)
    p = mcnemar_exact(only_a, only_b)
    return McqAgreement(n=n, both_right=both, only_a=only_a, only_b=only_b, both_wrong=n - both - only_a - only_b,
                        accuracy_a=round(100 * (both + only_a) / n, 4) if n else None,
                        accuracy_b=round(100 * (both + only_b) / n, 4) if n else None,
                        diff=round(100 * (only_a - only_b) / n, 4) if n else None, p=p, significant=p < ALPHA)


def _verdict(name_a: str, name_b: str, fmt: str, diff: float, evidence: str, significant: bool) -> str:
    if diff == 0:
        lead = f"{name_a} and {name_b} are level on {fmt} ({evidence})"
    else:
        leader, other = (name_a, name_b) if diff > 0 else (name_b, name_a)
        lead = f"{leader} is ahead of {other} on {fmt} by {_points(abs(diff))} points ({evidence})"
    if significant:
        return f"{lead}: significant at 95%."
    return f"{lead}: not significant at 95%: the board cannot tell them apart."


def _open_block(pairs: list[tuple[ItemResult, ItemResult]], name_a: str, name_b: str, resamples: int,
                seed: int) -> OpenComparison:
    scored = [(a, b) for a, b in pairs if a.score is not None and b.score is not None]
    block = OpenComparison(n=len(pairs), paired=len(scored), unscored=len(pairs) - len(scored), mean_a=None,
                           mean_b=None, mean_diff=None, ci95=None, p=1.0, significant=False,
                           disagree_ids=[a.id for a, b in scored if abs(a.score - b.score) >= OPEN_DISAGREE_POINTS],
                           sentence="")
    if not scored:
        block.sentence = f"No open answer is scored for both {name_a} and {name_b}: nothing to compare on Open."
        return block
    a_scores = [a.score for a, _ in scored]
    b_scores = [b.score for _, b in scored]
    diff, low, high = paired_bootstrap(a_scores, b_scores, resamples=resamples, seed=seed)
    enough = len(scored) >= MIN_OPEN_PAIRS
    significant = enough and (low > 0 or high < 0)
    block.mean_a, block.mean_b, block.mean_diff = round(fmean(a_scores), 4), round(fmean(b_scores), 4), round(diff, 4)
    block.ci95 = [round(low, 4), round(high, 4)]
    block.p, block.significant = sign_test(x - y for x, y in zip(a_scores, b_scores)), significant
    if not enough:
        block.sentence = (f"Only {len(scored)} open answers are scored for both {name_a} and {name_b}: "
                          f"too few (under {MIN_OPEN_PAIRS}) to tell them apart on Open.")
        return block
    low, high = (low, high) if diff >= 0 else (-high, -low)  # the interval of the leader's margin
    evidence = f"95% CI {_points(low)} to {_points(high)}"
    block.sentence = _verdict(name_a, name_b, "Open", diff, evidence, significant)
    return block


def compare(items_a: list[ItemResult], items_b: list[ItemResult], *, name_a: str = "A", name_b: str = "B",
            order: Sequence[str] | None = None, resamples: int = 2000, seed: int = 0) -> Comparison:
    """Question-by-question agreement of two scored submissions (the judge's per-item details).

    Only ids both lists hold are compared (`only_in_a` / `only_in_b` count the rest). MCQ:
    both right / only A / only B / both wrong, overall and per dimension (in `order`, then in
    order of first appearance in `items_a`), each with the exact McNemar p; `diff` is A − B in
    accuracy points. Open: the items scored for both (failed and awaiting ones are `unscored`),
    the mean difference A − B with its seeded bootstrap 95% interval, which decides
    significance, and the sign test's p beside it (see `paired_bootstrap` for why). Each
    format has one plain `sentence`; `disagree_ids` lists, in `items_a` order, the MCQs exactly
    one model got right and the open items whose scores differ by 20 points or more.
    """
    by_a, by_b = _index(items_a, "items_a"), _index(items_b, "items_b")
    mcq_pairs, open_pairs = [], []
    for item_id, a in by_a.items():
        b = by_b.get(item_id)
        if b is None:
            continue
        if a.question_type != b.question_type:
            raise ValueError(f"id {item_id!r} is {a.question_type!r} in items_a but {b.question_type!r} "
                             "in items_b: the two submissions were scored on different releases")
        (mcq_pairs if a.question_type == "mcq" else open_pairs).append((a, b))
    shared = len(mcq_pairs) + len(open_pairs)

    overall = _mcq_block(mcq_pairs)
    if overall.n:
        evidence = f"{_format_p(overall.p)}, {overall.n:,} shared questions"
        sentence = _verdict(name_a, name_b, "MCQ", overall.diff, evidence, overall.significant)
    else:
        sentence = f"{name_a} and {name_b} share no scored MCQ: nothing to compare on MCQ."
    groups: dict[str, list] = {str(name): [] for name in order or ()}
    for a, b in mcq_pairs:
        groups.setdefault(str(a.dimension or "unspecified"), []).append((a, b))
    mcq = McqComparison(**asdict(overall), sentence=sentence,
                        disagree_ids=[a.id for a, b in mcq_pairs if a.correct != b.correct],
                        by_dimension={name: _mcq_block(pairs) for name, pairs in groups.items() if pairs})
    return Comparison(names=[name_a, name_b], shared=shared, only_in_a=len(by_a) - shared,
                      only_in_b=len(by_b) - shared, mcq=mcq, open=_open_block(open_pairs, name_a, name_b, resamples, seed))


def wilson_interval(accuracy_pct: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval, in %, of an accuracy measured on n questions; (nan, nan) when absent.

    For a submission's accuracy (a whole count of n, stored to four decimals) scipy's
    `binomtest(k, n).proportion_ci(method="wilson")`. The paper's rows publish only a two-decimal
    percentage, taken on n = PAPER_MCQ_N (the release's MCQ count); that is no whole count, which
    `binomtest` needs, so they keep the Wilson formula on the proportion itself (`judge.report`'s,
    which the results documents use), and their intervals stay what they were.
    """
    if accuracy_pct is None or math.isnan(accuracy_pct):
        return math.nan, math.nan
    if not 0 <= accuracy_pct <= 100:
        raise ValueError(f"wilson_interval: accuracy must be a percentage from 0 to 100, got {accuracy_pct!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"wilson_interval: n must be a positive number of questions, got {n!r}")
    count = accuracy_pct * n / 100
    if abs(count - round(count)) > n * 5.1e-7:  # not a count of n at the results' four decimals (5e-7 n)
        low, high = wilson_bounds(accuracy_pct / 100, n)
        return 100 * low, 100 * high
    interval = binomtest(round(count), n).proportion_ci(confidence_level=1 - ALPHA, method="wilson")
    return 100 * float(interval.low), 100 * float(interval.high)


def rank_bands(estimates: Sequence[tuple[float, float, float]]) -> list[tuple[int, int] | None]:
    """(best, worst) rank of each (score, low, high) row, higher scores ranking first; None without an interval.

    Rule: row j is certainly ahead of row i only when their intervals do not overlap and j's
    lies above (low_j > high_i); otherwise the board cannot order them. So i's best rank is
    1 + the rows certainly ahead of it, and its worst rank is the rows not certainly behind it,
    itself included: best = 1 + #{j: low_j > high_i}, worst = #{j: high_j >= low_i}. Touching
    intervals count as overlapping. Rows that overlap share at least one rank (every row
    counted in i's best is counted in j's worst, and j too). A row whose interval lies wholly
    above another's has a strictly better best and worst rank. Best is LMArena's "rank (UB)".
    Rows with a NaN in score, low or high take no part and get None.

    These intervals are each row's own, unpaired: two submissions that share a band can still
    differ significantly in `compare`, whose paired tests see more; the band is the cautious view.
    """
    present = []
    for position, (score, low, high) in enumerate(estimates, 1):
        values = (score, low, high)
        if any(v is None or math.isnan(v) for v in values):
            present.append(None)
            continue
        if low > high:
            raise ValueError(f"rank_bands: row {position} has low above high: {values!r}")
        present.append((low, high))
    lows = sorted(iv[0] for iv in present if iv)
    highs = sorted(iv[1] for iv in present if iv)
    m = len(lows)
    return [None if iv is None else (1 + m - bisect_right(lows, iv[1]), m - bisect_left(highs, iv[0]))
            for iv in present]


def band_label(best: int, worst: int) -> str:
    """'3' for a band of one rank, '2–4' (en dash) for a shared band."""
    return str(best) if best == worst else f"{best}–{worst}"
