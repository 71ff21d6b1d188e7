"""Item analysis: its time over 100 full-size submissions, and its flags' honesty and recall.

Suspect questions are flagged at a stated false-discovery rate (`leaderboard.items.FDR`). On simulated
full-size builds (16,655 MCQs, 2% of the keys wrong, `leaderboard.simulate`) answered by models of every
ability from chance to expert, in families, this prints per number of submissions the flagged questions,
the false discovery proportion (sound questions among the flagged: the FDR bounds its mean) and the recall
of the planted wrong keys; then the time over 100 submissions.

    python bench/bench_items.py [--submissions 20 25 30 50 100] [--builds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leaderboard.items import FDR, analyse, suspect_mask  # noqa: E402
from leaderboard.simulate import Build, Family, Model, abilities  # noqa: E402

MCQ = 16_655


def answers(build: Build, count: int, rng: np.random.Generator) -> np.ndarray:
    families = [Family.make(build, rng) for _ in range((count + 1) // 2)]
    return np.array([Model.make(build, rng, float(a), families[n // 2]).answer(build, rng)
                     for n, a in enumerate(abilities(count, rng))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, nargs="+", default=[20, 25, 30, 50, 100])
    parser.add_argument("--builds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.2f}; FDR {FDR:.0%}; {MCQ:,} MCQs, 2% of the keys wrong, "
          f"{args.builds} simulated builds per row")
    print("| submissions | flagged | false discovery proportion | recall of wrong keys |\n|---:|---:|---:|---:|")
    for count in args.submissions:
        flagged, false, found, planted = 0, 0, 0, 0
        for _ in range(args.builds):
            build = Build.make(MCQ, rng)
            letters = answers(build, count, rng)
            mask = suspect_mask(letters == build.key, np.ones(letters.shape, dtype=bool))
            flagged += int(mask.sum())
            false += int((mask & ~build.miskeyed).sum())
            found += int((mask & build.miskeyed).sum())
            planted += int(build.miskeyed.sum())
        print(f"| {count} | {flagged / args.builds:.1f} | {false / max(flagged, 1):.1%} | {found / planted:.1%} |")
    build = Build.make(MCQ, rng)
    letters = answers(build, 100, rng)
    responses = {f"sub-{n}": {f"mcq-{q}": bool(right) for q, right in enumerate(row)}
                 for n, row in enumerate(letters == build.key)}
    start, cpu = time.perf_counter(), time.process_time()
    stats = analyse(responses)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"item analysis of 100 submissions x {MCQ:,} MCQs: {wall:.2f} s wall, {cpu:.2f} s CPU (target ≤ 2 s); "
          f"{sum(s.suspect for s in stats)} flagged (load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
