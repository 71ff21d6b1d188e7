"""Did the file come from the model it names? A trusted runner's re-run of a sample, compared with the file.

The answer key is public, so a predictions file proves nothing by itself. The leaderboard has a runner the
operator trusts re-ask a seeded random sample chosen after the upload (`sample_ids`), with exactly what
`predict` sends (`judge.ask`), scores the runner's answers as it scores any file (`score_submission`: the
same extraction, the same judge and its cache), and `compare` sets them beside the file's:

- **MCQ**: the share of sampled MCQs whose extracted letters agree (two unparsed answers agree). Servers are
  not bit-exact even at temperature 0 (batching changes the floating point), so an honest re-run agrees
  on most letters, not all. The file is *not reproduced* when the one-sided exact binomial test rejects
  "the agreement is at least FLOOR" at level ALPHA: an honest server that differs on up to 1 − FLOOR of
  the letters passes at least 1 − ALPHA of the time, by construction. `bench/bench_reproduce.py`
  calibrated FLOOR and ALPHA (docs/reproduce.md has its table): at the release's default sample (207
  questions, 167 MCQs) honest runs pass ≥ 99% and files edited on 10% of the MCQs fail ≥ 95%.
- **Open**: the judged scores of the re-asked open answers against the file's on the same questions: the
  mean difference file − runner with its paired 95% interval (Student's t). Held when the whole interval
  lies above OPEN_TOLERANCE points: the file answers better than the model it names. Without a judge,
  open answers are re-asked but not compared, and the reproduction says so.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from statistics import fmean, stdev

from scipy import stats

from core.results import AgreementGroup, ItemResult, ItemStatus, Reproduction, ReproductionState

FLOOR = 0.975            # the least agreement of an honest re-run on a server that is not bit-exact
ALPHA = 0.005            # the share of honest re-runs at the floor that may be held
OPEN_TOLERANCE = 10.0    # points (0-100) the file's open answers may beat the runner's before held
UNUSABLE = (ItemStatus.MISSING, ItemStatus.NOT_ANSWERED)  # no answer in the file: nothing to compare
SCORED = (ItemStatus.JUDGED, ItemStatus.FLAGGED)


def sample_ids(items: list[ItemResult], questions: int, seed: str, minimum: int, fraction: float) -> list[str]:
    """A seeded random sample of the questions the file answered: max(`minimum`, `fraction` of the build's
    `questions`), at most all, MCQ and open in the file's proportions. The seed is made after the upload from
    a secret the submitter never sees, so a file cannot be tuned to its sample."""
    pools = {kind: sorted(item.id for item in items if item.question_type == kind and item.status not in UNUSABLE)
             for kind in ("mcq", "open")}
    answered = sum(len(pool) for pool in pools.values())
    size = min(answered, max(minimum, math.ceil(fraction * questions)))
    if not size:
        return []
    mcq = min(len(pools["mcq"]), max(size - len(pools["open"]), round(size * len(pools["mcq"]) / answered)))
    rng = random.Random(seed)
    return sorted(rng.sample(pools["mcq"], mcq) + rng.sample(pools["open"], size - mcq))


def agreement_p_value(agree: int, n: int, floor: float = FLOOR) -> float:
    """P(at most `agree` of `n` letters agree) for a re-run that agrees with probability `floor` per letter."""
    return float(stats.binom.cdf(agree, n, floor))


def reproduced_letters(agree: int, n: int, floor: float = FLOOR, alpha: float = ALPHA) -> bool:
    """The MCQ rule: not held unless the agreement is significantly below the honest floor."""
    return n == 0 or agreement_p_value(agree, n, floor) >= alpha


def paired_interval(differences: list[float]) -> tuple[float, float, float]:
    """Mean of paired differences and its 95% interval (Student's t; 0 wide for fewer than two)."""
    mean = fmean(differences)
    if len(differences) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, len(differences) - 1)) * stdev(differences) / math.sqrt(len(differences))
    return mean, mean - half, mean + half


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _mcq_fields(pairs: list[tuple[ItemResult, ItemResult]]) -> dict:
    agree = [file.extracted == runner.extracted for file, runner in pairs]
    groups: dict[str, list[bool]] = defaultdict(list)
    for (file, _), same in zip(pairs, agree):
        groups[file.dimension or ""].append(same)
    n, agreed = len(agree), sum(agree)
    return {"mcq_n": n, "mcq_agree": agreed, "agreement": _percent(agreed, n), "floor": round(100 * FLOOR, 2),
            "p_value": float(f"{agreement_p_value(agreed, n):.4g}") if n else None,  # 4 significant digits
            "by_dimension": {name: AgreementGroup(len(values), sum(values), _percent(sum(values), len(values)))
                             for name, values in sorted(groups.items())}}


def _open_fields(pairs: list[tuple[ItemResult, ItemResult]], judged: bool) -> dict:
    scored = [(file.score, runner.score) for file, runner in pairs
              if file.status in SCORED and runner.status in SCORED]
    if not judged or not scored:
        return {"open_n": 0, "open_compared": False}
    mean, low, high = paired_interval([file - runner for file, runner in scored])
    return {"open_n": len(scored), "open_compared": True, "open_diff": round(mean, 4),
            "open_ci95": [round(low, 4), round(high, 4)], "open_tolerance": OPEN_TOLERANCE}


def compare(file_items: dict[str, ItemResult], runner_items: dict[str, ItemResult], sample: list[str], *,
            judged: bool) -> Reproduction:
    """The file's answers beside the runner's on the sample: agreement, the state it decides, the reason."""
    pairs = [(file_items[i], runner_items[i]) for i in sample if i in file_items and i in runner_items]
    found = Reproduction(state=ReproductionState.REPRODUCED.value, sample=list(sample),
                         **_mcq_fields([pair for pair in pairs if pair[0].question_type == "mcq"]),
                         **_open_fields([pair for pair in pairs if pair[0].question_type == "open"], judged))
    letters_held = not reproduced_letters(found.mcq_agree, found.mcq_n)
    open_held = found.open_compared and found.open_n >= 2 and found.open_ci95[0] > OPEN_TOLERANCE
    if letters_held or open_held:
        found.state = ReproductionState.NOT_REPRODUCED.value
    elif not found.mcq_n and not found.open_compared:
        found.state = ReproductionState.SELF_REPORTED.value
    return found


def reason(found: Reproduction, judged: bool) -> str:
    """The reproduction in words, for the row's note, the status and the mirror."""
    who = f"runner {found.runner} ({found.model})"
    if found.state == ReproductionState.SELF_REPORTED and found.sample:
        return (f"nothing could be compared: the sample held no MCQ and {'no judged' if judged else 'no judge for'} "
                "open answers")
    letters = (f"{found.mcq_agree} of {found.mcq_n} sampled MCQs agree ({found.agreement:.1f}%; an honest re-run "
               f"agrees on at least {found.floor:g}%, p = {found.p_value:.2g})") if found.mcq_n else "no MCQ sampled"
    if found.open_compared:
        low, high = found.open_ci95
        words = (f"open: file − runner {found.open_diff:+.1f} points on {found.open_n} answers (95% CI {low:+.1f} "
                 f"to {high:+.1f}; tolerance {found.open_tolerance:g})")
    else:
        words = "open answers re-asked but not compared (no judge is configured)" if not judged else \
            "open answers not compared (none judged on both sides)"
    if found.state == ReproductionState.NOT_REPRODUCED:
        return f"not reproduced by {who}: {letters}; {words}"
    return f"reproduced by {who}: {letters}; {words}"
