"""One way for tests to write a predictions file with a known MCQ accuracy."""
from __future__ import annotations

import json
from pathlib import Path


def wrong_letter(question: dict) -> str:
    return "B" if question["answer"].strip().upper() == "A" else "A"


def write_predictions(path: Path, questions: list[dict], *, right: int | None = None, open_answer: str | None = None,
                      tag: str = "", open_answers: bool = True) -> float:
    """A JSONL file answering the first `right` MCQs correctly (default: half) and the rest wrongly;
    returns the expected MCQ accuracy in %. Open answers are `open_answer` when given, else the
    reference answer plus `tag` (so files differ); `open_answers=False` leaves them out."""
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    right = len(mcqs) // 2 if right is None else right
    lines = []
    for number, q in enumerate(mcqs):
        letter = q["answer"].strip().upper() if number < right else wrong_letter(q)
        lines.append({"id": q["id"], "prediction": f"Answer: {letter}"})
    if open_answers:
        for q in (q for q in questions if q["question_type"] == "open"):
            text = (f"Reasoning: looked.\nAnswer: {open_answer}" if open_answer is not None
                    else f"Reasoning: seen. Answer: {q['answer']} {tag}")
            lines.append({"id": q["id"], "prediction": text})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return 100 * right / len(mcqs)
