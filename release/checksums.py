"""Checksums of release archives and shards."""
from __future__ import annotations

import hashlib
from pathlib import Path

from release.reader import ReleaseError


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

