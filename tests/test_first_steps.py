"""A newcomer's first steps: baselines with no model, the whole path offline, commands from any folder.

The baselines are checked statistically (random is uniform, most-frequent is the modal letter), then
run as the README says: `medcmr.py predict --model baseline:random` → `python -m judge score` against
a local fake judge → a leaderboard submission of the same file, which must score the same.
"""
from __future__ import annotations

import json
import math
import random
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import medcmr
import predict
from judge import ask
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionMeta
from leaderboard.service import Leaderboard
from tests.judge_responders import fake_judge
from tests.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def synthetic_mcqs(n: int, answers: str) -> list[dict]:
    """`n` MCQ rows whose answers cycle through `answers` (skew it so a biased guesser shows)."""
    return [{"id": f"mcq-{i}", "index": i, "question_type": "mcq", "answer": answers[i % len(answers)]}
            for i in range(n)]


def run(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def baseline(data: Path, out: Path, name: str = "random", *flags: str) -> subprocess.CompletedProcess:
    """The README's baseline command: no --base-url, no server."""
    return run(sys.executable, str(ROOT / "medcmr.py"), "predict", "--model", f"baseline:{name}",
               "--data", str(data), "--out", str(out), *flags)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- the baselines themselves


def test_random_baseline_scores_chance_and_picks_every_letter_alike():
    """2,000 questions, half of them answered B: a guesser biased towards any letter leaves the band."""
    n = 2000
    rows = synthetic_mcqs(n, "BBBBBACDE")
    answer = predict.baseline_answerer("random", rows, seed=0)
    picks = [answer(row) for row in rows]
    sd = math.sqrt(n * 0.2 * 0.8)
    correct = sum(pick == row["answer"] for pick, row in zip(picks, rows))
    assert abs(correct - 0.2 * n) <= 1.96 * sd, f"{correct} of {n} right, chance is {0.2 * n:.0f}"
    counts = Counter(picks)
    assert set(counts) == set(medcmr.LETTERS)
    for letter, count in counts.items():   # 99.9% band per letter: five checks, still tight
        assert abs(count - 0.2 * n) <= 3.29 * sd, f"letter {letter} picked {count} times of {n}"


def test_random_baseline_is_seeded_per_question():
    rows = synthetic_mcqs(200, "ABCDE")
    first = [predict.baseline_answerer("random", rows, seed=0)(row) for row in rows]
    assert first == [predict.baseline_answerer("random", rows, seed=0)(row) for row in rows]
    assert first != [predict.baseline_answerer("random", rows, seed=1)(row) for row in rows]
    shuffled = random.Random(7).sample(rows, len(rows))   # a question's letter does not depend on its place
    by_id = dict(zip((row["id"] for row in rows), first))
    answer = predict.baseline_answerer("random", shuffled, seed=0)
    assert all(answer(row) == by_id[row["id"]] for row in shuffled)


def test_most_frequent_answers_the_modal_letter_and_a_placeholder_to_open_questions():
    rows = synthetic_mcqs(1000, "DDDAABCE")
    opens = [{"id": "open-0", "index": 0, "question_type": "open", "answer": "pneumothorax"}]
    answer = predict.baseline_answerer("most-frequent", rows + opens)
    assert {answer(row) for row in rows} == {"D"}
    assert answer(opens[0]) == predict.OPEN_PLACEHOLDER and predict.OPEN_PLACEHOLDER.strip()
    assert predict.most_frequent_letter(synthetic_mcqs(10, "CB")) == "B"    # a tie: the earlier letter
    with pytest.raises(predict.BaselineError, match="no such baseline"):
        predict.baseline_answerer("oracle", rows)


def test_longest_option_reads_only_the_options_and_finds_keys_written_longer():
    plain = {"id": "mcq-0", "question_type": "mcq", "answer": "B",
             "options": ["Edema", "Pulmonary embolism with right heart strain", "Effusion", "Atelectasis", "Mass"]}
    tie = {**plain, "id": "mcq-1", "options": ["Cyst  ", "Mass", "Nodule", "Lesion", "Tumour"]}
    answer = predict.baseline_answerer("longest-option", [plain, tie])
    assert answer(plain) == "B" and answer(tie) == "C"  # spaces at the ends do not count; a tie: the earlier
    assert answer({"id": "open-0", "question_type": "open"}) == predict.OPEN_PLACEHOLDER
    # A build whose keys are written longer than their distractors is answered from the text alone.
    rows = [{**plain, "id": f"mcq-{n}", "answer": letter,
             "options": [("a long and detailed key " if x == letter else "short") for x in "ABCDE"]}
            for n, letter in enumerate("ABCDE" * 20)]
    longest = predict.baseline_answerer("longest-option", rows)
    assert all(longest(row) == row["answer"] for row in rows)


# ---------------------------------------------------------------- the command, with no server


def test_baseline_command_needs_no_server_and_the_same_seed_writes_the_same_file(built_dataset, tmp_path):
    questions = {q["id"]: q for q in medcmr.load_questions(built_dataset)}
    first, again, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for out, seed in ((first, "0"), (again, "0"), (other, "1")):
        done = baseline(built_dataset, out, "random", "--seed", seed)
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    lines = records(first)
    assert sorted(r["id"] for r in lines) == sorted(questions)
    for record in lines:
        assert set(record) == {"id", "prediction", "model", "prompt_version", "usage", "latency_s"}
        assert record["model"] == "baseline:random" and record["prompt_version"] == medcmr.PROMPT_VERSION
        kind = questions[record["id"]]["question_type"]
        assert record["prediction"] in (medcmr.LETTERS if kind == "mcq" else [predict.OPEN_PLACEHOLDER])

    rerun = baseline(built_dataset, first, "random")
    assert rerun.returncode == 0 and "answered 0" in rerun.stdout and first.read_bytes() == again.read_bytes()
    mixed = baseline(built_dataset, first, "random", "--seed", "1")
    assert mixed.returncode == 2 and "--seed" in mixed.stderr and f"{first}: line " in mixed.stderr
    assert first.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("name", ["random", "longest-option"])
def test_a_baseline_writes_a_circular_run_the_space_takes_as_one(built_dataset, tmp_path, name):
    """`--circular` with a baseline writes each MCQ in its five rotations (never silently a plain file), read
    by the circular reader the Space uses; rotation 0 is the plain run's answer, and the random letter is
    drawn per rotation, so its circular accuracy is chance's, near 0."""
    from judge.circular import read_circular, rotated, score_circular
    from leaderboard.companions import check

    questions = medcmr.load_questions(built_dataset)
    mcqs = {q["id"]: q for q in questions if q["question_type"] == "mcq"}
    plain, circular = tmp_path / "plain.jsonl", tmp_path / "circular.jsonl"
    assert baseline(built_dataset, plain, name).returncode == 0
    done = baseline(built_dataset, circular, name, "--circular")
    assert done.returncode == 0, done.stderr
    lines = records(circular)
    assert sorted((r["id"], r["rotation"]) for r in lines) == sorted((i, r) for i in mcqs for r in range(5))
    assert all(r["circular"] is True and r["model"] == f"baseline:{name}" for r in lines)
    first = {r["id"]: r["prediction"] for r in records(plain) if r["id"] in mcqs}
    assert {r["id"]: r["prediction"] for r in lines if r["rotation"] == 0} == first
    if name == "longest-option":  # the same option chosen in every rotation: its letter moves with it
        for r in lines:
            row = rotated(mcqs[r["id"]], r["rotation"])
            assert r["prediction"] == predict.baseline_answerer(name, questions)(row)
    scored = score_circular(read_circular(circular), questions)
    assert scored.n == len(mcqs) and scored.missing_rotations == 0
    assert check("circular", circular, circular.name, questions, "0" * 64)["answered"] == len(mcqs)
    again = baseline(built_dataset, circular, name)  # the plain mode on a circular file: refused, untouched
    assert again.returncode == 2 and "circular" in again.stderr


def test_a_blind_baseline_says_so_on_every_line(built_dataset, tmp_path):
    out = tmp_path / "blind.jsonl"
    assert baseline(built_dataset, out, "random", "--blind").returncode == 0
    assert all(r["blind"] is True and "rotation" not in r for r in records(out))


def test_most_frequent_command_answers_the_builds_commonest_letter(built_dataset, tmp_path):
    questions = medcmr.load_questions(built_dataset)
    counts = Counter(q["answer"] for q in questions if q["question_type"] == "mcq")
    modal = max(sorted(counts), key=counts.__getitem__)
    out = tmp_path / "preds.jsonl"
    done = baseline(built_dataset, out, "most-frequent", "--config", "causal")
    assert done.returncode == 0, done.stderr
    kinds = {q["id"]: q["question_type"] for q in questions}
    answers = {r["id"]: r["prediction"] for r in records(out)}
    assert {answers[i] for i in answers if kinds[i] == "mcq"} == {modal}
    assert {answers[i] for i in answers if kinds[i] == "open"} == {predict.OPEN_PLACEHOLDER}
    assert f"letter {modal}" in done.stderr


def test_an_unknown_baseline_is_a_clear_error(built_dataset, tmp_path):
    done = baseline(built_dataset, tmp_path / "preds.jsonl", "oracle")
    assert done.returncode == 2 and "baseline:oracle" in done.stderr and "baseline:random" in done.stderr
    assert not (tmp_path / "preds.jsonl").exists()


# ---------------------------------------------------------------- the whole path, offline


def test_the_whole_path_with_a_baseline_and_a_local_judge(built_dataset, tmp_path):
    """build → baseline predict → judge CLI with a local judge → a leaderboard submission: one MCQ score."""
    preds, results_path = tmp_path / "preds.jsonl", tmp_path / "results.json"
    assert baseline(built_dataset, preds).returncode == 0
    questions = {q["id"]: q for q in medcmr.load_questions(built_dataset)}
    answers = {r["id"]: r["prediction"] for r in records(preds)}
    mcqs = [q for q in questions.values() if q["question_type"] == "mcq"]
    right = sum(answers[q["id"]] == q["answer"] for q in mcqs)

    with OpenAIServer(fake_judge) as judge_server:
        scored = run(sys.executable, "-m", "judge", "score", "--predictions", str(preds), "--data",
                     str(built_dataset), "--out", str(results_path), "--judge-base-url", judge_server.base_url,
                     "--judge-model", "test-judge", "--cache", str(tmp_path / "cache.sqlite"))
        assert scored.returncode == 0, scored.stderr
        results = json.loads(results_path.read_text())
        assert (results["mcq"]["n"], results["mcq"]["correct"]) == (len(mcqs), right)
        n_open = len(questions) - len(mcqs)
        assert (results["open"]["judged"], results["open"]["failed"]) == (n_open, 0)   # placeholders judged

        board = Leaderboard(tmp_path / "home", built_dataset,
                            endpoint=Endpoint(base_url=judge_server.base_url, model="test-judge", api_key="local",
                                             max_retries=0))
        try:
            receipt = board.submit(preds, SubmissionMeta(model="baseline:random"), "newcomer")
            board.start()
            assert board.wait_idle(120)
            [status] = board.status(receipt["id"])
            submitted = board.scores(receipt["id"])
        finally:
            board.stop()
    assert status["status"] == "finished", status["error"]
    assert results["mcq"]["accuracy"] == pytest.approx(100 * right / len(mcqs), abs=1e-3)
    assert submitted.mcq.accuracy == results["mcq"]["accuracy"]
    assert submitted.open.score == results["open"]["score"]


# ---------------------------------------------------------------- commands from any folder


@pytest.mark.parametrize("command, expected", [
    (["medcmr", "--help"], "{sample,build,push,export,predict,fake-judge,fake-model}"),
    (["medcmr", "fake-model", "--help"], "(default: medcmr)"),
    (["medcmr", "build", "--help"], "6.9 GB"),
    (["medcmr", "predict", "--help"], "baseline:random"),
    (["medcmr-judge", "score", "--help"], "default: 16"),
    (["medcmr-space", "--help"], "(default: 7860"),
    ([sys.executable, "-m", "judge", "score", "--help"], "example"),
    ([sys.executable, "-m", "space", "--help"], "example"),
])
def test_installed_commands_work_from_any_folder(tmp_path, command, expected):
    """After the README's install (`pip install ... -e .`), outside the repository."""
    if not (BIN / "medcmr").exists():
        pytest.skip(f"{BIN / 'medcmr'} is missing: install the kit first with the README's set-up command "
                    "(`.venv/bin/pip install -r requirements-dev.txt -e .`)")
    executable = command[0] if command[0] == sys.executable else str(BIN / command[0])
    done = run(executable, *command[1:], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ") and expected in done.stdout


@pytest.mark.parametrize("command, variable", [
    (["medcmr.py", "predict", "--model", "baseline:random", "--out", "{tmp}/p.jsonl"], "MEDCMR_PREDICT_TIMEOUT"),
    (["-m", "judge", "score", "--predictions", "{tmp}/p.jsonl", "--data", "{tmp}", "--out", "{tmp}/r.json"],
     "MEDCMR_JUDGE_TIMEOUT"),
])
def test_a_malformed_setting_is_one_line_naming_the_variable(tmp_path, command, variable):
    environment = {**os.environ, variable: "soon"}
    done = subprocess.run([sys.executable, *(part.format(tmp=tmp_path) for part in command)], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {variable}='soon': expected a float ≥ 0.001"
