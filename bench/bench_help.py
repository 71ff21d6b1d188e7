"""`--help` of each command against a bare interpreter start (`python -c pass`): target under 1 s.

    .venv/bin/python bench/bench_help.py [--runs 7] [--vs ../other-checkout]

The commands and the bare start alternate within each round, so both see the same machine load;
each line gives min and median wall time and their ratio to the bare start's, beside the load
average. `--vs` times the same commands of another checkout (with its own `.venv`) in the same
rounds, e.g. the version before the lazy imports. A command that fails stops the bench.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [["bin/medcmr", "--help"], ["bin/medcmr-judge", "--help"], ["bin/medcmr-space", "--help"],
            ["bin/python", "-m", "space.moderate", "--help"], ["bin/python", "-m", "bridges", "--help"]]
BARE = ["bin/python", "-c", "pass"]


def timed(checkout: Path, command: list[str]) -> float:
    """Wall seconds of one run from `checkout`, with its own environment; raises when it fails."""
    argv = [str(checkout / ".venv" / command[0]), *command[1:]]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=checkout, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout.startswith("usage: ") and command != BARE:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (default: %(default)s)")
    parser.add_argument("--vs", type=Path, help="another checkout with its own .venv, timed in the same rounds")
    args = parser.parse_args()
    checkouts = {"this": ROOT, **({"vs": args.vs.resolve()} if args.vs else {})}
    times: dict[tuple[str, str], list[float]] = {}
    loads = []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        for label, checkout in checkouts.items():
            for command in (BARE, *COMMANDS):
                times.setdefault((label, " ".join(command)), []).append(timed(checkout, command))
    print(f"{args.runs} rounds, load average {min(loads):.2f}-{max(loads):.2f} (1 min)")
    for label in checkouts:
        bare = statistics.median(times[label, " ".join(BARE)])
        print(f"[{label}] {checkouts[label]}: bare start median {bare:.3f} s")
        for command in COMMANDS:
            runs = times[label, " ".join(command)]
            median = statistics.median(runs)
            print(f"  {' '.join(command)[4:]:<36} min {min(runs):.3f} s  median {median:.3f} s  "
                  f"= {median / bare:.1f}x a bare start  {'ok' if median < 1 else 'OVER 1 s'}")


if __name__ == "__main__":
    sys.exit(main())
