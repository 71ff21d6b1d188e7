"""Hostile prediction files are refused early and plainly; honest ones of the same formats still read.

Each file is written here the way an attacker (or a broken export) would make it, and read through
the real reader and the real judge command.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge.predictions import MAX_COLUMNS, PredictionsError, read_predictions
from tests.answers import write_predictions

ROOT = Path(__file__).resolve().parent.parent


def workbook(rows: list[tuple]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(("index", "question", "prediction"))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet(data: bytes, sheet_xml: str) -> bytes:
    """The same workbook with its sheet replaced by `sheet_xml` (as a zip bomb would be made)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = sheet_xml.encode() if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            target.writestr(entry.filename, content)
    return out.getvalue()


def test_an_honest_vlmevalkit_workbook_still_reads() -> None:
    data = workbook([(0, "q", "Answer: B"), (1_000_003, "q", "Reasoning: fluid.\nAnswer: effusion"), (2, "q", 3)])
    records = read_predictions(data, name="m_MedCMR.xlsx")
    assert records == [{"id": "mcq-0", "prediction": "Answer: B"}, {"id": "open-3", "prediction":
                       "Reasoning: fluid.\nAnswer: effusion"}, {"id": "mcq-2", "prediction": "3"}]


def test_a_workbook_of_millions_of_empty_rows_is_refused_before_it_is_read() -> None:
    rows = "<row/>" * 3_000_000
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>index</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>prediction</t></is></c></row>' + rows + "</sheetData></worksheet>")
    bomb = with_sheet(workbook([(0, "q", "A")]), sheet)
    assert len(bomb) < 2 * 2**20
    with pytest.raises(PredictionsError, match=r"expands [\d,]+ times"):
        read_predictions(bomb, name="bomb.xlsx")


def test_a_zip_that_is_no_workbook_and_a_huge_index_are_one_clear_line() -> None:
    with pytest.raises(PredictionsError, match="not a readable .xlsx workbook"):
        read_predictions(b"PK\x03\x04 broken", name="broken.xlsx")
    tsv = "index\tprediction\n" + "9" * 5000 + "\tAnswer: A\n"
    with pytest.raises(PredictionsError, match=r"line 2: field 'index' must be the whole-number") as error:
        read_predictions(tsv.encode(), name="m_MedCMR.tsv")
    assert len(str(error.value)) < 400  # the index is not printed back whole


def test_a_csv_with_too_many_columns_is_refused_at_its_header() -> None:
    header = ",".join(["id", "prediction"] + [f"c{n}" for n in range(MAX_COLUMNS)])
    with pytest.raises(PredictionsError, match="line 1: the header has 258 columns"):
        read_predictions((header + "\nmcq-0,A" + "," * MAX_COLUMNS + "\n").encode(), name="wide.csv")


@pytest.mark.parametrize("response, field", [({"a": 1}, "filtered_resps"), (7, "filtered_resps"),
                                             ([[True]], "filtered_resps")])
def test_lmms_eval_samples_of_the_wrong_type_are_refused_not_turned_into_text(response, field: str) -> None:
    sample = {"doc_id": 0, "doc": {"id": "mcq-0"}, "filtered_resps": response, "resps": [["A"]]}
    with pytest.raises(PredictionsError, match=f"field '{field}' must be the model's text"):
        read_predictions((json.dumps(sample) + "\n").encode(), name="samples_medcmr_mcq.jsonl")


def test_the_judge_command_says_in_one_line_when_it_cannot_write(built_dataset: Path, questions: list[dict],
                                                                 tmp_path: Path) -> None:
    write_predictions(tmp_path / "p.jsonl", questions)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "judge", "score", "--predictions", str(tmp_path / "p.jsonl"),
                           "--data", str(built_dataset), "--out", str(tmp_path / "r.json"), "--cache",
                           str(blocker / "cache.sqlite"), "--judge-base-url", "http://127.0.0.1:9/v1",
                           "--judge-model", "m"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error:") and len(done.stderr.strip().splitlines()) == 1


def test_a_file_of_only_separator_characters_is_refused_plainly() -> None:
    """Found by the fuzzer: U+001C counts as content for the format sniffing but as blank for the header."""
    for data in (b"\x1c", b"\x1d\x1e\n", "\u2028".encode()):
        with pytest.raises(PredictionsError, match="no predictions found"):
            read_predictions(data, name="fuzz.csv")


# Any bytes, read as any format: a PredictionsError or records, never another exception.
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode),
                      st.lists(st.dictionaries(st.sampled_from(["id", "prediction", "index", "doc_id", "doc",
                                                               "filtered_resps", "resps"]),
                                               st.recursive(st.none() | st.booleans() | st.integers() |
                                                            st.floats() | st.text(max_size=20),
                                                            lambda inner: st.lists(inner, max_size=3) |
                                                            st.dictionaries(st.text(max_size=5), inner, max_size=3),
                                                            max_leaves=8)), max_size=5)
                      .map(lambda items: "\n".join(json.dumps(item) for item in items).encode())),
       suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".xlsx", ".txt"]))
def test_any_input_is_read_or_refused_plainly(data: bytes, suffix: str) -> None:
    try:
        records = read_predictions(data, name=f"fuzz{suffix}")
    except PredictionsError:
        return
    assert all(isinstance(r["id"], str) and isinstance(r["prediction"], str) for r in records)
