"""How fast the build streams a full-size release, and how fast the result loads.

Makes a synthetic release in the official layout (default: the real release's 20,654 rows, 16,655
MCQ + 3,999 open, PNGs of ~300 KB), builds it with `medcmr.py build` in a child process, and
prints rows/s, MB/s, the child's peak RSS, next to the time of merely reading the archive's bytes;
then `load_dataset` per config against pyarrow reading the same parquet files, both on a cold page
cache (the files' pages evicted with posix_fadvise before each read), alternated, min/median.

    .venv/bin/python bench/bench_build.py --scale 0.05          # a quick run
    .venv/bin/python bench/bench_build.py                       # full size (~6 GB of disk, twice)
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import medcmr  # noqa: E402

FULL_MCQ, FULL_OPEN = 16_655, 3_999
MCQ_SHARE = {"small_object": 1024, "fine_detail": 711, "spatial": 371, "temporal": 336, "causal": 1922,
             "long_tail": 11582, "multi_source": 709}  # MCQ per dimension in the release (SPEC §1)
POOL = 48  # distinct pictures, made unique per question by a text chunk, so making the release stays quick


def synthetic_png(seed: int, kilobytes: int) -> bytes:
    """A grey-scale scan-like PNG (smooth anatomy-ish shading plus noise) of about `kilobytes`."""
    rng = np.random.default_rng(seed)
    side = int((kilobytes * 1024 / 0.8) ** 0.5)
    y, x = np.mgrid[0:side, 0:side] / side
    body = 180 * np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / (0.08 + 0.04 * rng.random()))
    pixels = np.clip(body + rng.normal(0, 18, (side, side)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def unique_png(png: bytes, number: int) -> bytes:
    """The same picture with a tEXt chunk naming the question: distinct bytes, as in a real release."""
    payload = b"Comment\x00synthetic question " + str(number).encode()
    chunk = len(payload).to_bytes(4, "big") + b"tEXt" + payload
    chunk += zlib.crc32(chunk[4:]).to_bytes(4, "big")
    return png[:-12] + chunk + png[-12:]


def write_release(path: Path, rows: int, kilobytes: int) -> None:
    tasks = {slug: task for task, slug in medcmr.DIMENSIONS.items()}
    n_mcq = round(rows * FULL_MCQ / (FULL_MCQ + FULL_OPEN))
    weights = np.array(list(MCQ_SHARE.values()), dtype=float)
    slugs = list(MCQ_SHARE)
    pool = [synthetic_png(seed, kilobytes) for seed in range(POOL)]
    lists = {"mcq": [], "open": []}
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(rows):
            kind = "mcq" if number < n_mcq else "open"
            index = number if kind == "mcq" else number - n_mcq
            slug = slugs[int(np.searchsorted(np.cumsum(weights) / weights.sum(), (index * 0.6180339) % 1))]
            image_path = f"dataset/imgs/{kind}_{index:05d}.png"
            archive.writestr(image_path, unique_png(pool[number % POOL], number))
            record = {"index": index, "question": f"Synthetic question {number}?", "image_path": image_path,
                      "answer": "ABCDE"[number % 5] if kind == "mcq" else "A synthetic answer.",
                      "visual_description": "A synthetic image.", "task": tasks[slug], "subtype": "synthetic",
                      "question type": "Diagnosis", "modality": "CT", "organ system": "Nervous"}
            if kind == "mcq":
                record.update({letter: f"option {letter}" for letter in "ABCDE"})
            lists[kind].append(record)
        for kind, name in medcmr.RELEASE_FILES.items():
            archive.writestr(f"dataset/{name}", json.dumps(lists[kind]))


def read_archive_bytes(path: Path) -> float:
    """Seconds to read every member of the archive: the floor for any build."""
    start = time.perf_counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            archive.read(info)
    return time.perf_counter() - start


def evict(files: list[Path]) -> None:
    """Take the files' pages out of the page cache (posix_fadvise DONTNEED after fsync; no root needed), so
    the next read comes from the disk, as a first `load_dataset` of a fresh download does."""
    for file in files:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def time_loads(built: Path, names: list[str], rounds: int) -> list[tuple[str, int, list[float], list[float], float]]:
    """Per config: rows, seconds of load_dataset (fresh cache folder) and of pyarrow read_table, each after
    the parquet files were evicted from the page cache, alternated for `rounds`; and pyarrow warm, after."""
    import datasets
    import pyarrow.parquet as pq
    from huggingface_hub import DatasetCard

    patterns = {c["config_name"]: c["data_files"][0]["path"]
                for c in DatasetCard.load(built / "README.md").data.configs}
    results = []
    for name in names:
        files = sorted(path for pattern in patterns[name] for path in built.glob(pattern))
        loads, reads, rows = [], [], 0
        for round_ in range(rounds):
            for side in ("load", "pyarrow") if round_ % 2 == 0 else ("pyarrow", "load"):
                evict(files)
                start = time.perf_counter()
                if side == "load":
                    cache = tempfile.mkdtemp(prefix="bench-cache-")
                    ds = datasets.load_dataset(str(built), name, split="test", cache_dir=cache)
                    loads.append(time.perf_counter() - start)
                    rows = ds.num_rows
                    del ds
                    shutil.rmtree(cache, ignore_errors=True)
                else:
                    read_rows = sum(pq.read_table(file).num_rows for file in files)
                    reads.append(time.perf_counter() - start)
        if read_rows != rows:
            raise SystemExit(f"{name}: pyarrow read {read_rows} rows, load_dataset {rows}")
        start = time.perf_counter()
        sum(pq.read_table(file).num_rows for file in files)
        results.append((name, rows, loads, reads, time.perf_counter() - start))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_MCQ + FULL_OPEN)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of --rows to make")
    parser.add_argument("--image-kb", type=int, default=300)
    parser.add_argument("--configs", help="comma-separated configs to time loading (default: every config)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = max(len(MCQ_SHARE) * 2, round(args.rows * args.scale))
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    release, built = args.workdir / "dataset.zip", args.workdir / "medcmr"

    start = time.perf_counter()
    write_release(release, rows, args.image_kb)
    size_mb = release.stat().st_size / 2**20
    print(f"synthetic release: {rows:,} rows, {size_mb:,.0f} MB ({time.perf_counter() - start:.1f} s to make)")
    read_s = read_archive_bytes(release)
    print(f"reading the archive's bytes:  {read_s:7.1f} s  {size_mb / read_s:8.1f} MB/s")

    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "medcmr.py"), "build", "--source", str(release), "--out",
                    str(built)], check=True, stdout=subprocess.DEVNULL)
    build_s = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu_s = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    shards = sorted(built.glob("data/*/*.parquet"))
    largest = max(shard.stat().st_size for shard in shards) / 2**20
    print(f"build (child process):        {build_s:7.1f} s  {size_mb / build_s:8.1f} MB/s  "
          f"{rows / build_s:8,.0f} rows/s  peak RSS {peak_mb:,.0f} MB  CPU {cpu_s:.1f} s  "
          f"({build_s / read_s:.1f}x reading; {len(shards)} shards, largest {largest:,.0f} MB)")

    names = list(json.loads((built / "build_info.json").read_text())["configs"])
    if args.configs:
        names = [name for name in args.configs.split(",") if name in names]
    print(f"\nload_dataset (fresh cache folder) against pyarrow.read_table of the same parquet files, each after "
          f"the files' pages were evicted from the page cache (posix_fadvise DONTNEED), {args.rounds} alternated "
          f"rounds, min/median seconds; pyarrow warm (read again at once) beside; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'config':<20} {'rows':>7} {'load_dataset':>15} {'pyarrow cold':>15} {'warm':>7} {'ratio':>6}")
    for name, count, loads, reads, warm in time_loads(built, names, args.rounds):
        print(f"{name:<20} {count:>7,} {min(loads):>7.2f}/{statistics.median(loads):<7.2f} "
              f"{min(reads):>7.2f}/{statistics.median(reads):<7.2f} {warm:>7.2f} "
              f"{statistics.median(loads) / statistics.median(reads):>5.1f}x")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    print(f"\nrelease and build left in {args.workdir} (delete it when done)")


if __name__ == "__main__":
    main()
