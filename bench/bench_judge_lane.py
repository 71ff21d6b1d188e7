"""The judge lane's work before its first judge call, on a full-size upload: read again or taken up.

    .venv/bin/python bench/bench_judge_lane.py [--mib 20] [--rounds 5]

The full-size synthetic build (16,655 MCQ + 3,999 open) and one upload of about `--mib` MiB answering
every question (long open answers) are written to a temporary folder; the MCQ lane's pass over it is
scored and its details file written, as the Space does. Each round times, in turn (the order
alternates between rounds): "read again", what the judge lane did before a single parse per upload
(parse the upload, extract every MCQ letter again, build the document without a judge), and "taken
up", what it does now (read the MCQ lane's details file, take its scored MCQs, build the same
document). Printed: min and median of each, their ratio, the number of parses of the upload each
made, and the load average before and after (the machine is shared). The two documents must be
equal, or the bench stops with a non-zero exit.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import judge  # noqa: E402
from tests.full_size import full_size_dataset  # noqa: E402
from bench_service import large_predictions  # noqa: E402
from leaderboard import details  # noqa: E402
from release.built import load_questions, provenance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-judge-lane-") as work:
        work = Path(work)
        data = full_size_dataset(work)
        questions, dataset = load_questions(data), provenance(data)
        known = frozenset(q["id"] for q in questions)
        upload = work / "preds.jsonl"
        size = large_predictions(upload, questions, int(args.mib * 2**20))
        parses = {"read again": 0, "taken up": 0}
        path = work / "details" / f"s1{details.SUFFIX}"
        details.write_all(path, judge.score_submission(judge.read_predictions(upload, known_ids=known), questions,
                                                       dataset=dataset).items)

        def read_again():
            parses["read again"] += 1
            return judge.score_submission(judge.read_predictions(upload, known_ids=known), questions, dataset=dataset)

        def taken_up():
            items = details.read_details(path)
            answered = [{"id": item.id, "prediction": item.prediction} for item in items if item.prediction is not None]
            return judge.score_submission(answered, questions, dataset=dataset,
                                          scored_mcq=[item for item in items if item.question_type == "mcq"])

        if read_again().to_dict() != taken_up().to_dict():
            sys.exit("the document taken up from the MCQ lane's pass differs from the one read again")
        parses["read again"] = 0
        times: dict[str, list[float]] = {"read again": [], "taken up": []}
        for number in range(args.rounds):
            order = [("read again", read_again), ("taken up", taken_up)]
            for name, run in order if number % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
        print(f"upload {size / 2**20:.1f} MiB, {len(questions)} questions; details {path.stat().st_size / 2**20:.1f} "
              f"MiB compressed; {args.rounds} rounds")
        for name, taken in times.items():
            print(f"{name:>10}: min {min(taken):.2f} s, median {statistics.median(taken):.2f} s, "
                  f"{parses[name] / args.rounds:g} parse of the upload per run")
        ratio = statistics.median(times["taken up"]) / statistics.median(times["read again"])
        print(f"taken up / read again (medians): {ratio:.2f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
