"""The kit's offline stand-ins: `medcmr fake-judge` and `medcmr fake-model`, as a newcomer runs them.

The fake vision model must answer whatever names a question of the build: the paper's prompt with
the image as `predict` sends it, without the image (`--blind`), with rotated options (`--circular`),
VLMEvalKit's own MCQ prompt with its re-encoded JPEG, and lmms-eval's re-encoded image; it answers
by a fixed rule, so `predict` → `score --blind-predictions --circular` shows each measure move.
"""
from __future__ import annotations

import base64
import io
import json
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest
from PIL import Image

import medcmr
from fakes.judge import fake_grades
from fakes.model import FakeVisionModel
from judge import __main__ as judge_cli
from judge.circular import rotated
from judge.extract import extract_choice
from judge.llm import build_messages as judge_messages
from judge.llm import read_verdict
from tests.polling import until
from tests.predict_responders import read_built
from tests.signals import interruptible

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def rows(built_dataset: Path) -> list[dict]:
    return read_built(built_dataset)


@pytest.fixture(scope="module")
def model(questions: list[dict]) -> FakeVisionModel:
    return FakeVisionModel(questions)


def ask(model: FakeVisionModel, text: str, image: bytes | None, mime: str = "image/png") -> str:
    """One chat request as OpenAI-compatible clients send it: an image part (if any), then the text."""
    content = [{"type": "text", "text": text}]
    if image is not None:
        url = f"data:{mime};base64,{base64.b64encode(image).decode()}"
        content.insert(0, {"type": "image_url", "image_url": {"url": url, "detail": "low"}})
    reply = model({"model": "any-name", "messages": [{"role": "user", "content": content}]})
    assert reply.status == 200, reply.body
    return reply.content


def chosen_option(row: dict, shown: list[str], reply: str) -> str:
    """The option text the reply picked among the options as shown."""
    letter = extract_choice(reply, shown)
    assert letter is not None, reply
    return shown[medcmr.LETTERS.index(letter)]


def key_of(row: dict) -> str:
    return row["options"][medcmr.LETTERS.index(row["answer"])]


def reencoded(image: bytes) -> bytes:
    """The image as a tool sends it after decoding it: lmms-eval and VLMEvalKit re-encode (here as JPEG)."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).convert("RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_the_papers_prompt_with_and_without_the_image(model: FakeVisionModel, rows: list[dict]) -> None:
    for row in rows:
        with_image = ask(model, medcmr.format_prompt(row), row["image"]["bytes"])
        blind = ask(model, medcmr.format_prompt(row), None)
        if row["question_type"] == "mcq":
            right = [chosen_option(row, row["options"], reply) == key_of(row) for reply in (with_image, blind)]
            assert right == [row["index"] % 2 == 0, row["index"] % 4 == 0], row["id"]
        else:
            assert with_image.endswith(f"Answer: {row['answer']}") == (row["index"] % 2 == 0)
            assert blind.endswith(f"Answer: {row['answer']}") == (row["index"] % 4 == 0)


def test_rotated_options_are_read_as_shown(model: FakeVisionModel, rows: list[dict]) -> None:
    letters_when_wrong = []
    for row in (row for row in rows if row["question_type"] == "mcq"):
        for rotation in range(len(medcmr.LETTERS)):
            shown = rotated(row, rotation)
            reply = ask(model, medcmr.format_prompt(shown), row["image"]["bytes"])
            picked = chosen_option(row, shown["options"], reply)
            assert (picked == key_of(row)) == (row["index"] % 2 == 0), (row["id"], rotation)
            if picked != key_of(row):
                letters_when_wrong.append(extract_choice(reply, shown["options"]))
    assert letters_when_wrong and letters_when_wrong.count("A") / len(letters_when_wrong) >= 0.75  # a position bias


def vlmevalkit_prompt(row: dict) -> str:
    """VLMEvalKit's own MCQ prompt (vlmeval/dataset/image_mcq.py ImageMCQDataset.build_prompt)."""
    options = "".join(f"{letter}. {option}\n" for letter, option in zip(medcmr.LETTERS, row["options"]))
    return (f"Question: {row['question']}\nOptions:\n{options}"
            "Please select the correct answer from the options above. \n")


def test_vlmevalkit_and_lmms_eval_requests_with_re_encoded_images(model: FakeVisionModel, rows: list[dict]) -> None:
    for row in rows:
        image = reencoded(row["image"]["bytes"])
        if row["question_type"] == "mcq":
            reply = ask(model, vlmevalkit_prompt(row), image, "image/jpeg")
            assert (chosen_option(row, row["options"], reply) == key_of(row)) == (row["index"] % 2 == 0)
        else:  # VLMEvalKit sends the open TSV's question (the paper's prompt) as it is; lmms-eval the paper's
            reply = ask(model, medcmr.format_prompt(row), image, "image/jpeg")
            assert reply.endswith(f"Answer: {row['answer']}") == (row["index"] % 2 == 0)


def test_a_prompt_naming_no_question_is_refused(model: FakeVisionModel, rows: list[dict]) -> None:
    mcq = next(row for row in rows if row["question_type"] == "mcq")
    other_options = {**mcq, "options": ["one", "two", "three", "four", "five"]}
    for text in ("Describe this image.", medcmr.format_prompt(other_options), ""):
        reply = model({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]})
        assert reply.status == 400 and "names no question" in reply.body["error"]["message"]
    assert model({"model": "m"}).status == 400


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=600)


class Served:
    """`medcmr fake-judge` / `medcmr fake-model` in a child process on a free port, stopped with Ctrl-C."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([str(BIN / "medcmr"), *args, "--port", "0"], cwd=ROOT, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible)

        def printed() -> str | None:
            assert self.process.poll() is None, self.process.stderr.read()
            ready, _, _ = select.select([self.process.stdout], [], [], 0)
            return self.process.stdout.readline() if ready else None

        self.base_url = until(printed, 60, "the server's first line, its URL").split(" at ", 1)[1].split()[0]

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        stdout, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stdout, stderr

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_the_fake_judge_command_grades_a_real_judge_request(questions: list[dict]) -> None:
    with Served("fake-judge") as served:
        assert served.base_url.startswith("http://127.0.0.1:") and served.base_url.endswith("/v1")
        client = openai.OpenAI(base_url=served.base_url, api_key="local", max_retries=0, timeout=30)
        question = next(q for q in questions if q["question_type"] == "open")
        answer = f"Reasoning: seen.\nAnswer: {question['answer']}"
        reply = client.chat.completions.create(model="test-judge", temperature=0,
                                               messages=judge_messages(question, answer, "0123abcd"))
        payload = {"question": question["question"], "reference_answer": question["answer"],
                   "reference_visual_description": question["visual_description"], "model_answer": answer}
        assert read_verdict(reply.choices[0].message.content, "0123abcd").criteria == \
            {k: 10.0 * v for k, v in fake_grades(payload).items()}
        with pytest.raises(openai.BadRequestError, match="not a Med-CMR judge request"):
            client.chat.completions.create(model="test-judge", messages=[{"role": "user", "content": "hi"}])
        code, stdout, stderr = served.stop()
    assert code == 0 and "stopped" in stdout and "Traceback" not in stderr


def test_beyond_accuracy_offline_predict_blind_and_circular_against_the_fake_model(built_dataset: Path,
                                                                                    questions: list[dict],
                                                                                    tmp_path: Path) -> None:
    """The README's offline path for "beyond accuracy": three `predict` runs, two `score` runs (in this process)."""
    runs = {mode: tmp_path / f"{mode}.jsonl" for mode in ("plain", "blind", "circular")}
    with Served("fake-model", "--data", str(built_dataset)) as served:
        for mode, out in runs.items():
            flags = [] if mode == "plain" else [f"--{mode}"]
            assert medcmr.main(["predict", "--model", "test-vlm", "--base-url", served.base_url, "--data",
                                str(built_dataset), "--out", str(out), *flags]) == 0
        code, _, stderr = served.stop()
    assert code == 0 and "Traceback" not in stderr
    results_path, circular_path = tmp_path / "results.json", tmp_path / "circular.json"
    assert judge_cli.main(["score", "--predictions", str(runs["plain"]), "--data", str(built_dataset), "--out",
                           str(results_path), "--mcq-only", "--blind-predictions", str(runs["blind"]), "--no-cache"]) == 0
    assert judge_cli.main(["score", "--circular", "--predictions", str(runs["circular"]), "--data", str(built_dataset),
                           "--out", str(circular_path), "--no-cache"]) == 0
    results, circular = json.loads(results_path.read_text()), json.loads(circular_path.read_text())["circular"]
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    share = {rule: 100 * sum(q["index"] % rule == 0 for q in mcqs) / len(mcqs) for rule in (2, 4)}
    assert results["mcq"]["accuracy"] == pytest.approx(share[2], abs=1e-3)
    assert results["blind"]["accuracy"] == pytest.approx(share[4], abs=1e-3)
    assert results["blind"]["image_gain"] == pytest.approx(share[2] - share[4], abs=1e-3)
    assert circular["accuracy"] == pytest.approx(share[2], abs=1e-3) and circular["first_rotation_accuracy"] == \
        pytest.approx(share[2], abs=1e-3)
    assert circular["chosen_positions"]["A"] > circular["key_positions"]["A"]  # guessing "A" shows


def test_the_fake_model_names_a_missing_build_in_one_line(tmp_path: Path) -> None:
    done = run(str(BIN / "medcmr"), "fake-model", "--data", str(tmp_path / "nowhere"), "--port", "0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(tmp_path / "nowhere") in done.stderr.strip() and len(done.stderr.strip().splitlines()) == 1


def test_a_fake_on_a_port_in_use_is_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run(str(BIN / "medcmr"), "fake-judge", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2 and "cannot listen on 127.0.0.1" in done.stderr and "Traceback" not in done.stderr


def test_the_fakes_list_a_model_as_clients_ask_first() -> None:
    with Served("fake-judge") as served:
        with urllib.request.urlopen(f"{served.base_url}/models", timeout=10) as response:
            assert json.loads(response.read())["data"]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{served.base_url}/nothing", timeout=10)
