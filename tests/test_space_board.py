"""The board as a script sees it through `gradio_client`: on the sample build, no submission is ranked."""
from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from tests.answers import write_predictions
from tests.space_app import (ALL_GROUPS, SpaceProcess, board, make_home, submit,
                              wait_for_status)


@pytest.fixture(scope="module")
def client(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "space-board"))
    yield Client(app.url, verbose=False)
    app.kill()


def test_a_sample_build_row_has_no_rank_among_the_papers_rows(client: Client, questions: list[dict],
                                                               tmp_path: Path) -> None:
    mcq = sum(q["question_type"] == "mcq" for q in questions)
    write_predictions(tmp_path / "perfect.jsonl", questions, right=mcq, open_answer="pneumonia")
    receipt = submit(client, tmp_path / "perfect.jsonl", "Perfect-Sample-VL")
    wait_for_status(client, receipt["id"], ("awaiting judge", "finished"))

    rows = board(client, column_groups=[*ALL_GROUPS, "Ranking details"])
    # 100% MCQ, yet listed after every ranked row; only the reference rows (baselines) come after it
    references = sum(row["Source"] == "reference" for row in rows)
    assert references >= 3 and [(row["Source"], row["Rank"]) for row in rows[-references:]] == [
        ("reference", None)] * references
    perfect = rows[-references - 1]
    assert perfect["Model"] == "Perfect-Sample-VL" and perfect["MCQ"] == 100.0
    assert perfect["Rank"] is None and perfect["Band"] == "—"
    assert perfect["Unranked"].startswith("sample build") and perfect["Id"] == receipt["id"]
    paper = [row for row in rows if row["Source"] == "paper"]
    assert [row["Rank"] for row in paper] == list(range(1, 19))  # the paper's own ranking, untouched
    assert paper[0]["Id"] == "paper:GPT-5" and paper[0]["Band"] == "1"
    assert all(row["Unranked"] == "" for row in paper)
