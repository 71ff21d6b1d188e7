"""Hostile files against a real `python -m space`: refusal time, memory during and after, waves of them.

    python bench/bench_hostile.py [--waves 10] [--size-mb 33]

Each wave sends four hostile files at once (a JSONL of one 33 MB line, a CSV with one 33 MB field, an
unclosed 33 MB JSON list, a .xlsx of millions of empty rows); then the bench waits 10 s and reads the
app's resident memory. Printed: each file's refusal time (target < 3 s), the app's peak RSS (target
< 1 GB) and its idle RSS 10 s after the last wave against the figure before the first (target within
100 MB), beside the load average.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_load import load, peak_rss_mb, start_space, submit, together  # noqa: E402
from release.build import build  # noqa: E402
from release.sample import write_sample_release  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def xlsx_bomb() -> bytes:
    """A valid workbook whose sheet holds millions of empty rows (deflate packs them about 1,000:1)."""
    import openpyxl

    book, out = openpyxl.Workbook(), io.BytesIO()
    book.active.append(("index", "prediction"))
    book.save(out)
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>' + "<row/>" * 5_000_000 + "</sheetData></worksheet>")
    source, bomb = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, sheet if entry.filename == "xl/worksheets/sheet1.xml"
                            else source.read(entry))
    return bomb.getvalue()


def hostile_files(folder: Path, size_mb: int) -> list[Path]:
    big = "x" * (size_mb * 2**20)
    files = {"one-line.jsonl": json.dumps({"id": "mcq-99999999", "prediction": big}) + "\n",
             "one-field.csv": f'id,prediction\nmcq-99999999,"{big}"\n',
             "unclosed.json": '[{"id": "mcq-0", "prediction": "' + big}
    paths = []
    for name, text in files.items():
        (folder / name).write_text(text)
        paths.append(folder / name)
    (folder / "bomb.xlsx").write_bytes(xlsx_bomb())
    return [*paths, folder / "bomb.xlsx"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waves", type=int, default=10)
    parser.add_argument("--size-mb", type=int, default=33)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        tmp = Path(workdir)
        build(write_sample_release(tmp / "release" / "dataset.zip"), tmp / "home" / "medcmr")
        files = hostile_files(tmp, args.size_mb)
        process, url = start_space(tmp / "home", tmp / "uploads")
        try:
            with httpx.Client(timeout=300) as http:
                baseline = rss_mb(process.pid)
                slowest, outcomes = 0.0, set()
                for _ in range(args.waves):
                    wave = together(len(files), lambda i: submit(http, url, files[i], f"hostile-{i}"))
                    slowest = max(slowest, *(seconds for seconds, _ in wave))
                    outcomes |= {"refused" if not result[0] else "accepted" for _, result in wave
                                 if isinstance(result, tuple)}
                time.sleep(10)  # the figure asked for: idle memory 10 s after the last refusal
                idle = rss_mb(process.pid)
            print(load())
            print(f"{args.waves} waves of {len(files)} hostile files ({', '.join(p.name for p in files)}; "
                  f"{args.size_mb} MB each, the .xlsx {files[-1].stat().st_size / 2**20:.1f} MB)")
            print(f"  slowest upload + refusal {slowest:.2f} s (target < 3 s); outcomes: {sorted(outcomes)}")
            print(f"  app RSS: idle before {baseline:.0f} MB, peak {peak_rss_mb(process.pid):.0f} MB (target < 1024), "
                  f"idle 10 s after {idle:.0f} MB ({idle - baseline:+.0f} MB; target within 100 MB)")
        finally:
            process.kill()


if __name__ == "__main__":
    main()
