"""The reference baselines' answers: what a model with no model behind it would say.

One place for the answer logic, shared by `predict.py` (`--model baseline:random`, written to a
predictions file) and the leaderboard (the reference rows scored on the served build at start),
so the board's reference MCQ is exactly the score of the file the command writes.

`random` gives a uniformly random letter per multiple-choice question, seeded per question id;
`most-frequent` gives the build's commonest answer letter (read from the answers, as every
majority-class baseline does); `longest-option` gives the letter of the longest option, the
text-only heuristic that exposes answer keys written longer than their distractors. All give
open questions the fixed placeholder `OPEN_PLACEHOLDER`.
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Callable, Iterable

from core.vocabulary import LETTERS

BASELINE_PREFIX = "baseline:"
BASELINES = ("random", "most-frequent", "longest-option")
# Every baseline's answer to an open question: not empty (an empty answer is never judged), and wrong.
OPEN_PLACEHOLDER = "Answer: unknown"


class BaselineError(ValueError):
    """A baseline that does not exist, or a build it cannot answer."""


def most_frequent_letter(rows: Iterable[dict]) -> str:
    """The commonest answer letter among the MCQs in `rows` (a tie goes to the earlier letter).

    It is computed from the answers: that is what a most-frequent (majority-class) baseline is, the
    score of a model that learnt only the label distribution.
    """
    counts = Counter(row["answer"] for row in rows if row["question_type"] == "mcq" and row["answer"] in LETTERS)
    if not counts:
        raise BaselineError(f"{BASELINE_PREFIX}most-frequent: the build has no multiple-choice question "
                            "with an answer letter")
    return min(counts, key=lambda letter: (-counts[letter], letter))


def longest_option(options: list[str]) -> str:
    """The letter of the longest option (in characters, spaces at the ends not counted); a tie goes
    to the earlier letter."""
    lengths = [len(str(option).strip()) for option in options[:len(LETTERS)]]
    return LETTERS[lengths.index(max(lengths))] if lengths else LETTERS[0]


def baseline_answerer(name: str, rows: Iterable[dict], seed: int = 0) -> Callable[[dict], str]:
    """The answer function of baseline `name` (one of BASELINES); `rows` are the build's questions.

    The random baseline's letter depends only on (seed, question id), so a resumed run, a --limit or
    another --config gives every question the same letter as one full run; a rotated row (`predict
    --circular`) draws its own letter per rotation, rotation 0 the plain run's.
    """
    if name == "random":
        def answer(row: dict) -> str:
            if row["question_type"] != "mcq":
                return OPEN_PLACEHOLDER
            turned = f"@{row['rotation']}" if row.get("rotation") else ""
            return random.Random(f"{seed}:{row['id']}{turned}").choice(LETTERS)
    elif name == "most-frequent":
        letter = most_frequent_letter(rows)

        def answer(row: dict) -> str:
            return letter if row["question_type"] == "mcq" else OPEN_PLACEHOLDER
    elif name == "longest-option":
        def answer(row: dict) -> str:
            return longest_option(row["options"]) if row["question_type"] == "mcq" else OPEN_PLACEHOLDER
    else:
        raise BaselineError(f"{BASELINE_PREFIX}{name}: no such baseline; choose "
                            + " or ".join(BASELINE_PREFIX + known for known in BASELINES))
    return answer


def baseline_predictions(name: str, questions: list[dict], seed: int = 0) -> list[dict]:
    """Baseline `name`'s answer to every question, as the judge reads a predictions file (`id`, `prediction`)."""
    answer = baseline_answerer(name, questions, seed)
    return [{"id": row["id"], "prediction": answer(row)} for row in questions]
