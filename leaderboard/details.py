"""A submission's per-question details as the Space keeps them: its answers written once and
compressed, the verdicts that come later written beside them.

The MCQ lane writes every item with the model's output (`<id>.jsonl.gz`). The steps after it — the
judge lane's verdicts, the audit's second opinions — change open items only, so they replace a
small file of those items without the output the first file already holds (`<id>.open.jsonl.gz`).
A large upload's answers reach the disk once, compressed (gzip level 1: model outputs shrink
several times for a few milliseconds per MiB), not once per step. Readers see one merged list; a
home written before keeps its plain `<id>.jsonl`, read as it is.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

from core.results import ItemResult, ResultsError, write_details

SUFFIX = ".jsonl.gz"


class DetailsError(ValueError):
    """A details file that cannot be read; the message names the file, the line and what is wrong."""


def _stem(path: Path) -> str:
    name = Path(path).name
    return name.removesuffix(SUFFIX) if name.endswith(SUFFIX) else name.removesuffix(".jsonl")


def open_path(path: Path) -> Path:
    """The file of later verdicts beside the details file `path`."""
    return Path(path).with_name(_stem(path) + ".open" + SUFFIX)


def _plain(path: Path) -> Path:
    """Where a home written before compression kept the same details."""
    return Path(path).with_name(_stem(path) + ".jsonl")


def _first(path: Path) -> Path | None:
    return next((file for file in (Path(path), _plain(path)) if file.is_file()), None)


def exists(path: Path) -> bool:
    """True once a submission has per-question details."""
    return _first(path) is not None


def stamp(path: Path) -> tuple:
    """Changes whenever what `read_details(path)` returns may change (a cache key)."""
    def of(file: Path | None) -> tuple[int, int] | None:
        try:
            found = file.stat() if file else None
        except FileNotFoundError:
            return None
        return (found.st_mtime_ns, found.st_size) if found else None
    return of(_first(path)), of(open_path(path))


def read_details(path: Path) -> list[ItemResult]:
    """The merged details: each open item as last judged or audited, with its output from the first file."""
    first = _first(path)
    if first is None:
        raise FileNotFoundError(f"{Path(path).name}: no details yet")
    items = _read(first)
    overlay = open_path(path)
    if not overlay.is_file():
        return items
    later = {item.id: item for item in _read(overlay)}
    return [replace(later[item.id], prediction=item.prediction) if item.id in later else item for item in items]


def write_all(path: Path, items: list[ItemResult]) -> None:
    """The first details of a scoring run (the MCQ lane, or a rescore): whatever was written after an
    earlier run is dropped first, so an old verdict never sits on new answers."""
    open_path(path).unlink(missing_ok=True)
    write_details(Path(path), items)
    _plain(path).unlink(missing_ok=True)


def read_open(path: Path) -> list[ItemResult]:
    """Only the later verdicts on the open items (without their outputs): cheap to read for many submissions."""
    overlay = open_path(path)
    return _read(overlay) if overlay.is_file() else []


def write_open(path: Path, items: list[ItemResult]) -> None:
    """Later verdicts on the open items; the whole list when there is no first file to sit on."""
    if not exists(path):
        write_details(Path(path), items)
        return
    write_details(open_path(path), [replace(item, prediction=None) for item in items if item.question_type == "open"])


def _read(path: Path) -> list[ItemResult]:
    """One file, one item per line: parsed as one JSON array (twice as fast as line by line on 20,000
    lines); only a broken file is read again line by line, to say where it breaks."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8") if path.name.endswith(SUFFIX) else \
            path.read_text(encoding="utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DetailsError(f"{path.name}: not readable ({type(err).__name__}: {err})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        items = json.loads("[" + ",".join(line for _, line in lines) + "]")
    except json.JSONDecodeError:
        items = None
    for position, (number, line) in enumerate(lines):
        try:
            item = items[position] if items is not None else json.loads(line)
        except json.JSONDecodeError as err:
            raise DetailsError(f"{path.name}: line {number} is not JSON ({err.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise DetailsError(f"{path.name}: line {number}: field 'id' is missing")
    parsed = items if items is not None else [json.loads(line) for _, line in lines]
    typed = []
    for (number, _), item in zip(lines, parsed):
        try:
            typed.append(ItemResult.from_dict(item))
        except ResultsError as err:
            raise DetailsError(f"{path.name}: line {number}: {err}") from None
    return typed
