"""From per-item outcomes to the results document: micro averages, breakdowns, CI95, summary.

MCQ accuracy is the micro-average over all MCQs in scope (missing and unparsed answers count
as wrong), so every breakdown recombines to the overall figure. The open score is the mean of
the weighted score over judged answers; failed items are excluded and counted, and while any
answer still awaits a judge there is no score.
"""
from __future__ import annotations

import math
from statistics import fmean, stdev

from core.results import ItemResult, ItemStatus, McqGroup, McqResults, OpenGroup, OpenResults, Results
from core.vocabulary import BREAKDOWNS, CRITERIA, CRITERION_KEYS, SLUGS

Z95 = 1.959963984540054


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 4) if whole else None


def wilson_bounds(proportion: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion measured on n items (fractions); sound near 0 and 1 and for small n."""
    z2 = Z95 ** 2
    centre = (proportion + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(proportion * (1 - proportion) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_bounds(scores: list[float]) -> tuple[float, float]:
    """Normal-approximation 95% interval of a mean of 0-100 scores (two or more), clipped to 0-100."""
    mean, half = fmean(scores), Z95 * stdev(scores) / math.sqrt(len(scores))
    return max(0.0, mean - half), min(100.0, mean + half)


def wilson_ci(correct: int, n: int) -> list[float] | None:
    """Wilson score interval of an accuracy, in % (4 decimals), as the results document records it."""
    if not n:
        return None
    low, high = wilson_bounds(correct / n, n)
    return [round(100 * low, 4), round(100 * high, 4)]


def mean_ci(scores: list[float]) -> list[float] | None:
    """Normal-approximation interval of a mean of 0-100 scores (4 decimals); None under two scores."""
    if len(scores) < 2:
        return None
    return [round(bound, 4) for bound in mean_bounds(scores)]


def _group_key(question: dict, field: str) -> str:
    return str(question.get(field) or "unspecified")


def _ordered(groups: dict, field: str) -> dict:
    """Dimensions in the paper's order, other breakdowns alphabetically."""
    rank = {name: position for position, name in enumerate(SLUGS if field == "dimension" else ())}
    return {key: groups[key] for key in sorted(groups, key=lambda k: (rank.get(k, len(rank)), k))}


def mcq_results(items: list[ItemResult], questions: dict[str, dict], extraction_version: str) -> McqResults:
    """The `mcq` block from MCQ items."""
    n = len(items)
    correct = sum(bool(item.correct) for item in items)
    answered = sum(item.status is ItemStatus.ANSWERED for item in items)
    unparsed = sum(item.status is ItemStatus.UNPARSED for item in items)
    missing = sum(item.status is ItemStatus.MISSING for item in items)
    not_answered = sum(item.status is ItemStatus.NOT_ANSWERED for item in items)
    breakdowns = {}
    for name, field in BREAKDOWNS.items():
        groups: dict[str, list[int]] = {}
        for item in items:
            group = groups.setdefault(_group_key(questions[item.id], field), [0, 0])
            group[0] += 1
            group[1] += bool(item.correct)
        breakdowns[name] = {key: McqGroup(n=n_, correct=c, accuracy=_pct(c, n_))
                            for key, (n_, c) in _ordered(groups, field).items()}
    return McqResults(n=n, answered=answered, correct=correct, accuracy=_pct(correct, n), unparsed=unparsed,
                      unparsed_rate=_pct(unparsed, n - missing - not_answered), missing=missing,
                      not_answered=not_answered, ci95=wilson_ci(correct, n),
                      extraction_version=extraction_version, **breakdowns)


def _mean(values: list[float], awaiting: int) -> float | None:
    return round(fmean(values), 4) if values and not awaiting else None


def open_results(items: list[ItemResult], questions: dict[str, dict]) -> OpenResults:
    """The `open` block from open items; missing and unanswered ones score 0, failed ones are left out."""
    scored = [item for item in items if item.score is not None]
    awaiting = sum(item.status is ItemStatus.AWAITING for item in items)
    breakdowns = {}
    for name, field in BREAKDOWNS.items():
        groups: dict[str, list] = {}
        for item in items:
            groups.setdefault(_group_key(questions[item.id], field), []).append(item)
        breakdowns[name] = {}
        for key, members in _ordered(groups, field).items():
            scores = [m.score for m in members if m.score is not None]
            waiting = sum(m.status is ItemStatus.AWAITING for m in members)
            breakdowns[name][key] = OpenGroup(n=len(members), judged=len(scores), score=_mean(scores, waiting))
    return OpenResults(
        n=len(items), judged=len(scored), failed=sum(item.status is ItemStatus.FAILED for item in items),
        awaiting=awaiting,
        empty=sum(item.status in (ItemStatus.NOT_ANSWERED, ItemStatus.MISSING) for item in items),
        not_answered=sum(item.status is ItemStatus.NOT_ANSWERED for item in items),
        flagged=sum(item.status is ItemStatus.FLAGGED for item in items),
        score=_mean([item.score for item in scored], awaiting),
        ci95=mean_ci([item.score for item in scored]) if scored and not awaiting else None,
        criteria={key: _mean([item.criteria[key] for item in scored], awaiting) for key in CRITERION_KEYS},
        **breakdowns)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_table(results: Results) -> str:
    """A one-screen plain-text summary of a results document: one row per dimension, then counts."""
    mcq, open_, coverage, judge = results.mcq, results.open, results.coverage, results.judge
    names = list(dict.fromkeys([*mcq.by_dimension, *open_.by_dimension]))
    lines = [f"{'':<16}{'MCQ %':>8}{'n':>8}{'Open':>9}{'n':>8}",
             f"{'overall':<16}{_fmt(mcq.accuracy):>8}{mcq.n:>8,}{_fmt(open_.score):>9}{open_.n:>8,}"]
    for name in names:
        m, o = mcq.by_dimension.get(name), open_.by_dimension.get(name)
        lines.append(f"{name:<16}{_fmt(m.accuracy if m else None):>8}{m.n if m else 0:>8,}"
                     f"{_fmt(o.score if o else None):>9}{o.n if o else 0:>8,}")
    if mcq.n:
        low, high = mcq.ci95
        lines.append(f"MCQ   {mcq.correct:,} correct, CI95 [{_fmt(low)}, {_fmt(high)}]; unparsed {mcq.unparsed:,} "
                     f"({_fmt(mcq.unparsed_rate, 1)}%), missing {mcq.missing:,}, not answered {mcq.not_answered:,}")
    if open_.n:
        low, high = open_.ci95 or [None, None]
        criteria = " ".join(f"{c.abbr} {_fmt(open_.criteria.get(c.key))}" for c in CRITERIA)
        lines.append(f"Open  judged {open_.judged:,}, failed {open_.failed:,}, flagged {open_.flagged:,}, "
                     f"not answered {open_.not_answered:,}, "
                     f"awaiting {open_.awaiting:,}; CI95 [{_fmt(low)}, {_fmt(high)}]; {criteria}")
    if results.circular is not None:
        c = results.circular
        lines.append(f"Circular  {c.correct:,} of {c.n:,} right in all 5 rotations: {_fmt(c.accuracy)}% "
                     f"(rotation 0 alone {_fmt(c.first_rotation_accuracy)}%); chosen positions "
                     + " ".join(f"{k} {v:.0f}%" for k, v in c.chosen_positions.items()))
    if results.blind is not None:
        b = results.blind
        low, high = b.ci95 or [None, None]
        lines.append(f"Blind  MCQ {_fmt(b.accuracy)}% without images on {b.n:,} questions; image gain "
                     f"{_fmt(b.image_gain)} points, CI95 [{_fmt(low)}, {_fmt(high)}]")
    lines.append(f"Coverage  expected {coverage.expected:,}, given {coverage.given:,}, "
                 f"missing {coverage.missing:,} (scored as wrong)")
    if judge.model:
        where = judge.host or "your vllm run-batch"
        engine = "" if judge.engine == "online" else f" ({judge.engine})"
        lines.append(f"Judge  {judge.model} @ {where}{engine}, prompt {judge.prompt_version}: "
                     f"{judge.calls:,} calls, {judge.cached:,} cached, {judge.reasks:,} re-asked, "
                     f"{judge.tokens.get('total_tokens', 0):,} tokens")
    elif open_.awaiting:
        lines.append(f"Judge  not configured: {open_.awaiting:,} open answers await a judge "
                     "(--judge-base-url/--judge-model or MEDCMR_JUDGE_*)")
    return "\n".join(lines)
