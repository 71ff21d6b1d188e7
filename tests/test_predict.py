"""`predict` end to end: the real command in a subprocess, the real openai client, a real HTTP server.

The server's responder (tests/predict_responders.py) checks every request (paper's prompt, a
decodable data-URL image of the right size) and injects faults per question id.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import judge
import medcmr
import predict
from judge import ask
from tests.judge_responders import expected_score, fake_judge
from tests.openai_server import OpenAIServer, Reply
from tests.predict_responders import VisionModel, model_answer, model_not_found, read_built
from tests.signals import interruptible
from tests.polling import until

ROOT = Path(__file__).resolve().parent.parent
MODEL = "test-vlm"
SECRET = "sk-test-DO-NOT-LEAK-4f1d2c"
CLI = [sys.executable, str(ROOT / "medcmr.py"), "predict"]



@pytest.fixture(scope="module")
def rows(built_dataset: Path) -> list[dict]:
    return read_built(built_dataset)


def command(server: OpenAIServer, data: Path | None, out: Path, *flags: str) -> list[str]:
    """The predict command line; without `data`, the default folder `medcmr` of the working directory."""
    where = ["--data", str(data)] if data else []
    return [*CLI, "--model", MODEL, "--base-url", server.base_url, *where, "--out", str(out), *flags]


def run_predict(server: OpenAIServer, data: Path | None, out: Path, *flags: str,
                cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command(server, data, out, *flags), cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_question_answered_with_the_papers_prompt_and_its_image(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, out, "--concurrency", "4")
    assert done.returncode == 0, done.stderr
    assert model.problems == []
    assert model.asked_ids() == {row["id"]: 1 for row in rows}
    records = lines(out)
    assert sorted(r["id"] for r in records) == [row["id"] for row in rows]
    by_id = {row["id"]: row for row in rows}
    for record in records:
        assert set(record) == {"id", "prediction", "model", "prompt_version", "usage", "latency_s"}
        assert record["prediction"] == model_answer(by_id[record["id"]])
        assert record["model"] == MODEL and record["prompt_version"] == medcmr.PROMPT_VERSION
        assert record["usage"]["completion_tokens"] > 0 and record["latency_s"] >= 0
    for request in server.requests:
        assert request["temperature"] == 0 and request["max_tokens"] == 1024
    assert "tokens:" in done.stdout and "failed 0" in done.stdout


def test_the_default_data_folder_is_medcmr_in_the_working_directory(built_dataset, rows, tmp_path):
    """As in the repository root after `python medcmr.py build`: medcmr.py next to the medcmr/ folder."""
    shutil.copytree(built_dataset, tmp_path / "medcmr")
    shutil.copy(ROOT / "medcmr.py", tmp_path / "medcmr.py")
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        done = run_predict(server, None, Path("preds.jsonl"), "--config", "temporal_open", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = sorted(row["id"] for row in rows if row["dimension"] == "temporal" and row["question_type"] == "open")
    assert sorted(r["id"] for r in lines(tmp_path / "preds.jsonl")) == expected


def test_the_whole_path_build_predict_judge(built_dataset, rows, tmp_path):
    """The predictions file goes to `python -m judge score` as it is; both formats are scored."""
    out, results_path = tmp_path / "preds.jsonl", tmp_path / "results.json"
    with OpenAIServer(VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)) as server:
        assert run_predict(server, built_dataset, out).returncode == 0
    questions = medcmr.load_questions(built_dataset)
    coverage = judge.check_predictions(judge.read_predictions(out), questions)
    assert (coverage.expected, coverage.given, coverage.missing) == (len(rows), len(rows), 0)

    with OpenAIServer(fake_judge) as judge_server:
        scored = subprocess.run([sys.executable, "-m", "judge", "score", "--predictions", str(out),
                                 "--data", str(built_dataset), "--out", str(results_path),
                                 "--judge-base-url", judge_server.base_url, "--judge-model", "test-judge",
                                 "--cache", str(tmp_path / "cache.sqlite")],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert scored.returncode == 0, scored.stderr
    results = json.loads(results_path.read_text())
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    right = sum(1 for q in mcqs if q["index"] % 2 == 0)   # the responder answers even indices right
    assert (results["mcq"]["n"], results["mcq"]["correct"], results["mcq"]["unparsed"]) == (len(mcqs), right, 0)
    assert results["mcq"]["accuracy"] == pytest.approx(100 * right / len(mcqs))
    opens = [q for q in questions if q["question_type"] == "open"]
    expected = [expected_score({"question": q["question"], "reference_answer": q["answer"],
                                "reference_visual_description": q["visual_description"],
                                "model_answer": model_answer(q)}) for q in opens]
    assert (results["open"]["n"], results["open"]["judged"], results["open"]["failed"]) == (len(opens), len(opens), 0)
    assert results["open"]["score"] == pytest.approx(sum(expected) / len(expected), abs=0.01)


def test_images_over_the_bound_are_downscaled_with_aspect_kept(built_dataset, rows, tmp_path):
    sides = [max(Image.open(io.BytesIO(row["image"]["bytes"])).size) for row in rows]
    bound = sorted(sides)[len(sides) // 2] - 1     # at least half the images are over it
    model = VisionModel(rows, max_side=bound)
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, tmp_path / "preds.jsonl", "--image-max-side", str(bound))
    assert done.returncode == 0, done.stderr
    assert model.problems == []
    assert model.downscaled == sum(1 for side in sides if side > bound) > 0


def test_faults_are_retried_and_a_question_that_keeps_failing_is_recorded_not_answered(
        built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    limited, throttled, broken = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    model.script[limited] = [Reply(status=429, headers={"Retry-After": "1"})]
    model.script[throttled] = [Reply(status=500), Reply(status=503)]
    model.broken.add(broken)
    with OpenAIServer(model) as server:
        first = run_predict(server, built_dataset, out, "--retries", "2", "--api-key", SECRET)
    assert first.returncode == 1
    assert "1 question(s) failed" in first.stderr and "rerun" in first.stderr
    asked = model.asked_ids()
    assert (asked[limited], asked[throttled], asked[broken]) == (2, 3, 3)
    first_try, retry = model.asked_at[limited]
    assert retry - first_try >= 0.9   # waited as Retry-After said (own backoff starts at ≤ 0.5 s)
    answered = {r["id"]: r for r in lines(out)}
    assert broken not in answered and len(answered) == len(rows) - 1
    assert all(r["prediction"].strip() for r in answered.values())
    errors = lines(predict.errors_path(out))
    assert [e["id"] for e in errors] == [broken] and "500" in errors[0]["error"]
    for text in (first.stdout, first.stderr, out.read_text(), predict.errors_path(out).read_text()):
        assert SECRET not in text

    model.broken.clear()
    with OpenAIServer(model) as server:
        second = run_predict(server, built_dataset, out)
        assert server.calls == 1
    assert second.returncode == 0, second.stderr
    assert sorted(r["id"] for r in lines(out)) == [row["id"] for row in rows]
    assert not predict.errors_path(out).exists()


def test_an_empty_answer_and_a_timeout_are_failures_not_predictions(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    empty, slow = rows[0]["id"], rows[1]["id"]
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    model.empty.add(empty)
    model.slow.add(slow)
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, out, "--timeout", "1", "--retries", "0", "--concurrency", "4")
    assert done.returncode == 1 and "2 question(s) failed" in done.stderr
    assert {r["id"] for r in lines(out)} == {row["id"] for row in rows} - {empty, slow}
    errors = {e["id"]: e["error"] for e in lines(predict.errors_path(out))}
    assert "empty answer" in errors[empty] and "Timeout" in errors[slow]


def test_timeout_and_retries_come_from_the_environment_when_no_flag_is_given(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    model.slow.add(rows[0]["id"])
    env = {**os.environ, "MEDCMR_PREDICT_TIMEOUT": "1", "MEDCMR_PREDICT_MAX_RETRIES": "0"}
    with OpenAIServer(model) as server:
        done = subprocess.run(command(server, built_dataset, out), cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and "1 question(s) failed" in done.stderr
        assert "Timeout" in lines(predict.errors_path(out))[0]["error"]
        assert model.asked_ids()[rows[0]["id"]] == 1  # no retry: MEDCMR_PREDICT_MAX_RETRIES=0

        malformed = subprocess.run(command(server, built_dataset, out), cwd=ROOT, capture_output=True, text=True,
                                   env={**env, "MEDCMR_PREDICT_TIMEOUT": "soon"}, timeout=120)
    assert malformed.returncode == 2
    assert malformed.stderr.strip().splitlines() == ["error: MEDCMR_PREDICT_TIMEOUT='soon': expected a float ≥ 0.001"]


def test_a_killed_run_resumes_and_never_asks_an_answered_question_again(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model, latency=0.2) as server:
        process = subprocess.Popen(command(server, built_dataset, out, "--concurrency", "2"), cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: out.exists() and out.read_text().count("\n") >= 5, 120, "5 answers written",
              every=0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        asked_before_kill = server.calls
    answered_first = {r["id"] for r in lines(out)}
    assert 5 <= len(answered_first) < len(rows)
    assert asked_before_kill - len(answered_first) <= 2   # only the questions in flight were lost

    before = model.asked_ids()
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, out)
        assert server.calls == len(rows) - len(answered_first)
    assert done.returncode == 0, done.stderr
    asked_again = model.asked_ids() - before
    assert not set(asked_again) & answered_first
    assert sorted(r["id"] for r in lines(out)) == [row["id"] for row in rows]


def test_ctrl_c_keeps_every_answer_and_says_how_to_continue(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model, latency=0.2) as server:
        process = subprocess.Popen(command(server, built_dataset, out, "--concurrency", "2"), cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
        until(lambda: out.exists() and out.read_text().count("\n") >= 3, 120, "3 answers written",
              every=0.01)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "rerun the same command" in stderr
    assert "Traceback" not in stderr
    assert 3 <= len(lines(out)) < len(rows)          # every line whole, every answer kept
    assert not predict.errors_path(out).exists()     # an interruption is not a failure


def test_a_torn_last_line_is_dropped_and_that_question_asked_again(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        assert run_predict(server, built_dataset, out, "--limit", "6").returncode == 0
    complete = out.read_text().splitlines(keepends=True)
    torn_id = json.loads(complete[-1])["id"]
    out.write_text("".join(complete[:-1]) + complete[-1][:25])
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, out, "--limit", "6")
        assert server.calls == 1
    assert done.returncode == 0 and "torn" in done.stderr
    assert sorted(r["id"] for r in lines(out)) == sorted(json.loads(line)["id"] for line in complete)
    assert model.asked_ids()[torn_id] == 2


def test_limit_and_config_choose_the_questions(built_dataset, rows, tmp_path):
    slug = "causal"
    out = tmp_path / "preds.jsonl"
    in_config = [row["id"] for row in rows if row["dimension"] == slug]
    mcq_first = predict.config_ids(predict.config_files(built_dataset, f"{slug}_mcq"))
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        assert run_predict(server, built_dataset, out, "--config", f"{slug}_mcq", "--limit", "2").returncode == 0
        assert sorted(r["id"] for r in lines(out)) == sorted(mcq_first[:2])
        assert run_predict(server, built_dataset, out, "--config", slug).returncode == 0
        assert server.calls == len(in_config)
    assert sorted(r["id"] for r in lines(out)) == sorted(in_config)


def test_an_endpoint_that_refuses_the_key_stops_the_run_early(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    refuse = lambda request: Reply(status=401, body={"error": {"message": "bad key", "type": "auth"}})  # noqa: E731
    with OpenAIServer(refuse) as server:
        done = run_predict(server, built_dataset, out, "--concurrency", "2", "--api-key", SECRET)
        assert server.calls <= 2
    assert done.returncode == 1 and "stopped early" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert not out.exists()  # no answer, no file: never an empty predictions file


def test_an_unknown_model_answered_with_400_everywhere_stops_the_run_early(built_dataset, rows, tmp_path):
    """Some servers say 400, not 404, to an unknown model: the first answers decide, not every retry."""
    out = tmp_path / "preds.jsonl"
    with OpenAIServer(model_not_found) as server:
        done = run_predict(server, built_dataset, out, "--concurrency", "2", "--api-key", SECRET)
        calls = server.calls
    assert done.returncode == 1
    assert ask.EARLY_400_SAMPLE <= calls <= ask.EARLY_400_SAMPLE + 1 < len(rows)
    [stopped] = [line for line in done.stderr.splitlines() if "stopped early" in line]
    assert "HTTP 400" in stopped and f"model {MODEL!r} not found" in stopped
    assert SECRET not in done.stderr + done.stdout
    assert not out.exists()


def test_fewer_questions_than_the_sample_all_refused_alike_also_stop_with_the_reason(built_dataset, tmp_path):
    with OpenAIServer(model_not_found) as server:
        done = run_predict(server, built_dataset, tmp_path / "preds.jsonl", "--limit", "3")
        assert server.calls == 3
    assert done.returncode == 1 and "HTTP 400 on each of the first 3 requests" in done.stderr


@pytest.mark.parametrize("same_message", [True, False])
def test_the_first_answers_decide_whether_400s_stop_the_run(built_dataset, rows, tmp_path, same_message):
    """The same 400 on each of the first questions stops; different 400s (each question's own fault) do not."""
    first = predict.config_ids(predict.config_files(built_dataset, "all"))[:ask.EARLY_400_SAMPLE]
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    for number, row_id in enumerate(first):
        message = "image too large" if same_message else f"image {number} too large"
        model.script[row_id] = [Reply(status=400, body={"error": {"message": message, "type": "invalid_request"}})]
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, tmp_path / "preds.jsonl", "--concurrency", "1")
        calls = server.calls
    assert done.returncode == 1
    if same_message:
        assert calls == ask.EARLY_400_SAMPLE and "stopped early" in done.stderr and "image too large" in done.stderr
    else:
        assert calls == len(rows) and "stopped early" not in done.stderr
        assert f"{len(first)} question(s) failed" in done.stderr


def test_a_400_on_one_question_among_answers_fails_only_that_question(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    refused = predict.config_ids(predict.config_files(built_dataset, "all"))[0]
    model = VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)
    model.script[refused] = [Reply(status=400, body={"error": {"message": "bad image", "type": "invalid_request"}})]
    with OpenAIServer(model) as server:
        done = run_predict(server, built_dataset, out, "--concurrency", "4")
    assert done.returncode == 1 and "1 question(s) failed" in done.stderr and "stopped early" not in done.stderr
    assert {r["id"] for r in lines(out)} == {row["id"] for row in rows} - {refused}
    assert "bad image" in lines(predict.errors_path(out))[0]["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-host.invalid"])
def test_an_address_where_nothing_answers_is_one_line_and_writes_nothing(built_dataset, tmp_path, host):
    """A mistyped --base-url is said at once, naming the address (never its credentials): no progress bar,
    no predictions file, no errors file, exit 2."""
    with socket.socket() as probe:   # a port that was just free, so nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "preds.jsonl"
    url = f"http://user:{SECRET}@{host}:{port}/v1"
    done = subprocess.run([*CLI, "--model", MODEL, "--base-url", url, "--data", str(built_dataset),
                           "--out", str(out), "--concurrency", "2", "--retries", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: nothing answers at ") and f"http://{host}:{port}/v1" in line
    assert SECRET not in done.stderr + done.stdout and "predict:" not in done.stderr  # no progress bar
    assert not out.exists() and not predict.errors_path(out).exists()


def test_a_file_from_another_model_is_refused_and_left_untouched(built_dataset, rows, tmp_path):
    out = tmp_path / "preds.jsonl"
    other = json.dumps({"id": rows[0]["id"], "prediction": "A", "model": "other-model",
                        "prompt_version": medcmr.PROMPT_VERSION}) + "\n"
    out.write_text(other)
    with OpenAIServer(VisionModel(rows, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)) as server:
        mixed = run_predict(server, built_dataset, out)
        assert server.calls == 0
    assert mixed.returncode == 2 and "other-model" in mixed.stderr and "line 1" in mixed.stderr
    assert out.read_text() == other


@pytest.mark.parametrize("flags, expected", [
    (["--config", "no_such_config"], "no_such_config"),
    (["--data", "nowhere"], "nowhere"),
    (["--base-url", ""], "no model endpoint"),
    (["--base-url", "http://127.0.0.1:99999/v1"], "--base-url"),     # port out of range
    (["--base-url", "http://[::1:8000/v1"], "--base-url"),           # unclosed IPv6 bracket
    (["--base-url", "localhost:8000/v1"], "--base-url"),             # no http:// or https://
    (["--concurrency", "0"], "--concurrency"),
])
def test_bad_arguments_get_a_clear_message(built_dataset, tmp_path, capsys, flags, expected):
    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    args = parser.parse_args(["--model", MODEL, "--base-url", "http://127.0.0.1:9/v1", "--data", str(built_dataset),
                              "--out", str(tmp_path / "preds.jsonl"), *flags])
    assert predict.run(args) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "preds.jsonl").exists()


@pytest.mark.parametrize("where", ["is a directory", "is under a file"])
def test_an_unusable_out_path_is_a_one_line_error(built_dataset, tmp_path, capsys, where):
    taken = tmp_path / "taken"
    if where == "is a directory":
        taken.mkdir()
        out = taken
    else:
        taken.write_text("mine")
        out = taken / "preds.jsonl"
    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    args = parser.parse_args(["--model", MODEL, "--base-url", "http://127.0.0.1:9/v1", "--data", str(built_dataset),
                              "--out", str(out)])
    assert predict.run(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(taken) in error
    assert taken.is_dir() or taken.read_text() == "mine"


@pytest.mark.parametrize("mode, size, mime", [
    ("RGB", (900, 300), "image/jpeg"),    # photograph over the bound: JPEG, aspect kept
    ("L", (300, 900), "image/png"),       # grayscale radiograph: lossless PNG
    ("RGBA", (900, 900), "image/png"),
])
def test_large_images_are_resized_and_reencoded(mode, size, mime):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    url = ask.image_data_url(buffer.getvalue(), 450)
    assert url.startswith(f"data:{mime};base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
        assert sent.size == (size[0] // 2, size[1] // 2)


def test_small_png_and_jpeg_are_sent_as_stored_other_formats_reencoded():
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), "white").save(buffer, fmt)
        assert ask.image_data_url(buffer.getvalue(), 64) == \
            f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"
    buffer = io.BytesIO()
    Image.new("P", (40, 30)).save(buffer, "GIF")
    url = ask.image_data_url(buffer.getvalue(), 64)
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as sent:
        assert sent.format in ("PNG", "JPEG") and sent.size == (40, 30)


def test_a_broken_line_inside_the_predictions_file_is_named_and_nothing_is_lost(tmp_path):
    out = tmp_path / "preds.jsonl"
    good = json.dumps({"id": "mcq-0", "prediction": "A", "model": MODEL, "prompt_version": medcmr.PROMPT_VERSION})
    out.write_text(f"{good}\n{{not json\n{good.replace('mcq-0', 'mcq-1')}\n")
    before = out.read_bytes()
    with pytest.raises(predict.PredictError, match=r"preds.jsonl: line 2"):
        predict.read_answered(out, MODEL)
    assert out.read_bytes() == before
