"""MCQ extraction on a realistic mix of 16,655 outputs, beside VLMEvalKit's and lmms-eval's matchers.

    .venv/bin/pip install --no-deps ms-vlmeval lmms-eval==0.7.3   # the peers, for this bench only
    .venv/bin/python bench/bench_extract.py [--n 16655] [--rounds 7]

The mix (tests/mcq_mix.py) labels every output with the letter a careful reader sees in it, or
none. Each round times, in turn (the order alternates between rounds): our normalisation and
extraction (`judge.answers.normalise_answer` then `judge.extract.extract_choice`, what scoring runs),
VLMEvalKit's `can_infer` and lmms-eval's `extract_mcq_answer`, over the same outputs. Printed:
min and median per matcher, our median against `can_infer`'s (target <= 1.5x), and each matcher's
accuracy on the mix (the reader's letter, or no letter where the output names none), wrong
letters (target 0 for ours) and unparsed outputs; the load average before and after. The peers
are loaded from their installed wheels (bench/peers.py); a missing wheel or an error in any call
stops the bench with a non-zero exit.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import peers  # noqa: E402
from judge.answers import normalise_answer  # noqa: E402
from judge.extract import extract_choice  # noqa: E402
from tests.mcq_mix import MixCase, realistic_mix  # noqa: E402


def ours(case: MixCase) -> str | None:
    answer = normalise_answer(case.output)
    return None if answer.not_answered else extract_choice(answer.text, case.options)


def matchers() -> dict[str, Callable[[MixCase], str | None]]:
    can_infer, extract = peers.vlmevalkit_can_infer(), peers.lmms_eval_extract()
    return {"ours": ours,
            "VLMEvalKit can_infer": lambda case: peers.vlmevalkit_letter(can_infer, case.output, case.options),
            "lmms-eval extract_mcq_answer": lambda case: peers.lmms_eval_letter(extract, case.output, case.options)}


def timed(read: Callable[[MixCase], str | None], mix: list[MixCase]) -> tuple[float, list[str | None]]:
    start = time.perf_counter()
    letters = [read(case) for case in mix]
    return time.perf_counter() - start, letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16_655)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    mix = realistic_mix(args.n)
    readers = matchers()
    times: dict[str, list[float]] = {name: [] for name in readers}
    letters: dict[str, list[str | None]] = {}
    load_before = os.getloadavg()[0]
    names = list(readers)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            seconds, letters[name] = timed(readers[name], mix)
            times[name].append(seconds)
    print(f"{len(mix):,} outputs, {args.rounds} alternated rounds; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)")
    print(f"{'matcher':<30}{'min ms':>8}{'median':>8}{'accuracy':>10}{'wrong':>7}{'unparsed':>10}")
    for name in names:
        got = letters[name]
        right = sum(letter == case.expected for letter, case in zip(got, mix))
        wrong = sum(letter is not None and letter != case.expected for letter, case in zip(got, mix))
        unparsed = sum(letter is None and case.expected is not None for letter, case in zip(got, mix))
        print(f"{name:<30}{1000 * min(times[name]):>8.0f}{1000 * statistics.median(times[name]):>8.0f}"
              f"{100 * right / len(mix):>9.2f}%{wrong:>7,}{unparsed:>10,}")
    ratio = statistics.median(times["ours"]) / statistics.median(times["VLMEvalKit can_infer"])
    print(f"ours / can_infer, medians: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
