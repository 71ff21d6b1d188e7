"""Where an OpenAI-compatible endpoint lives, and the one way this kit builds a client for it.

Shared by the judge (open-ended scoring) and by `medcmr.py predict` (running a model), so both
read the same flags and environment and neither ever prints the key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

import openai


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint. The key never appears in repr, logs or results."""

    base_url: str | None
    model: str | None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 4

    @classmethod
    def from_env(
        cls,
        prefix: str = "MEDCMR_JUDGE",
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
    ) -> "Endpoint":
        """Flags win over `{prefix}_BASE_URL/_MODEL/_API_KEY`, which win over `OPENAI_*`."""
        env = os.environ.get
        return cls(
            base_url=_first(base_url, env(f"{prefix}_BASE_URL"), env("OPENAI_BASE_URL")),
            model=_first(model, env(f"{prefix}_MODEL")),
            api_key=_first(api_key, env(f"{prefix}_API_KEY"), env("OPENAI_API_KEY")),
            timeout=timeout,
            max_retries=max_retries,
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
        """An async client; local servers (vLLM, Ollama, llama.cpp) accept any key."""
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "no-key",
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
