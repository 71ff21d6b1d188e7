"""Is the model right, or lucky with the letter? Circular MCQ and blind runs, scored.

Circular (VLMEvalKit's CircularEval, from MMBench): each MCQ is asked in the five rotations of its
options (`predict --circular`: rotation r shows the option of letter i at letter (i + r) mod 5, and
says r on its line). An answer is mapped back to the original letter; the question counts as right
only if every rotation is right (a missing rotation is wrong). Beside circular accuracy: plain
accuracy on rotation 0 (the options as published), and letter-position bias (the share of each
position among the chosen answers against the share holding the key, 20% each over 5 rotations).

Blind (`predict --blind`): the same questions without their images. The image gain is MCQ
accuracy with the image minus without it, on the questions both runs answered, with a paired 95%
interval: how much the model actually uses the image.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from statistics import stdev
from pathlib import Path

from core.results import BlindResults, CircularResults, ItemResult, ItemStatus
from core.vocabulary import LETTERS

from .answers import normalise_answer
from .extract import extract_choice
from .predictions import PredictionsError, read_predictions, shown, split_rotation
from .report import Z95, wilson_ci


def read_circular(source: str | Path | bytes, name: str | None = None) -> list[dict]:
    """A circular run: `predict --circular`'s JSONL (`{"id", "rotation", "prediction"}` per line), or
    VLMEvalKit's predictions for the circular export (its `index` names the question and the rotation);
    every error names the line or row."""
    label = name or (Path(source).name if not isinstance(source, bytes) else "predictions")
    if not _starts_like_jsonl(source):
        return _rotations_of_a_table(source, label)
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else \
        Path(source).read_text(encoding="utf-8", errors="replace")
    records, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise PredictionsError(f"{label} line {number}: not JSON ({error.msg})", file=label, line=number) from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise PredictionsError(f"{label} line {number}: field 'id' is missing", file=label, line=number,
                                   field="id")
        rotation = record.get("rotation")
        if not isinstance(rotation, int) or isinstance(rotation, bool) or not 0 <= rotation < len(LETTERS):
            raise PredictionsError(f"{label} line {number} (id {shown(record['id'])}): field 'rotation' must be 0-4 "
                                   f"(a line of `predict --circular`), got {shown(rotation)}", file=label,
                                   line=number, field="rotation")
        if not isinstance(record.get("prediction"), str):
            raise PredictionsError(f"{label} line {number} (id {shown(record['id'])}): field 'prediction' must be "
                                   "text", file=label, line=number, field="prediction")
        key = (record["id"].strip(), rotation)
        if key in seen:
            raise PredictionsError(f"{label} line {number}: id {shown(key[0])} rotation {rotation} given twice",
                                   file=label, line=number, field="id")
        seen.add(key)
        records.append({"id": key[0], "rotation": rotation, "prediction": record["prediction"]})
    return records


def _starts_like_jsonl(source: str | Path | bytes) -> bool:
    """Whether the first thing past blank space (and a BOM) is `{`: only the file's start is read."""
    if isinstance(source, bytes):
        head = source[:4096]
    else:
        with Path(source).open("rb") as data:
            head = data.read(4096)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def _rotations_of_a_table(source: str | Path | bytes, label: str) -> list[dict]:
    """A VLMEvalKit predictions file of the circular export, read as any predictions file (ids
    `mcq-{i}@{r}`), then split into question and rotation."""
    records = []
    for record in read_predictions(source, name=label):
        ident, rotation = split_rotation(record["id"])
        if rotation is None:
            raise PredictionsError(f"{label}: id {shown(ident)} is not a rotation: a circular run comes from "
                                   "`predict --circular` or VLMEvalKit's circular export (`medcmr export`)",
                                   file=label, field="index")
        records.append({"id": ident, "rotation": rotation, "prediction": record["prediction"]})
    return records


def rotated_options(options: list[str], rotation: int) -> list[str]:
    """The options as rotation `rotation` shows them: the option of letter i at letter (i + rotation) mod 5."""
    return [options[(position - rotation) % len(options)] for position in range(len(options))]


def rotated(row: dict, rotation: int) -> dict:
    """An MCQ with its options turned `rotation` places, the key's letter moving with them (CircularEval,
    as in MMBench); the one place a rotation is made, for `predict --circular` and the VLMEvalKit export."""
    options = row["options"]
    key = LETTERS[(LETTERS.index(row["answer"].strip().upper()) + rotation) % len(options)]
    return {**row, "options": rotated_options(options, rotation), "answer": key, "rotation": rotation}


def score_circular(records: list[dict], questions: list[dict]) -> CircularResults:
    """Circular accuracy, rotation-0 accuracy and letter-position bias of a circular run's MCQs."""
    mcq = {q["id"]: q for q in questions if q["question_type"] == "mcq"}
    unknown = sorted({r["id"] for r in records} - set(mcq))
    if unknown:
        raise PredictionsError(f"{len(unknown)} ids are not MCQs of this dataset (first: {shown(unknown[0])})",
                               field="id")
    by_question: dict[str, dict[int, str]] = {}
    for record in records:
        by_question.setdefault(record["id"], {})[record["rotation"]] = record["prediction"]
    chosen, keys = Counter(), Counter()
    correct = first_right = first_n = missing = 0
    for ident, answers in by_question.items():
        question = mcq[ident]
        key = LETTERS.index(question["answer"].strip().upper())
        right_everywhere = True
        for rotation in range(len(LETTERS)):
            keys[LETTERS[(key + rotation) % len(LETTERS)]] += rotation in answers
            if rotation not in answers:
                missing += 1
                right_everywhere = False
                continue
            answer = normalise_answer(answers[rotation])
            letter = None if answer.not_answered else extract_choice(answer.text,
                                                                     rotated_options(question["options"], rotation))
            if letter:
                chosen[letter] += 1
            original = None if letter is None else (LETTERS.index(letter) - rotation) % len(LETTERS)
            right = original == key
            right_everywhere &= right
            if rotation == 0:
                first_n += 1
                first_right += right
        correct += right_everywhere
    n = len(by_question)
    picked, held = sum(chosen.values()), sum(keys.values())
    return CircularResults(
        n=n, correct=correct, accuracy=round(100 * correct / n, 4) if n else None, ci95=wilson_ci(correct, n),
        first_rotation_accuracy=round(100 * first_right / first_n, 4) if first_n else None,
        missing_rotations=missing,
        chosen_positions={x: round(100 * chosen[x] / picked, 2) if picked else 0.0 for x in LETTERS},
        key_positions={x: round(100 * keys[x] / held, 2) if held else 0.0 for x in LETTERS})


def _gain(pairs: list[tuple[bool, bool]]) -> tuple[float | None, list[float] | None]:
    if not pairs:
        return None, None
    differences = [100.0 * (with_image - blind) for with_image, blind in pairs]
    mean = sum(differences) / len(differences)
    if len(differences) < 2:
        return round(mean, 4), None
    half = Z95 * stdev(differences) / math.sqrt(len(differences))  # paired: one difference per question
    return round(mean, 4), [round(mean - half, 4), round(mean + half, 4)]


def blind_results(with_image: list[ItemResult], blind: list[ItemResult]) -> BlindResults:
    """Blind MCQ accuracy and the image gain on the MCQs both runs answered, overall and per dimension."""
    answered = (ItemStatus.ANSWERED, ItemStatus.UNPARSED)
    seen = {item.id: item for item in with_image if item.question_type == "mcq" and item.status in answered}
    pairs = [(seen[item.id], item) for item in blind if item.id in seen and item.status in answered]
    overall = [(bool(a.correct), bool(b.correct)) for a, b in pairs]
    gain, ci95 = _gain(overall)
    dimensions: dict[str, list[tuple[bool, bool]]] = {}
    for a, b in pairs:
        dimensions.setdefault(a.dimension or "unspecified", []).append((bool(a.correct), bool(b.correct)))
    by_dimension = {}
    for name, cell in dimensions.items():
        cell_gain, cell_ci = _gain(cell)
        by_dimension[name] = {"n": len(cell), "accuracy": round(100 * sum(b for _, b in cell) / len(cell), 4),
                              "image_gain": cell_gain, "ci95": cell_ci}
    return BlindResults(n=len(pairs), accuracy=round(100 * sum(b for _, b in overall) / len(overall), 4)
                        if overall else None, image_gain=gain, ci95=ci95, by_dimension=by_dimension)
