"""Impersonation through the API: look-alike and hidden-character names are refused by rule."""
from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.answers import write_predictions
from tests.space_app import status, submit
from tests.test_space import client, space  # noqa: F401 - fixtures

REFUSED = [
    ("medgemma 4b", "reported in the paper"),
    ("MedGemma\u20114B", "reported in the paper"),      # non-breaking hyphen
    ("\u041cedGemma-4B", "reported in the paper"),      # Cyrillic capital EM
    ("GPT-5 ", "reported in the paper"),                # trailing space
    ("\u0262\u1d18\u1d1b-5", "reported in the paper"),      # small capitals: ɢᴘᴛ-5
    ("GPT-\u0665", "reported in the paper"),            # Arabic-Indic digit five
    ("GPT-\u096b", "reported in the paper"),            # Devanagari digit five
    ("\u1d0d\u1d07\u1d05\u0262\u1d07\u1d0d\u1d0d\u1d00-4\u0299", "reported in the paper"),  # ᴍᴇᴅɢᴇᴍᴍᴀ-4ʙ
    ("Good\u202eModel", "invisible formatting character (U+202E)"),
    ("Zero\u200bWidth", "invisible formatting character (U+200B)"),
    ("Line\u2028Separator", "line separator (U+2028)"),
]


@pytest.mark.parametrize("name, rule", REFUSED)
def test_impersonating_or_hidden_names_are_refused_and_nothing_is_queued(
        client: Client, questions: list[dict], tmp_path: Path, name: str, rule: str) -> None:
    path = tmp_path / "preds.jsonl"
    write_predictions(path, questions, right=1, open_answer="effusion")
    before = len(status(client))
    with pytest.raises(AppError) as refused:
        submit(client, path, name)
    assert rule in str(refused.value)
    assert len(status(client)) == before


def test_a_second_submitter_cannot_take_a_submitted_name_but_a_new_name_passes(
        client: Client, questions: list[dict], tmp_path: Path) -> None:
    path = tmp_path / "preds.jsonl"
    write_predictions(path, questions, right=2, open_answer="effusion")
    receipt = submit(client, path, "Distinct-Model 7B")
    assert receipt["status"] == "queued"
    with pytest.raises(AppError, match="control character"):
        submit(client, path, "Distinct\tModel")
