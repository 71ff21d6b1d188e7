"""A submission's companion runs: the same model asked without its images (`predict --blind`) and
each MCQ asked in the five rotations of its options (`predict --circular`).

They travel with the submission (one form, one `submit` call), are checked when it is sent and
stored beside its file, and both lanes add their blocks to its results: *Blind MCQ* and the *Image
gain* (`judge.circular.blind_results`), *MCQ circular* and the letter-position bias
(`judge.circular.score_circular`). They change neither MCQ nor Open, nor the rank.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import judge
from core.results import Results
from judge.circular import blind_results, read_circular, score_circular

LABELS = {"blind": "blind run", "circular": "circular run"}


class CompanionError(ValueError):
    """A companion file that cannot be used; the message names it and what is wrong."""


def check(kind: str, path: Path, shown: str, questions: list[dict], main_sha256: str) -> dict:
    """Read a companion once, as its lane will; returns {path, sha256, file_name, answered}."""
    label = f"{LABELS[kind]} {shown}"
    with Path(path).open("rb") as data:
        sha256 = hashlib.file_digest(data, "sha256").hexdigest()
    if sha256 == main_sha256:
        raise CompanionError(f"{label}: the same file as the predictions; a {LABELS[kind]} comes from its "
                             f"own `predict --{kind}` run.")
    try:
        if kind == "circular":
            answered = score_circular(read_circular(path, shown), questions).n
        else:
            read = judge.read_predictions(path, name=shown, known_ids={q["id"] for q in questions})
            answered = len({p["id"] for p in read} & {q["id"] for q in questions if q["question_type"] == "mcq"})
    except judge.PredictionsError as error:
        raise CompanionError(f"{label}: {error}") from None
    if not answered:
        raise CompanionError(f"{label}: answers no MCQ of this dataset (its MCQs are what it measures).")
    return {"path": Path(path), "sha256": sha256, "file_name": shown, "answered": answered}


def attach(results: Results, companions: dict[str, dict], questions: list[dict]) -> None:
    """Add the companions' blocks to a submission's scored results (its items with the image)."""
    for kind, companion in companions.items():
        if kind == "circular":
            results.circular = score_circular(read_circular(companion["path"], companion["file_name"]), questions)
        elif kind == "blind":
            blind = judge.score_submission(
                judge.read_predictions(companion["path"], name=companion["file_name"],
                                       known_ids={q["id"] for q in questions}),
                questions, mcq_only=True)
            results.blind = blind_results(results.items, blind.items)
