"""A longer fuzzing run of every predictions format and the Explore search than the test suite's.

    python bench/fuzz_parsers.py [--examples 5000]

Random bytes, text and JSON lines of random shapes are read as each format; every input must be
read or refused with a PredictionsError, within a time bound per input. Searches of random text must
page or be refused with an ExploreError. Prints the number of inputs, the slowest one, and any
failure (which then becomes a plain test).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge.predictions import PredictionsError, read_predictions  # noqa: E402
from leaderboard.explore import ExploreError, search_words  # noqa: E402

SLOWEST = [0.0]
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=12)
KEYS = st.sampled_from(["id", "prediction", "index", "doc_id", "doc", "filtered_resps", "resps", "medcmr_mcq_acc"])
INPUTS = st.one_of(st.binary(max_size=20_000), st.text(max_size=20_000).map(str.encode),
                   st.lists(st.dictionaries(KEYS, VALUES), max_size=20)
                   .map(lambda items: "\n".join(json.dumps(item) for item in items).encode()),
                   st.lists(st.lists(st.text(max_size=20), max_size=6), max_size=20)
                   .map(lambda rows: "\n".join(",".join(row) for row in rows).encode()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000)
    args = parser.parse_args()

    @settings(max_examples=args.examples, deadline=2000, suppress_health_check=list(HealthCheck))
    @given(data=INPUTS, suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv", ".xlsx", ".txt"]))
    def reader(data: bytes, suffix: str) -> None:
        start = time.perf_counter()
        try:
            for record in read_predictions(data, name=f"fuzz{suffix}"):
                assert isinstance(record["id"], str) and isinstance(record["prediction"], str)
        except PredictionsError:
            pass
        SLOWEST[0] = max(SLOWEST[0], time.perf_counter() - start)

    @settings(max_examples=args.examples, deadline=200, suppress_health_check=list(HealthCheck))
    @given(search=st.text(max_size=5000))
    def search(search: str) -> None:
        try:
            assert len(search_words(search)) <= 8
        except ExploreError:
            pass

    start = time.perf_counter()
    reader()
    search()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.examples:,} inputs per target (6 formats, search) in "
          f"{time.perf_counter() - start:.1f} s; slowest read {1000 * SLOWEST[0]:.0f} ms; no failure")


if __name__ == "__main__":
    main()
