"""Does a model use the image? Is it right in every option order? Blind and circular runs end to end:
`predict` against a fake vision server on 127.0.0.1, then the judge command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.vocabulary import SLUGS
from judge.circular import read_circular, score_circular
from judge.predictions import PredictionsError
from tests.openai_server import OpenAIServer
from tests.predict_responders import KnowingModel, read_built

ROOT = Path(__file__).resolve().parent.parent


def predict(server: OpenAIServer, data: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "medcmr.py", "predict", "--model", "test-vlm", "--base-url",
                           server.base_url, "--data", str(data), "--out", str(out), "--concurrency", "4", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def judge(predictions: Path, data: Path, out: Path, *flags: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "judge", "score", "--predictions", str(predictions), "--data",
                           str(data), "--out", str(out), "--mcq-only", *flags], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def test_a_model_that_uses_the_image_shows_a_positive_image_gain(built_dataset: Path, tmp_path: Path) -> None:
    rows = read_built(built_dataset)
    # With the image it knows 9 questions in 10; without it, those whose index is a multiple of 5.
    model = KnowingModel(rows, lambda row, image: row["index"] % 10 != 9 if image else row["index"] % 5 == 0)
    with OpenAIServer(model) as server:
        assert predict(server, built_dataset, tmp_path / "with.jsonl").returncode == 0
        seen = model.with_image.copy()
        blind = predict(server, built_dataset, tmp_path / "blind.jsonl", "--blind")
        assert blind.returncode == 0, blind.stderr
    assert seen[True] == len(rows) and model.with_image[False] == len(rows)  # the blind run sent no image
    lines = [json.loads(line) for line in (tmp_path / "blind.jsonl").read_text().splitlines()]
    assert all(line["blind"] is True for line in lines)
    results = judge(tmp_path / "with.jsonl", built_dataset, tmp_path / "r.json", "--blind-predictions",
                    str(tmp_path / "blind.jsonl"))
    blind_block = results["blind"]
    assert blind_block["n"] == results["mcq"]["n"] and blind_block["accuracy"] < results["mcq"]["accuracy"]
    assert blind_block["image_gain"] == pytest.approx(results["mcq"]["accuracy"] - blind_block["accuracy"])
    assert blind_block["ci95"][0] > 0  # the interval excludes no gain
    assert set(blind_block["by_dimension"]) <= {q for q in results["mcq"]["by_dimension"]}
    with OpenAIServer(model) as server:  # a plain run into the blind run's file: one file holds one mode
        mixed = predict(server, built_dataset, tmp_path / "blind.jsonl")
    assert mixed.returncode == 2 and "field 'blind'" in mixed.stderr


def test_a_position_biased_model_loses_under_rotation(built_dataset: Path, tmp_path: Path) -> None:
    rows = read_built(built_dataset)
    # It knows the even-indexed questions; otherwise it answers "A", wherever the options are.
    model = KnowingModel(rows, lambda row, image: row["index"] % 2 == 0, guess="A")
    with OpenAIServer(model) as server:
        done = predict(server, built_dataset, tmp_path / "circular.jsonl", "--circular")
        assert done.returncode == 0, done.stderr
        asked = sum(model.with_image.values())
        again = predict(server, built_dataset, tmp_path / "circular.jsonl", "--circular")
        assert again.returncode == 0 and sum(model.with_image.values()) == asked  # resumed: nothing asked again
    mcqs = [row for row in rows if row["question_type"] == "mcq"]
    assert asked == 5 * len(mcqs)
    results = judge(tmp_path / "circular.jsonl", built_dataset, tmp_path / "r.json", "--circular")
    circular = results["circular"]
    known = sum(row["index"] % 2 == 0 for row in mcqs)
    lucky = sum(row["index"] % 2 == 1 and row["answer"] == "A" for row in mcqs)
    assert circular["correct"] == known and circular["n"] == len(mcqs) and circular["missing_rotations"] == 0
    assert circular["first_rotation_accuracy"] == pytest.approx(100 * (known + lucky) / len(mcqs))
    assert results["mcq"]["accuracy"] == pytest.approx(circular["first_rotation_accuracy"])
    assert lucky > 0 and circular["accuracy"] < circular["first_rotation_accuracy"]  # luck does not survive rotation
    assert circular["chosen_positions"]["A"] > 40 and all(v == pytest.approx(20) for v in
                                                          circular["key_positions"].values())


def test_a_circular_file_names_its_broken_line() -> None:
    good = json.dumps({"id": "mcq-0", "rotation": 0, "prediction": "A"})
    with pytest.raises(PredictionsError, match=r"line 2 \(id 'mcq-0'\): field 'rotation' must be 0-4"):
        read_circular((good + "\n" + json.dumps({"id": "mcq-0", "rotation": 7, "prediction": "A"})).encode())
    with pytest.raises(PredictionsError, match="rotation 0 given twice"):
        read_circular((good + "\n" + good).encode())
    with pytest.raises(PredictionsError, match="not MCQs of this dataset"):
        score_circular([{"id": "open-0", "rotation": 0, "prediction": "A"}],
                       [{"id": "open-0", "question_type": "open"}])


def test_a_submission_carries_its_blind_and_circular_runs_to_the_board(built_dataset: Path, tmp_path: Path) -> None:
    from leaderboard.intake import SubmissionError, SubmissionMeta
    from leaderboard.service import Leaderboard
    from space.render import beyond_markdown, result_card

    rows = read_built(built_dataset)
    # It knows 9 questions in 10 with the image, every 5th without; unsure, it answers "A".
    model = KnowingModel(rows, lambda row, image: row["index"] % 10 != 9 if image else row["index"] % 5 == 0,
                         guess="A")
    runs = {"plain": (), "blind": ("--blind",), "circular": ("--circular",)}
    with OpenAIServer(model) as server:
        for name, flags in runs.items():
            done = predict(server, built_dataset, tmp_path / f"{name}.jsonl", *flags)
            assert done.returncode == 0, done.stderr
    board = Leaderboard(tmp_path / "home", built_dataset)
    try:
        for wrong, message in ((dict(circular=tmp_path / "plain.jsonl"), r"circular run plain\.jsonl: the same file"),
                               (dict(circular=tmp_path / "blind.jsonl"), r"circular run blind\.jsonl: blind\.jsonl "
                                                                         r"line 1 \(id '[^']+'\): field 'rotation'"),
                               (dict(blind=tmp_path / "gone.jsonl"), r"blind run gone\.jsonl: no file was uploaded")):
            with pytest.raises(SubmissionError, match=message):
                board.submit(tmp_path / "plain.jsonl", SubmissionMeta(model="Looks"), "alice", **wrong)
        assert board.status() == []  # a refusal stores nothing

        sent = board.submit(tmp_path / "plain.jsonl", SubmissionMeta(model="Looks"), "alice",
                            blind=tmp_path / "blind.jsonl", circular=tmp_path / "circular.jsonl")
        n_mcq = sum(row["question_type"] == "mcq" for row in rows)
        assert f"With its blind run ({n_mcq} MCQs). With its circular run ({n_mcq} MCQs)." in sent["message"]
        board.start()
        assert board.wait_idle(60)
        results = board.scores(sent["id"])
        shown = board.board().set_index("Model").loc["Looks"]
    finally:
        board.stop()
    blind, circular = results.blind, results.circular
    assert blind.n == n_mcq and blind.accuracy < results.mcq.accuracy and blind.ci95[0] > 0  # it uses the image
    assert circular.accuracy < circular.first_rotation_accuracy == results.mcq.accuracy  # luck does not rotate
    assert circular.chosen_positions["A"] > circular.key_positions["A"] + 5  # and the bias shows
    assert (shown["Blind MCQ"], shown["Image gain"], shown["MCQ circular"]) == (
        round(blind.accuracy, 2), round(blind.image_gain, 2), round(circular.accuracy, 2))
    card = result_card(board.status(sent["id"])[0], results, sent["id"])
    assert f"**Blind MCQ: {blind.accuracy:.2f}%**" in card and f"image gain {blind.image_gain:+.2f} points" in card
    assert f"**MCQ circular: {circular.accuracy:.2f}%**" in card and "Letters chosen: A " in card
    # No judge here: the card says the open answers wait for one to be configured, and with one, that they are queued.
    assert "no judge is configured on this Space" in card and "judge's queue" not in card
    queued = result_card(board.status(sent["id"])[0], results, sent["id"], judging=True)
    assert "in the judge's queue: judged in turn" in queued and "no judge is configured" not in queued
    about = beyond_markdown(board.best_blind())
    assert f"Looks's, answers **{blind.accuracy:.2f}%** of {n_mcq:,} MCQs" in about
    assert [line.split(" | ")[2] for line in about.splitlines()[-len(blind.by_dimension):]] == [
        f"{cell['accuracy']:.2f}" for _, cell in sorted(blind.by_dimension.items(), key=lambda item: SLUGS.index(item[0]))]
