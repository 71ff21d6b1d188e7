"""Reading and checking predictions files: every format reads the same, every error names the spot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge import PredictionsError, check_predictions, read_predictions

QUESTIONS = [{"id": i} for i in ("mcq-0", "mcq-1", "mcq-2", "open-0")]
RECORDS = [
    {"id": "mcq-0", "prediction": "A", "model_note": "x"},
    {"id": "mcq-1", "prediction": "Answer: C, because \"quoted\", and a comma"},
    {"id": "open-0", "prediction": "Reasoning: lines\nspan\nAnswer: effusion"},
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def as_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def as_csv(records: list[dict]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "prediction", "model_note"])
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


@pytest.mark.parametrize("name, render", [
    ("p.jsonl", as_jsonl), ("p.json", json.dumps), ("p.csv", as_csv), ("misnamed.txt", as_jsonl),
])
def test_every_format_reads_the_same_records(tmp_path: Path, name: str, render) -> None:
    records = read_predictions(write(tmp_path / name, render(RECORDS)))
    assert [(r["id"], r["prediction"]) for r in records] == [(r["id"], r["prediction"]) for r in RECORDS]
    assert records[0]["model_note"] == "x"


def test_csv_with_excel_bom_and_a_null_prediction(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("\ufeffid,prediction\nmcq-0,B\nmcq-1,\n".encode())
    assert read_predictions(path) == [{"id": "mcq-0", "prediction": "B"}, {"id": "mcq-1", "prediction": ""}]
    path = write(tmp_path / "n.jsonl", '{"id": "mcq-0", "prediction": null}\n\n')
    assert read_predictions(path) == [{"id": "mcq-0", "prediction": ""}]


@pytest.mark.parametrize("name, text, needles", [
    ("bad.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-1", "prediction": "B"}\n{"id": "mcq-2", "pred',
     ["bad.jsonl line 3", "not valid JSON"]),
    ("nofield.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-1", "answer": "B"}\n',
     ["nofield.jsonl line 2", "'mcq-1'", "'prediction'"]),
    ("noid.jsonl", '{"prediction": "A"}\n', ["noid.jsonl line 1", "'id'"]),
    ("intid.json", '[{"id": "mcq-0", "prediction": "A"}, {"id": 7, "prediction": "B"}]', ["intid.json record 2", "'id'"]),
    ("number.jsonl", '{"id": "mcq-0", "prediction": 3}\n', ["number.jsonl line 1", "'prediction'", "string"]),
    ("notlist.json", '[1, 2]', ["notlist.json record 1", "object"]),
    ("broken.json", '[{"id": "mcq-0", "prediction": "A"},]', ["broken.json", "not valid JSON", "line 1"]),
    ("cols.csv", "qid,answer\nmcq-0,A\n", ["cols.csv line 1", "'id'"]),
    ("cells.csv", "id,prediction\nmcq-0,A\nmcq-1,B,extra\n", ["cells.csv line 3", "more cells"]),
    ("short.csv", "id,prediction\nmcq-0,A\nmcq-1\n", ["short.csv line 3", "'mcq-1'", "'prediction'"]),
    ("empty.jsonl", "  \n", ["empty.jsonl", "empty"]),
    ("header.csv", "id,prediction\n", ["header.csv", "no predictions"]),
])
def test_bad_files_name_file_record_and_field(tmp_path: Path, name: str, text: str, needles: list[str]) -> None:
    with pytest.raises(PredictionsError) as error:
        read_predictions(write(tmp_path / name, text))
    for needle in needles:
        assert needle in str(error.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(PredictionsError, match="not found"):
        read_predictions(tmp_path / "nope.jsonl")
    (tmp_path / "latin.csv").write_bytes("id,prediction\nmcq-0,\xe9\n".encode("latin-1"))
    with pytest.raises(PredictionsError, match="latin.csv: not UTF-8"):
        read_predictions(tmp_path / "latin.csv")


def test_coverage_counts_missing_ids_as_listed() -> None:
    coverage = check_predictions([{"id": "mcq-0", "prediction": "A"}, {"id": "open-0", "prediction": ""}], QUESTIONS)
    assert coverage == {"expected": 4, "given": 2, "missing": 2, "unknown": 0, "missing_ids": ["mcq-1", "mcq-2"]}


def test_unknown_duplicate_and_fieldless_records_are_errors() -> None:
    with pytest.raises(PredictionsError, match=r"1 prediction id\(s\) are not questions.*'mcq-99'"):
        check_predictions([{"id": "mcq-0", "prediction": "A"}, {"id": "mcq-99", "prediction": "A"}], QUESTIONS)
    with pytest.raises(PredictionsError, match="duplicate ids.*'mcq-1'"):
        check_predictions([{"id": "mcq-1", "prediction": "A"}, {"id": "mcq-1", "prediction": "B"}], QUESTIONS)
    with pytest.raises(PredictionsError, match="record 2 .*'mcq-1'.*missing field 'prediction'"):
        check_predictions([{"id": "mcq-0", "prediction": "A"}, {"id": "mcq-1"}], QUESTIONS)
