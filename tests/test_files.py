"""One way to replace a file: complete or not at all, whoever writes and whatever fails."""
from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import pytest

from core.files import atomic_copy, atomic_write
from core.results import ItemResult, ItemStatus, write_details
from leaderboard.details import read_details


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = atomic_write(tmp_path / "results.json", b'{"old": true}\n')

    def half_then_fail(out):
        out.write(b'{"new": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b'{"old": true}\n'
    assert _leftovers(tmp_path) == []


def test_an_interrupted_copy_leaves_no_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "upload", tmp_path / "gone")
    assert list(tmp_path.iterdir()) == []


def test_two_writers_at_once_never_leave_a_torn_file(tmp_path):
    """Two threads replace one 1 MiB file 40 times each while a third reads it: every read is one whole version."""
    path = tmp_path / "board.csv"
    versions = [bytes([letter]) * (1 << 20) for letter in b"AB"]
    atomic_write(path, versions[0])
    done = threading.Event()
    seen: list[bytes] = []

    def write(content: bytes) -> None:
        for _ in range(40):
            atomic_write(path, lambda out: [out.write(content[i:i + 4096]) for i in range(0, len(content), 4096)],
                         sync=False)

    def read() -> None:
        while not done.is_set():
            seen.append(path.read_bytes())

    writers = [threading.Thread(target=write, args=(content,)) for content in versions]
    reader = threading.Thread(target=read)
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()
    assert seen and all(read_back in versions for read_back in seen)
    assert path.read_bytes() in versions
    assert _leftovers(tmp_path) == []


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    assert atomic_write(tmp_path / "out.json", "{}").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_copy_or_a_link_has_the_sources_bytes(tmp_path):
    source = tmp_path / "upload.jsonl"
    source.write_bytes(b'{"id": "q1"}\n' * 1000)
    copied = atomic_copy(tmp_path / "copied", source)
    linked = atomic_copy(tmp_path / "linked", source, link=True)
    assert copied.read_bytes() == linked.read_bytes() == source.read_bytes()
    assert linked.stat().st_ino == source.stat().st_ino and copied.stat().st_ino != source.stat().st_ino
    assert _leftovers(tmp_path) == []


ITEMS = [ItemResult(id=f"q{n}", question_type="mcq", status=ItemStatus.ANSWERED, prediction="é " * n,
                    answer="A", extracted="A", correct=True) for n in range(50)]


@pytest.mark.parametrize("name", ["items.jsonl", "s1.jsonl.gz"])
def test_the_details_format_has_one_writer_plain_or_compressed_by_its_name(tmp_path, name):
    path = write_details(tmp_path / "nested" / name, ITEMS)
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    assert len(text.splitlines()) == len(ITEMS) and '"é ' in text  # one JSON line per item, UTF-8 as written
    assert read_details(path) == ITEMS


def test_a_details_file_that_fails_midway_keeps_the_previous_details(tmp_path):
    path = write_details(tmp_path / "s1.jsonl.gz", ITEMS[:3])

    def failing():
        yield ITEMS[0]
        raise RuntimeError("judge lane stopped")

    with pytest.raises(RuntimeError):
        write_details(path, failing())
    assert read_details(path) == ITEMS[:3]
    assert _leftovers(tmp_path) == []
