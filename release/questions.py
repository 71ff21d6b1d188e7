"""The questions artifact of a build: every question's text fields without the image, in one small file.

Scoring needs the questions' text and answers, not the 6.9 GB of images, so each build also writes
`questions/questions.parquet` (a few MB for the full release) carrying the build's fingerprint. A
Space downloads only this file and build_info.json to serve the whole benchmark. The file lies outside
every `configs:` path of the card, so `datasets.load_dataset` never reads it as data.

Beside the text fields each row names the shard holding its image (`shard`), so an image can be
fetched one shard at a time (release.hub.ShardImages).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.features import FEATURES, TEXT_FIELDS

QUESTIONS_FILE = "questions/questions.parquet"
FINGERPRINT_KEY = b"medcmr.fingerprint"
SCHEMA = pa.schema([*(FEATURES.arrow_schema.field(name) for name in TEXT_FIELDS), pa.field("shard", pa.string())])


def write_questions(rows: list[dict], path: Path, fingerprint: str) -> None:
    """Write `rows` (sorted by id, each with a `shard`) with the build's fingerprint in the file's metadata."""
    table = pa.Table.from_pylist(sorted(({name: row[name] for name in SCHEMA.names} for row in rows),
                                        key=lambda row: row["id"]), schema=SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata({FINGERPRINT_KEY: fingerprint.encode()}), path,
                   compression="zstd", use_dictionary=True)


def questions_fingerprint(path: Path) -> str:
    """The fingerprint of the build the artifact belongs to."""
    metadata = pq.read_schema(path).metadata or {}
    if FINGERPRINT_KEY not in metadata:
        raise ValueError(f"{path}: not a Med-CMR questions file (no {FINGERPRINT_KEY.decode()} in its metadata)")
    return metadata[FINGERPRINT_KEY].decode()


def read_questions(path: Path, columns: tuple[str, ...] = TEXT_FIELDS) -> list[dict]:
    """The rows of the artifact (sorted by id, as written), only `columns`."""
    return pq.read_table(path, columns=list(columns)).to_pylist()
