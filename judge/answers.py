"""What a model's output says, once pure format is taken away: the first step before anything reads it.

Open-source model servers leak their chat template into outputs: role headers (`ASSISTANT:`),
special tokens (`<|im_start|>`, `<|eot_id|>`, `</s>`), an echoed prompt turn, a trailing user turn
after the end token. Reasoning models wrap their thoughts in `<think>` blocks, which lmms-eval
strips before scoring too. None of this is content, so it is removed here and never punished;
every step taken is recorded per item. Evaluation tools also write their own failure markers
where an answer should be (VLMEvalKit, lmms-eval): those, and empty outputs, are not answered.
"""
from __future__ import annotations

import re
from typing import NamedTuple

NORMALISATION_VERSION = "medcmr-answers-v1"

# Steps, as recorded per item.
TEMPLATE_TOKENS = "chat-template tokens removed"
ROLE_HEADER = "role header removed"
PROMPT_TURN = "echoed prompt turn dropped"
OTHER_TURN = "non-assistant turn dropped"
REASONING = "reasoning block removed"

# Failure markers evaluation tools write in place of an answer: (tool, pattern on the stripped output).
TOOL_FAILURES = (
    ("VLMEvalKit", re.compile(r"Failed to obtain answer via API\.?", re.I)),
    ("lmms-eval", re.compile(r"\[LMMS_EVAL_REQUEST_FAILED(?: after \d+ retries)?\].*", re.S)),
)

_ROLES = {"assistant": "assistant", "model": "assistant", "gpt": "assistant", "bot": "assistant",
          "user": "user", "human": "user", "system": "system", "developer": "system", "tool": "system",
          "ipython": "system"}
# A token that opens a turn and names its role: ChatML, Llama 3, Gemma, Phi, DeepSeek, Llama 2.
_TURN = re.compile(
    r"<\|im_start\|>[ \t]*(?P<chatml>[A-Za-z]+)[ \t]*\n?"
    r"|<\|start_header_id\|>[ \t]*(?P<llama>[A-Za-z]+)[ \t]*<\|end_header_id\|>"
    r"|<start_of_turn>[ \t]*(?P<gemma>[A-Za-z]+)[ \t]*\n?"
    r"|<\|(?P<phi>assistant|user|system)\|>"
    r"|<｜(?P<deepseek>Assistant|User|System)｜>"
    r"|(?P<inst>\[INST\])|(?P<endinst>\[/INST\])"
    r"|(?P<sys><<SYS>>[\s\S]*?<</SYS>>)")
# Tokens with no role: begin/end of text or turn, separators, the image placeholder.
_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|<｜[^｜<>\n]{1,40}｜>|</?s>|<(?:bos|eos|pad|unk)>|<end_of_turn>"
                    r"|<image>|<</?SYS>>|\[/?INST\]")
# Tokens that end a turn: text after them starts a new turn.
_END = re.compile(r"</s>|<\|(?:im_end|eot_id|end|endoftext|eom_id)\|>|<end_of_turn>|<｜end▁of▁sentence｜>")
# Plain-text role headers as servers print them ("ASSISTANT:", "### Human:", "GPT:").
_ASSISTANT_HEADER = r"(?:###[ \t]*)?(?:ASSISTANT|Assistant|GPT|### Response)[ \t]*:"
_USER_HEADER = r"(?:###[ \t]*)?(?:USER|User|HUMAN|Human|SYSTEM|### Instruction)[ \t]*:"
_LEADING_ASSISTANT = re.compile(rf"^\s*{_ASSISTANT_HEADER}[ \t]*")
_LEADING_USER = re.compile(rf"^\s*{_USER_HEADER}")
_ANY_HEADER = re.compile(rf"\s*(?:{_ASSISTANT_HEADER}|{_USER_HEADER})")
_ANY_ASSISTANT = re.compile(rf"(?:^|(?<=\s)){_ASSISTANT_HEADER}[ \t]*")
_THINK_BLOCK = re.compile(r"<(think|thinking)>[\s\S]*?</\1>", re.I)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.I)
_BLANK_LINES = re.compile(r"\n{3,}")
_FAILURE_OPENINGS = ("F", "f", "[")  # the first character of each tool's failure marker


class Answer(NamedTuple):
    """A model output as the scorers read it: the text, what normalising did, and whether it is an answer.
    (A named tuple: made once per output of every submission, it costs a third of a frozen dataclass.)"""

    text: str
    steps: tuple[str, ...] = ()
    not_answered: str | None = None  # why it is no answer (empty, a tool's failure marker), else None


def _turns(text: str) -> list[tuple[str, str]]:
    """(role, text) pieces of an output split at role-naming template tokens; text before any is the model's."""
    pieces, role, position = [], "assistant", 0
    for match in _TURN.finditer(text):
        pieces.append((role, text[position:match.start()]))
        if match.group("sys"):
            pieces.append(("system", match.group("sys")))
        elif match.group("inst"):
            role = "user"
        elif match.group("endinst"):
            role = "assistant"
        else:
            name = next(value for value in match.groupdict().values() if value)
            role = _ROLES.get(name.lower(), "system")
        position = match.end()
    pieces.append((role, text[position:]))
    return pieces


def _plain_turns(text: str, steps: list[str]) -> str:
    """The model's own text of one assistant piece: plain-text role headers and other turns removed."""
    kept = (_own_text(_without_reasoning(part, steps) if number else part, number, steps)
            for number, part in enumerate(_END.split(text)))
    return "\n\n".join(piece.strip() for piece in kept if piece and piece.strip())


def _own_text(part: str, number: int, steps: list[str]) -> str | None:
    """One turn's text without its plain-text role header; None when it is another role's turn."""
    if not _ANY_HEADER.match(part):
        return part
    if _LEADING_USER.match(part):
        reply = _ANY_ASSISTANT.search(part)
        if reply is None and number == 0:
            return part  # a lone "User: ..." line opening the output: keep it rather than lose it
        steps.append(PROMPT_TURN if number == 0 else OTHER_TURN)
        return None if reply is None else part[reply.end():]
    if _LEADING_ASSISTANT.match(part):
        steps.append(ROLE_HEADER)
        return _LEADING_ASSISTANT.sub("", part, count=1)
    return part


def _without_reasoning(text: str, steps: list[str]) -> str:
    """`<think>` blocks removed (as lmms-eval does); a lone closing tag ends the thoughts before it."""
    if "think" not in text.lower():
        return text
    stripped = _THINK_BLOCK.sub("", text)
    close = _THINK_CLOSE.search(stripped)
    if close and not _THINK_OPEN.search(stripped[:close.start()]):
        stripped = stripped[close.end():]
    if stripped != text:
        steps.append(REASONING)
    return stripped


def _unwrapped(text: str, steps: list[str]) -> str:
    """The assistant's own text of an output that carries template tokens, turns or reasoning blocks."""
    pieces = []
    for role, piece in _turns(text):  # each assistant turn on its own: its reasoning, then its headers
        if role != "assistant":
            if piece.strip():
                steps.append(OTHER_TURN if any(pieces) else PROMPT_TURN)
            continue
        pieces.append(_plain_turns(_without_reasoning(piece, steps), steps))
    if _TOKEN.search(text):
        steps.append(TEMPLATE_TOKENS)
    return _TOKEN.sub("", "\n\n".join(piece for piece in pieces if piece)).strip()


def normalise_answer(raw: str | None) -> Answer:
    """The answer `raw` gives, format removed; unanswered when empty or a tool's failure marker."""
    text = raw if isinstance(raw, str) else ""
    steps: list[str] = []
    if "<" not in text and "[" not in text and "｜" not in text:  # every token, turn and tag is written with one
        text = (_own_text(text, 0, steps) or "").strip()
    else:
        text = _unwrapped(text, steps)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    if text[:1] in _FAILURE_OPENINGS:
        for tool, marker in TOOL_FAILURES:
            if marker.fullmatch(text):
                return Answer("", tuple(dict.fromkeys(steps)), f"{tool} failure marker: the tool got no answer")
    if not text:
        return Answer("", tuple(dict.fromkeys(steps)), "empty answer")
    return Answer(text, tuple(dict.fromkeys(steps)) if steps else ())
