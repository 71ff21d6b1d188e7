"""A fake vision model that answers any prompt naming a question of a build, however it is asked.

It finds the question in the request the way a reader would: the question's text at the start of a
line or after "Question:", then the options as shown ("A) ..." as the paper writes them, "A. ..." as
VLMEvalKit does), in any order. So the paper's prompt (`predict`, lmms-eval), VLMEvalKit's own MCQ
prompt, rotated options (`predict --circular`) and requests without the image (`predict --blind`)
are all answered, whatever the image's encoding. What it answers is fixed, so a run shows each
measure move: with the image it is right on even-indexed questions; without it, on every fourth;
when it does not know an MCQ it picks the first shown letter that is wrong (mostly "A": a position bias).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from core.vocabulary import LETTERS

from .server import Reply

KEY_CHARS = 40  # questions are looked up by their first characters, then compared whole
_OPTION = re.compile(r"^[ \t]*\(?([A-E])[.):][ \t]+(.*?)[ \t]*$", re.M)
_QUESTION = re.compile(r"Question:[ \t]*")


def _texts(request: dict) -> tuple[str, bool]:
    """Every text of the request joined by newlines, and whether an image came with it."""
    texts, image = [], False
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            image = image or (isinstance(part, dict) and part.get("type") in ("image_url", "input_image"))
    return "\n".join(texts), image


def answer(row: dict, shown: dict[str, str], image: bool) -> str:
    """The fake's answer to `row` asked with options `shown` (letter -> text), with or without its image."""
    knows = row["index"] % (2 if image else 4) == 0
    if row["question_type"] != "mcq":
        seen = "the image shows the finding" if image else "no image was given"
        return f"Reasoning: {seen}.\nAnswer: {row['answer'] if knows else 'unknown'}"
    key = row["options"][LETTERS.index(row["answer"])].strip()
    right = next(letter for letter, option in shown.items() if option == key)
    return f"Answer: {right if knows else next(letter for letter in shown if letter != right)}"


class FakeVisionModel:
    """A responder for `fakes.server.OpenAIServer` that knows the questions of one build."""

    def __init__(self, questions: list[dict]) -> None:
        self._by_start: dict[str, list[dict]] = {}
        for row in questions:
            self._by_start.setdefault(row["question"][:KEY_CHARS], []).append(row)
        self._lengths = sorted({len(start) for start in self._by_start}, reverse=True)

    def __call__(self, request: dict) -> Reply:
        text, image = _texts(request)
        found = self.find(text)
        if found is None:
            return Reply(status=400, body={"error": {"message": "the prompt names no question of this build",
                                                     "type": "invalid_request_error"}})
        row, shown = found
        return Reply(content=answer(row, shown, image))

    def find(self, text: str) -> tuple[dict, dict[str, str]] | None:
        """The question `text` asks and its options as shown (empty for an open question), or None."""
        for position in _starts(text):
            for row in self._named_at(text, position):
                shown = _shown_options(text[position + len(row["question"]):])
                if row["question_type"] == "mcq" and sorted(shown.values()) == sorted(o.strip() for o in row["options"]):
                    return row, shown
                if row["question_type"] != "mcq" and not shown:
                    return row, {}
        return None

    def _named_at(self, text: str, position: int) -> Iterator[dict]:
        for length in self._lengths:
            for row in self._by_start.get(text[position:position + length], ()):
                if text.startswith(row["question"], position):
                    yield row


def _starts(text: str) -> Iterator[int]:
    """Where a question may begin: after each "Question:", then at each line's start."""
    yield from (match.end() for match in _QUESTION.finditer(text))
    yield 0
    yield from (match.end() for match in re.finditer(r"\n[ \t]*", text))


def _shown_options(text: str) -> dict[str, str]:
    """The first line for each letter A-E that reads as an option ("A) text", "A. text", "(A) text")."""
    shown: dict[str, str] = {}
    for letter, option in _OPTION.findall(text):
        shown.setdefault(letter, option)
    return shown if len(shown) == len(LETTERS) else {}
