"""Calibrates the copy checks (`leaderboard.integrity`): how often honest rows are held, and copies caught.

Simulated builds of the full release's size (16,655 MCQs by default; 2% of the keys wrong, as in any large
benchmark, or none with --miskeyed 0) and populations of honest rows of every ability, from chance to
expert, in families (`leaderboard.simulate`). Every population row is checked against the others, as the
Space re-checks its rows (the honest held rate, related rows included: each family has two sizes); then
new rows are checked one at a time against the population: honest ones (unrelated; a fine-tune of a
population row, undeclared and declared; the same submitter's rerun with other settings), and copies
pasting the public key, or a population row's answers with 5% of all letters then changed at random, over
25-100% of a model's own answers.

    python bench/bench_integrity.py [--rows 20 30 50] [--trials 20] [--questions 16655] [--miskeyed 0.02]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leaderboard.integrity import Answers, Population, Questions  # noqa: E402
from leaderboard.items import suspect_mask  # noqa: E402
from leaderboard.simulate import Build, Family, Model, abilities, paste, rerun  # noqa: E402

SHARES = (0.25, 0.5, 0.75, 1.0)
BANDS = ((-3.0, -1.0, "weak"), (-1.0, 1.0, "middle"), (1.0, 3.0, "strong"))


def population(build: Build, rows: int, rng: np.random.Generator) -> tuple[list[Answers], list[Model]]:
    """Honest rows in families of two sizes (so related rows are part of every population)."""
    families = [Family.make(build, rng) for _ in range((rows + 1) // 2)]
    answers, models = [], []
    for index, ability in enumerate(abilities(rows, rng)):
        model = Model.make(build, rng, float(ability), families[index // 2])
        models.append(model)
        answers.append(Answers(f"sub-{index}", f"Model-{index}", f"lab-{index}",
                               model.answer(build, rng).astype(np.int8)))
    return answers, models


def held(findings: list) -> bool:
    return any(finding.held for finding in findings)


def new_rows(build: Build, rows: list[Answers], models: list[Model], rng: np.random.Generator, trial: int):
    """(kind, ability band, Answers) of one trial's new rows (the bands taken in turn)."""
    low, high, band = BANDS[trial % len(BANDS)]
    ability = float(rng.uniform(low, high))
    own_model = Model.make(build, rng, ability)
    own = own_model.answer(build, rng)
    base = int(rng.integers(len(rows)))
    tuned = models[base].fine_tune(build, rng).answer(build, rng)
    yield "honest, unrelated", band, Answers("new", "New", "newlab", own.astype(np.int8))
    yield "honest, undeclared fine-tune", band, Answers("new", "New-FT", "newlab", tuned.astype(np.int8))
    yield "honest, declared fine-tune", band, Answers("new", "New-FT", "newlab", tuned.astype(np.int8),
                                                      related=(rows[base].model,))
    again = rerun(models[base].answer(build, rng), models[base], build, rng)
    yield "honest, same submitter's rerun", band, Answers("new", f"{rows[base].model}-t0.7", rows[base].submitter,
                                                          again.astype(np.int8))
    for share in SHARES:
        yield f"key copy {share:.0%}", band, Answers("new", "Copy", "copier", paste(own, build.key, share, rng)
                                                   .astype(np.int8))
        source = rows[int(rng.integers(len(rows)))].letters
        yield f"row copy {share:.0%}", band, Answers("new", "Copy", "copier", paste(own, source, share, rng, 0.05)
                                                   .astype(np.int8))


def run(questions: int, rows: int, trials: int, miskeyed: float, seed: int) -> tuple[dict, dict, float]:
    rng = np.random.default_rng(seed)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    honest_population = [0, 0]
    started = time.perf_counter()
    checks = 0
    for trial in range(trials):
        build = Build.make(questions, rng, miskeyed=miskeyed)
        spec = Questions(tuple(f"mcq-{i}" for i in range(questions)), build.key.astype(np.int8),
                         build.dimension.astype(np.int16))
        answers, models = population(build, rows, rng)
        everyone = Population(spec, answers)
        suspects = suspect_mask(everyone.right, everyone.seen)  # once per pass, as the Space's integrity lane does
        for index in range(rows):
            honest_population[0] += held(everyone.check(index, suspects))
            honest_population[1] += 1
        for kind, band, row in new_rows(build, answers, models, rng, trial):
            outcome = held(Population(spec, [*answers, row]).check(rows, suspects))
            for key in ((kind, band), (kind, "all")):
                counts[key][0] += outcome
                counts[key][1] += 1
            checks += 1
    return counts, {"population": honest_population}, (time.perf_counter() - started) / max(checks, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[20, 30, 50])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--questions", type=int, default=16_655)
    parser.add_argument("--miskeyed", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.questions:,} MCQs, {args.miskeyed:.0%} of keys wrong, "
          f"{args.trials} simulated builds per population size")
    for rows in args.rows:
        counts, honest, per_check = run(args.questions, rows, args.trials, args.miskeyed, args.seed + rows)
        population_held, population_n = honest["population"]
        print(f"\n{rows} rows on the board: population rows held {population_held}/{population_n} "
              f"({population_held / population_n:.2%}); {per_check:.2f} s per check of a new row")
        print(f"| new row | {' | '.join(name for *_, name in BANDS)} | all |")
        print("|---|" + "---|" * (len(BANDS) + 1))
        for kind in dict.fromkeys(kind for kind, _ in counts):
            cells = []
            for band in [*(name for *_, name in BANDS), "all"]:
                hit, total = counts.get((kind, band), (0, 0))
                cells.append(f"{hit / total:.0%} ({hit}/{total})" if total else "—")
            print(f"| {kind} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
