"""Benchmark refusing a large predictions file of ids this dataset does not have.

    .venv/bin/python bench/bench_predictions.py [--ids 1000000]

A JSONL file (about 33 MB) of 1,000,000 unknown ids is read with `known_ids` set to the real
benchmark's 20,654 ids, from a path, from bytes (what the Space's upload hands over) and as a
one-line JSON list (which must be decoded whole before its first element). Targets:
refused in well under 3 s, peak RSS growth well under 1 GB. Then a valid file of every real id is
read whole, for scale. Time, RSS growth (resource.getrusage), the Python allocation peak
(tracemalloc, a separate run as it slows reading) and the load average are printed.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge.predictions import PredictionsError, read_predictions  # noqa: E402

REAL_IDS = {f"mcq-{n}" for n in range(16_655)} | {f"open-{n}" for n in range(3_999)}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(case: str, path: Path) -> None:
    """One case in this (fresh) process, so the RSS growth is the read's alone."""
    data = path.read_bytes() if case == "bytes" else None

    def read() -> list[dict]:
        if data is not None:
            return read_predictions(data, name="upload.jsonl", known_ids=REAL_IDS)
        return read_predictions(path, known_ids=REAL_IDS)

    rss_before = peak_rss_mib()
    start = time.perf_counter()
    try:
        outcome = f"{len(read())} records"
    except PredictionsError as error:
        outcome = f"refused: {error}"
    seconds = time.perf_counter() - start
    rss_growth = peak_rss_mib() - rss_before
    tracemalloc.start()
    try:
        read()
    except PredictionsError:
        pass
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{case + ' ' + path.name:<22} {seconds:6.3f} s  peak RSS growth {rss_growth:6.1f} MiB  "
          f"python peak {traced_peak:6.1f} MiB  load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
          f"    {outcome[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--measure", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="medcmr-bench-") as tmp:
        unknown = Path(tmp) / "unknown.jsonl"
        with unknown.open("w", encoding="utf-8") as out:
            for n in range(args.ids):
                out.write(f'{{"id": "x{n}", "prediction": "A"}}\n')
        as_list = Path(tmp) / "unknown.json"
        as_list.write_text("[" + unknown.read_text(encoding="utf-8").rstrip().replace("\n", ", ") + "]",
                           encoding="utf-8")
        valid = Path(tmp) / "valid.jsonl"
        valid.write_text("".join(f'{{"id": "{i}", "prediction": "Answer: A"}}\n' for i in sorted(REAL_IDS)),
                         encoding="utf-8")
        print(f"{unknown.stat().st_size / 1e6:.1f} MB of {args.ids:,} unknown ids; "
              f"valid file {valid.stat().st_size / 1e6:.1f} MB of {len(REAL_IDS):,} ids")
        for case, path in (("path", unknown), ("bytes", unknown), ("path", as_list), ("path", valid)):
            subprocess.run([sys.executable, __file__, "--measure", case, str(path)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
