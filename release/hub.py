"""The Hub side of a release: fetching the official archive, pushing a build, and serving a pushed
build to a Space without its 6.9 GB: the questions artifact for scoring, images one shard at a time."""
from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from core.vocabulary import HUB_FILE, HUB_REPO, HUB_REVISION, HUB_SHA256
from release.built import dataset_fingerprint
from release.checksums import sha256_file, verify_sha256
from release.questions import QUESTIONS_FILE, read_questions

if TYPE_CHECKING:
    from huggingface_hub import HfApi
    from PIL import Image


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


def is_hub_repo_id(text: str) -> bool:
    """`org/name` as the Hub spells repo ids; a mistyped path (`./x.zip`, `../x`) never goes to the Hub."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return "/" in text


def push(data_dir: Path, repo: str, *, private: bool = False, api: HfApi | None = None) -> str:
    """Upload a build to a Hub dataset repo (token from HF_TOKEN); returns the commit URL."""
    from huggingface_hub import HfApi

    fingerprint = dataset_fingerprint(data_dir)
    api = api or HfApi(token=os.environ.get("HF_TOKEN"))
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=str(data_dir), repo_id=repo, repo_type="dataset",
                               commit_message=f"Med-CMR build {fingerprint}")
    return str(getattr(commit, "commit_url", commit))



class FetchedBuild(NamedTuple):
    """A pushed build's questions on disk: `folder` holds build_info.json and the questions artifact
    (the Hub layout, so `release.built` reads it as a build); `commit` is what the revision resolved to."""

    folder: Path
    commit: str


def fetch_questions(repo_id: str, revision: str | None, cache_dir: Path, *,
                    endpoint: str | None = None) -> FetchedBuild:
    """Download only build_info.json and the questions artifact of a build pushed to `repo_id`.

    A few MB instead of the shards, so a Space scores the full benchmark within a minute of start.
    Both files come from one commit: the revision is resolved once, by the first download (the
    cache names its snapshot folder after the commit). A pinned commit that is already in
    `cache_dir` is served from there when the Hub cannot be reached."""
    from huggingface_hub import hf_hub_download

    revision = revision or "main"
    try:
        info = Path(hf_hub_download(repo_id, "build_info.json", repo_type="dataset", revision=revision,
                                    cache_dir=cache_dir, endpoint=endpoint))
        commit = info.parent.name
        artifact = Path(hf_hub_download(repo_id, QUESTIONS_FILE, repo_type="dataset", revision=commit,
                                        cache_dir=cache_dir, endpoint=endpoint))
    except (OSError, ValueError) as error:  # offline, unknown repo/revision/file, a malformed repo id
        raise FileNotFoundError(f"{repo_id}: cannot get build_info.json and {QUESTIONS_FILE} at revision "
                                f"{revision}: {error}") from error
    if artifact != info.parent / QUESTIONS_FILE:
        raise FileNotFoundError(f"{repo_id}: {QUESTIONS_FILE} and build_info.json came from different commits")
    return FetchedBuild(info.parent, commit)


IMAGE_CACHE_BYTES = 2 * 2**30  # a few shards (each at most 400 MB) of a 6.9 GB build


class ShardImages:
    """The image of any question of a build, fetched one parquet shard at a time.

    `image_for("mcq-12")` looks the question up in the build's questions artifact (which names the
    shard holding each image), reads the shard in place when the build folder has it (a full local
    build), else downloads that shard alone from the dataset repo `repo_id` at `revision` into
    `cache_dir`, and returns the image decoded (PIL). Downloaded shards stay on disk for the next
    question and are evicted least recently used first once they exceed `max_bytes` (the shard
    just fetched is always kept). Safe to call from several threads (one download or read at a time).

    Raises KeyError for an id the build does not have, FileNotFoundError when the shard cannot be
    had (no repo configured, or the Hub unreachable)."""

    def __init__(self, data_dir: Path, repo_id: str | None = None, revision: str | None = None, *,
                 cache_dir: Path, max_bytes: int = IMAGE_CACHE_BYTES, endpoint: str | None = None) -> None:
        self.data_dir, self.repo_id, self.revision = Path(data_dir), repo_id, revision
        self.cache_dir, self.max_bytes, self.endpoint = Path(cache_dir), max_bytes, endpoint
        self._shard_of = _shard_index(self.data_dir)
        self._lock = threading.Lock()
        self._on_disk: OrderedDict[str, int] = OrderedDict()  # downloaded shard -> bytes, least recent first
        self._rows: dict[str, dict[str, tuple[int, int]]] = {}  # shard -> id -> (row group, row in group)
        for path in sorted(self.cache_dir.glob("data/*/*.parquet"), key=lambda path: path.stat().st_mtime):
            self._on_disk[path.relative_to(self.cache_dir).as_posix()] = path.stat().st_size

    def image_for(self, question_id: str) -> Image.Image:
        """The decoded image of `question_id` (e.g. "mcq-12")."""
        from PIL import Image

        image = Image.open(io.BytesIO(self.image_bytes(question_id)))
        image.load()
        return image

    def image_bytes(self, question_id: str) -> bytes:
        """The image of `question_id` as stored in the build (what `predict` sends when within its bound)."""
        import pyarrow.parquet as pq

        shard = self._shard_of[question_id]
        with self._lock:
            path = self._shard_path(shard)
            if shard not in self._rows:
                self._rows[shard] = _row_positions(path)
            group, row = self._rows[shard][question_id]
            # read under the lock: another thread's download may evict this shard once it is released
            cell = pq.ParquetFile(path).read_row_group(group, columns=["image"]).column("image")[row].as_py()
        return cell["bytes"]

    def cached_bytes(self) -> int:
        """Bytes of downloaded shards on disk now (at most `max_bytes` plus the shard in use)."""
        with self._lock:
            return sum(self._on_disk.values())

    def _shard_path(self, shard: str) -> Path:
        local = self.data_dir / shard
        if local.is_file():
            return local
        if shard in self._on_disk and (self.cache_dir / shard).is_file():
            self._on_disk.move_to_end(shard)
            return self.cache_dir / shard
        if not self.repo_id:
            raise FileNotFoundError(f"{shard}: not in {self.data_dir} and no dataset repo to fetch it from")
        from huggingface_hub import hf_hub_download

        try:
            path = Path(hf_hub_download(self.repo_id, shard, repo_type="dataset", revision=self.revision,
                                        local_dir=self.cache_dir, endpoint=self.endpoint))
        except (OSError, ValueError) as error:
            raise FileNotFoundError(f"{self.repo_id}: cannot get {shard} at revision {self.revision}: {error}") \
                from error
        self._on_disk[shard] = path.stat().st_size
        self._on_disk.move_to_end(shard)
        while sum(self._on_disk.values()) > self.max_bytes and len(self._on_disk) > 1:
            evicted, _ = self._on_disk.popitem(last=False)
            (self.cache_dir / evicted).unlink(missing_ok=True)
            self._rows.pop(evicted, None)
        return path


def _shard_index(data_dir: Path) -> dict[str, str]:
    """id -> shard path of a build: from its questions artifact, else (a build made before the
    artifact existed) from the `id` column of its own shards."""
    import pyarrow.parquet as pq

    if (data_dir / QUESTIONS_FILE).is_file():
        return {row["id"]: row["shard"] for row in read_questions(data_dir / QUESTIONS_FILE, ("id", "shard"))}
    return {question_id: shard.relative_to(data_dir).as_posix()
            for shard in sorted(data_dir.glob("data/*/test-*.parquet"))
            for question_id in pq.read_table(shard, columns=["id"]).column("id").to_pylist()}


def _row_positions(path: Path) -> dict[str, tuple[int, int]]:
    """id -> (row group, row within it) of one shard, from its `id` column alone."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    return {question_id: (group, row)
            for group in range(parquet.num_row_groups)
            for row, question_id in enumerate(parquet.read_row_group(group, columns=["id"]).column("id").to_pylist())}
