"""What a fake OpenAI-compatible server answers to one request (shared by the server and its responders)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Reply:
    """What the server answers to one chat-completions request."""

    content: str | None = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: dict | None = None  # a raw JSON body, sent instead of a completion built from content


Responder = Callable[[dict], Reply]
