"""The benches fail loudly: a bench whose calls get error replies exits non-zero and says why, never
printing figures for calls that did not happen."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_judge_bench_stops_when_the_server_answers_500() -> None:
    done = subprocess.run([sys.executable, "bench/bench_judge.py", "--mcq", "0", "--open", "20", "--rounds", "1",
                           "--latency", "0", "--server-status", "500"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "20 of 20 judge calls failed" in done.stderr + done.stdout
    assert "answers judged" not in done.stdout and "% of the ideal" not in done.stdout


def test_the_judge_bench_runs_when_the_server_answers() -> None:
    """The other side: the same command against a working server prints its figures and exits 0."""
    done = subprocess.run([sys.executable, "bench/bench_judge.py", "--mcq", "0", "--open", "20", "--rounds", "2",
                           "--latency", "0.01"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "server calls per round: judge [20, 20], plain [20, 20]" in done.stdout
    assert "judge calls: 0 (target 0)" in done.stdout
