"""Files that appear complete or not at all: the kit's one way to replace a file a reader may open.

Each write goes to a temporary file with a unique name in the target's folder (so two writers never
share one, and the rename stays on one file system), is flushed to disk, then renamed over the target;
on any failure the temporary file is removed and the old target is left as it was.
"""
from __future__ import annotations

import errno
import os
import shutil
import secrets
from pathlib import Path
from typing import BinaryIO, Callable

Content = bytes | str | Callable[[BinaryIO], None]


def atomic_write(path: Path, content: Content, *, sync: bool = True) -> Path:
    """Replace `path` whole with `content`: bytes, text (UTF-8), or a function that writes to the binary
    file it is given. With `sync` (the default) the data and the rename reach the disk before this returns;
    a cache that can be made again may skip that."""
    path = Path(path)
    temporary = _temporary(path)
    # O_EXCL: never another writer's file; 0o666 less the umask, as any new file gets.
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            if callable(content):
                content(out)
            else:
                out.write(content.encode("utf-8") if isinstance(content, str) else content)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if sync:
        _sync_folder(path.parent)
    return path


def atomic_copy(path: Path, source: Path, *, link: bool = False) -> Path:
    """Replace `path` whole with the bytes of the file `source`. With `link`, a source on the same file
    system is hard-linked instead, so its bytes reach the disk once (only for a file nothing writes again:
    a link shares every later change); where links are refused it is copied."""
    path, source = Path(path), Path(source)
    if link and _link_over(path, source):
        return path
    with source.open("rb") as data:
        return atomic_write(path, lambda out: shutil.copyfileobj(data, out, 1 << 20))


def _link_over(path: Path, source: Path) -> bool:
    """Hard-link `source` at a unique name beside `path`, flush it, and rename it over `path`; False where
    the file system or its owner forbids links (another device, protected_hardlinks)."""
    temporary = _temporary(path)
    try:
        os.link(source, temporary)
    except OSError as error:
        if error.errno in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            return False
        raise
    try:
        with temporary.open("rb") as data:
            os.fsync(data.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return True


def _temporary(path: Path) -> Path:
    """A name beside `path` that no other writer picks (64 random bits), hidden and marked as temporary."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries, so a rename in it survives a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
