"""Calibrates the audit tolerance (MEDCMR_AUDIT_TOLERANCE): false alarms between honest judges, detection of a
gullible one.

Two honest LLM judges disagree item by item: each criterion's grade (0-10) differs by a grade point or two, now
and then by more, and one judge may be a little more lenient overall. This simulation draws such pairs for
submissions of realistic size, applies the audit's rule (held when the whole 95% interval of primary - audit lies
above the tolerance, on a sample of max(20, 5%) of the judged items) and prints, per tolerance, how often an honest
submission would be held and how often one whose answers fool the primary judge on a share of items is caught.

    python bench/bench_audit.py [--trials 500] [--open 3999]
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.vocabulary import CRITERION_KEYS  # noqa: E402
from judge.audit import summarise  # noqa: E402

TOLERANCES = (0.0, 5.0, 10.0, 15.0, 20.0)


def honest_pair(rng: random.Random, lenient: float) -> tuple[dict, dict]:
    """One item graded by two honest judges (0-100 per criterion)."""
    primary, audit = {}, {}
    for key in CRITERION_KEYS:
        truth = rng.choice(range(11))
        spread = 4 if rng.random() < 0.1 else 1  # now and then the judges read an answer differently
        grades = [min(10, max(0, truth + rng.randint(-spread, spread))) for _ in range(2)]
        primary[key] = min(100.0, 10 * grades[0] + lenient)
        audit[key] = 10.0 * grades[1]
    return primary, audit


def trial(rng: random.Random, n_sample: int, fooled: float, tolerance: float) -> bool:
    pairs = []
    lenient = rng.uniform(-5, 5)  # one judge a few points more lenient overall
    for n in range(n_sample):
        primary, audit = honest_pair(rng, lenient)
        if rng.random() < fooled:
            primary = dict.fromkeys(CRITERION_KEYS, 100.0)
        pairs.append({"id": f"open-{n}", "primary": primary, "audit": audit})
    return summarise(pairs, "audit", tolerance).under_review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--open", type=int, default=3999, help="judged open items per submission")
    args = parser.parse_args()
    n_sample = max(20, math.ceil(0.05 * args.open))
    rng = random.Random(0)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.trials:,} trials per cell; sample of {n_sample} "
          f"items (max(20, 5%) of {args.open:,})")
    print(f"{'tolerance':>10}  {'honest held':>12}  " + "  ".join(f"{f'{share:.0%} fooled':>11}"
                                                                 for share in (0.1, 0.25, 0.5, 1.0)))
    for tolerance in TOLERANCES:
        honest = sum(trial(rng, n_sample, 0.0, tolerance) for _ in range(args.trials)) / args.trials
        caught = [sum(trial(rng, n_sample, share, tolerance) for _ in range(args.trials)) / args.trials
                  for share in (0.1, 0.25, 0.5, 1.0)]
        print(f"{tolerance:>10g}  {honest:>12.2%}  " + "  ".join(f"{rate:>11.1%}" for rate in caught))
    small = sum(trial(rng, 20, 0.0, 10.0) for _ in range(args.trials)) / args.trials
    print(f"the smallest sample (20 items), tolerance 10: honest held {small:.2%}")


if __name__ == "__main__":
    main()
