"""Med-CMR on Hugging Face `datasets`: build the Hub-ready dataset from the official release.

`datasets` no longer runs loading scripts, so Med-CMR ships Hub-native: parquet shards with the
images embedded, and a README.md card whose YAML names every config. This file is the builder
(and it is importable: nothing runs on import).

    python medcmr.py sample --out sample.zip          # small release in the official layout
    python medcmr.py build --source sample.zip        # -> ./medcmr (default source: the Hub release)
    python -c "import datasets; print(datasets.load_dataset('medcmr', 'long_tail'))"
    python medcmr.py push --repo ORG/Med-CMR          # token from HF_TOKEN
    python medcmr.py predict --model NAME --base-url URL --out preds.jsonl
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import posixpath
import shutil
import sys
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

BUILDER_VERSION = "1.0.0"

DIMENSIONS: dict[str, str] = {
    "Small-object Detection": "small_object",
    "Fine-detail Discrimination": "fine_detail",
    "Spatial Understanding": "spatial",
    "Temporal Prediction": "temporal",
    "Causal Reasoning": "causal",
    "Long-tail Generalization": "long_tail",
    "Multi-source Integration": "multi_source",
}
QUESTION_TYPES = ("mcq", "open")
LETTERS = "ABCDE"

FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "index": datasets.Value("int64"),
    "question_type": datasets.Value("string"),
    "question": datasets.Value("string"),
    "options": datasets.List(datasets.Value("string")),
    "answer": datasets.Value("string"),
    "visual_description": datasets.Value("string"),
    "dimension": datasets.Value("string"),
    "subtype": datasets.Value("string"),
    "medical_intelligence": datasets.Value("string"),
    "modality": datasets.Value("string"),
    "organ_system": datasets.Value("string"),
    "image_path": datasets.Value("string"),
    "image": datasets.Image(),
})

PROMPT_VERSION = "med-cmr-paper-2025-12"
_PROMPT_HEAD = ("Please carefully observe this medical image and answer the following question:\n\n"
                "Question: {question}\n\n")
MCQ_PROMPT = (_PROMPT_HEAD + "Options:\nA) {A}\nB) {B}\nC) {C}\nD) {D}\nE) {E}\n\n"
              "Answer only with the option letter (A\u2013E).")
OPEN_PROMPT = (_PROMPT_HEAD + "Think step by step, integrating both visual features and medical knowledge "
               "to reach your conclusion. Then provide the final answer to the question in one short "
               "sentence or a single medical term.\n\nOutput format (Must follow strictly):\n"
               "Reasoning: <visual and diagnostic reasoning process>\nAnswer: <final answer to the question>")

# The official release (SPEC §1); nothing downloads it in tests.
HUB_REPO = "aaassddaadf/Med-CMR"
HUB_REVISION = "a9b2d6e610c6c5dcf4f3e5aa89c7ec9fd7a05b73"
HUB_FILE = "dataset.zip"
HUB_SHA256 = "8495f3b6b2901a095918ab27c600e42da7287a87f6aea490912ba60d27de3775"
RELEASE_FILES = {"mcq": "cmed.copy.mcq_cate.cleaned.json", "open": "cmed.copy.open_taged.cleaned.json"}
SAMPLE_SOURCES = "dataset/sample_sources.json"  # only in sample releases: image sources and licences
TEXT_KEYS = ("question", "image_path", "answer", "visual_description", "task", "subtype",
             "question type", "modality", "organ system")

MAX_SHARD_BYTES = 400 * 2**20  # well under the Hub's 500 MB guidance for one parquet file
ROWS_PER_GROUP = 100  # what `datasets` uses for image data: one row group stays a few tens of MB
# Parquet leaf columns other than the image bytes: dictionary-encoded and snappy-compressed. The
# image bytes (PNG, compressed already) are stored as they are, which also writes faster.
TEXT_COLUMNS = [*(name for name in FEATURES if name not in ("options", "image")),
                "options.list.element", "image.path"]


def format_prompt(row: dict) -> str:
    """The paper's prompt for one row (`question_type`, `question`, `options`)."""
    if row["question_type"] == "mcq":
        return MCQ_PROMPT.format(question=row["question"], **dict(zip(LETTERS, row["options"])))
    return OPEN_PROMPT.format(question=row["question"])


def config_name(slug: str | None = None, question_type: str | None = None) -> str:
    """Config name of a (dimension, format) selection: all, mcq, long_tail, long_tail_mcq..."""
    return "_".join(part for part in (slug, question_type) if part) or "all"


class ReleaseError(ValueError):
    """A malformed release; every line names the file, the record (`index`) and the field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        super().__init__(f"{len(problems)} problem(s) in the release:\n  " + "\n  ".join(shown))


# --------------------------------------------------------------------------- reading a release
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


def _read_rows(release: Release, question_type: str, problems: list[str]) -> list[dict]:
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
        if record["task"] not in DIMENSIONS:
            problems.append(f"{label}: field 'task': unknown value {record['task']!r} "
                            f"(expected one of: {', '.join(DIMENSIONS)})")
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
            "dimension": DIMENSIONS[record["task"]], "subtype": record["subtype"],
            "medical_intelligence": record["question type"], "modality": record["modality"],
            "organ_system": record["organ system"], "image_path": record["image_path"],
            "image": image, "_where": label,
        })
    return rows


# --------------------------------------------------------------------------- writing shards
def _image_cell(release: Release, row: dict, problems: list[str]) -> dict | None:
    """The image bytes, checked to decode: a PNG (the release's format) by its chunk checksums,
    without a full decode; any other format by decoding it, as Pillow verifies only PNG."""
    data = release.read(row["image"])
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format == "PNG":
                image.verify()
            else:
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        problems.append(f"{row['_where']}: field 'image_path': undecodable image {row['image']!r} ({error})")
        return None
    return {"bytes": data, "path": posixpath.basename(row["image"])}


def _write_shards(release: Release, rows: list[dict], folder: Path, problems: list[str],
                  max_shard_bytes: int) -> tuple[list[Path], int]:
    """Stream rows into test-NNNNN-of-MMMMM.parquet files, holding one row group of images at most.

    Returns the shards and the Arrow size of their rows (the card's `num_bytes`)."""
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

    for row in rows:
        image = _image_cell(release, row, problems)
        if image is None:
            continue
        size = len(image["bytes"]) + sum(len(str(value)) for value in row.values())
        if writer is None or shard_bytes + size > max_shard_bytes and shard_bytes:
            flush()
            if writer:
                writer.close()
            shards.append(folder / f"test-{len(shards):05d}.parquet")
            writer = pq.ParquetWriter(shards[-1], schema, use_dictionary=TEXT_COLUMNS,
                                      compression={**dict.fromkeys(TEXT_COLUMNS, "snappy"), "image.bytes": "none"})
            shard_bytes = 0
        batch.append({key: value for key, value in row.items() if key in FEATURES} | {"image": image})
        shard_bytes += size
        if len(batch) == ROWS_PER_GROUP:
            flush()
    if writer:
        flush()
        writer.close()
    named = [shard.with_name(f"test-{number:05d}-of-{len(shards):05d}.parquet")
             for number, shard in enumerate(shards)]
    for shard, final in zip(shards, named):
        shard.rename(final)
    return named, arrow_bytes


# --------------------------------------------------------------------------- configs
def configs(counts: Counter) -> dict[str, dict]:
    """Every config that has rows -> its rows and (dimension, format) parts; `all` first."""
    selections = [(None, None), *((None, kind) for kind in QUESTION_TYPES)]
    for slug in DIMENSIONS.values():
        selections += [(slug, None), *((slug, kind) for kind in QUESTION_TYPES)]
    result = {}
    for slug, kind in selections:
        parts = [(s, k) for s in DIMENSIONS.values() for k in QUESTION_TYPES
                 if slug in (None, s) and kind in (None, k) and counts[s, k]]
        if parts:
            result[config_name(slug, kind)] = {"rows": sum(counts[part] for part in parts), "parts": parts}
    return result


# --------------------------------------------------------------------------- build
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**22), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> str:
    """Refuse an archive whose bytes are not the pinned release; returns the digest."""
    actual = sha256_file(path)
    if actual != expected:
        raise ReleaseError([f"{path.name}: sha256 {actual} does not match the pinned {expected}"])
    return actual


def fetch_release(repo_id: str, revision: str | None = None) -> tuple[Path, str]:
    """Download the release archive from the Hub; the pinned release must match its sha256."""
    from huggingface_hub import hf_hub_download

    revision = revision or HUB_REVISION
    try:
        path = Path(hf_hub_download(repo_id, HUB_FILE, repo_type="dataset", revision=revision))
    except OSError as error:  # offline, unknown repo or revision, network failure
        raise FileNotFoundError(f"{repo_id}: cannot get {HUB_FILE} at revision {revision}: {error}") from error
    pinned = (repo_id, revision) == (HUB_REPO, HUB_REVISION)
    return path, verify_sha256(path, HUB_SHA256) if pinned else sha256_file(path)


def _is_hub_repo_id(text: str) -> bool:
    """`org/name` as the Hub spells repo ids; a mistyped path (`./x.zip`, `../x`) never goes to the Hub."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return "/" in text


def _resolve_source(source: str | Path, revision: str | None) -> tuple[Path, dict]:
    """The release on disk (a Hub repo id is downloaded and checked first) and what to record of it."""
    path = Path(source)
    if path.is_dir():
        return path, {"kind": "folder", "name": path.name}
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ReleaseError([f"{path.name}: not a zip archive"])
        return path, {"kind": "zip", "name": path.name}
    if path.suffix.lower() == ".zip" or not _is_hub_repo_id(str(source)):
        raise FileNotFoundError(f"{source}: no such release archive or folder (nor a Hub repo id)")
    archive, digest = fetch_release(str(source), revision)
    return archive, {"kind": "hub", "name": str(source), "revision": revision or HUB_REVISION,
                     "sha256": digest, "pinned_release": digest == HUB_SHA256}


def _fingerprint(files: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in sorted(files.items()))
                          .encode()).hexdigest()[:16]


def _write_parts(release: Release, rows: list[dict], staging: Path, problems: list[str],
                 max_shard_bytes: int, hasher: ThreadPoolExecutor) -> tuple[dict[str, Counter], dict[str, Future]]:
    """Write every (dimension, format) part under data/<slug>_<format>/, hashing shards meanwhile.

    Returns per-part rows, parquet bytes and Arrow bytes, and the sha256 (future) of every shard."""
    sizes: dict[str, Counter] = {"rows": Counter(), "parquet": Counter(), "arrow": Counter()}
    hashes: dict[str, Future] = {}
    for slug in DIMENSIONS.values():
        for kind in QUESTION_TYPES:
            part = sorted((row for row in rows if (row["dimension"], row["question_type"]) == (slug, kind)),
                          key=lambda row: row["index"])
            if not part:
                continue
            shards, sizes["arrow"][slug, kind] = _write_shards(
                release, part, staging / "data" / f"{slug}_{kind}", problems, max_shard_bytes)
            sizes["rows"][slug, kind] = sum(pq.ParquetFile(shard).metadata.num_rows for shard in shards)
            sizes["parquet"][slug, kind] = sum(shard.stat().st_size for shard in shards)
            hashes.update({shard.relative_to(staging).as_posix(): hasher.submit(sha256_file, shard)
                           for shard in shards})
    return sizes, hashes


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
        problems: list[str] = []
        rows = [row for kind in QUESTION_TYPES for row in _read_rows(release, kind, problems)]
        if not rows and not problems:
            problems.append(f"{path.name}: both question lists are empty")
        if problems:
            raise ReleaseError(problems)
        sizes, hashes = _write_parts(release, rows, staging, problems, max_shard_bytes, hasher)
        if problems:
            raise ReleaseError(problems)
        if source_hash:
            source_info |= {"sha256": source_hash.result(), "pinned_release": source_hash.result() == HUB_SHA256}
        files = {name: digest.result() for name, digest in hashes.items()}
        counts = sizes["rows"]
        from release.card import render_card, taxonomy_counts

        sample_sources = json.loads(release.read(SAMPLE_SOURCES)) if SAMPLE_SOURCES in release.names else None
        card = render_card(counts, sizes["parquet"], sizes["arrow"], taxonomy_counts(rows), sample_sources)
        (staging / "README.md").write_text(card, encoding="utf-8")
        report = {"rows": sum(counts.values()), "configs": {n: c["rows"] for n, c in configs(counts).items()},
                  "empty_configs": [config_name(slug, kind) for slug in DIMENSIONS.values()
                                    for kind in QUESTION_TYPES if not counts[slug, kind]],
                  "clutter_skipped": release.clutter,
                  "unreferenced_files": sorted(release.names - {row["image"] for row in rows}
                                               - {release.find(name) for name in RELEASE_FILES.values()}
                                               - {SAMPLE_SOURCES}),
                  "fingerprint": _fingerprint(files)}
        info = {"builder": "medcmr.py", "builder_version": BUILDER_VERSION, "prompt_version": PROMPT_VERSION,
                "source": source_info, **report, "files": files}
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
    """Swap the finished folder in; an older build is removed only after the new one is in place."""
    if out.exists():
        retired = out.with_name(staging.name + ".old")
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired)
    else:
        staging.rename(out)


# --------------------------------------------------------------------------- reading a build
def _shards(data_dir: Path) -> list[Path]:
    shards = sorted(Path(data_dir).glob("data/*/test-*.parquet"))
    if not shards:
        raise FileNotFoundError(f"{data_dir}: no Med-CMR build here (run `python medcmr.py build`)")
    return shards


def load_questions(data_dir: Path, question_type: str | None = None) -> list[dict]:
    """Every row of a build without its image (pyarrow only, fast), sorted by id."""
    if question_type not in (None, *QUESTION_TYPES):
        raise ValueError(f"question_type must be one of {QUESTION_TYPES} or None, not {question_type!r}")
    columns = [name for name in FEATURES if name != "image"]
    rows = [row for shard in _shards(data_dir) for row in pq.read_table(shard, columns=columns).to_pylist()
            if question_type in (None, row["question_type"])]
    return sorted(rows, key=lambda row: row["id"])


def dataset_fingerprint(data_dir: Path) -> str:
    """A stable id of the built data: the hash of its shards' hashes (from build_info.json)."""
    info_path = Path(data_dir) / "build_info.json"
    if not info_path.exists():
        raise FileNotFoundError(f"{info_path}: missing; rebuild with `python medcmr.py build`")
    return json.loads(info_path.read_text(encoding="utf-8"))["fingerprint"]


def push(data_dir: Path, repo: str, *, private: bool = False, api: HfApi | None = None) -> str:
    """Upload a build to a Hub dataset repo (token from HF_TOKEN); returns the commit URL."""
    from huggingface_hub import HfApi

    fingerprint = dataset_fingerprint(data_dir)
    api = api or HfApi(token=os.environ.get("HF_TOKEN"))
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=str(data_dir), repo_id=repo, repo_type="dataset",
                               commit_message=f"Med-CMR build {fingerprint}")
    return str(getattr(commit, "commit_url", commit))


def write_sample_release(path: Path) -> Path:
    """A small release zip in the official layout, made from real medical images (release/sample.py)."""
    from release.sample import write_sample_release as write

    return write(Path(path))


# --------------------------------------------------------------------------- command line
def print_report(report: dict) -> None:
    """What went where: rows per config, and every file of the release that went nowhere."""
    print(f"built {report['out']}: {report['rows']:,} rows (fingerprint {report['fingerprint']}), "
          f"{report['clutter_skipped']} clutter file(s) skipped")
    for name, rows in report["configs"].items():
        print(f"  {name:<20} {rows:>7,} rows")
    if report["empty_configs"]:
        print("  no rows, so no config: " + ", ".join(report["empty_configs"]))
    unused = report["unreferenced_files"]
    if unused:
        print(f"  {len(unused)} file(s) no question refers to, not included: "
              + ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else ""))
    print(f"load with: datasets.load_dataset({report['out']!r}, CONFIG)  (a config above; default 'all')")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="medcmr" if Path(sys.argv[0]).name == "medcmr" else "python medcmr.py",
        description=__doc__.split("\n\n")[0], epilog="Each command's --help shows its flags, defaults and an example.")
    commands = parser.add_subparsers(dest="command", required=True)
    examples = argparse.RawDescriptionHelpFormatter  # keeps each epilog's example on its own line
    sample = commands.add_parser(
        "sample", help="write a small release zip in the official layout", formatter_class=examples,
        epilog="example:\n  %(prog)s --out sample.zip    # then: build --source sample.zip --out medcmr")
    sample.add_argument("--out", type=Path, default=Path("medcmr-sample.zip"),
                        help="the zip to write (default: %(default)s)")
    build_cmd = commands.add_parser(
        "build", help="build the Hub-ready dataset folder from a release", formatter_class=examples,
        epilog="examples:\n"
               "  %(prog)s --source sample.zip --out medcmr    # a local zip or extracted folder\n"
               f"  %(prog)s --out medcmr                        # downloads the official {HUB_FILE} (6.9 GB) first")
    build_cmd.add_argument("--source", default=HUB_REPO,
                           help="release zip, extracted folder or Hub repo id (default: %(default)s, which "
                                f"downloads the official {HUB_FILE}, 6.9 GB)")
    build_cmd.add_argument("--out", type=Path, default=Path("medcmr"),
                           help="the dataset folder to write (default: %(default)s)")
    build_cmd.add_argument("--revision", help=f"Hub revision (default: pinned {HUB_REVISION[:10]})")
    push_cmd = commands.add_parser(
        "push", help="upload a built folder to the Hub (token from HF_TOKEN)", formatter_class=examples,
        epilog="example:\n  HF_TOKEN=hf_... %(prog)s --repo ORG/Med-CMR --data medcmr --private")
    push_cmd.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo (required)")
    push_cmd.add_argument("--data", type=Path, default=Path("medcmr"),
                          help="the built folder (default: %(default)s)")
    push_cmd.add_argument("--private", action="store_true", help="create the repo private (default: public)")
    import predict  # here, not at the top: predict imports this module

    predict.add_arguments(commands.add_parser(
        "predict", help="run an OpenAI-compatible vision model (or a reference baseline) over the benchmark"))
    args = parser.parse_args(argv)
    if args.command == "predict":
        return predict.run(args)
    try:
        if args.command == "sample":
            print(f"wrote {write_sample_release(args.out)}")
        elif args.command == "build":
            print_report(build(args.source, args.out, revision=args.revision))
        else:
            print(f"pushed: {push(args.data, args.repo, private=args.private)}")
    except (ReleaseError, OSError) as error:  # OSError: missing files, and the Hub's HTTP/offline errors
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
