"""Calibrate the reproduction's MCQ rule: honest re-runs on servers that are not bit-exact pass, edited files fail.

    .venv/bin/python bench/bench_reproduce.py [--trials 2000] [--timing]

A synthetic submission the size of the official release (16,655 MCQs, 3,999 open) is answered by a
"model" (its letters, about half right). Honest files are those letters; a runner re-asks them on a server
that is not bit-exact (each letter flipped to another with probability d, as batching does at temperature
0). Edited files change the model's wrong letters to the key on a share e of all MCQs (a submitter who
fixes answers) and are re-asked on an exact or a noisy server. Every trial draws a fresh seeded sample at
the default size (max(50, 1%) of 20,654 questions = 207, 167 of them MCQs) through `judge.reproduce`
(`sample_ids`, then `compare`), exactly as the Space does, and records whether the file was held. Beside
each simulated rate: the exact binomial rate of the same rule. The bench fails (exit 1) when honest runs
with d ≤ 2.5% pass less than 99% of the time or files edited on 10% or more of the MCQs fail less than 95%.

`--timing` also runs whole reproductions through the leaderboard (a real store, the lane's code, a fake
runner over real HTTP answering in `--latency` s) and prints calls and seconds per reproduction.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scipy import stats  # noqa: E402

from core.results import ItemResult, ItemStatus, ReproductionState  # noqa: E402
from core.settings import REPRODUCE_SAMPLE  # noqa: E402
from core.vocabulary import LETTERS, RELEASE_QUESTIONS, SLUGS  # noqa: E402
from judge.reproduce import ALPHA, FLOOR, compare, sample_ids  # noqa: E402

HONEST_NOISE = (0.0, 0.01, 0.02, 0.025, 0.03, 0.05)
EDITS = (0.02, 0.05, 0.10, 0.20, 0.50)
EDITED_NOISE = (0.0, 0.02)
HONEST_TARGET, HONEST_CEILING = 0.99, 0.025
EDITED_TARGET, EDITED_FLOOR = 0.95, 0.10


def synthetic_file(n_mcq: int, n_open: int, rng: random.Random) -> tuple[list[ItemResult], dict[str, str], list[str]]:
    """(file items, the key per MCQ, the model's own letter per MCQ in item order)."""
    items, keys, letters = [], {}, []
    for number in range(n_mcq):
        key = rng.choice(LETTERS)
        letter = key if rng.random() < 0.5 else rng.choice([x for x in LETTERS if x != key])
        item_id = f"mcq-{number}"
        keys[item_id] = key
        letters.append(letter)
        items.append(ItemResult(id=item_id, question_type="mcq", status=ItemStatus.ANSWERED,
                                dimension=SLUGS[number % len(SLUGS)], extracted=letter, answer=key))
    items += [ItemResult(id=f"open-{n}", question_type="open", status=ItemStatus.AWAITING) for n in range(n_open)]
    return items, keys, letters


def edited(items: list[ItemResult], keys: dict[str, str], share: float, rng: random.Random) -> dict[str, ItemResult]:
    """The file with `share` of all MCQs changed: wrong letters set to the key (right ones need no edit, so the
    edits go to wrong answers; a file with fewer wrong answers than that is edited on all of them)."""
    mcq = [item for item in items if item.question_type == "mcq"]
    wrong = [item for item in mcq if item.extracted != keys[item.id]]
    chosen = {item.id for item in rng.sample(wrong, min(len(wrong), round(share * len(mcq))))}
    return {item.id: (ItemResult(id=item.id, question_type="mcq", status=item.status, dimension=item.dimension,
                                 extracted=keys[item.id], answer=item.answer) if item.id in chosen else item)
            for item in items}


def runner_answers(model: dict[str, str], sample: list[str], noise: float, rng: random.Random) -> dict[str, ItemResult]:
    """The runner's re-ask of the sample: the model's letter, flipped to another with probability `noise`."""
    found = {}
    for item_id in sample:
        if item_id.startswith("open-"):
            found[item_id] = ItemResult(id=item_id, question_type="open", status=ItemStatus.AWAITING)
            continue
        letter = model[item_id]
        if rng.random() < noise:
            letter = rng.choice([x for x in LETTERS if x != letter])
        found[item_id] = ItemResult(id=item_id, question_type="mcq", status=ItemStatus.ANSWERED, extracted=letter)
    return found


def held_rate(file: dict[str, ItemResult], items: list[ItemResult], model: dict[str, str], noise: float,
              trials: int, rng: random.Random) -> tuple[float, float, int]:
    """(share of trials held, mean agreement %, MCQs per sample) over `trials` fresh samples."""
    held, agreement, n = 0, 0.0, 0
    minimum, fraction = REPRODUCE_SAMPLE
    questions = sum(RELEASE_QUESTIONS.values())
    for _ in range(trials):
        sample = sample_ids(items, questions, f"{rng.getrandbits(64):x}", minimum, fraction)
        found = compare(file, runner_answers(model, sample, noise, rng), sample, judged=False)
        held += found.state == ReproductionState.NOT_REPRODUCED
        agreement += found.agreement
        n = found.mcq_n
    return held / trials, agreement / trials, n


def exact_held(n: int, agree_probability: float) -> float:
    """The rule's held rate when each sampled letter agrees independently with `agree_probability`."""
    threshold = max((k for k in range(n + 1) if stats.binom.cdf(k, n, FLOOR) < ALPHA), default=-1)
    return float(stats.binom.cdf(threshold, n, agree_probability)) if threshold >= 0 else 0.0


def calibrate(trials: int) -> bool:
    """Print the table; True when both targets hold."""
    rng = random.Random(20261201)
    items, keys, letters = synthetic_file(RELEASE_QUESTIONS["mcq"], RELEASE_QUESTIONS["open"], rng)
    model = {item.id: letter for item, letter in zip(items, letters)}
    honest = {item.id: item for item in items}
    print(f"rule: held when P(at most k of n agree | agreement {FLOOR:.1%}) < {ALPHA:g} (one-sided exact binomial); "
          f"{trials:,} samples per row; load average {os.getloadavg()[0]:.1f}")
    print(f"{'file':<14}{'server flips':>13}{'MCQs':>6}{'mean agreement':>16}{'held (sim.)':>13}{'held (exact)':>14}"
          f"  target")
    ok = True
    for noise in HONEST_NOISE:
        rate, mean, n = held_rate(honest, items, model, noise, trials, rng)
        target = f"pass ≥ {HONEST_TARGET:.0%}" if noise <= HONEST_CEILING else "(beyond the floor)"
        met = noise > HONEST_CEILING or 1 - rate >= HONEST_TARGET
        ok &= met
        print(f"{'honest':<14}{noise:>13.1%}{n:>6}{mean:>15.1f}%{rate:>13.2%}{exact_held(n, 1 - noise):>14.2%}"
              f"  {target}{'' if met else ' MISSED'}")
    for share in EDITS:
        file = edited(items, keys, share, rng)
        for noise in EDITED_NOISE:
            rate, mean, n = held_rate(file, items, model, noise, trials, rng)
            target = f"fail ≥ {EDITED_TARGET:.0%}" if share >= EDITED_FLOOR else ""
            met = share < EDITED_FLOOR or rate >= EDITED_TARGET
            ok &= met
            exact = exact_held(n, (1 - share) * (1 - noise) + share * noise / (len(LETTERS) - 1))
            print(f"{f'edited {share:.0%}':<14}{noise:>13.1%}{n:>6}{mean:>15.1f}%{rate:>13.2%}{exact:>14.2%}"
                  f"  {target}{'' if met else ' MISSED'}")
    small = math.ceil(REPRODUCE_SAMPLE[0] * RELEASE_QUESTIONS["mcq"] / sum(RELEASE_QUESTIONS.values()))
    print(f"at the minimum sample ({REPRODUCE_SAMPLE[0]} questions, {small} MCQs): honest 2.5% held "
          f"{exact_held(small, 0.975):.2%}, edited 10% held {exact_held(small, 0.9):.2%}, edited 20% held "
          f"{exact_held(small, 0.8):.2%}")
    return ok


def timing(runs: int, latency: float) -> None:
    """Whole reproductions through the leaderboard (a real store, the lane, a fake runner over HTTP answering after
    `latency` s, 4 requests at a time) on the sample build: calls and seconds per reproduction."""
    import json
    import statistics
    import tempfile

    import medcmr
    from core.settings import RunnerSettings, Settings
    from leaderboard.intake import SubmissionMeta
    from leaderboard.service import Leaderboard
    from fakes.server import OpenAIServer
    from tests.predict_responders import VisionModel, model_answer, read_built

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "medcmr"
        medcmr.build(medcmr.write_sample_release(work / "dataset.zip"), data)
        rows = read_built(data)
        with OpenAIServer(VisionModel(rows, max_side=2048), latency=latency) as server:
            runner = RunnerSettings("bench", server.base_url, ("test-vlm",), timeout=30.0, max_retries=0, concurrency=4)
            board = Leaderboard(work / "home", data, Settings(runners=(runner,), runners_allow_private=True,
                                                              rate_limit=(1000, 3600.0)))
            board.start()
            found = []
            try:
                for run in range(runs):
                    path = work / f"run-{run}.jsonl"
                    path.write_text("".join(json.dumps({"id": row["id"], "prediction": model_answer(row) + " " * run})
                                            + "\n" for row in rows))
                    submission = board.submit(path, SubmissionMeta(model=f"Bench-{run}", runner_model="test-vlm"),
                                              "bench")["id"]
                    deadline = time.monotonic() + 300
                    while board.status(submission)[0]["reproduction"] in ("pending", "running"):
                        if time.monotonic() > deadline:
                            raise SystemExit(f"run {run}: the reproduction did not finish within 300 s")
                        time.sleep(0.05)
                    reproduction = board.scores(submission).reproduction
                    if reproduction.state != "reproduced":
                        raise SystemExit(f"run {run}: {reproduction.state}: {reproduction.reason}")
                    found.append(reproduction)
            finally:
                board.stop()
    seconds = [r.seconds for r in found]
    per_question = statistics.median(seconds) / len(found[0].sample)
    print(f"\nwhole reproductions on the sample build ({len(found[0].sample)} questions re-asked, runner answering "
          f"after {latency:g} s, 4 at a time, no judge): {found[0].calls} runner calls each; seconds min "
          f"{min(seconds):.2f}, median {statistics.median(seconds):.2f} over {runs} runs (load average "
          f"{os.getloadavg()[0]:.1f}); at that pace the release's default sample of 207 questions takes about "
          f"{per_question * 207:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000, help="samples per row (default: %(default)s)")
    parser.add_argument("--timing", action="store_true", help="also time whole reproductions (default: off)")
    parser.add_argument("--runs", type=int, default=5, help="reproductions timed with --timing (default: %(default)s)")
    parser.add_argument("--latency", type=float, default=0.2,
                        help="seconds the fake runner takes per answer with --timing (default: %(default)s)")
    args = parser.parse_args()
    ok = calibrate(args.trials)
    if args.timing:
        timing(args.runs, args.latency)
    if not ok:
        print("FAILED: a target was missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
