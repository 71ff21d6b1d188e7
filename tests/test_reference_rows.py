"""The reference baselines on the board: scored as the baseline command's file, never ranked, filterable, a line.

The expected scores are derived, never typed in: `medcmr.py predict --model baseline:<name>` writes
its predictions file, the judge scores that file, and the board's reference row must say the same.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import judge
from core.results import DatasetInfo, Results
from core.vocabulary import DIMENSIONS
from judge.baselines import most_frequent_letter
from leaderboard import board, plots, reference
from leaderboard.service import PAPER_CSV, Leaderboard
from space.board_view import table_value

ROOT = Path(__file__).resolve().parent.parent
NAMES = {"reference:random": "Random (reference)",
         "reference:most-frequent": "Most frequent letter (reference)",
         "reference:longest-option": "Longest option (reference)"}


@pytest.fixture(scope="module")
def served(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Leaderboard:
    """The service over the sample build, as the Space starts it (no lanes needed to read the board)."""
    leaderboard = Leaderboard(tmp_path_factory.mktemp("reference") / "home", built_dataset)
    yield leaderboard
    leaderboard.stop()


@pytest.fixture(scope="module")
def judged(built_dataset: Path, questions: list[dict], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Results]:
    """Board id -> the judge's results for the file the baseline command writes."""
    folder = tmp_path_factory.mktemp("baseline-files")
    results = {}
    for name in ("random", "most-frequent", "longest-option"):
        out = folder / f"{name}.jsonl"
        done = subprocess.run([sys.executable, str(ROOT / "medcmr.py"), "predict", "--model", f"baseline:{name}",
                               "--data", str(built_dataset), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        predictions = judge.read_predictions(out)
        results[board.reference_id(name)] = judge.score_submission(predictions, questions)
    return results


def test_the_board_carries_every_reference_row_scored_as_the_baseline_commands_files(served, judged):
    rows = served.board()
    shown = rows[rows["Source"] == board.REFERENCE].set_index("Id")
    assert dict(shown["Model"]) == NAMES
    for row_id, results in judged.items():
        row = shown.loc[row_id]
        assert row["MCQ"] == round(results.mcq.accuracy, 2)
        for dimension in DIMENSIONS:
            group = results.mcq.by_dimension.get(dimension.slug)
            if group is not None:
                assert row[dimension.abbr] == round(group.accuracy, 2)
        assert math.isnan(row["Open"]) and row["Judge"] == "" and row["Coverage (%)"] == 100.0
        assert row["Build"] == served.dataset.fingerprint
    letter = most_frequent_letter(served.questions)
    assert f"Always answers {letter}" in shown.loc["reference:most-frequent", "Note"]


def test_reference_rows_are_never_ranked_and_come_after_every_model(served):
    rows = served.board()
    tail = rows.iloc[-len(NAMES):]
    assert set(tail["Id"]) == set(NAMES)
    assert list(tail["MCQ"]) == sorted(tail["MCQ"], reverse=True)
    assert tail["Rank"].isna().all() and (tail["Band"] == "—").all()
    assert (tail["Unranked"] == board.UNRANKED_REFERENCE).all()
    paper = rows[rows["Source"] == "paper"]
    assert list(paper["Rank"]) == list(range(1, 19))  # the paper's own ranking, untouched


def test_unranked_submissions_stay_above_the_reference_rows(paper_rows, questions):
    sample = DatasetInfo(fingerprint="f-sample", questions=len(questions), official=False)
    perfect = [{"id": q["id"], "prediction": q["answer"]} for q in questions if q["question_type"] == "mcq"]
    results = judge.score_submission(perfect, questions, mcq_only=True, dataset=sample)
    submitted = board.submission_record({"id": "sub-perfect", "model": "Perfect", "weights": "open",
                                         "medical": False}, results)
    references = board.frame(reference.reference_records(questions, sample))
    ranked = board.rank(pd.concat([references, paper_rows, board.frame([submitted])], ignore_index=True), sample)
    assert list(ranked["Id"][18:]) == ["sub-perfect", *sorted(
        NAMES, key=lambda i: -references.set_index("Id").loc[i, "MCQ"])]
    assert ranked.loc[18, "Unranked"] == board.UNRANKED_SAMPLE_BUILD


@pytest.fixture(scope="module")
def paper_rows() -> pd.DataFrame:
    return board.paper_frame(PAPER_CSV)


def test_the_source_filter_offers_reference_and_the_model_filters_keep_it(served):
    rows = served.board()
    assert board.REFERENCE in board.SOURCES
    assert set(board.filter_board(rows, sources=[board.REFERENCE])["Id"]) == set(NAMES)
    assert not (board.filter_board(rows, sources=["paper"])["Source"] == board.REFERENCE).any()
    closed = board.filter_board(rows, groups=["closed"], kinds=["general"], sizes=["unknown"])
    assert set(closed["Model"]) == {"GPT-5", "Gemini-2.5-Pro", *NAMES.values()}
    assert list(board.filter_board(rows, search="random")["Id"]) == ["reference:random"]


def test_downloads_carry_the_reference_rows(served):
    rows = served.board()
    exported = json.loads(board.export_json(rows))
    random_row = next(r for r in exported if r["Id"] == "reference:random")
    assert random_row["Source"] == board.REFERENCE and random_row["Rank"] is None and random_row["Open"] is None
    assert random_row["MCQ"] == rows.set_index("Id").loc["reference:random", "MCQ"]
    assert b'"Most frequent letter (reference)"' in board.export_csv(rows)


def test_the_size_plot_draws_chance_as_a_line_not_a_point(served):
    rows = served.board()
    chance = rows.set_index("Id").loc["reference:random", "MCQ"]
    scatter = plots.score_vs_size(rows)
    lines = [shape for shape in scatter.layout.shapes if shape.y0 == shape.y1]
    assert [line.y0 for line in lines] == [chance]
    assert "Random (reference)" in scatter.layout.annotations[0].text
    assert sum(len(trace.x) for trace in scatter.data) == 16  # the paper's sized models only
    assert "2 with unknown size" in scatter.layout.title.text  # a baseline has no size to miss
    papers_only = plots.score_vs_size(board.filter_board(rows, sources=["paper"]))
    assert not papers_only.layout.shapes
    radar = plots.dimension_chart(rows, ["reference:random"])
    assert radar.data[0].name.startswith("Random (reference) · reference")


def test_the_table_marks_reference_rows_with_their_badge(served):
    rows = served.board()
    value = table_value(rows, ["Overview"])
    by_id = dict(zip(rows["Id"], value["metadata"]["display_value"]))
    rank, model, _, _, source = by_id["reference:random"]
    assert rank == "—" and "source-reference" in source and "⚠" not in model
