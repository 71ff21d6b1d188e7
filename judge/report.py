"""From per-item outcomes to the results document: micro averages, breakdowns, CI95, summary.

MCQ accuracy is the micro-average over all MCQs in scope (missing and unparsed answers count
as wrong), so every breakdown recombines to the overall figure. The open score is the mean of
the weighted score over judged answers; failed items are excluded and counted, and while any
answer still awaits a judge there is no score.
"""
from __future__ import annotations

import math
from statistics import fmean, stdev

from .llm import CRITERIA

BREAKDOWNS = {"by_dimension": "dimension", "by_medical_intelligence": "medical_intelligence",
              "by_modality": "modality", "by_organ_system": "organ_system"}
Z95 = 1.959963984540054


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 4) if whole else None


def wilson_ci(correct: int, n: int) -> list[float] | None:
    """Wilson score interval for a proportion, in %; sound near 0 and 100 and for small n."""
    if not n:
        return None
    p = correct / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return [round(100 * max(0.0, centre - half), 4), round(100 * min(1.0, centre + half), 4)]


def mean_ci(scores: list[float]) -> list[float] | None:
    """Normal-approximation interval of a mean of 0-100 scores, clipped to 0-100."""
    if len(scores) < 2:
        return None
    mean, half = fmean(scores), Z95 * stdev(scores) / math.sqrt(len(scores))
    return [round(max(0.0, mean - half), 4), round(min(100.0, mean + half), 4)]


def _group_key(question: dict, field: str) -> str:
    return str(question.get(field) or "unspecified")


def _ordered(groups: dict, field: str) -> dict:
    """Dimensions in the paper's order, other breakdowns alphabetically."""
    order: list[str] = []
    if field == "dimension":
        try:
            from medcmr import DIMENSIONS
            order = list(DIMENSIONS.values())
        except ImportError:
            pass
    rank = {name: position for position, name in enumerate(order)}
    return {key: groups[key] for key in sorted(groups, key=lambda k: (rank.get(k, len(rank)), k))}


def mcq_results(items: list[dict], questions: dict[str, dict]) -> dict:
    """The `mcq` block from MCQ item records (`id`, `status`, `correct`)."""
    n = len(items)
    correct = sum(item["correct"] for item in items)
    answered = sum(item["status"] == "answered" for item in items)
    unparsed = sum(item["status"] == "unparsed" for item in items)
    missing = sum(item["status"] == "missing" for item in items)
    block = {"n": n, "answered": answered, "correct": correct, "accuracy": _pct(correct, n),
             "unparsed": unparsed, "unparsed_rate": _pct(unparsed, n - missing), "missing": missing,
             "ci95": wilson_ci(correct, n)}
    for name, field in BREAKDOWNS.items():
        groups: dict[str, dict] = {}
        for item in items:
            group = groups.setdefault(_group_key(questions[item["id"]], field), {"n": 0, "correct": 0})
            group["n"] += 1
            group["correct"] += item["correct"]
        block[name] = {key: {**g, "accuracy": _pct(g["correct"], g["n"])} for key, g in _ordered(groups, field).items()}
    return block


def _mean(values: list[float], awaiting: int) -> float | None:
    return round(fmean(values), 4) if values and not awaiting else None


def open_results(items: list[dict], questions: dict[str, dict]) -> dict:
    """The `open` block from open item records (`id`, `status`, `criteria`, `score`)."""
    scored = [item for item in items if item["score"] is not None]
    awaiting = sum(item["status"] == "awaiting" for item in items)
    block = {
        "n": len(items), "judged": len(scored),
        "failed": sum(item["status"] == "failed" for item in items),
        "flagged": sum(item["status"] == "flagged" for item in items),
        "awaiting": awaiting,
        "empty": sum(item["status"] in ("empty", "missing") for item in items),
        "score": _mean([item["score"] for item in scored], awaiting),
        "ci95": mean_ci([item["score"] for item in scored]) if scored and not awaiting else None,
        "criteria": {name: _mean([item["criteria"][name] for item in scored], awaiting) for name in CRITERIA},
    }
    for name, field in BREAKDOWNS.items():
        groups: dict[str, list] = {}
        for item in items:
            groups.setdefault(_group_key(questions[item["id"]], field), []).append(item)
        block[name] = {}
        for key, members in _ordered(groups, field).items():
            scores = [m["score"] for m in members if m["score"] is not None]
            waiting = sum(m["status"] == "awaiting" for m in members)
            block[name][key] = {"n": len(members), "judged": len(scores), "score": _mean(scores, waiting)}
    return block


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_table(results: dict) -> str:
    """A one-screen plain-text summary of a results document: one row per dimension, then counts."""
    mcq, open_, coverage, judge = results["mcq"], results["open"], results["coverage"], results["judge"]
    names = list(dict.fromkeys([*mcq["by_dimension"], *open_["by_dimension"]]))
    rows = [("overall", mcq, open_)] + [(n, mcq["by_dimension"].get(n, {}), open_["by_dimension"].get(n, {}))
                                        for n in names]
    lines = [f"{'':<16}{'MCQ %':>8}{'n':>8}{'Open':>9}{'n':>8}"]
    for name, m, o in rows:
        lines.append(f"{name:<16}{_fmt(m.get('accuracy')):>8}{m.get('n', 0):>8,}{_fmt(o.get('score')):>9}{o.get('n', 0):>8,}")
    if mcq["n"]:
        low, high = mcq["ci95"]
        lines.append(f"MCQ   {mcq['correct']:,} correct, CI95 [{_fmt(low)}, {_fmt(high)}]; unparsed {mcq['unparsed']:,} "
                     f"({_fmt(mcq['unparsed_rate'], 1)}%), missing {mcq['missing']:,}")
    if open_["n"]:
        low, high = open_["ci95"] or [None, None]
        criteria = open_["criteria"]
        lines.append(f"Open  judged {open_['judged']:,}, failed {open_['failed']:,}, flagged {open_.get('flagged', 0):,}, "
                     f"awaiting {open_['awaiting']:,}; "
                     f"CI95 [{_fmt(low)}, {_fmt(high)}]; Con {_fmt(criteria['consistency'])} "
                     f"Coh {_fmt(criteria['coherence'])} VA {_fmt(criteria['visual_accuracy'])} "
                     f"GT {_fmt(criteria['ground_truth'])}")
    lines.append(f"Coverage  expected {coverage['expected']:,}, given {coverage['given']:,}, "
                 f"missing {coverage['missing']:,} (scored as wrong)")
    if judge["model"]:
        lines.append(f"Judge  {judge['model']} @ {judge['host']}, prompt {judge['prompt_version']}: "
                     f"{judge['calls']:,} calls, {judge['cached']:,} cached, {judge['tokens']['total_tokens']:,} tokens")
    elif open_["awaiting"]:
        lines.append(f"Judge  not configured: {open_['awaiting']:,} open answers await a judge "
                     "(--judge-base-url/--judge-model or MEDCMR_JUDGE_*)")
    return "\n".join(lines)
