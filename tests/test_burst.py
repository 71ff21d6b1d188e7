"""A burst of full-size uploads through the Space's HTTP API is taken whole, then checked and scored in turn.

Thirty predictions files for the full-size build (20,654 questions, tests/full_size.py), sent at once
with gradio_client to a real `python -m space`: none is refused, each receipt names it, and every
one reaches the board with exactly the MCQ score its file earns. Waits poll with a deadline.
"""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client

from leaderboard.store import Store
from release.built import load_questions
from tests.full_size import full_size_dataset
from tests.polling import until
from tests.space_app import SpaceProcess, status, submit

BURST = 30
STYLES = ("{letter}", "Answer: {letter}", "The answer is ({letter}).", "**{letter}. {text}**")


def write_file(path: Path, questions: list[dict], number: int) -> int:
    """Predictions of model `number`: right on a share of MCQs that differs per model; returns how many."""
    right = 0
    with path.open("w", encoding="utf-8") as out:
        for index, question in enumerate(questions):
            if question["question_type"] == "mcq":
                correct = (index * 7 + number) % 5 < 2
                letter = question["answer"] if correct else "ABCDE"[("ABCDE".index(question["answer"]) + 1) % 5]
                right += correct
                text = STYLES[(index + number) % len(STYLES)].format(
                    letter=letter, text=question["options"]["ABCDE".index(letter)])
            else:
                text = f"Reasoning: the finding is visible.\nAnswer: synthetic diagnosis {number}"
            out.write(json.dumps({"id": question["id"], "prediction": text}) + "\n")
    return right


@pytest.fixture(scope="module")
def full_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = full_size_dataset(tmp_path_factory.mktemp("full-size"))
    home = tmp_path_factory.mktemp("burst") / "home"
    shutil.copytree(built, home / "medcmr")
    return home


def test_thirty_full_size_uploads_at_once_are_all_taken_and_scored_exactly(full_home: Path, tmp_path: Path) -> None:
    questions = load_questions(full_home / "medcmr")
    files = {f"burst-{n}": tmp_path / f"burst-{n}.jsonl" for n in range(BURST)}
    earned = {model: write_file(path, questions, n) for n, (model, path) in enumerate(files.items())}
    space = SpaceProcess(full_home, env={"MEDCMR_RATE_LIMIT": "1000/3600"})
    try:
        client = Client(space.url, verbose=False)
        with ThreadPoolExecutor(BURST) as pool:
            receipts = dict(zip(files, pool.map(lambda item: submit(client, item[1], item[0]), files.items())))
        assert all(receipt["status"] in ("queued", "checking") for receipt in receipts.values()), receipts
        assert any(receipt["status"] == "checking" for receipt in receipts.values())  # the burst was kept
        ids = {receipt["id"]: model for model, receipt in receipts.items()}

        def all_scored() -> bool:
            shown = {row["id"]: row["status"] for row in status(client) if row["id"] in ids}
            assert "refused" not in shown.values(), shown
            return len(shown) == BURST and set(shown.values()) == {"awaiting judge"}

        until(all_scored, 900, "every upload of the burst on the board")
        store = Store(full_home / "leaderboard.sqlite")
        try:
            correct = {ids[submission]: store.results(submission)["mcq"]["correct"] for submission in ids}
        finally:
            store.close()
        assert correct == earned
    finally:
        space.kill()
