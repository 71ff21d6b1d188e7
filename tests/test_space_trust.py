"""Who is who, through the real Space: a client's own X-Forwarded-For never buys a fresh refusal allowance."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.requests import Request

from space.submit_tab import client_address
from tests.space_app import SpaceProcess, make_home, submit


@pytest.fixture(scope="module")
def strict_space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "strict"), {"MEDCMR_REFUSAL_LIMIT": "2/3600"})
    yield app
    app.kill()


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
