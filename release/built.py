"""Reading a build: its questions without images (fast, pyarrow only) and its provenance.

What the judge, predict and the Space need of a built folder; nothing here decodes images. A folder
holding only the questions artifact and build_info.json (what a Space downloads) is enough.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from core.commands import medcmr
from core.features import TEXT_FIELDS
from core.results import DatasetInfo
from core.vocabulary import HUB_SHA256, QUESTION_TYPES
from release.questions import QUESTIONS_FILE, questions_fingerprint, read_questions


def _shards(data_dir: Path) -> list[Path]:
    shards = sorted(Path(data_dir).glob("data/*/test-*.parquet"))
    if not shards:
        raise FileNotFoundError(f"{data_dir}: no Med-CMR build here (run `{medcmr('build')}`)")
    return shards


def load_questions(data_dir: Path, question_type: str | None = None) -> list[dict]:
    """Every row of a build without its image (pyarrow only, fast), sorted by id.

    Read from the questions artifact when the build has one (checked to belong to this build's
    build_info.json), else from the text columns of the shards (builds made before the artifact)."""
    if question_type not in (None, *QUESTION_TYPES):
        raise ValueError(f"question_type must be one of {QUESTION_TYPES} or None, not {question_type!r}")
    artifact = Path(data_dir) / QUESTIONS_FILE
    if artifact.is_file():
        if (Path(data_dir) / "build_info.json").is_file() and \
                questions_fingerprint(artifact) != dataset_fingerprint(data_dir):
            raise ValueError(f"{artifact}: belongs to build {questions_fingerprint(artifact)}, but build_info.json "
                             f"is build {dataset_fingerprint(data_dir)}; download or rebuild both together")
        rows = read_questions(artifact)
    else:
        rows = [row for shard in _shards(data_dir)
                for row in pq.read_table(shard, columns=list(TEXT_FIELDS)).to_pylist()]
    return sorted((row for row in rows if question_type in (None, row["question_type"])), key=lambda row: row["id"])


def dataset_fingerprint(data_dir: Path) -> str:
    """A stable id of the built data: the hash of its shards' hashes (from build_info.json)."""
    info_path = Path(data_dir) / "build_info.json"
    if not info_path.exists():
        raise FileNotFoundError(f"{info_path}: missing; rebuild with `{medcmr('build')}`")
    return json.loads(info_path.read_text(encoding="utf-8"))["fingerprint"]


def build_info(data_dir: Path) -> dict:
    """The build's `build_info.json` (source, counts, fingerprint, shard hashes)."""
    path = Path(data_dir) / "build_info.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; not a Med-CMR build (run `{medcmr('build')}`)")
    return json.loads(path.read_text(encoding="utf-8"))


def provenance(data_dir: Path) -> DatasetInfo:
    """What every results document records of the build it was scored on (CLI and Space alike)."""
    info = build_info(data_dir)
    source = info.get("source") or {}
    sha256 = source.get("sha256")
    return DatasetInfo(fingerprint=info["fingerprint"], source=source.get("name"), revision=source.get("revision"),
                       sha256=sha256, questions=info.get("rows"), official=sha256 == HUB_SHA256)
