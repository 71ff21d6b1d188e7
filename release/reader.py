"""Reading an official release (zip or extracted folder) into validated question rows.

Problems are collected, not raised one at a time, and every line names the file, the record
(`index`) and the field, so a broken release is fixed in one go.
"""
from __future__ import annotations

import json
import posixpath
import zipfile
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


def read_rows(release: Release, question_type: str, problems: list[str]) -> list[dict]:
    """Validated rows of one JSON list; problems are collected, not raised one at a time."""
    member = release.find(RELEASE_FILES[question_type])
    try:
        records = json.loads(release.read(member))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{member}: not valid JSON: {error}")
        return []
    if not isinstance(records, list):
        problems.append(f"{member}: expected a JSON list of questions, got {type(records).__name__}")
        return []
    required = TEXT_KEYS + (tuple(LETTERS) if question_type == "mcq" else ())
    rows, seen = [], {}
    for position, record in enumerate(records):
        label = f"{member}: record #{position}"
        if not isinstance(record, dict):
            problems.append(f"{label}: expected an object, got {type(record).__name__}")
            continue
        index = record.get("index")
        if isinstance(index, str) and index.strip().isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            problems.append(f"{label}: field 'index': missing or not an integer ({index!r})")
            continue
        label = f"{member}: index {index}"
        if index in seen:
            problems.append(f"{label}: field 'index': duplicate (also record #{seen[index]})")
            continue
        seen[index] = position
        missing = [key for key in required if key not in record]
        not_text = [key for key in required if key in record and not isinstance(record[key], str)]
        problems.extend(f"{label}: field '{key}': missing" for key in missing)
        problems.extend(f"{label}: field '{key}': expected text, got {type(record[key]).__name__}"
                        for key in not_text)
        if missing or not_text:
            continue
        answer = record["answer"].strip()
        if record["task"] not in DIMENSION_BY_TASK:
            problems.append(f"{label}: field 'task': unknown value {record['task']!r} "
                            f"(expected one of: {', '.join(DIMENSION_BY_TASK)})")
            continue
        if question_type == "mcq":
            answer = answer.upper()
            if answer not in tuple(LETTERS):
                problems.append(f"{label}: field 'answer': {record['answer']!r} is not a letter A-E")
                continue
        image = release.resolve_image(record["image_path"], posixpath.dirname(member))
        if image is None:
            problems.append(f"{label}: field 'image_path': no such image in the release: "
                            f"{record['image_path']!r}")
            continue
        rows.append({
            "id": f"{question_type}-{index}", "index": index, "question_type": question_type,
            "question": record["question"],
            "options": [record[letter] for letter in LETTERS] if question_type == "mcq" else [],
            "answer": answer, "visual_description": record["visual_description"],
            "dimension": DIMENSION_BY_TASK[record["task"]].slug, "subtype": record["subtype"],
            "medical_intelligence": record["question type"], "modality": record["modality"],
            "organ_system": record["organ system"], "image_path": record["image_path"],
            "image": image, "_where": label,
        })
    return rows


