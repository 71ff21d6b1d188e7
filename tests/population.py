"""A release large enough for statistics over rows, and simulated models' prediction files for it.

The copy checks read a row against the other rows on its build, over many questions: the sample build's
21 MCQs are too few. This release has 1,400 MCQs in the seven dimensions (tiny shared images) and 24
open questions with references of a sentence, 3% of its MCQ keys wrong (the key is the option a model
that does not know finds most tempting). Rows are written as models write them: several output styles.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from core.vocabulary import DIMENSIONS, LETTERS
from leaderboard.simulate import OPTIONS, Build
from tests.full_size import write_release_zip

MCQ_PER_DIMENSION = 200
OPEN_QUESTIONS = 24
MISKEYED = 0.03
STYLES = ("Answer: {}", "The answer is ({}).", "**{}**", "Looking at the image, I choose {}.", "{}")
FINDINGS = ["consolidation", "effusion", "fracture", "nodule", "haematoma", "mass", "oedema", "stenosis"]


def write_release(path: Path, seed: int = 7) -> Path:
    """The release zip in the official layout."""
    rng = random.Random(seed)
    images = [f"dataset/imgs/img_{n}.png" for n in range(4)]

    def common(index: int, task: str) -> dict:
        return {"index": index, "question": f"Synthetic question {index}: which finding is shown?",
                "image_path": images[index % len(images)], "task": task, "subtype": "synthetic",
                "question type": "Diagnosis", "modality": "CT", "organ system": "Respiratory",
                "visual_description": f"A synthetic {FINDINGS[index % len(FINDINGS)]} in the lower lobe of the "
                                      f"right lung, seen on image number {index}."}

    mcq, index = [], 0
    for dimension in DIMENSIONS:
        for _ in range(MCQ_PER_DIMENSION):
            options = {letter: f"Option {letter} of question {index}" for letter in LETTERS}
            mcq.append({**common(index, dimension.release_name), **options, "answer": rng.choice(LETTERS)})
            index += 1
    open_ = [{**common(i, DIMENSIONS[i % len(DIMENSIONS)].release_name),
              "answer": f"A {FINDINGS[i % len(FINDINGS)]} of the right lower lobe, number {i}, needing follow-up."}
             for i in range(OPEN_QUESTIONS)]
    return write_release_zip(path, mcq, open_, images)


def simulated_build(questions: list[dict], seed: int = 3) -> tuple[list[str], Build]:
    """The MCQ ids (sorted as the copy checks order them) and a simulated build whose key is the release's:
    on MISKEYED of the questions the truth is another option."""
    rng = np.random.default_rng(seed)
    mcqs = sorted((q for q in questions if q["question_type"] == "mcq"), key=lambda q: q["id"])
    key = np.array([LETTERS.index(q["answer"]) for q in mcqs])
    dims = {d.slug: n for n, d in enumerate(DIMENSIONS)}
    temptation = rng.dirichlet(np.full(OPTIONS, 1.2), len(mcqs))
    truth = key.copy()
    for j in np.flatnonzero(rng.random(len(mcqs)) < MISKEYED):
        others = [letter for letter in range(OPTIONS) if letter != key[j]]
        truth[j] = rng.choice(others)
        temptation[j] = 0.1
        temptation[j, key[j]] = 0.6  # the wrong key is the tempting option
        temptation[j] /= temptation[j].sum()
    build = Build(truth, key, np.array([dims[q["dimension"]] for q in mcqs]), rng.normal(0.0, 1.3, len(mcqs)),
                  np.exp(rng.normal(0.0, 0.3, len(mcqs))), temptation)
    return [q["id"] for q in mcqs], build


def write_row(path: Path, ids: list[str], letters: np.ndarray, open_answers: dict[str, str],
              seed: int, *, shuffle: bool = False) -> Path:
    """A predictions file: each MCQ answered in one of several output styles, and the open answers."""
    rng = random.Random(seed)
    lines = [{"id": item_id, "prediction": rng.choice(STYLES).format(LETTERS[letter])}
             for item_id, letter in zip(ids, letters)]
    lines += [{"id": item_id, "prediction": text} for item_id, text in open_answers.items()]
    if shuffle:
        rng.shuffle(lines)
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def own_words(questions: list[dict], seed: int) -> dict[str, str]:
    """Open answers in a model's own words: the finding named, the reference never reproduced, and no two
    models' sentences alike (each picks its own phrasing and measures)."""
    rng = random.Random(seed)
    openings = ["On this {m}", "Looking at the {m} image", "The {m} shows", "In this {m} study", "Here the {m}"]
    findings = ["lesion", "abnormality", "finding", "opacity", "area"]
    places = ["low on the right", "in the right lower zone", "at the right base", "near the right hilum"]
    answers = {}
    for q in (q for q in questions if q["question_type"] == "open"):
        term = q["answer"].split()[1]
        answers[q["id"]] = (f"Reasoning: {rng.choice(openings).format(m=q['modality'])}, a {rng.randint(4, 60)} mm "
                            f"{rng.choice(findings)} sits {rng.choice(places)}; I judge it a {term} "
                            f"({rng.randint(50, 99)}% sure).\nAnswer: {term}")
    return answers
