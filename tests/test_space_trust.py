"""Through the real Space: pasted references are held, and a client's own X-Forwarded-For never buys a fresh
refusal allowance (the spoofing test runs last: it uses up this Space's allowance for 127.0.0.1)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.requests import Request

from space.submit_tab import client_address
from tests.answers import write_predictions
from tests.polling import until
from tests.space_app import SpaceProcess, make_home, submit, wait_for_status


@pytest.fixture(scope="module")
def strict_space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "strict"), {"MEDCMR_REFUSAL_LIMIT": "2/3600"})
    yield app
    app.kill()


def test_pasted_reference_answers_are_held_through_the_space_and_an_honest_file_is_not(
        strict_space: SpaceProcess, questions: list[dict], tmp_path: Path) -> None:
    client = Client(strict_space.url, verbose=False)
    write_predictions(tmp_path / "copied.jsonl", questions, tag="")  # open answers: the references themselves
    write_predictions(tmp_path / "honest.jsonl", questions, open_answer="a lesion, in my own words")
    copied = submit(client, tmp_path / "copied.jsonl", "Reference-Paster")["id"]
    honest = submit(client, tmp_path / "honest.jsonl", "Own-Words")["id"]
    for submission in (copied, honest):
        wait_for_status(client, submission, ("finished", "awaiting judge"))

    def review(submission: str) -> str:
        return wait_for_status(client, submission, ("finished", "awaiting judge"))["review"]

    until(lambda: "held as a copy" in review(copied), 60, "the copy checks holding the pasted references")
    assert "reproduce their reference answer" in review(copied)
    assert "held" not in review(honest)


def test_a_spoofed_forwarded_for_does_not_reset_the_refusal_limit(strict_space: SpaceProcess, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "nope", "prediction": "A"}\n')
    for n in range(2):
        spoofed = Client(strict_space.url, verbose=False, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        with pytest.raises(AppError, match="not a question"):
            submit(spoofed, bad, "Spoofing-Model")
    fresh = Client(strict_space.url, verbose=False, headers={"X-Forwarded-For": "198.51.100.77, 203.0.113.9"})
    with pytest.raises(AppError, match="Too many refused submissions"):
        submit(fresh, bad, "Spoofing-Model")


def _request(forwarded: str | None, peer: str = "10.1.2.3") -> gr.Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return gr.Request(request=Request({"type": "http", "method": "POST", "path": "/", "headers": headers,
                                       "client": (peer, 5000), "query_string": b""}))


def test_only_the_entries_the_trusted_proxies_appended_count() -> None:
    # The Space's own proxy appends the address it saw: whatever the client wrote comes before it.
    assert client_address(_request("6.6.6.6, 198.51.100.7"), 1) == "198.51.100.7"
    assert client_address(_request("6.6.6.6, 7.7.7.7, 198.51.100.7, 10.0.0.9"), 2) == "198.51.100.7"
    assert client_address(_request("6.6.6.6"), 0) == "10.1.2.3"  # no proxy trusted: the socket's peer
    assert client_address(_request(None), 1) == "10.1.2.3"
    assert client_address(_request("198.51.100.7"), 2) == "10.1.2.3"  # fewer entries than proxies: not trusted
