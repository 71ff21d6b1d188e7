"""Circular scoring of 5 x 16,655 MCQ outputs against plain scoring of 16,655: target <= 5x.

    python bench/bench_circular.py [--rounds 5]

Both sides read the same outputs: each rotation's output is drawn from the realistic mix
(tests/mcq_mix.py) exactly as the plain run's is, so the ratio is the cost of five rotations and
nothing else. The two are alternated for `--rounds` rounds; min and median CPU seconds of each,
the ratio of the medians and the load average are printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge import score_submission  # noqa: E402
from judge.circular import score_circular  # noqa: E402
from tests.mcq_mix import realistic_mix  # noqa: E402

MCQ = 16_655


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    mix = realistic_mix(MCQ)
    questions = [{"id": f"mcq-{i}", "question_type": "mcq", "question": "Which?", "answer": case.expected or "A",
                  "options": case.options, "dimension": "long_tail", "visual_description": "",
                  "medical_intelligence": "DX", "modality": "CT", "organ_system": "chest"}
                 for i, case in enumerate(mix)]
    plain = [{"id": q["id"], "prediction": case.output} for q, case in zip(questions, mix)]
    rotated_mix = realistic_mix(5 * MCQ, seed=1)
    circular = [{"id": q["id"], "rotation": r, "prediction": rotated_mix[5 * i + r].output}
                for i, q in enumerate(questions) for r in range(5)]
    times: dict[str, list[float]] = {"plain": [], "circular": []}
    load_before = os.getloadavg()[0]
    for round_ in range(rounds):
        for side in ("plain", "circular") if round_ % 2 == 0 else ("circular", "plain"):
            start = time.process_time()
            if side == "plain":
                score_submission(plain, questions, mcq_only=True)
            else:
                score_circular(circular, questions)
            times[side].append(time.process_time() - start)
    once, rotated = statistics.median(times["plain"]), statistics.median(times["circular"])
    print(f"{rounds} alternated rounds, the same output styles on both sides; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after. Plain scoring of {MCQ:,} MCQs: min {min(times['plain']):.2f} s, median "
          f"{once:.2f} s CPU; circular scoring of 5 x {MCQ:,}: min {min(times['circular']):.2f} s, median "
          f"{rotated:.2f} s CPU: {rotated / once:.1f}x (target <= 5x)")


if __name__ == "__main__":
    main()
