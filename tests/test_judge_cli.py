"""`python -m judge score` end to end: a built sample dataset, real files, a real judge over HTTP."""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import medcmr
from tests.judge_responders import expected_score, fake_judge
from tests.openai_server import OpenAIServer
from tests.polling import until

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-proj-FAKE-KEY-do-not-leak-7f3a9c"


def make_predictions(questions: list[dict]) -> list[dict]:
    """Every other MCQ right (with a note column), open answers that name the reference answer."""
    predictions = []
    for number, question in enumerate(questions):
        if question["question_type"] == "mcq":
            letter = question["answer"] if number % 2 == 0 else "ABCDE"[("ABCDE".index(question["answer"]) + 1) % 5]
            predictions.append({"id": question["id"], "prediction": f"The answer is {letter}.", "note": "run-1"})
        else:
            predictions.append({"id": question["id"], "note": "run-1",
                                "prediction": f"Reasoning: {question['visual_description']}\nAnswer: {question['answer']}"})
    return predictions


def write_records(path: Path, records: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=["id", "prediction", "note"])
            writer.writeheader()
            writer.writerows(records)
    return path


def judge_cli(*args: str, env: dict | None = None, tmp: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp / "xdg-cache"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "judge", "score", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_scores_jsonl_json_and_csv_alike_through_the_command(tmp_path: Path, built_dataset: Path,
                                                           questions: list[dict]) -> None:
    records = make_predictions(questions)
    outcomes = []
    with OpenAIServer(fake_judge) as server:
        for name in ("p.jsonl", "p.json", "p.csv"):
            predictions = write_records(tmp_path / name, records)
            out, details = tmp_path / f"{name}.results.json", tmp_path / f"{name}.items.jsonl"
            done = judge_cli("--predictions", str(predictions), "--data", str(built_dataset), "--out", str(out),
                             "--details", str(details), "--judge-base-url", server.base_url,
                             "--judge-model", "judge-model", "--judge-api-key", SECRET,
                             "--cache", str(tmp_path / f"{name}.sqlite"), tmp=tmp_path)
            assert done.returncode == 0, done.stderr
            for text in (done.stdout, done.stderr, out.read_text(), details.read_text()):
                assert SECRET not in text
            outcomes.append(json.loads(out.read_text()))
            overall = next(line for line in done.stdout.splitlines() if line.startswith("overall"))
            assert overall.split()[1:] == [f"{outcomes[-1]['mcq']['accuracy']:.2f}", str(outcomes[-1]["mcq"]["n"]),
                                           f"{outcomes[-1]['open']['score']:.2f}", str(outcomes[-1]["open"]["n"])]
            assert len(details.read_text().splitlines()) == len(questions)
    results = outcomes[0]
    assert outcomes[1] == results and outcomes[2]["mcq"] == results["mcq"] and outcomes[2]["open"] == results["open"]

    mcq = [q for q in questions if q["question_type"] == "mcq"]
    opens = [q for q in questions if q["question_type"] == "open"]
    right = sum(1 for n, q in enumerate(questions) if q["question_type"] == "mcq" and n % 2 == 0)
    assert (results["mcq"]["n"], results["mcq"]["correct"], results["mcq"]["unparsed"]) == (len(mcq), right, 0)
    answers = {r["id"]: r["prediction"] for r in records}
    expected = [expected_score({"question": q["question"], "reference_answer": q["answer"],
                                "reference_visual_description": q["visual_description"],
                                "model_answer": answers[q["id"]]}) for q in opens]
    assert results["open"]["score"] == pytest.approx(sum(expected) / len(expected))
    assert sum(g["correct"] for g in results["mcq"]["by_dimension"].values()) == results["mcq"]["correct"]
    assert list(results["mcq"]["by_dimension"]) == [s for s in medcmr.DIMENSIONS.values()
                                                    if s in results["mcq"]["by_dimension"]]
    assert results["dataset"]["fingerprint"] == medcmr.dataset_fingerprint(built_dataset)
    assert results["coverage"] == {"expected": len(questions), "given": len(questions), "missing": 0,
                                   "unknown": 0, "missing_ids": [], "not_answered": 0, "normalised": 0}
    assert set(results) == {"results_version", "mcq_only", "mcq", "open", "coverage", "judge", "dataset"}


def test_judge_settings_come_from_the_environment(tmp_path: Path, built_dataset: Path, questions: list[dict]) -> None:
    predictions = write_records(tmp_path / "p.jsonl", make_predictions(questions))
    with OpenAIServer(fake_judge) as server:
        for env in ({"MEDCMR_JUDGE_BASE_URL": server.base_url, "MEDCMR_JUDGE_MODEL": "env-judge",
                     "MEDCMR_JUDGE_API_KEY": SECRET},
                    {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": SECRET, "MEDCMR_JUDGE_MODEL": "env-judge"}):
            out = tmp_path / "results.json"
            done = judge_cli("--predictions", str(predictions), "--data", str(built_dataset), "--out", str(out),
                             "--no-cache", env=env, tmp=tmp_path)
            assert done.returncode == 0, done.stderr
            results = json.loads(out.read_text())
            n_open = sum(q["question_type"] == "open" for q in questions)
            assert results["judge"]["model"] == "env-judge" and results["open"]["judged"] == n_open
            assert SECRET not in done.stdout + done.stderr + out.read_text()
    assert all(request["model"] == "env-judge" for request in server.requests)


def test_without_a_judge_open_answers_await_and_mcq_only_skips_them(tmp_path: Path, built_dataset: Path,
                                                                    questions: list[dict]) -> None:
    predictions = write_records(tmp_path / "p.jsonl", make_predictions(questions))
    out = tmp_path / "results.json"
    done = judge_cli("--predictions", str(predictions), "--data", str(built_dataset), "--out", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    n_open = sum(q["question_type"] == "open" for q in questions)
    assert results["open"]["awaiting"] == n_open and results["open"]["score"] is None
    assert "await a judge" in done.stdout
    mcq_only = [r for r in make_predictions(questions) if r["id"].startswith("mcq-")]
    done = judge_cli("--predictions", str(write_records(tmp_path / "m.jsonl", mcq_only)), "--data",
                     str(built_dataset), "--out", str(out), "--mcq-only", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["open"]["n"] == 0 and results["coverage"]["missing"] == 0 and results["mcq_only"] is True


@pytest.mark.parametrize("name, text, needles", [
    ("bad.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-1", "prediction": "B"\n', ["bad.jsonl line 2"]),
    ("nofield.jsonl", '{"id": "mcq-0", "answer": "A"}\n', ["nofield.jsonl line 1", "'prediction'"]),
    ("cols.csv", "question,prediction\nmcq-0,A\n", ["cols.csv line 1", "'id'"]),
    ("list.json", '{"id": "mcq-0", "prediction": "A"} trailing', ["list.json line 1"]),
    ("unknown.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-123456", "prediction": "A"}\n', ["'mcq-123456'"]),
    ("dupes.jsonl", '{"id": "mcq-0", "prediction": "A"}\n{"id": "mcq-0", "prediction": "B"}\n', ["duplicate", "'mcq-0'"]),
    ("empty.csv", "", ["empty.csv", "empty"]),
])
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path: Path, built_dataset: Path, name: str, text: str,
                                                      needles: list[str]) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    out = tmp_path / "results.json"
    done = judge_cli("--predictions", str(tmp_path / name), "--data", str(built_dataset), "--out", str(out),
                     tmp=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr and not out.exists()
    assert done.stderr.startswith("error: ")
    for needle in needles:
        assert needle in done.stderr


def test_missing_files_and_folders_are_clear_errors(tmp_path: Path, built_dataset: Path, questions: list[dict]) -> None:
    predictions = write_records(tmp_path / "p.jsonl", make_predictions(questions))
    for args, needle in ((["--predictions", str(tmp_path / "nope.jsonl"), "--data", str(built_dataset)], "not found"),
                         (["--predictions", str(predictions), "--data", str(tmp_path)], "not a built Med-CMR folder")):
        done = judge_cli(*args, "--out", str(tmp_path / "r.json"), tmp=tmp_path)
        assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr


def test_a_killed_run_resumes_with_only_the_remaining_calls(tmp_path: Path, built_dataset: Path,
                                                            questions: list[dict]) -> None:
    predictions = write_records(tmp_path / "p.jsonl", make_predictions(questions))
    cache, out = tmp_path / "cache.sqlite", tmp_path / "results.json"
    n_open = sum(q["question_type"] == "open" for q in questions)
    args = ["--predictions", str(predictions), "--data", str(built_dataset), "--out", str(out), "--cache", str(cache),
            "--judge-model", "judge-model", "--concurrency", "1"]
    with OpenAIServer(fake_judge, latency=0.4) as server:
        environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "MEDCMR_JUDGE_BASE_URL": server.base_url}
        process = subprocess.Popen([sys.executable, "-m", "judge", "score", *args], cwd=ROOT, env=environment,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: server.calls >= 5, 60, "five judge calls before the kill")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert not out.exists()
        with sqlite3.connect(cache) as connection:
            saved = connection.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        assert 0 < saved < n_open
        before = server.calls
        done = judge_cli(*args, env={"MEDCMR_JUDGE_BASE_URL": server.base_url}, tmp=tmp_path)
        assert done.returncode == 0, done.stderr
        assert server.calls - before == n_open - saved
    results = json.loads(out.read_text())
    assert results["open"]["judged"] == n_open and results["judge"]["cached"] == saved
    assert results["judge"]["calls"] == n_open - saved
