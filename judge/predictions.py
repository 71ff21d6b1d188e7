"""Reading a predictions file and checking it against the questions, before any judge call.

A predictions file is JSONL (one `{"id": ..., "prediction": ...}` per line), a JSON list of the
same objects, or CSV with `id,prediction` columns. Extra keys are kept. Every error names the
file, the line or record, and the field, so a submitter can fix it in one go.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path


class PredictionsError(ValueError):
    """A predictions file or list that cannot be scored as given."""


def _check_record(record: object, where: str) -> dict:
    if not isinstance(record, dict):
        raise PredictionsError(f"{where}: expected an object with 'id' and 'prediction', got {type(record).__name__}")
    if "id" not in record:
        raise PredictionsError(f"{where}: missing field 'id'")
    if not isinstance(record["id"], str) or not record["id"].strip():
        raise PredictionsError(f"{where}: field 'id' must be a non-empty string such as 'mcq-0', got {record['id']!r}")
    if "prediction" not in record:
        raise PredictionsError(f"{where} (id {record['id']!r}): missing field 'prediction'")
    if record["prediction"] is not None and not isinstance(record["prediction"], str):
        raise PredictionsError(
            f"{where} (id {record['id']!r}): field 'prediction' must be a string (or null), "
            f"got {type(record['prediction']).__name__}"
        )
    return {**record, "id": record["id"].strip(), "prediction": record["prediction"] or ""}


def _read_jsonl(text: str, name: str) -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PredictionsError(f"{name} line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        records.append(_check_record(record, f"{name} line {number}"))
    return records


def _read_json_list(text: str, name: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PredictionsError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, list):
        raise PredictionsError(f"{name}: expected a JSON list of {{'id', 'prediction'}} objects, got {type(data).__name__}")
    return [_check_record(record, f"{name} record {number}") for number, record in enumerate(data, start=1)]


def _read_csv(text: str, name: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    for column in ("id", "prediction"):
        if column not in columns:
            raise PredictionsError(f"{name} line 1: CSV header must have columns 'id' and 'prediction' (missing '{column}')")
    records = []
    for row in reader:
        if None in row:
            raise PredictionsError(f"{name} line {reader.line_num}: more cells than header columns")
        if not any((value or "").strip() for value in row.values()):
            continue
        if row["prediction"] is None:  # a row cut short is a broken export, not an empty answer
            raise PredictionsError(f"{name} line {reader.line_num} (id {row['id']!r}): missing field 'prediction' "
                                   "(fewer cells than header columns)")
        records.append(_check_record(row, f"{name} line {reader.line_num}"))
    return records


def read_predictions(path: str | Path) -> list[dict]:
    """Read a JSONL, JSON-list or CSV predictions file into `[{"id", "prediction", ...}]`.

    The format comes from the content (a JSON list starts with `[`, JSONL with `{`), so a
    misnamed file still reads; anything else is read as CSV. A null prediction becomes "".
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PredictionsError(f"{path}: predictions file not found") from None
    except IsADirectoryError:
        raise PredictionsError(f"{path}: is a folder, expected a predictions file") from None
    except UnicodeDecodeError as exc:
        raise PredictionsError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    start = text.lstrip()[:1]
    if not start:
        raise PredictionsError(f"{name}: the file is empty")
    if start == "[":
        records = _read_json_list(text, name)
    elif start == "{":
        records = _read_jsonl(text, name)
    else:
        records = _read_csv(text, name)
    if not records:
        raise PredictionsError(f"{name}: no predictions found")
    return records


def _sample(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_predictions(predictions: list[dict], questions: list[dict]) -> dict:
    """Coverage of `predictions` over `questions`; raises PredictionsError on what cannot be scored.

    Unknown ids, duplicate ids and records without a `prediction` are errors (a submission for
    another dataset or a broken export). Missing ids are not: they count as wrong answers.
    Returns `{"expected", "given", "missing", "unknown", "missing_ids"}`.
    """
    for number, record in enumerate(predictions, start=1):
        _check_record(record, f"prediction record {number}")
    counts = Counter(record["id"].strip() for record in predictions)
    duplicates = sorted(i for i, count in counts.items() if count > 1)
    if duplicates:
        raise PredictionsError(f"duplicate ids in predictions: {_sample(duplicates)}")
    known = {q["id"] for q in questions}
    unknown = sorted(i for i in counts if i not in known)
    if unknown:
        raise PredictionsError(
            f"{len(unknown)} prediction id(s) are not questions of this dataset: {_sample(unknown)}"
        )
    return coverage(set(counts), questions)


def coverage(given_ids: set[str], questions: list[dict]) -> dict:
    """Expected/given/missing counts of already checked ids over `questions` (missing ids listed)."""
    missing = [q["id"] for q in questions if q["id"] not in given_ids]
    return {"expected": len(questions), "given": len(questions) - len(missing), "missing": len(missing),
            "unknown": 0, "missing_ids": missing}
