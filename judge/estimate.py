"""What judging will take, said before the first call: requests, tokens and, given prices, dollars.

Tokens are approximated as characters / 4 (the usual rule of thumb for English; no tokenizer is a
dependency of the kit): the input is the text of every message a request sends, the output one
verdict of the shape the prompt asks for, with a one-sentence rationale. Re-asks, and the hidden
reasoning tokens of a reasoning judge, come on top of the estimate.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable

from core.vocabulary import CRITERION_KEYS

from .llm import RAW_MAX, build_messages, request_body
from .screen import JudgeInput

CHARS_PER_TOKEN = 4
NONCE_PLACEHOLDER = "0" * 16  # as long as a call's real nonce, so the estimate counts its characters
_TYPICAL_VERDICT = {"nonce": NONCE_PLACEHOLDER, **{name: RAW_MAX for name in CRITERION_KEYS},
                    "rationale": "The answer names the reference finding and its location, with sound reasoning."}
REPLY_TOKENS = math.ceil(len(json.dumps(_TYPICAL_VERDICT)) / CHARS_PER_TOKEN)


def tokens(characters: int) -> int:
    """Approximate tokens of `characters` characters of text."""
    return math.ceil(characters / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Prices:
    """Dollars per million tokens; `batch_discount` is the share a batch engine takes off (OpenAI's: 0.5)."""

    input: float
    output: float
    batch_discount: float = 0.0


@dataclass(frozen=True)
class Estimate:
    """The requests about to be sent and their approximate tokens; `batch`: they go as a batch."""

    requests: int
    input_tokens: int
    output_tokens: int
    batch: bool = False

    def cost(self, prices: Prices) -> float:
        """Dollars at `prices`, less the batch discount when the requests go as a batch."""
        dollars = (self.input_tokens * prices.input + self.output_tokens * prices.output) / 1e6
        return dollars * (1 - prices.batch_discount) if self.batch else dollars

    def describe(self, prices: Prices | None = None) -> str:
        """One line for the terminal."""
        how = "as a batch" if self.batch else "online"
        line = (f"judge estimate: {self.requests:,} requests {how}, about {self.input_tokens:,} input and "
                f"{self.output_tokens:,} output tokens (characters/4; re-asks not included)")
        if prices is None:
            return line
        discount = f", less the batch discount of {prices.batch_discount:.0%}" \
            if self.batch and prices.batch_discount else ""
        return (line + f"; about ${self.cost(prices):,.2f} at ${prices.input:g}/M input and "
                f"${prices.output:g}/M output tokens{discount}")


def estimate(bodies: Iterable[dict], *, batch: bool = False) -> Estimate:
    """The estimate of sending these chat-completions request bodies."""
    requests = characters = 0
    for body in bodies:
        requests += 1
        characters += sum(len(str(message.get("content") or "")) for message in body["messages"])
    return Estimate(requests=requests, input_tokens=tokens(characters), output_tokens=requests * REPLY_TOKENS,
                    batch=batch)


def estimate_answers(model: str, work: list[tuple[dict, JudgeInput]]) -> Estimate:
    """The estimate of judging `work` online: the request each first call sends."""
    return estimate(request_body(model, build_messages(question, prepared.text, NONCE_PLACEHOLDER))
                    for question, prepared in work)
