"""The reference rows: the baselines scored on the served build, so every score reads against chance.

Each baseline answers every question through `judge.baselines` (the answers `medcmr.py predict
--model baseline:<name>` writes with its default seed) and is scored MCQ-only by the same
`judge.score_submission` submissions go through: no judge call, a fraction of a second at start.
"""
from __future__ import annotations

import logging

import judge
from core.results import DatasetInfo
from judge.baselines import BaselineError, baseline_predictions, most_frequent_letter
from leaderboard import board

log = logging.getLogger(__name__)

SEED = 0  # the default --seed of `medcmr.py predict`, so the row is that command's file, scored
REFERENCE_MODELS = {"random": "Random (reference)", "most-frequent": "Most frequent letter (reference)",
                    "longest-option": "Longest option (reference)"}


def _note(baseline: str, questions: list[dict]) -> str:
    if baseline == "random":
        return (f"A uniformly random letter per MCQ (seed {SEED}): chance. "
                "Same answers as medcmr.py predict --model baseline:random.")
    if baseline == "longest-option":
        return ("Answers the letter of the longest option, reading no image: a text-only heuristic. "
                "Same answers as medcmr.py predict --model baseline:longest-option.")
    return (f"Always answers {most_frequent_letter(questions)}, the build's commonest answer letter. "
            "Same answers as medcmr.py predict --model baseline:most-frequent.")


def reference_records(questions: list[dict], dataset: DatasetInfo | None = None) -> list[dict]:
    """One board row per baseline, scored MCQ-only on `questions`; a baseline the build cannot
    answer (no MCQ with an answer letter) is left out and logged."""
    records = []
    for baseline, model in REFERENCE_MODELS.items():
        try:
            predictions = baseline_predictions(baseline, questions, SEED)
            note = _note(baseline, questions)
        except BaselineError as error:
            log.warning("no reference row for %s: %s", model, error)
            continue
        results = judge.score_submission(predictions, questions, mcq_only=True, dataset=dataset)
        records.append(board.reference_record(baseline, model, note, results))
    return records
