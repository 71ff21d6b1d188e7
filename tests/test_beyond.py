"""Does a model use the image? Is it right in every option order? Blind and circular runs end to end:
`predict` against a fake vision server on 127.0.0.1, then the judge command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
