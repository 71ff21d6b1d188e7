"""Reading and checking predictions files: every format reads the same, every error names the spot."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.results import Coverage
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
    assert coverage == Coverage(expected=4, given=2, missing=2, unknown=0, missing_ids=["mcq-1", "mcq-2"])


def test_unknown_duplicate_and_fieldless_records_are_errors() -> None:
    with pytest.raises(PredictionsError, match=r"1 prediction id\(s\) are not questions.*'mcq-99'"):
        check_predictions([{"id": "mcq-0", "prediction": "A"}, {"id": "mcq-99", "prediction": "A"}], QUESTIONS)
    with pytest.raises(PredictionsError, match="duplicate ids.*'mcq-1'"):
        check_predictions([{"id": "mcq-1", "prediction": "A"}, {"id": "mcq-1", "prediction": "B"}], QUESTIONS)
    with pytest.raises(PredictionsError, match="record 2 .*'mcq-1'.*missing field 'prediction'"):
        check_predictions([{"id": "mcq-0", "prediction": "A"}, {"id": "mcq-1"}], QUESTIONS)


# --------------------------------------------------------------------------- sources, locations, parser gaps
KNOWN = {"mcq-0", "mcq-1", "mcq-2", "open-0"}


def test_bytes_text_and_path_sources_read_the_same(tmp_path: Path) -> None:
    text = as_jsonl(RECORDS)
    from_path = read_predictions(write(tmp_path / "p.jsonl", text))
    assert read_predictions(text.encode()) == from_path
    assert read_predictions(text) == from_path
    assert read_predictions(str(tmp_path / "p.jsonl")) == from_path  # a one-line str naming a file is a path
    with pytest.raises(PredictionsError) as error:
        read_predictions(b'{"id": "mcq-0"}\n', name="upload.jsonl")
    assert str(error.value).startswith("upload.jsonl line 1")
    with pytest.raises(PredictionsError, match=r"^predictions line 1"):
        read_predictions('{"id": 3, "prediction": "A"}\n')


def test_errors_carry_file_line_and_field_and_read_plainly() -> None:
    with pytest.raises(PredictionsError) as error:
        read_predictions(b'{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-1", "prediction": "B\n', name="p.jsonl")
    assert (error.value.file, error.value.line) == ("p.jsonl", 2)
    assert str(error.value) == "p.jsonl line 2: not valid JSON: Unterminated string starting at (column 31)"
    assert "at at" not in str(error.value)
    with pytest.raises(PredictionsError) as error:
        read_predictions(b'{"id": "mcq-0", "prediction": "A"}\n\n{"id": "mcq-1", "prediction": 3}\n', name="p.jsonl")
    assert (error.value.file, error.value.line, error.value.field) == ("p.jsonl", 3, "prediction")
    with pytest.raises(PredictionsError) as error:
        read_predictions(b'[\n {"id": "mcq-0", "prediction": "A"},\n {"id": 7, "prediction": "B"}\n]', name="l.json")
    assert (error.value.record, error.value.line, error.value.field) == (2, 3, "id")
    assert str(error.value).startswith("l.json record 2: ")


def test_a_csv_answer_cell_over_128_kib_reads(tmp_path: Path) -> None:
    long_answer = "Reasoning: " + "the lesion enhances, " * 10_000 + "\nAnswer: abscess"
    assert len(long_answer) > 128 * 1024
    path = tmp_path / "long.csv"
    path.write_text(as_csv([{"id": "open-0", "prediction": long_answer, "model_note": ""}]), encoding="utf-8")
    assert read_predictions(path)[0]["prediction"] == long_answer


@pytest.mark.parametrize("name, text, message", [
    ("deep.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-1", "x": ' + "[" * 100_000 + "\n",
     "deep.jsonl line 2: nesting too deep"),
    ("deep.json", '[{"id": "mcq-0", "prediction": "A"},\n' + "[" * 100_000, "deep.json record 2: nesting too deep"),
    ("big.jsonl", '{"id": "mcq-0", "prediction": "A", "n": ' + "9" * 5000 + "}\n",
     "big.jsonl line 1: number too large"),
    ("big.json", '[{"id": "mcq-0", "prediction": "A"},\n {"n": ' + "9" * 5000 + "}]",
     "big.json record 2: number too large"),
    ("words.jsonl", "this is not json\n", "words.jsonl line 1: not valid JSON"),
    ("number.json", "\n\n42\n", "number.json line 3: expected a JSON object"),
    ("fake.xlsx", "id,prediction\nmcq-0,A\n", "fake.xlsx: not an .xlsx workbook"),
])
def test_parser_gaps_are_clear_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(PredictionsError) as error:
        read_predictions(write(tmp_path / name, text))
    assert str(error.value).startswith(message)


def test_the_cli_reports_parser_gaps_with_file_and_line(tmp_path: Path, built_dataset: Path) -> None:
    import medcmr

    first = medcmr.load_questions(built_dataset)[0]["id"]
    cases = {
        "deep.jsonl": (f'{{"id": "{first}", "prediction": ' + "[" * 50_000 + "\n",
                       "deep.jsonl line 1: nesting too deep"),
        "big.jsonl": (f'{{"id": "{first}", "prediction": "A", "n": ' + "1" * 5000 + "}\n",
                      "big.jsonl line 1: number too large"),
        "unknown.jsonl": (f'{{"id": "{first}", "prediction": "A"}}\n{{"id": "mcq-999999", "prediction": "A"}}\n',
                          "unknown.jsonl line 2: id 'mcq-999999' is not a question of this dataset"),
        "dupes.csv": (f"id,prediction\n{first},A\n{first},B\n",
                      f"dupes.csv line 3: duplicate id '{first}' (first at line 2)"),
    }
    for name, (text, message) in cases.items():
        out = tmp_path / f"{name}.results.json"
        predictions = write(tmp_path / name, text)
        done = subprocess.run([sys.executable, "-m", "judge", "score", "--predictions", str(predictions),
                               "--data", str(built_dataset), "--out", str(out), "--no-cache"],
                              cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and not out.exists(), done.stderr
        assert done.stderr.startswith(f"error: {message}"), done.stderr


# --------------------------------------------------------------------------- known ids: stop at the first offender
def test_unknown_ids_stop_the_read_at_the_first_one_with_a_bounded_count_of_more(tmp_path: Path) -> None:
    lines = ['{"id": "mcq-0", "prediction": "A"}']
    lines += [json.dumps({"id": f"mcq-{n}", "prediction": "A"}) for n in range(1000, 1100)]
    lines += ["this line is broken and is never read"]
    path = write(tmp_path / "other.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(PredictionsError) as error:
        read_predictions(path, known_ids=KNOWN)
    assert str(error.value) == ("other.jsonl line 2: id 'mcq-1000' is not a question of this dataset; "
                                "20 more unknown id(s) in the next 20 record(s), stopped looking there")
    assert (error.value.line, error.value.field) == (2, "id")


def test_duplicates_are_found_while_reading_and_name_both_lines(tmp_path: Path) -> None:
    text = "id,prediction\nmcq-0,A\nmcq-1,B\nmcq-0,C\nmcq-9,D\n"
    with pytest.raises(PredictionsError) as error:
        read_predictions(write(tmp_path / "d.csv", text), known_ids=KNOWN)
    assert str(error.value) == ("d.csv line 4: duplicate id 'mcq-0' (first at line 2); "
                                "1 more unknown id(s) in the next 1 record(s)")
    assert read_predictions(write(tmp_path / "ok.csv", "id,prediction\nmcq-0,A\nopen-0,B\n"), known_ids=KNOWN) == [
        {"id": "mcq-0", "prediction": "A"}, {"id": "open-0", "prediction": "B"}]
