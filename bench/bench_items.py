"""Item analysis over 100 full-size submissions (16,655 MCQs each): target ≤ 2 s.

    python bench/bench_items.py [--submissions 100]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leaderboard.items import analyse  # noqa: E402

MCQ = 16_655


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(0)
    responses = {}
    for model in range(args.submissions):
        ability = 0.2 + 0.7 * model / max(args.submissions - 1, 1)
        responses[f"sub-{model}"] = {f"mcq-{q}": rng.random() < ability for q in range(MCQ)}
    start, cpu = time.perf_counter(), time.process_time()
    stats = analyse(responses)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"load average {os.getloadavg()[0]:.2f}; item analysis of {args.submissions} submissions x {MCQ:,} MCQs: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU (target ≤ 2 s); {sum(s.suspect for s in stats)} suspects in "
          "simulated data with no broken question")


if __name__ == "__main__":
    main()
