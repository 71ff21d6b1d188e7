"""Circular scoring of 5 x 16,655 MCQ outputs against plain scoring of 16,655: target ≤ 5x.

    python bench/bench_circular.py
"""
from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge import score_submission  # noqa: E402
from judge.circular import score_circular  # noqa: E402

MCQ, LETTERS = 16_655, "ABCDE"


def main() -> None:
    rng = random.Random(0)
    questions = [{"id": f"mcq-{i}", "question_type": "mcq", "question": "Which?", "answer": rng.choice(LETTERS),
                  "options": [f"option {x} of {i}" for x in LETTERS], "dimension": "long_tail",
                  "visual_description": "", "medical_intelligence": "DX", "modality": "CT", "organ_system": "chest"}
                 for i in range(MCQ)]
    plain = [{"id": q["id"], "prediction": f"Answer: {rng.choice(LETTERS)}"} for q in questions]
    circular = [{"id": q["id"], "rotation": r, "prediction": f"The answer is {rng.choice(LETTERS)}."}
                for q in questions for r in range(5)]
    start = time.process_time()
    score_submission(plain, questions, mcq_only=True)
    once = time.process_time() - start
    start = time.process_time()
    score_circular(circular, questions)
    rotated = time.process_time() - start
    print(f"load average {os.getloadavg()[0]:.2f}; plain scoring of {MCQ:,} MCQs {once:.2f} s CPU, circular scoring "
          f"of 5 x {MCQ:,} {rotated:.2f} s CPU: {rotated / once:.1f}x (target ≤ 5x)")


if __name__ == "__main__":
    main()
