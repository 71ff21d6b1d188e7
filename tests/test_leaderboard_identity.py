"""Names that impersonate a row or hide characters are refused, with the rule in the message."""
from __future__ import annotations

import pytest

from leaderboard.identity import IdentityError, check_characters, check_model_name, identity_key

PAPER = ["MedGemma-4B", "Qwen2.5-VL-7B", "GPT-5"]


@pytest.mark.parametrize("name", [
    "MedGemma-4B", "medgemma-4b", "MEDGEMMA 4B", "MedGemma-4B ", "Med Gemma 4B", "MedGemma_4B",
    "MedGemma\u20114B",          # non-breaking hyphen
    "MedGemma\uff0d4B",          # full-width hyphen-minus
    "\uff2dedGemma-4B",          # full-width capital M (NFKC)
    "\u041cedGemma-4B",          # Cyrillic capital EM
    "M\u0435dG\u0435mma-4B",     # Cyrillic small IE twice
    "Qwen2.5 VL 7B", "gpt5",
])
def test_look_alikes_of_a_paper_model_are_refused(name: str) -> None:
    with pytest.raises(IdentityError, match="reported in the paper"):
        check_model_name(name, PAPER, [])


def test_a_reference_rows_name_is_refused() -> None:
    with pytest.raises(IdentityError, match="reference row"):
        check_model_name("random (Reference)", PAPER, [], ["Random (reference)"])


def test_another_submitters_name_is_refused_and_distinct_names_pass() -> None:
    with pytest.raises(IdentityError, match="another submitter"):
        check_model_name("my-model v2", PAPER, ["My Model V2"])
    for name in ("MedGemma-27B", "Qwen2.5-VL-72B", "GPT-5-mini", "My Model V3"):
        check_model_name(name, PAPER, ["My Model V2"])


@pytest.mark.parametrize("character, rule", [
    ("\u202e", "invisible formatting"), ("\u200b", "invisible formatting"), ("\u200d", "invisible formatting"),
    ("\u2028", "line separator"), ("\u2029", "paragraph separator"), ("\x07", "control"), ("\n", "control"),
    ("\u2066", "invisible formatting"), ("\ufeff", "invisible formatting"),
])
def test_hidden_characters_are_refused_by_their_category(character: str, rule: str) -> None:
    with pytest.raises(IdentityError, match=rf"{rule}.*U\+{ord(character):04X}"):
        check_model_name(f"Model{character}X", PAPER, [])
    with pytest.raises(IdentityError, match="Description"):
        check_characters("Description", f"fine text {character} here",
                         allowed={"\n", "\t"} - {character})


def test_descriptions_keep_line_breaks_and_names_need_a_letter() -> None:
    check_characters("Description", "temperature 0\nmax tokens 1024\tgreedy", allowed={"\n", "\t"})
    with pytest.raises(IdentityError, match="at least one letter"):
        check_model_name("--- ...", PAPER, [])
    assert identity_key("Lingshu-7B") == identity_key("lingshu 7b") != identity_key("Lingshu-32B")
