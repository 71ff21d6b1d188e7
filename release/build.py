"""Writing a build: validated rows into parquet shards with embedded images, the card, build_info.json.

The build writes into a staging folder beside the output and swaps it in at the end, so an
interrupted build never leaves a folder that loads as if complete.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import shutil
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

from core.features import FEATURES
from core.vocabulary import HUB_REPO, HUB_REVISION, HUB_SHA256, PROMPT_VERSION, QUESTION_TYPES, SLUGS, config_name, configs
from release.card import render_card, taxonomy_counts
from release.checksums import sha256_file
from release.hub import fetch_release, is_hub_repo_id
from release.questions import QUESTIONS_FILE, write_questions
from release.reader import IMAGE_EXTENSION, RELEASE_FILES, SAMPLE_SOURCES, Normalised, Release, ReleaseError, read_rows

BUILDER_VERSION = "1.0.0"
MAX_SHARD_BYTES = 400 * 2**20  # well under the Hub's 500 MB guidance for one parquet file
ROWS_PER_GROUP = 100  # what `datasets` uses for image data: one row group stays a few tens of MB
# Parquet leaf columns other than the image bytes: dictionary-encoded and snappy-compressed. The
# image bytes (PNG, compressed already) are stored as they are, which also writes faster.
TEXT_COLUMNS = [*(name for name in FEATURES if name not in ("options", "image")),
                "options.list.element", "image.path"]


def _image_cell(release: Release, row: dict, problems: list[str], normalised: Normalised | None = None) -> dict | None:
    """The image bytes, checked to decode: a PNG (the release's format) by its chunk checksums,
    without a full decode; any other format by decoding it, as Pillow verifies only PNG.

    An image whose extension names another format (a JPEG named .png) is kept byte for byte, as
    `datasets` decodes by content; it is counted in `normalised`."""
    data = release.read(row["image"])
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            if image.format == "PNG":
                image.verify()
            else:
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        problems.append(f"{row['_where']}: field 'image_path': undecodable image {row['image']!r} ({error})")
        return None
    named_as = Image.registered_extensions().get(posixpath.splitext(row["image"])[1].lower())
    if normalised is not None and named_as != found:
        normalised.add(IMAGE_EXTENSION, f"{row['_where']}: field 'image_path' ({found} bytes in {row['image']!r})")
    return {"bytes": data, "path": posixpath.basename(row["image"])}


def _write_shards(release: Release, rows: list[dict], folder: Path, problems: list[str],
                  max_shard_bytes: int, normalised: Normalised | None = None) -> tuple[list[Path], int]:
    """Stream rows into test-NNNNN-of-MMMMM.parquet files, holding one row group of images at most.

    Returns the shards and the Arrow size of their rows (the card's `num_bytes`); every row written
    gets `shard`, the path of its shard inside the build."""
    folder.mkdir(parents=True)
    schema = FEATURES.arrow_schema
    shards: list[Path] = []
    writer, shard_bytes, batch, arrow_bytes = None, 0, [], 0

    def flush() -> None:
        nonlocal arrow_bytes
        if batch:
            table = pa.Table.from_pylist(batch, schema=schema)
            writer.write_table(table, row_group_size=ROWS_PER_GROUP)
            arrow_bytes += table.nbytes
            batch.clear()

    written: list[list[dict]] = []
    for row in rows:
        image = _image_cell(release, row, problems, normalised)
        if image is None:
            continue
        size = len(image["bytes"]) + sum(len(str(value)) for value in row.values())
        if writer is None or shard_bytes + size > max_shard_bytes and shard_bytes:
            flush()
            if writer:
                writer.close()
            shards.append(folder / f"test-{len(shards):05d}.parquet")
            written.append([])
            writer = pq.ParquetWriter(shards[-1], schema, use_dictionary=TEXT_COLUMNS,
                                      compression={**dict.fromkeys(TEXT_COLUMNS, "snappy"), "image.bytes": "none"})
            shard_bytes = 0
        batch.append({key: value for key, value in row.items() if key in FEATURES} | {"image": image})
        written[-1].append(row)
        shard_bytes += size
        if len(batch) == ROWS_PER_GROUP:
            flush()
    if writer:
        flush()
        writer.close()
    named = [shard.with_name(f"test-{number:05d}-of-{len(shards):05d}.parquet")
             for number, shard in enumerate(shards)]
    for shard, final, in_shard in zip(shards, named, written):
        shard.rename(final)
        for row in in_shard:
            row["shard"] = f"data/{folder.name}/{final.name}"
    return named, arrow_bytes




def _resolve_source(source: str | Path, revision: str | None) -> tuple[Path, dict]:
    """The release on disk (a Hub repo id is downloaded and checked first) and what to record of it."""
    path = Path(source)
    if path.is_dir():
        return path, {"kind": "folder", "name": path.name}
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ReleaseError([f"{path.name}: not a zip archive"])
        return path, {"kind": "zip", "name": path.name}
    if path.suffix.lower() == ".zip" or not is_hub_repo_id(str(source)):
        raise FileNotFoundError(f"{source}: no such release archive or folder (nor a Hub repo id)")
    archive, digest = fetch_release(str(source), revision)
    return archive, {"kind": "hub", "name": str(source), "revision": revision or HUB_REVISION,
                     "sha256": digest, "pinned_release": digest == HUB_SHA256}


def _fingerprint(files: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in sorted(files.items()))
                          .encode()).hexdigest()[:16]


def _write_parts(release: Release, rows: list[dict], staging: Path, problems: list[str], max_shard_bytes: int,
                 hasher: ThreadPoolExecutor, normalised: Normalised) -> tuple[dict[str, Counter], dict[str, Future]]:
    """Write every (dimension, format) part under data/<slug>_<format>/, hashing shards meanwhile.

    Returns per-part rows, parquet bytes and Arrow bytes, and the sha256 (future) of every shard."""
    sizes: dict[str, Counter] = {"rows": Counter(), "parquet": Counter(), "arrow": Counter()}
    hashes: dict[str, Future] = {}
    for slug in SLUGS:
        for kind in QUESTION_TYPES:
            part = sorted((row for row in rows if (row["dimension"], row["question_type"]) == (slug, kind)),
                          key=lambda row: row["index"])
            if not part:
                continue
            shards, sizes["arrow"][slug, kind] = _write_shards(
                release, part, staging / "data" / f"{slug}_{kind}", problems, max_shard_bytes, normalised=normalised)
            sizes["rows"][slug, kind] = sum(pq.ParquetFile(shard).metadata.num_rows for shard in shards)
            sizes["parquet"][slug, kind] = sum(shard.stat().st_size for shard in shards)
            hashes.update({shard.relative_to(staging).as_posix(): hasher.submit(sha256_file, shard)
                           for shard in shards})
    return sizes, hashes


def _read_release(release: Release, path: Path, normalised: Normalised) -> list[dict]:
    """Every validated row of both lists; every problem of the release raised at once."""
    problems: list[str] = []
    rows = [row for kind in QUESTION_TYPES for row in read_rows(release, kind, problems, normalised)]
    if not rows and not problems:
        problems.append(f"{path.name}: both question lists are empty")
    if problems:
        raise ReleaseError(problems)
    return rows


def _summary(release: Release, rows: list[dict], counts: Counter, normalised: Normalised) -> dict:
    """What a build or a check reports: rows per config, what was skipped or left out, what was normalised."""
    return {"rows": sum(counts.values()), "configs": {n: c["rows"] for n, c in configs(counts).items()},
            "empty_configs": [config_name(slug, kind) for slug in SLUGS
                              for kind in QUESTION_TYPES if not counts[slug, kind]],
            "clutter_skipped": release.clutter,
            "unreferenced_files": sorted(release.names - {row["image"] for row in rows}
                                         - {release.find(name) for name in RELEASE_FILES.values()}
                                         - {SAMPLE_SOURCES}),
            "normalised": normalised.report(), "normalised_examples": dict(sorted(normalised.examples.items()))}


def check(source: str | Path = HUB_REPO, *, revision: str | None = None) -> dict:
    """Read and validate a release as `build` does, every image decoded as the build checks it,
    writing nothing; return the report `build` would print (without a fingerprint). A Hub repo id
    is downloaded to the Hub cache first, as for a build."""
    path, source_info = _resolve_source(source, revision)
    release = Release(path)
    try:
        normalised = Normalised()
        rows = _read_release(release, path, normalised)
        problems: list[str] = []
        for row in rows:
            _image_cell(release, row, problems, normalised)
        if problems:
            raise ReleaseError(problems)
        counts = Counter((row["dimension"], row["question_type"]) for row in rows)
        return _summary(release, rows, counts, normalised) | {"source": source_info}
    finally:
        release.close()


def build(source: str | Path = HUB_REPO, out: Path = Path("medcmr"), *, revision: str | None = None,
          max_shard_bytes: int = MAX_SHARD_BYTES) -> dict:
    """Validate a release and write the Hub-ready folder `out` (atomically); return the counts."""
    out = Path(out).absolute()
    if out.exists() and any(out.iterdir()) and not (out / "build_info.json").exists():
        raise FileExistsError(f"{out}: exists and is not a Med-CMR build; refusing to replace it")
    path, source_info = _resolve_source(source, revision)
    release = Release(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp", dir=out.parent))
    hasher = ThreadPoolExecutor(max_workers=1)  # hashing overlaps the build: hashlib releases the GIL
    try:
        source_hash = hasher.submit(sha256_file, path) if source_info["kind"] == "zip" else None
        normalised = Normalised()
        rows = _read_release(release, path, normalised)
        problems: list[str] = []
        sizes, hashes = _write_parts(release, rows, staging, problems, max_shard_bytes, hasher, normalised)
        if problems:
            raise ReleaseError(problems)
        if source_hash:
            source_info |= {"sha256": source_hash.result(), "pinned_release": source_hash.result() == HUB_SHA256}
        files = {name: digest.result() for name, digest in hashes.items()}
        counts = sizes["rows"]
        sample_sources = json.loads(release.read(SAMPLE_SOURCES)) if SAMPLE_SOURCES in release.names else None
        card = render_card(counts, sizes["parquet"], sizes["arrow"], taxonomy_counts(rows), sample_sources)
        (staging / "README.md").write_text(card, encoding="utf-8")
        report = _summary(release, rows, counts, normalised) | {"fingerprint": _fingerprint(files)}
        write_questions(rows, staging / QUESTIONS_FILE, report["fingerprint"])
        questions = {"path": QUESTIONS_FILE, "rows": len(rows), "sha256": sha256_file(staging / QUESTIONS_FILE)}
        info = {"builder": "medcmr.py", "builder_version": BUILDER_VERSION, "prompt_version": PROMPT_VERSION,
                "source": source_info, **report, "questions": questions, "files": files}
        (staging / "build_info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        _replace(staging, out)
    except BaseException:
        hasher.shutdown(cancel_futures=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        hasher.shutdown()
        release.close()
    return report | {"out": str(out)}


def _replace(staging: Path, out: Path) -> None:
    """Swap the finished folder in; an older build is removed only after the new one is in place.

    The staging folder is private while it is written (mkdtemp's 0700); the build gets the usual
    permissions of a new folder (0777 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    if out.exists():
        retired = out.with_name(staging.name + ".old")
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired)
    else:
        staging.rename(out)

