"""Benchmark the compare view's statistics on two full-size submissions.

    .venv/bin/python bench/bench_stats.py [--runs 5]

Two seeded, realistic per-item lists as the judge writes them (16,655 MCQ in the paper's
per-dimension counts + 3,999 open items): the two models' answers are correlated through a
shared question difficulty, about 5% of open answers are empty (scored 0) and 1% failed in the
judge (no score). Timed: `compare` (target <= 1 s), the paired bootstrap on 4,000 pairs
(target <= 0.3 s), McNemar at 20,000 nearly evenly split discordant pairs (its slowest case) and
rank bands for 1,018 rows. On a shared machine, read each time next to the load average.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_board import MCQ_PER_DIMENSION, N_OPEN  # noqa: E402
from leaderboard import stats  # noqa: E402
from medcmr import DIMENSIONS  # noqa: E402


def submissions(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Items of two models, A a little stronger than B, both driven by each question's difficulty."""
    rng = random.Random(seed)
    a: list[dict] = []
    b: list[dict] = []
    index = 0
    for task, count in MCQ_PER_DIMENSION.items():
        dimension = DIMENSIONS[task]
        for _ in range(count):
            difficulty = rng.gauss(0, 1)
            for items, threshold in ((a, -0.25), (b, -0.20)):
                extracted = rng.choice("ABCDE")
                correct = difficulty + rng.gauss(0, 0.8) < -threshold
                items.append({"id": f"mcq-{index}", "question_type": "mcq", "dimension": dimension,
                              "status": "answered", "extracted": "A" if correct else extracted,
                              "answer": "A", "correct": correct})
            index += 1
    dimensions = list(DIMENSIONS.values())
    for number in range(N_OPEN):
        quality = rng.uniform(15, 85)
        for items, shift in ((a, 1.0), (b, 0.0)):
            roll = rng.random()
            status, score = ("empty", 0.0) if roll < 0.05 else ("failed", None) if roll < 0.06 else (
                "judged", round(min(100.0, max(0.0, quality + shift + rng.gauss(0, 12))), 1))
            items.append({"id": f"open-{number}", "question_type": "open",
                          "dimension": dimensions[number % len(dimensions)], "status": status,
                          "criteria": None, "score": score})
    return a, b


def timed(function: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """(median, max) wall seconds over `runs` calls, and the last result."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), max(timings), result


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    a, b = submissions()
    print(f"two submissions of {sum(i['question_type'] == 'mcq' for i in a):,} MCQ + "
          f"{sum(i['question_type'] == 'open' for i in a):,} open items")

    median, worst, result = timed(lambda: stats.compare(a, b, name_a="Model-A", name_b="Model-B"), runs)
    print(f"compare(): median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms over {runs} runs "
          f"(target <= 1 s); {load()}")
    mcq, open_ = result.mcq, result.open
    print(f"  MCQ  both right {mcq.both_right:,}, only A {mcq.only_a:,}, only B {mcq.only_b:,}, "
          f"both wrong {mcq.both_wrong:,}; {len(mcq.disagree_ids):,} to explore")
    print(f"       {mcq.sentence}")
    print(f"  Open {open_.paired:,} paired ({open_.unscored} unscored), sign test p = {open_.p:.3g}; "
          f"{len(open_.disagree_ids):,} differ by >= 20 points")
    print(f"       {open_.sentence}")

    scored = [(x["score"], y["score"]) for x, y in zip(a, b)
              if x["question_type"] == "open" and x["score"] is not None and y["score"] is not None]
    rng = random.Random(1)
    pairs = [scored[rng.randrange(len(scored))] for _ in range(4000)]
    first, second = [x for x, _ in pairs], [y for _, y in pairs]
    median, worst, _ = timed(lambda: stats.paired_bootstrap(first, second), runs)
    print(f"paired_bootstrap() on 4,000 pairs, 2,000 resamples: median {median * 1000:.0f} ms, "
          f"max {worst * 1000:.0f} ms (target <= 300 ms); {load()}")

    median, worst, p = timed(lambda: stats.mcnemar_exact(9_999, 10_001), runs)
    print(f"mcnemar_exact(9999, 10001) = {p:.4f}: median {median * 1000:.1f} ms, max {worst * 1000:.1f} ms")

    rows = [(score, *stats.wilson_interval(score, stats.PAPER_MCQ_N))
            for score in (rng.uniform(10, 70) for _ in range(1018))]
    median, worst, _ = timed(lambda: stats.rank_bands(rows), runs)
    print(f"rank_bands() for 1,018 rows: median {median * 1000:.1f} ms")


if __name__ == "__main__":
    main()
