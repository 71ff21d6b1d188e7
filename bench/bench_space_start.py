"""How soon a fresh Space serves the full benchmark from a dataset repo (MEDCMR_DATASET_REPO).

Writes a Hub-layout folder holding only build_info.json and the questions artifact of a full-size
synthetic build (20,654 questions), serves it as a dataset repo on 127.0.0.1 (tests/hub_server.py,
so the network is out of the figure), starts `python -m space` on an empty home with the repo set,
and prints the seconds until the questions are loaded and until the page answers, beside the
artifact's size and the machine's load average. Target: under 60 s to serve.

    .venv/bin/python bench/bench_space_start.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from release.built import load_questions  # noqa: E402
from release.hub import fetch_questions  # noqa: E402
from release.questions import QUESTIONS_FILE  # noqa: E402
from tests.hub_server import COMMIT, HubServer, write_synthetic_questions  # noqa: E402
from tests.space_app import SpaceProcess  # noqa: E402

TARGET_S = 60.0


def start_once(server: HubServer, workdir: Path, run: int) -> float:
    """Seconds from `python -m space` on an empty home until its page answers with the full benchmark."""
    home = workdir / f"run-{run}" / "home"
    home.parent.mkdir(parents=True)
    env = {"MEDCMR_DATASET_REPO": server.repo_id, "MEDCMR_DATASET_REVISION": COMMIT, "HF_ENDPOINT": server.url,
           "HF_HUB_OFFLINE": "0", "HF_HOME": str(workdir / f"run-{run}" / "hf")}
    start = time.monotonic()
    space = SpaceProcess(home, env)
    served = time.monotonic() - start
    try:
        assert "20,654 questions" in space.log(), space.log()
        return served
    finally:
        space.kill()


def fetch_in_process(server: HubServer, workdir: Path) -> float:
    """Seconds of the dataset step alone: download both files over HTTP and load the questions."""
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False
    start = time.perf_counter()
    fetched = fetch_questions(server.repo_id, COMMIT, workdir / "in-process", endpoint=server.url)
    load_questions(fetched.folder)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-space-start-"))
    try:
        repo = workdir / "repo"
        start = time.perf_counter()
        rows = write_synthetic_questions(repo)
        made = time.perf_counter() - start
        size_mb = (repo / QUESTIONS_FILE).stat().st_size / 2**20
        start = time.perf_counter()
        assert len(load_questions(repo)) == len(rows)
        read_s = time.perf_counter() - start
        print(f"synthetic build: {len(rows):,} questions; artifact {size_mb:.1f} MB ({made:.1f} s to write, "
              f"{read_s:.2f} s to read with load_questions)")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
        with HubServer(repo) as server:
            print(f"dataset step (download both files, load the questions): {fetch_in_process(server, workdir):.2f} s")
            times = []
            for run in range(args.runs):
                served = start_once(server, workdir, run)
                times.append(served)
                print(f"run {run + 1}: empty home -> page answering with the full benchmark: {served:6.1f} s "
                      f"(downloaded: {', '.join(sorted(server.downloaded()))})")
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"best {min(times):.1f} s, worst {max(times):.1f} s; target < {TARGET_S:.0f} s: "
              f"{'met' if max(times) < TARGET_S else 'MISSED'}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
