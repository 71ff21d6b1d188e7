"""Where an OpenAI-compatible endpoint lives, and the one way this kit builds a client for it.

Shared by the judge (open-ended scoring), by `medcmr.py predict` (running a model) and by the
leaderboard's runners (re-asking a sample), so all read the same flags and environment and none
ever prints the key. An endpoint with a `guard` (`judge.outbound`) connects only where it allows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

import openai

from core.settings import JUDGE_MAX_RETRIES, JUDGE_TIMEOUT_S, EndpointSettings

from .outbound import AddressGuard


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint. The key never appears in repr, logs or results."""

    base_url: str | None
    model: str | None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = JUDGE_TIMEOUT_S
    max_retries: int = JUDGE_MAX_RETRIES
    guard: AddressGuard | None = field(default=None, compare=False)  # where it may connect (None: anywhere)

    @classmethod
    def from_settings(
        cls,
        settings: EndpointSettings,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> "Endpoint":
        """Flags (the keywords) win over the settings `core.settings` read from the environment
        (`{PREFIX}_BASE_URL/_MODEL/_API_KEY/_TIMEOUT/_MAX_RETRIES`, then `OPENAI_*`)."""
        return cls(
            base_url=_first(base_url, settings.base_url),
            model=_first(model, settings.model),
            api_key=_first(api_key, settings.api_key),
            timeout=settings.timeout if timeout is None else timeout,
            max_retries=settings.max_retries if max_retries is None else max_retries,
        )

    @property
    def configured(self) -> bool:
        """True when a call can be made: a model, and somewhere to send it."""
        return bool(self.model and (self.base_url or self.api_key))

    @property
    def host(self) -> str:
        """The endpoint's host, safe to record in results (no path, no credentials)."""
        if not self.base_url:
            return "api.openai.com"
        try:
            parsed = urlparse(self.base_url)
            port = parsed.port
        except ValueError:  # e.g. a port out of range: the calls fail and say so; this stays quiet
            return ""
        return parsed.hostname + (f":{port}" if port else "") if parsed.hostname else ""

    def client(self) -> openai.AsyncOpenAI:
        """An async client; local servers (vLLM, Ollama, llama.cpp) accept any key. With a guard, every
        connection is checked where it goes (`AddressGuard.http_client`)."""
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "no-key",
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=self.guard.http_client() if self.guard is not None else None,
        )

    def blocking_client(self) -> openai.OpenAI:
        """A synchronous client, for the few calls of the Batch API (`judge.batch`)."""
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "no-key",
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def redact(self, text: str) -> str:
        """`text` without the key, for an error message that quotes what a server said."""
        return text.replace(self.api_key, "[key]") if self.api_key else text
