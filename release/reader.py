"""Reading an official release (zip or extracted folder) into validated question rows.

Problems are collected, not raised one at a time, and every line names the file, the record
(`index`) and the field, so a broken release is fixed in one go. Harmless variants that real
releases carry (a lower-case or punctuated answer letter, padding whitespace, numbers stored as
text, a BOM, CRLF line ends) are normalised and counted per kind in `Normalised`; anything that
could change what a question means stops the build.
"""
from __future__ import annotations

import codecs
import json
import posixpath
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.vocabulary import DIMENSION_BY_TASK, LETTERS

RELEASE_FILES = {"mcq": "cmed.copy.mcq_cate.cleaned.json", "open": "cmed.copy.open_taged.cleaned.json"}
SAMPLE_SOURCES = "dataset/sample_sources.json"  # only in sample releases: image sources and licences
TEXT_KEYS = ("question", "image_path", "answer", "visual_description", "task", "subtype",
             "question type", "modality", "organ system")


class ReleaseError(ValueError):
    """A malformed release; every line names the file, the record (`index`) and the field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        super().__init__(f"{len(problems)} problem(s) in the release:\n  " + "\n  ".join(shown))


def is_clutter(name: str) -> bool:
    """macOS resource forks and editor backups that real archives carry; never parsed."""
    base = posixpath.basename(name)
    return name.startswith("__MACOSX/") or "/__MACOSX/" in name or base.startswith("._") \
        or base == ".DS_Store" or base.endswith(".bak")


class Release:
    """A release archive or extracted folder, read member by member (never all at once)."""

    def __init__(self, source: Path):
        self.source = source
        self._zip = zipfile.ZipFile(source) if source.is_file() else None
        if self._zip:
            names = [info.filename for info in self._zip.infolist() if not info.is_dir()]
        else:
            names = [path.relative_to(source).as_posix() for path in source.rglob("*") if path.is_file()]
        self.clutter = sum(map(is_clutter, names))
        self.names = {name for name in names if not is_clutter(name)}

    def read(self, name: str) -> bytes:
        return self._zip.read(name) if self._zip else (self.source / name).read_bytes()

    def close(self) -> None:
        if self._zip:
            self._zip.close()

    def find(self, basename: str) -> str:
        found = sorted(name for name in self.names if posixpath.basename(name) == basename)
        if len(found) != 1:
            raise ReleaseError([f"{self.source.name}: expected exactly one {basename}, found "
                                f"{len(found)}{': ' + ', '.join(found) if found else ''}"])
        return found[0]

    def resolve_image(self, image_path: str, json_dir: str) -> str | None:
        """The member an `image_path` names: from the archive root, else the JSON's folder."""
        parts = posixpath.normpath(image_path.strip().lstrip("/")).split("/")
        for start in range(len(parts)):
            tail = "/".join(parts[start:])
            for candidate in (tail, posixpath.join(json_dir, tail)):
                if candidate in self.names:
                    return candidate
        return None


# Kinds of harmless variant the reader normalises; the build reports a count per kind.
ANSWER_CASE = "answer_letter_case"                # "b" -> "B"
ANSWER_PUNCTUATION = "answer_letter_punctuation"  # "B." / "(B)" / "B)" -> "B"
ANSWER_WITH_TEXT = "answer_letter_with_text"      # "B) <option B's text>" -> "B"
WHITESPACE = "surrounding_whitespace"             # " text \n" -> "text"
INDEX_AS_TEXT = "index_as_text"                   # "12" -> 12
OPTION_AS_NUMBER = "option_as_number"             # 5 -> "5"
JSON_BOM = "json_byte_order_mark"                 # a UTF-8 BOM before the JSON list
CRLF = "crlf_line_ends"                           # "\r\n" in a JSON file or in a text value -> "\n"
IMAGE_EXTENSION = "image_extension_mismatch"      # a JPEG named .png: bytes kept as they are

_LETTER = re.compile(r"\(?\s*([A-Za-z])\s*(?:\)|\.|:)?")
_LETTER_AND_TEXT = re.compile(r"(?:\(\s*([A-Za-z])\s*\)|([A-Za-z])\s*[.):])\s*(\S.*)", re.S)


@dataclass
class Normalised:
    """What the reader changed, per kind: a count and the first few places (file, index, field)."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, where: str) -> None:
        self.counts[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < 3:
            shown.append(where)

    def report(self) -> dict[str, int]:
        """`{kind: count}` in a stable order, as build_info.json records it."""
        return dict(sorted(self.counts.items()))


def _same_text(a: str, b: str) -> bool:
    """Option texts that differ only in case, spacing or a final full stop."""
    def canonical(text: str) -> str:
        return " ".join(text.split()).casefold().rstrip(".")
    return canonical(a) == canonical(b)


def _answer_letter(raw: str, options: dict[str, str], label: str, problems: list[str],
                   normalised: Normalised) -> str | None:
    """The answer letter of an MCQ record, normalising the harmless ways of writing it."""
    where = f"{label}: field 'answer'"
    bare = _LETTER.fullmatch(raw)
    with_text = None if bare else _LETTER_AND_TEXT.fullmatch(raw)
    letter = (bare.group(1) if bare else (with_text.group(1) or with_text.group(2)) if with_text else None)
    if letter is None or letter.upper() not in LETTERS:
        problems.append(f"{where}: {raw!r} is not a letter A-E")
        return None
    if with_text:
        text = with_text.group(3)
        if not _same_text(text, options[letter.upper()]):
            problems.append(f"{where}: {raw!r} names option {letter.upper()}, whose text is "
                            f"{options[letter.upper()]!r}")
            return None
        normalised.add(ANSWER_WITH_TEXT, where)
    elif raw != letter:
        normalised.add(ANSWER_PUNCTUATION, where)
    if letter.islower():
        normalised.add(ANSWER_CASE, where)
    return letter.upper()


def _load_json_list(release: Release, member: str, problems: list[str], normalised: Normalised) -> list | None:
    """The JSON list of a member, tolerating a UTF-8 BOM and CRLF line ends (counted)."""
    data = release.read(member)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        normalised.add(JSON_BOM, member)
    if b"\r\n" in data:
        normalised.add(CRLF, member)
    try:
        records = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{member}: not valid JSON: {error}")
        return None
    if not isinstance(records, list):
        problems.append(f"{member}: expected a JSON list of questions, got {type(records).__name__}")
        return None
    return records


def _text_fields(record: dict, required: tuple[str, ...], label: str, problems: list[str],
                 normalised: Normalised) -> dict[str, str] | None:
    """The record's text fields, normalised (line ends, padding, an option given as a number)."""
    values, ok = {}, True
    for key in required:
        where = f"{label}: field '{key}'"
        value = record.get(key)
        if key not in record:
            problems.append(f"{where}: missing")
            ok = False
            continue
        if key in LETTERS and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
            normalised.add(OPTION_AS_NUMBER, where)
        if not isinstance(value, str):
            problems.append(f"{where}: expected text, got {type(value).__name__}")
            ok = False
            continue
        if "\r" in value:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
            normalised.add(CRLF, where)
        if value != value.strip():
            value = value.strip()
            normalised.add(WHITESPACE, where)
        if not value and (key in LETTERS or key in ("question", "answer")):
            problems.append(f"{where}: empty")
            ok = False
            continue
        values[key] = value
    return values if ok else None


def _index(record: dict, label: str, problems: list[str], normalised: Normalised) -> int | None:
    index = record.get("index")
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index)
        normalised.add(INDEX_AS_TEXT, f"{label}: field 'index'")
    if not isinstance(index, int) or isinstance(index, bool):
        problems.append(f"{label}: field 'index': missing or not an integer ({index!r})")
        return None
    return index


def read_rows(release: Release, question_type: str, problems: list[str],
              normalised: Normalised | None = None) -> list[dict]:
    """Validated rows of one JSON list; problems are collected, not raised one at a time."""
    normalised = normalised if normalised is not None else Normalised()
    member = release.find(RELEASE_FILES[question_type])
    records = _load_json_list(release, member, problems, normalised)
    if records is None:
        return []
    required = TEXT_KEYS + (tuple(LETTERS) if question_type == "mcq" else ())
    rows, seen = [], {}
    for position, record in enumerate(records):
        label = f"{member}: record #{position}"
        if not isinstance(record, dict):
            problems.append(f"{label}: expected an object, got {type(record).__name__}")
            continue
        index = _index(record, label, problems, normalised)
        if index is None:
            continue
        label = f"{member}: index {index}"
        if index in seen:
            problems.append(f"{label}: field 'index': duplicate (also record #{seen[index]})")
            continue
        seen[index] = position
        values = _text_fields(record, required, label, problems, normalised)
        if values is None:
            continue
        if values["task"] not in DIMENSION_BY_TASK:
            problems.append(f"{label}: field 'task': unknown value {values['task']!r} "
                            f"(expected one of: {', '.join(DIMENSION_BY_TASK)})")
            continue
        answer = values["answer"]
        if question_type == "mcq":
            answer = _answer_letter(answer, {letter: values[letter] for letter in LETTERS}, label, problems,
                                    normalised)
            if answer is None:
                continue
        image = release.resolve_image(values["image_path"], posixpath.dirname(member))
        if image is None:
            problems.append(f"{label}: field 'image_path': no such image in the release: "
                            f"{values['image_path']!r}")
            continue
        rows.append({
            "id": f"{question_type}-{index}", "index": index, "question_type": question_type,
            "question": values["question"],
            "options": [values[letter] for letter in LETTERS] if question_type == "mcq" else [],
            "answer": answer, "visual_description": values["visual_description"],
            "dimension": DIMENSION_BY_TASK[values["task"]].slug, "subtype": values["subtype"],
            "medical_intelligence": values["question type"], "modality": values["modality"],
            "organ_system": values["organ system"], "image_path": values["image_path"],
            "image": image, "_where": label,
        })
    return rows
