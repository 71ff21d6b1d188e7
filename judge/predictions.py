"""Reading a predictions file and checking it against the questions, before any judge call.

A predictions file is JSONL (one `{"id": ..., "prediction": ...}` per line), a JSON list of the
same objects, or CSV with `id,prediction` columns; extra keys are kept. The outputs of two
evaluation tools read as they are: VLMEvalKit's prediction file (`{model}_{dataset}.xlsx`, `.tsv`
or `.json` with `index` and `prediction`) and lmms-eval's `samples_*.jsonl`. The format comes from
the content. Every error names the file, the line or record, and the field, so a submitter can fix
it in one go, and reading stops at the first offender instead of parsing a whole bad file.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.results import Coverage
from core.vocabulary import LETTERS

MAX_FIELD_BYTES = 64 * 2**20  # a CSV cell may be as large as a whole upload (50 MiB on the Space)
MAX_COLUMNS = 256  # a predictions table needs two; VLMEvalKit's carries the question's columns too
MAX_INDEX_DIGITS = 12  # a VLMEvalKit index is below CIRCULAR_INDEX_OFFSET + ROTATIONS * OPEN_INDEX_OFFSET
# A .xlsx is a zip: its declared sizes are checked before anything is decompressed, then rows are streamed.
XLSX_MAX_UNPACKED = 512 * 2**20
XLSX_MAX_ENTRIES = 1000
XLSX_MAX_RATIO = 100  # real sheets compress about 5-20:1; a workbook of millions of empty rows, 1,000:1
XLSX_MAX_ROWS = 200_000  # the release has 20,654 questions
LOOKAHEAD_OFFENDERS = 20  # after the first unknown/duplicate id, count at most this many more...
LOOKAHEAD_RECORDS = 10_000  # ...within this many further records, then stop reading
OPEN_INDEX_OFFSET = 1_000_000  # VLMEvalKit `index` of open-{i} is OFFSET + i; of mcq-{i} it is i
# Rotation r of mcq-{i} in the circular export: CIRCULAR_INDEX_OFFSET + r * OPEN_INDEX_OFFSET + i, read
# back as the id `mcq-{i}@{r}` (judge.circular reads those files).
CIRCULAR_INDEX_OFFSET = 2 * OPEN_INDEX_OFFSET
ROTATIONS = len(LETTERS)
LMMS_RESULT_KEYS = ("medcmr_mcq_acc", "medcmr_open_answered")  # what bridges/lmms_eval logs per sample
FORMATS = (".jsonl", ".json", ".csv", ".tsv", ".xlsx")  # what the reader reads; the Space takes these uploads
_SPACE = re.compile(r"[ \t\n\r]*")


class PredictionsError(ValueError):
    """A predictions file or list that cannot be scored as given.

    `file`, `line` (or sheet row), `record` (JSON list position) and `field` locate the first
    failing item where known, so a caller can point at it without parsing the message.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 record: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.file, self.line, self.record, self.field = file, line, record, field


def shown(value: object, limit: int = 60) -> str:
    """A submitted value as an error message quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


@dataclass(frozen=True)
class _Spot:
    """Where one record sits: `label` is what messages print ("p.jsonl line 3")."""

    file: str | None
    label: str
    line: int | None = None
    record: int | None = None

    @property
    def short(self) -> str:
        return f"record {self.record}" if self.record is not None else f"line {self.line}"

    def error(self, message: str, field: str | None = None, ident: object = None) -> PredictionsError:
        where = f" (id {shown(ident)})" if ident is not None else ""
        return PredictionsError(f"{self.label}{where}: {message}", file=self.file, line=self.line,
                                record=self.record, field=field)


def _line_spot(name: str, number: int, word: str = "line") -> _Spot:
    return _Spot(name, f"{name} {word} {number}", line=number)


def _check_record(record: object, spot: _Spot | str) -> dict:
    if isinstance(spot, str):
        spot = _Spot(None, spot)
    if not isinstance(record, dict):
        raise spot.error(f"expected an object with 'id' and 'prediction', got {type(record).__name__}")
    if "id" not in record:
        raise spot.error("missing field 'id'", "id")
    if not isinstance(record["id"], str) or not record["id"].strip():
        raise spot.error(f"field 'id' must be a non-empty string such as 'mcq-0', got {shown(record['id'])}", "id")
    if "prediction" not in record:
        raise spot.error("missing field 'prediction'", "prediction", record["id"])
    if record["prediction"] is not None and not isinstance(record["prediction"], str):
        raise spot.error(f"field 'prediction' must be a string (or null), got {type(record['prediction']).__name__}",
                         "prediction", record["id"])
    return {**record, "id": record["id"].strip(), "prediction": record["prediction"] or ""}


# --------------------------------------------------------------------------- tool formats
def vlmevalkit_index(question_id: str, rotation: int | None = None) -> int:
    """The VLMEvalKit `index` of a question id: mcq-{i} -> i, open-{i} -> OPEN_INDEX_OFFSET + i, and
    rotation r of mcq-{i} -> CIRCULAR_INDEX_OFFSET + r * OPEN_INDEX_OFFSET + i."""
    kind, _, number = question_id.partition("-")
    if kind not in ("mcq", "open") or not number.isdigit() or int(number) >= OPEN_INDEX_OFFSET:
        raise ValueError(f"not a Med-CMR question id: {question_id!r}")
    if rotation is not None:
        if kind != "mcq" or not 0 <= rotation < ROTATIONS:
            raise ValueError(f"{question_id!r}: only an MCQ has rotations 0-{ROTATIONS - 1}, got {rotation!r}")
        return CIRCULAR_INDEX_OFFSET + rotation * OPEN_INDEX_OFFSET + int(number)
    return int(number) + (OPEN_INDEX_OFFSET if kind == "open" else 0)


def rotation_id(question_id: str, rotation: int) -> str:
    """The id a circular export's row reads back as: `mcq-{i}@{r}` (rotation r of mcq-{i})."""
    return f"{question_id}@{rotation}"


def split_rotation(ident: str) -> tuple[str, int | None]:
    """(question id, rotation) of an id read from a circular export; (id, None) for any other id."""
    question, at, rotation = ident.partition("@")
    return (question, int(rotation)) if at and rotation.isdigit() else (ident, None)


def _vlmevalkit_record(index: object, prediction: object, spot: _Spot) -> dict:
    """Map one VLMEvalKit row (`index`, `prediction`) back to `{"id", "prediction"}`."""
    number = None
    if isinstance(index, int) and not isinstance(index, bool):
        number = index
    elif isinstance(index, float) and index.is_integer():
        number = int(index)
    elif isinstance(index, str) and index.strip().isdigit() and len(index.strip()) <= MAX_INDEX_DIGITS:
        number = int(index.strip())
    if number is None or not 0 <= number < CIRCULAR_INDEX_OFFSET + ROTATIONS * OPEN_INDEX_OFFSET:
        raise spot.error(f"field 'index' must be the whole-number VLMEvalKit index of the row, got {shown(index)}",
                         "index")
    if number >= CIRCULAR_INDEX_OFFSET:
        rotation, question = divmod(number - CIRCULAR_INDEX_OFFSET, OPEN_INDEX_OFFSET)
        ident = rotation_id(f"mcq-{question}", rotation)
    else:
        ident = f"open-{number - OPEN_INDEX_OFFSET}" if number >= OPEN_INDEX_OFFSET else f"mcq-{number}"
    if prediction is None or (isinstance(prediction, float) and math.isnan(prediction)):
        prediction = ""  # an empty cell: pandas reads NaN
    elif isinstance(prediction, (int, float)) and not isinstance(prediction, bool):
        prediction = str(prediction)
    if not isinstance(prediction, str):
        raise spot.error(f"field 'prediction' must be text, got {type(prediction).__name__}", "prediction", ident)
    return {"id": ident, "prediction": prediction}


def _first_text(value: object, spot: _Spot, field: str) -> str | None:
    """lmms-eval's response: a string, or (before 0.4, or with several requests) nested lists of them."""
    depth = 0
    while isinstance(value, list) and depth < 3:
        if not value:
            return ""
        value, depth = value[0], depth + 1
    if isinstance(value, str) or value is None:
        return value
    raise spot.error(f"field '{field}' must be the model's text (or a list of texts), got {type(value).__name__}",
                     field)


def _lmms_record(sample: dict, spot: _Spot) -> dict:
    """Map one lmms-eval sample back to `{"id", "prediction"}` (id from our logged result or `doc`)."""
    result = next((sample[key] for key in LMMS_RESULT_KEYS if isinstance(sample.get(key), dict)), None)
    doc = sample.get("doc")
    if result is not None and isinstance(result.get("id"), str):
        ident = result["id"]
    elif isinstance(doc, dict) and isinstance(doc.get("id"), str):
        ident = doc["id"]
    else:
        raise spot.error(
            f"an lmms-eval sample (doc_id {shown(sample.get('doc_id'))}) without a Med-CMR id: it has no 'doc' with an "
            f"'id' (lmms-eval 0.4+ leaves 'doc' out) and no {' or '.join(repr(k) for k in LMMS_RESULT_KEYS)} "
            "result; run the Med-CMR tasks from bridges/lmms_eval with --log_samples", "doc")
    for field in ("filtered_resps", "resps"):
        if field in sample:
            prediction = _first_text(sample[field], spot, field)
            break
    else:
        prediction = result.get("prediction") if result is not None else None
        if prediction is None:
            raise spot.error("an lmms-eval sample without 'filtered_resps' or 'resps'", "filtered_resps", ident)
    return _check_record({"id": ident, "prediction": prediction}, spot)


def _to_record(item: object, spot: _Spot) -> dict:
    """One parsed JSON object: ours, an lmms-eval sample, or a VLMEvalKit JSON row."""
    if isinstance(item, dict) and "id" not in item:
        if "doc_id" in item:
            return _lmms_record(item, spot)
        if "index" in item:
            if "prediction" not in item:
                raise spot.error("a VLMEvalKit row with 'index' but no 'prediction' (run inference first)",
                                 "prediction")
            return _vlmevalkit_record(item["index"], item["prediction"], spot)
    return _check_record(item, spot)


# --------------------------------------------------------------------------- parsers
def _loads(text: str, spot: _Spot) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise spot.error(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise spot.error("nesting too deep") from None
    except ValueError as exc:  # int() refuses a number longer than sys.get_int_max_str_digits()
        raise spot.error(f"number too large ({str(exc).split(';')[0]})") from None


def _lines(stream: IO[bytes], name: str) -> Iterator[str]:
    """Decoded lines, one at a time; a UTF-8 error names its line."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise PredictionsError(f"{name}: not UTF-8 text (line {number}, byte {exc.start + 1})",
                                   file=name, line=number) from None


def _jsonl_items(stream: IO[bytes], name: str) -> Iterator[tuple[dict, _Spot]]:
    for number, line in enumerate(_lines(stream, name), start=1):
        if line.strip():
            spot = _line_spot(name, number)
            yield _to_record(_loads(line.rstrip("\r\n"), spot), spot), spot


def _json_list_items(stream: IO[bytes], name: str) -> Iterator[tuple[dict, _Spot]]:
    """Elements of a JSON list decoded one by one, so a bad element stops the read at once."""
    data = stream.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PredictionsError(f"{name}: not UTF-8 text (line {line})", file=name, line=line) from None
    del data
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text).end() + 1  # past the "[" that selected this parser
    line, counted = 1, 0

    def spot_at(where: int, record: int | None = None) -> _Spot:
        nonlocal line, counted
        line += text.count("\n", counted, where)
        counted = where
        if record is None:
            return _line_spot(name, line)
        return _Spot(name, f"{name} record {record}", line=line, record=record)

    pos = _SPACE.match(text, pos).end()
    if text.startswith("]", pos):
        pos = len(text) if not text[pos + 1:].strip() else pos + 1
    record = 0
    while pos < len(text):
        record += 1
        spot = spot_at(pos, record)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _line_spot(name, exc.lineno).error(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise spot.error("nesting too deep") from None
        except ValueError as exc:
            raise spot.error(f"number too large ({str(exc).split(';')[0]})") from None
        yield _to_record(item, spot), spot
        pos = _SPACE.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _SPACE.match(text, pos + 1).end()
        elif text.startswith("]", pos) and not text[pos + 1:].strip():
            return
        else:
            at = spot_at(pos)
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            raise at.error(f"not valid JSON: Expecting ',' delimiter or ']' (column {column})")
    raise spot_at(len(text)).error("not valid JSON: the list is not closed with ']'")


def _delimited_items(stream: IO[bytes], name: str, delimiter: str) -> Iterator[tuple[dict, _Spot]]:
    """CSV `id,prediction` (extra columns kept), or a VLMEvalKit TSV/CSV with `index,prediction`."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES))
    reader = csv.reader(_lines(stream, name), delimiter=delimiter)
    try:
        columns = next(reader)
        if len(columns) > MAX_COLUMNS:
            raise _line_spot(name, 1).error(f"the header has {len(columns):,} columns; a predictions file needs "
                                            f"'id' (or 'index') and 'prediction', at most {MAX_COLUMNS} columns in all")
        if "id" in columns and "prediction" in columns:
            tool = None
        elif "index" in columns and "prediction" in columns:
            tool = "VLMEvalKit"
            index_at, prediction_at = columns.index("index"), columns.index("prediction")
        elif "index" in columns:
            raise _line_spot(name, 1).error("a VLMEvalKit file needs columns 'index' and 'prediction' (missing "
                                            "'prediction'); use the prediction file run.py writes, not the "
                                            "exported dataset", "prediction")
        else:
            missing = next(column for column in ("id", "prediction") if column not in columns)
            raise _line_spot(name, 1).error(
                f"CSV header must have columns 'id' and 'prediction' (missing '{missing}')", missing)
        for row in reader:
            spot = _line_spot(name, reader.line_num)
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                raise spot.error("more cells than header columns")
            if len(row) < len(columns):  # a row cut short is a broken export, not an empty answer
                shown = row[columns.index("id")] if tool is None and columns.index("id") < len(row) else None
                raise spot.error("missing field 'prediction' (fewer cells than header columns)", "prediction", shown)
            if tool is None:
                yield _check_record(dict(zip(columns, row)), spot), spot
            else:
                yield _vlmevalkit_record(row[index_at], row[prediction_at], spot), spot
    except csv.Error as exc:
        raise _line_spot(name, reader.line_num).error(f"not valid CSV ({exc})") from None


def _check_workbook(stream: IO[bytes], name: str) -> None:
    """Refuse a workbook whose zip declares more than the bounds, before anything is decompressed."""
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise PredictionsError(f"{name}: not a readable .xlsx workbook (not a zip file)", file=name) from None
    finally:
        stream.seek(0)
    total = sum(entry.file_size for entry in entries)
    if len(entries) > XLSX_MAX_ENTRIES or total > XLSX_MAX_UNPACKED:
        raise PredictionsError(f"{name}: the workbook unpacks to {total / 2**20:,.0f} MiB in {len(entries):,} parts; "
                               f"at most {XLSX_MAX_UNPACKED // 2**20} MiB in {XLSX_MAX_ENTRIES} parts are read",
                               file=name)
    for entry in entries:
        if entry.file_size > 2**20 and entry.file_size > XLSX_MAX_RATIO * max(entry.compress_size, 1):
            raise PredictionsError(f"{name}: part {entry.filename} expands {entry.file_size / max(entry.compress_size, 1):,.0f}"
                                   f" times ({entry.file_size / 2**20:,.0f} MiB); a real prediction workbook "
                                   f"compresses less than {XLSX_MAX_RATIO}:1", file=name)


def _xlsx_items(stream: IO[bytes], name: str) -> Iterator[tuple[dict, _Spot]]:
    """VLMEvalKit's default `{model}_{dataset}.xlsx`: only `index` and `prediction` are read, streamed
    row by row, within bounds on the zip (checked first), the columns and the rows."""
    try:
        import openpyxl
    except ImportError:
        raise PredictionsError(f"{name}: reading a VLMEvalKit .xlsx file needs openpyxl (pip install openpyxl)",
                               file=name) from None
    _check_workbook(stream, name)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
        header = next(rows, ())
    except Exception as exc:  # a zip that is no workbook raises anything from zipfile, openpyxl or lxml
        raise PredictionsError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__})", file=name) from None
    columns = [str(cell).strip() if cell is not None else "" for cell in header]
    for column in ("index", "prediction"):
        if column not in columns:
            raise PredictionsError(f"{name} row 1: a VLMEvalKit prediction workbook needs columns 'index' and "
                                   f"'prediction' (missing '{column}')", file=name, line=1, field=column)
    index_at, prediction_at = columns.index("index"), columns.index("prediction")
    try:
        for row_number, row in enumerate(rows, start=2):
            if row_number > XLSX_MAX_ROWS:
                raise PredictionsError(f"{name} row {row_number:,}: more than {XLSX_MAX_ROWS:,} rows; a prediction "
                                       "workbook has one row per question", file=name, line=row_number)
            index = row[index_at] if index_at < len(row) else None
            prediction = row[prediction_at] if prediction_at < len(row) else None
            if index is None and prediction is None:
                continue  # an empty sheet row
            spot = _line_spot(name, row_number, "row")
            yield _vlmevalkit_record(index, prediction, spot), spot
    finally:
        workbook.close()


# --------------------------------------------------------------------------- reading
def _collect(items: Iterator[tuple[dict, _Spot]], known_ids: set[str] | None) -> list[dict]:
    """All records; with `known_ids`, stop at the first unknown or duplicate id (after a short look-ahead)."""
    records: list[dict] = []
    first_seen: dict[str, _Spot] = {}
    for record, spot in items:
        if known_ids is not None:
            ident = record["id"]
            if ident not in known_ids:
                raise _offender(spot.error(f"id {shown(ident)} is not a question of this dataset", "id"),
                                items, known_ids, first_seen)
            if ident in first_seen:
                raise _offender(spot.error(f"duplicate id {shown(ident)} (first at {first_seen[ident].short})", "id"),
                                items, known_ids, first_seen)
            first_seen[ident] = spot
        records.append(record)
    return records


def _offender(error: PredictionsError, items: Iterator[tuple[dict, _Spot]], known_ids: set[str],
              first_seen: dict[str, _Spot]) -> PredictionsError:
    """The first offender's error, told how many more follow in a bounded look-ahead."""
    unknown = duplicate = scanned = 0
    try:
        for record, _ in items:
            scanned += 1
            if record["id"] not in known_ids:
                unknown += 1
            elif record["id"] in first_seen:
                duplicate += 1
            else:
                first_seen[record["id"]] = _Spot(None, "")
            if unknown + duplicate >= LOOKAHEAD_OFFENDERS or scanned >= LOOKAHEAD_RECORDS:
                break
    except PredictionsError:
        pass  # a malformed record ends the look-ahead; the first offender is what gets reported
    parts = [f"{count} more {what} id(s)" for count, what in ((unknown, "unknown"), (duplicate, "duplicate")) if count]
    if parts:
        error = PredictionsError(f"{error}; {' and '.join(parts)} in the next {scanned} record(s)"
                                 + (", stopped looking there" if unknown + duplicate >= LOOKAHEAD_OFFENDERS else ""),
                                 file=error.file, line=error.line, record=error.record, field=error.field)
    return error


def _open(source: str | Path | bytes, name: str | None) -> tuple[IO[bytes], str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), name or "predictions"
    if isinstance(source, str) and not _names_a_file(source):
        return io.BytesIO(source.encode("utf-8")), name or "predictions"
    path = Path(source)
    try:
        return open(path, "rb"), name or path.name
    except FileNotFoundError:
        raise PredictionsError(f"{path}: predictions file not found", file=name or path.name) from None
    except IsADirectoryError:
        raise PredictionsError(f"{path}: is a folder, expected a predictions file", file=name or path.name) from None


def _names_a_file(text: str) -> bool:
    """A one-line str that is a path (as the old path-only API took) rather than predictions text."""
    if "\n" in text or not text.strip() or text.lstrip()[:1] in "[{":
        return False
    return Path(text).suffix.lower() in (*FORMATS, ".txt") or Path(text).exists()


def read_predictions(source: str | Path | bytes, *, name: str | None = None,
                     known_ids: Iterable[str] | None = None) -> list[dict]:
    """Read predictions into `[{"id", "prediction", ...}]` from a path, bytes, or text.

    The format comes from the content: `[` a JSON list, `{` JSONL (ours or lmms-eval samples), a
    zip an .xlsx (VLMEvalKit), a header with tabs a TSV (VLMEvalKit), else CSV; the file name's
    extension settles what content alone cannot (a `.jsonl` of non-JSON is a JSON error). `name`
    is what errors call the file. With `known_ids`, an unknown or duplicate id stops the read at
    its line. A null prediction becomes "".
    """
    stream, name = _open(source, name)
    known = set(known_ids) if known_ids is not None else None
    with stream:
        first, number = _first_content(stream, name)
        stream.seek(0)
        suffix = Path(name).suffix.lower()
        if first == b"PK\x03\x04":
            items = _xlsx_items(stream, name)
        elif first[:1] == b"[":
            items = _json_list_items(stream, name)
        elif first[:1] == b"{":
            items = _jsonl_items(stream, name)
        elif suffix in (".json", ".jsonl"):
            raise _not_json(stream, name, number)
        elif suffix == ".xlsx":
            raise PredictionsError(f"{name}: not an .xlsx workbook (no zip signature)", file=name)
        else:
            header = next((line for line in _lines(stream, name) if line.strip()), None)
            if header is None:  # only characters Python counts as blank (e.g. U+001C): no header at all
                raise PredictionsError(f"{name}: no predictions found (no header line)", file=name)
            stream.seek(0)
            items = _delimited_items(stream, name, "\t" if "\t" in header else ",")
        records = _collect(items, known)
    if not records:
        raise PredictionsError(f"{name}: no predictions found", file=name)
    return records


def _first_content(stream: IO[bytes], name: str) -> tuple[bytes, int]:
    """The first bytes past leading blank space (and a BOM), and their line number."""
    for number, raw in enumerate(stream, start=1):
        stripped = raw.removeprefix(b"\xef\xbb\xbf").lstrip() if number == 1 else raw.lstrip()
        if raw.startswith(b"PK\x03\x04") and number == 1:
            return raw[:4], 1
        if stripped:
            return stripped[:4], number
    raise PredictionsError(f"{name}: the file is empty", file=name)


def _not_json(stream: IO[bytes], name: str, number: int) -> PredictionsError:
    """A .json/.jsonl file whose content does not start like JSON: report it as JSON, at its line."""
    line = next(text for at, text in enumerate(_lines(stream, name), start=1) if at == number)
    spot = _line_spot(name, number)
    item = _loads(line.rstrip("\r\n"), spot)
    return spot.error(f"expected a JSON object with 'id' and 'prediction', got {type(item).__name__}")


# --------------------------------------------------------------------------- checking
def _sample(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_predictions(predictions: list[dict], questions: list[dict]) -> Coverage:
    """Coverage of `predictions` over `questions`; raises PredictionsError on what cannot be scored.

    Unknown ids, duplicate ids and records without a `prediction` are errors (a submission for
    another dataset or a broken export). Missing ids are not: they count as wrong answers.
    Returns the coverage (expected, given and missing counts, the missing ids listed).
    """
    for number, record in enumerate(predictions, start=1):
        _check_record(record, _Spot(None, f"prediction record {number}", record=number))
    counts = Counter(record["id"].strip() for record in predictions)
    duplicates = sorted(i for i, count in counts.items() if count > 1)
    if duplicates:
        raise PredictionsError(f"duplicate ids in predictions: {_sample(duplicates)}", field="id")
    known = {q["id"] for q in questions}
    unknown = sorted(i for i in counts if i not in known)
    if unknown:
        raise PredictionsError(
            f"{len(unknown)} prediction id(s) are not questions of this dataset: {_sample(unknown)}", field="id"
        )
    return coverage(set(counts), questions)


def coverage(given_ids: set[str], questions: list[dict]) -> Coverage:
    """Expected/given/missing counts of already checked ids over `questions` (missing ids listed)."""
    missing = [q["id"] for q in questions if q["id"] not in given_ids]
    return Coverage(expected=len(questions), given=len(questions) - len(missing), missing=len(missing),
                    missing_ids=missing)
