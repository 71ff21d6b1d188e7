"""Item analysis: which questions are hard, which tell strong models from weak ones, which look broken.

Classical test theory over the submissions scored on one build (each an MCQ response vector):

- **difficulty** `p`: the share of submissions that got the question right;
- **discrimination** `r`: the point-biserial correlation between being right on the question and
  the submission's accuracy on the *other* questions (the rest score, so a question never
  correlates with itself). Good questions have r > 0: strong models get them right more often;
- **suspect**, with the rule that set it, once at least `MIN_SUBMISSIONS` submissions answered:
  - `negative discrimination`: r < `NEGATIVE_R` (0) — strong models get it wrong while weak ones get
    it right, the signature of a wrong answer key (in simulation with 30 submissions of abilities
    spread from chance to expert: 90% of planted wrong keys found, 0.5% of sound questions flagged);
  - `nobody right`: p = 0 — very hard, or broken (a key no option matches, an unreadable image).

`bench/bench_items.py` times it on 100 full-size submissions; tests/test_items.py plants wrong keys
in a simulated build and checks that they are found and that a clean build raises fewer false
alarms than `FALSE_ALARM_RATE`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

import numpy as np

MIN_SUBMISSIONS = 20
NEGATIVE_R = 0.0  # a wrong key among five options gives r of about -0.2: any negative r is suspect
FALSE_ALARM_RATE = 0.01  # documented: share of sound questions a clean build flags with 30 submissions (tested)
COLUMNS = ("id", "n", "difficulty", "discrimination", "suspect", "rule")


@dataclass(frozen=True)
class ItemStats:
    """One question's statistics over the submissions that answered it."""

    id: str
    n: int
    difficulty: float | None
    discrimination: float | None
    suspect: bool
    rule: str


def analyse(responses: dict[str, dict[str, bool]]) -> list[ItemStats]:
    """Item statistics from `responses`: submission id -> {question id: right?} (MCQ).

    A question a submission did not answer is left out of that submission's figures for it.
    """
    questions = sorted({question for answers in responses.values() for question in answers})
    if not questions or not responses:
        return []
    index = {question: column for column, question in enumerate(questions)}
    right = np.zeros((len(responses), len(questions)), dtype=np.float64)
    seen = np.zeros_like(right, dtype=bool)
    for row, answers in enumerate(responses.values()):
        for question, correct in answers.items():
            right[row, index[question]] = 1.0 if correct else 0.0
            seen[row, index[question]] = True
    totals = right.sum(axis=1, keepdims=True)
    answered = seen.sum(axis=1, keepdims=True)
    others = answered - seen  # how many other questions each submission answered, per question
    mask = seen & (others > 0)
    # Rest score: accuracy on the other questions the submission answered (never the question itself).
    rest = np.where(mask, (totals - right) / np.maximum(others, 1), 0.0)
    x = np.where(mask, right, 0.0)
    n = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x, mean_y = x.sum(axis=0) / n, rest.sum(axis=0) / n
        cov = (x * rest).sum(axis=0) / n - mean_x * mean_y
        var_x = (x * x).sum(axis=0) / n - mean_x ** 2
        var_y = (rest * rest).sum(axis=0) / n - mean_y ** 2
        r = cov / np.sqrt(var_x * var_y)
    stats = []
    for column, question in enumerate(questions):
        count = int(n[column])
        difficulty = float(mean_x[column]) if count else None
        defined = count >= 2 and var_x[column] > 1e-12 and var_y[column] > 1e-12
        discrimination = float(r[column]) if defined else None
        rule = ""
        if count >= MIN_SUBMISSIONS:
            if discrimination is not None and discrimination < NEGATIVE_R:
                rule = "negative discrimination"
            elif difficulty == 0.0:
                rule = "nobody right"
        stats.append(ItemStats(question, count, difficulty, discrimination, bool(rule), rule))
    return stats


def items_csv(stats: list[ItemStats], questions: dict[str, dict] | None = None, *, suspects_only: bool = False) -> bytes:
    """Item statistics as CSV for the dataset's maintainers (with the key and the question text when known)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, "answer", "question"])
    for item in stats:
        if item.suspect or not suspects_only:
            question = (questions or {}).get(item.id, {})
            row = asdict(item)
            writer.writerow([row[column] for column in COLUMNS] + [question.get("answer", ""),
                                                                  question.get("question", "")])
    return out.getvalue().encode("utf-8")
