"""Bulk judging end to end: `medcmr-judge score --batch` against a fake Batch API over real HTTP and
on a `vllm run-batch` output file, each scored exactly as online judging of the same replies; the
estimate printed before any judge call."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from judge.__main__ import main
from judge.estimate import REPLY_TOKENS
from tests.batch_server import BatchServer, vllm_run_batch
from tests.judge_responders import Counting, FlakyJudge, fake_judge, schema_rejecting_judge
from tests.openai_server import OpenAIServer, Reply
from tests.test_judge_cli import ROOT, make_predictions, write_records

SECRET = "sk-proj-FAKE-batch-key-do-not-leak-41d2"
MODEL = "judge-model"


@pytest.fixture
def predictions(tmp_path: Path, questions: list[dict]) -> Path:
    return write_records(tmp_path / "preds.jsonl", make_predictions(questions))


def n_open(questions: list[dict]) -> int:
    return sum(q["question_type"] == "open" for q in questions)


def score(capsys, tmp_path: Path, predictions: Path, data: Path, name: str, *extra: str) -> tuple[int, dict | None, str]:
    """One run of the command (in this process); returns its exit status, results.json and stderr."""
    out = tmp_path / f"{name}.json"
    status = main(["score", "--predictions", str(predictions), "--data", str(data), "--out", str(out),
                   "--details", str(tmp_path / f"{name}.items.jsonl"), "--judge-model", MODEL,
                   "--cache", str(tmp_path / f"{name}.sqlite"), *extra])
    captured = capsys.readouterr()
    return status, (json.loads(out.read_text()) if out.exists() else None), captured.out + captured.err


def online(capsys, tmp_path: Path, predictions: Path, data: Path, responder) -> tuple[dict, list[dict]]:
    """Results and details of judging the same predictions online with `responder`."""
    with OpenAIServer(responder) as server:
        status, results, _ = score(capsys, tmp_path, predictions, data, "online", "--judge-base-url", server.base_url)
    assert status == 0
    return results, read_items(tmp_path / "online.items.jsonl")


def read_items(path: Path) -> list[dict]:
    """The details' lines without `cached` (a batch verdict is read into the cache, then used) and
    with the nonce the judge echoed blanked (every request has its own)."""
    items = [{k: v for k, v in json.loads(line).items() if k != "cached"} for line in path.read_text().splitlines()]
    for item in items:
        if item["raw"]:
            item["raw"] = re.sub(r'"nonce": "[0-9a-f]{16}"', '"nonce": ""', item["raw"])
    return items


def assert_scored_alike(batch: dict, batch_items: list[dict], reference: dict, reference_items: list[dict]) -> None:
    assert batch["mcq"] == reference["mcq"] and batch["open"] == reference["open"]
    assert batch["open"]["judged"] == reference["open"]["n"] and batch["open"]["score"] is not None
    assert batch_items == reference_items
    assert batch["judge"]["json_mode"] == reference["judge"]["json_mode"]


def never_leaks(folder: Path, *texts: str) -> None:
    for path in folder.iterdir():
        assert SECRET not in path.read_text(encoding="utf-8"), path
    for text in texts:
        assert SECRET not in text


def test_a_batch_through_the_batch_api_scores_as_online_and_a_rerun_never_sends_it_twice(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, fake_judge)
    folder = tmp_path / "batch.batch"
    with BatchServer(fake_judge, api_key=SECRET) as server:
        server.hold = True
        args = ("--judge-base-url", server.base_url, "--judge-api-key", SECRET, "--batch", "api")
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 1 and results["open"]["awaiting"] == n_open(questions) and results["open"]["score"] is None
        assert list(server.batches) == ["batch_1"] and "batch batch_1 sent to 127.0.0.1" in said
        lines = server.input_lines("batch_1")
        assert len(lines) == n_open(questions)
        for line in lines:
            question_id, key, number = line["custom_id"].split(":")
            assert question_id.startswith("open-") and len(key) == 64 and number == "0"
            assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
            body = line["body"]
            assert (body["model"], body["temperature"], body["response_format"]["type"]) == (MODEL, 0.0, "json_schema")
            assert set(body) == {"model", "messages", "temperature", "response_format"}
        status, _, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 1 and "batch batch_1 at 127.0.0.1" in said and "in_progress" in said
        server.hold = False
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0, said
        assert list(server.batches) == ["batch_1"] and len(server.answered) == n_open(questions)
        assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)
        assert results["judge"]["engine"] == "batch-api" and results["judge"]["host"].startswith("127.0.0.1:")
        assert results["judge"]["calls"] == reference["judge"]["calls"]
        assert results["judge"]["tokens"] == reference["judge"]["tokens"]
        status, again, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0 and again["judge"]["cached"] == n_open(questions) and again["open"] == results["open"]
        assert list(server.batches) == ["batch_1"] and len(server.answered) == n_open(questions)
    never_leaks(folder, said, (tmp_path / "batch.json").read_text())


def test_a_batch_that_expires_half_done_is_read_and_the_rest_sent_again(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, fake_judge)
    half = n_open(questions) // 2
    with BatchServer(fake_judge) as server:
        server.expire_after = half
        args = ("--judge-base-url", server.base_url, "--batch", "api")
        assert score(capsys, tmp_path, predictions, built_dataset, "batch", *args)[0] == 1
        server.expire_after = None
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 1 and results["open"]["judged"] == half
        assert results["open"]["awaiting"] == n_open(questions) - half
        assert f"batch batch_1 expired with {half} of {n_open(questions)} requests done" in said
        assert list(server.batches) == ["batch_1", "batch_2"]
        first = {line["custom_id"] for line in server.input_lines("batch_1")}
        second = {line["custom_id"] for line in server.input_lines("batch_2")}
        assert second < first and len(second) == n_open(questions) - half
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0, said
        assert list(server.batches) == ["batch_1", "batch_2"] and len(server.answered) == n_open(questions)
    assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)


def test_requests_the_batch_answered_with_an_error_are_sent_again_and_the_reason_shown(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, fake_judge)
    failing = 3
    with BatchServer(Counting(fake_judge, fail=failing, status=500)) as server:
        args = ("--judge-base-url", server.base_url, "--batch", "api")
        assert score(capsys, tmp_path, predictions, built_dataset, "batch", *args)[0] == 1
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 1 and results["open"]["judged"] == n_open(questions) - failing
        assert f"{failing} requests without a reply (the first: HTTP 500 from the judge endpoint: status 500)" in said
        assert len(server.input_lines("batch_2")) == failing
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0, said
    assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)


def test_replies_without_a_verdict_are_asked_again_in_the_next_batch_as_online(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, FlakyJudge())
    assert reference["judge"]["reasks"] == n_open(questions)
    with BatchServer(FlakyJudge()) as server:
        args = ("--judge-base-url", server.base_url, "--batch", "api")
        for _ in range(2):
            assert score(capsys, tmp_path, predictions, built_dataset, "batch", *args)[0] == 1
        assert list(server.batches) == ["batch_1", "batch_2"]
        first, second = ({line["custom_id"]: line["body"] for line in server.input_lines(b)} for b in server.batches)
        assert sorted(cid.rsplit(":", 1)[0] for cid in first) == sorted(cid.rsplit(":", 1)[0] for cid in second)
        assert {cid.rsplit(":", 1)[1] for cid in second} == {"1"}
        nonces = [set(re.findall(r'exactly "([0-9a-f]{16})"', body["messages"][0]["content"]))
                  for lines in (first, second) for body in lines.values()]
        assert len(set().union(*nonces)) == 2 * n_open(questions)  # a fresh nonce for every request
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0, said
    assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)
    assert (results["judge"]["reasks"], results["judge"]["calls"]) == (reference["judge"]["reasks"],
                                                                       reference["judge"]["calls"])
    assert results["judge"]["tokens"] == reference["judge"]["tokens"]


def test_a_lost_reply_to_starting_a_batch_never_starts_a_second_one(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    with BatchServer(fake_judge) as server:
        server.hold, server.lose_create_reply = True, True
        args = ("--judge-base-url", server.base_url, "--batch", "api")
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 1 and results is None
        assert "error: the Batch API at 127.0.0.1" in said and "HTTP 500" in said and "Traceback" not in said
        assert list(server.batches) == ["batch_1"]
        server.hold = False
        status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args)
        assert status == 0, said
        assert list(server.batches) == ["batch_1"] and len(server.answered) == n_open(questions)


def test_a_batch_folder_keeps_to_its_judge(
        capsys, tmp_path: Path, built_dataset: Path, predictions: Path) -> None:
    with BatchServer(fake_judge) as server:
        server.hold = True
        args = ("--judge-base-url", server.base_url, "--batch", "api")
        assert score(capsys, tmp_path, predictions, built_dataset, "batch", *args)[0] == 1
        status, _, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args, "--judge-model", "other")
    assert status == 1 and "batch batch_1 asks judge-model at 127.0.0.1" in said and "not other at" in said
    assert list(server.batches) == ["batch_1"]


def test_a_wrong_key_is_a_clear_error_that_never_shows_the_key(
        capsys, tmp_path: Path, built_dataset: Path, predictions: Path) -> None:
    with BatchServer(fake_judge, api_key="sk-the-right-one") as server:
        status, _, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--judge-base-url",
                                server.base_url, "--judge-api-key", SECRET, "--batch", "api")
    assert status == 1 and "HTTP 401" in said and "uploading" in said and server.batches == {}
    never_leaks(tmp_path / "batch.batch", said)


def test_a_vllm_run_batch_output_scores_as_online_in_any_order(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, fake_judge)
    folder = tmp_path / "batch.batch"
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")
    assert status == 1 and results["open"]["awaiting"] == n_open(questions) and results["judge"]["host"] is None
    command = f"vllm run-batch -i {folder / 'requests.jsonl'} -o {folder / 'results.jsonl'} --model {MODEL}"
    assert command in said
    written = (folder / "requests.jsonl").read_text()
    assert len(written.splitlines()) == n_open(questions)
    assert score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")[0] == 1
    assert (folder / "requests.jsonl").read_text() == written  # rewritten the same: an output stays readable
    vllm_run_batch(folder / "requests.jsonl", folder / "results.jsonl", fake_judge)
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")
    assert status == 0, said
    assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)
    assert results["judge"]["engine"] == "batch-file"
    assert results["judge"]["tokens"] == reference["judge"]["tokens"]


def test_a_vllm_output_elsewhere_read_with_batch_results_and_a_rejected_format_falls_back_as_online(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    reference, reference_items = online(capsys, tmp_path, predictions, built_dataset, schema_rejecting_judge)
    folder, output = tmp_path / "run", tmp_path / "elsewhere.jsonl"
    args = ("--batch", "file", "--batch-dir", str(folder))
    assert score(capsys, tmp_path, predictions, built_dataset, "batch", *args)[0] == 1
    vllm_run_batch(folder / "requests.jsonl", output, schema_rejecting_judge, seed=1)
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args,
                                  "--batch-results", str(output))
    assert status == 1 and results["open"]["awaiting"] == n_open(questions)
    second = [json.loads(line) for line in (folder / "requests.jsonl").read_text().splitlines()]
    assert {line["body"]["response_format"]["type"] for line in second} == {"json_object"}
    vllm_run_batch(folder / "requests.jsonl", output, schema_rejecting_judge, seed=2)
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", *args,
                                  "--batch-results", str(output))
    assert status == 0, said
    assert_scored_alike(results, read_items(tmp_path / "batch.items.jsonl"), reference, reference_items)


def test_a_vllm_run_that_failed_says_why_and_its_requests_stay_to_run_again(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    folder = tmp_path / "batch.batch"
    assert score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")[0] == 1
    written = (folder / "requests.jsonl").read_text()
    unknown = Reply(status=404, body={"error": {"message": "The model `judge-model` does not exist.",
                                                "type": "NotFoundError"}})
    vllm_run_batch(folder / "requests.jsonl", folder / "results.jsonl", lambda request: unknown)
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")
    assert status == 1 and results["open"]["awaiting"] == n_open(questions)
    assert f"{n_open(questions)} requests without a reply" in said
    assert "HTTP 404 from the judge endpoint: The model `judge-model` does not exist." in said
    assert (folder / "requests.jsonl").read_text() == written


def test_a_results_file_with_a_broken_line_names_the_file_and_line_and_a_cut_off_end_is_skipped(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    folder = tmp_path / "batch.batch"
    assert score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")[0] == 1
    vllm_run_batch(folder / "requests.jsonl", folder / "results.jsonl", fake_judge)
    lines = (folder / "results.jsonl").read_text().splitlines()
    (folder / "results.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40], encoding="utf-8")
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")
    assert status == 1 and results["open"]["judged"] == n_open(questions) - 1 and results["open"]["awaiting"] == 1
    (folder / "results.jsonl").write_text(lines[0] + "\n{not json\n" + lines[-1] + "\n", encoding="utf-8")
    status, _, said = score(capsys, tmp_path, predictions, built_dataset, "batch", "--batch", "file")
    assert status == 1 and f"{folder / 'results.jsonl'} line 2: not JSON" in said and "Traceback" not in said


@pytest.mark.parametrize("args, needle", [
    (("--batch", "api", "--batch-results", "x.jsonl"), "use it with --batch file"),
    (("--batch", "file", "--no-cache"), "drop --no-cache"),
    (("--price-input", "2"), "give both --price-input and --price-output"),
    (("--price-input", "2", "--price-output", "8", "--batch-discount", "0.5"), "applies to --batch only"),
    (("--batch", "api", "--batch-discount", "1.5"), "--batch-discount must be a fraction"),
])
def test_flags_that_do_not_fit_are_refused_before_anything_runs(
        capsys, tmp_path: Path, built_dataset: Path, predictions: Path, args: tuple, needle: str) -> None:
    status, results, said = score(capsys, tmp_path, predictions, built_dataset, "bad", *args)
    assert status == 2 and results is None and needle in said and not (tmp_path / "bad.batch").exists()


def estimate_line(text: str) -> re.Match:
    return re.search(r"judge estimate: (\d+) requests (online|as a batch), about ([\d,]+) input and ([\d,]+) output "
                     r"tokens .*; about \$([\d,.]+) at", text)


def test_the_estimate_comes_before_any_judge_call_with_tokens_and_cost(
        capsys, tmp_path: Path, built_dataset: Path, questions: list[dict], predictions: Path) -> None:
    # Online, to a judge that cannot be reached: the estimate is printed all the same, first.
    status, _, said = score(capsys, tmp_path, predictions, built_dataset, "down", "--judge-base-url",
                            "http://127.0.0.1:9/v1", "--judge-max-retries", "0", "--price-input", "1000",
                            "--price-output", "4000")
    found = estimate_line(said)
    assert status == 1 and found and said.index("judge estimate") < said.index("open answers are not judged")
    with OpenAIServer(fake_judge) as server:  # what the calls really send, to check the figures against
        score(capsys, tmp_path, predictions, built_dataset, "sent", "--judge-base-url", server.base_url)
    characters = sum(len(m["content"]) for request in server.requests for m in request["messages"])
    requests, input_tokens, output_tokens = n_open(questions), math.ceil(characters / 4), n_open(questions) * REPLY_TOKENS
    assert (int(found[1]), found[2]) == (requests, "online")
    assert (int(found[3].replace(",", "")), int(found[4].replace(",", ""))) == (input_tokens, output_tokens)
    assert float(found[5]) == round((input_tokens * 1000 + output_tokens * 4000) / 1e6, 2)
    # As a batch, at its discount; and nothing cached is requested (nor estimated) again.
    status, _, said = score(capsys, tmp_path, predictions, built_dataset, "sent", "--batch", "file",
                            "--price-input", "1000", "--price-output", "4000", "--batch-discount", "0.5")
    assert status == 0 and "judge estimate" not in said
    status, _, said = score(capsys, tmp_path, predictions, built_dataset, "file", "--batch", "file",
                            "--price-input", "1000", "--price-output", "4000", "--batch-discount", "0.5")
    found = estimate_line(said)
    assert status == 1 and found and found[2] == "as a batch" and int(found[1]) == requests
    assert int(found[3].replace(",", "")) == input_tokens
    assert float(found[5]) == round((input_tokens * 1000 + output_tokens * 4000) / 1e6 * 0.5, 2)
    assert "less the batch discount of 50%" in said


def test_the_command_line_help_shows_both_engines(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "judge", "score", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    for needle in ("--batch {api,file}", "--batch-results FILE", "--price-input USD", "vllm run-batch -i",
                   "--batch api --price-input"):
        assert needle in done.stdout
