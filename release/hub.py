"""The Hub side of a release: fetching the official archive, pushing a build."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.vocabulary import HUB_FILE, HUB_REPO, HUB_REVISION, HUB_SHA256
from release.built import dataset_fingerprint
from release.checksums import sha256_file, verify_sha256

if TYPE_CHECKING:
    from huggingface_hub import HfApi


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

