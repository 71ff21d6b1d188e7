"""The Space's memory across a busy spell: RSS idle -> peak -> quiet, on the full-size build.

    .venv/bin/python bench/bench_memory.py [--submits 30] [--explore 20] [--quiet-s 60]

A real `python -m space` (bench/bench_load.py starts it, full-size synthetic build, no judge) is
driven over HTTP through: a burst of full-size uploads at once (each waits for its row on the
board), Explore pages of every scored submission, and the item analysis. The app's RSS is read from
/proc: idle after one warm-up board read, the peak (VmHWM), and once quiet (`--quiet-s` after the
last call, the lowest of the last few seconds). Target: quiet within 100 MB of idle. Any failed call
stops the bench with a non-zero exit.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_load import (call, endpoint_defaults, load, on_board, peak_rss_mb, predictions,  # noqa: E402
                        result_json, start_space, submit, together)
from release.built import load_questions  # noqa: E402
from tests.full_size import full_size_dataset  # noqa: E402

import httpx  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def explore_inputs(http: httpx.Client, url: str, submission_id: str, page: int) -> list:
    """The `explore` API's inputs at their defaults, for one submission and one page."""
    inputs = endpoint_defaults(http, url, "explore")
    inputs[0], inputs[-1] = submission_id, page
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submits", type=int, default=30)
    parser.add_argument("--explore", type=int, default=20, help="Explore pages read per scored submission")
    parser.add_argument("--quiet-s", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        shutil.copytree(full_size_dataset(ROOT / "bench" / "out" / "board"), home / "medcmr")
        process, url = start_space(home, tmp / "gradio-uploads")
        questions = load_questions(home / "medcmr")
        try:
            with httpx.Client(timeout=600) as http:
                call(http, url, "leaderboard", endpoint_defaults(http, url, "leaderboard"))
                time.sleep(5)
                idle = rss_mb(process.pid)
                files = [predictions(tmp / f"burst-{n}.jsonl", questions, n) for n in range(args.submits)]
                receipts = [result_json(text) for _, text in
                            together(args.submits, lambda i: submit(http, url, files[i], f"burst-{i}"))]
                on_board(http, url, {receipt["id"] for receipt in receipts})
                after_burst = rss_mb(process.pid)
                for receipt in receipts:
                    for page in range(1, args.explore + 1):
                        call(http, url, "explore", explore_inputs(http, url, receipt["id"], page))
                after_explore = rss_mb(process.pid)
                call(http, url, "item_analysis", [])
                after_items = rss_mb(process.pid)
                peak = peak_rss_mb(process.pid)
                quiet_from = time.monotonic()
                samples = []
                while time.monotonic() - quiet_from < args.quiet_s:
                    samples.append(rss_mb(process.pid))
                    time.sleep(1)
                quiet = min(samples[-5:])
            print(f"Space RSS, full-size build: idle {idle:.0f} MB -> after a burst of {args.submits} uploads "
                  f"{after_burst:.0f} MB -> after {args.explore} Explore pages of each {after_explore:.0f} MB -> after "
                  f"the item analysis {after_items:.0f} MB; peak {peak:.0f} MB; quiet ({args.quiet_s:.0f} s later) "
                  f"{quiet:.0f} MB = idle + {quiet - idle:.0f} MB (target <= 100 MB); {load()}")
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:  # a loaded machine: it is ended all the same
                process.kill()
                process.wait(30)


if __name__ == "__main__":
    main()
