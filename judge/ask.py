"""Asking a vision model the benchmark's questions: the one request `predict` sends, and the loop that sends it.

`build_messages` makes the request of one question (the paper's prompt and the image as a base64 data
URL); `ask_model` sends it and turns the reply into a predictions record; `ask_all` asks many at a
bounded concurrency and stops early when the endpoint itself is wrong (a refused key, an unknown
model, nothing listening), so a typo never spends every question's retries. `medcmr predict` writes
what this asks to a file; the leaderboard's reproduction re-asks a sample through the same functions,
so a re-run sends exactly what the submitter's run sent.

Images: sent as they are stored (PNG/JPEG bytes, untouched) when no side exceeds the bound; larger or
other-format images are resized with their aspect kept and re-encoded, as JPEG (quality 90) when plain
RGB (photographs: fundus, histology, endoscopy) and as lossless PNG otherwise (grayscale radiology,
images with alpha).
"""
from __future__ import annotations

import asyncio
import base64
import io
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import openai
from PIL import Image

from core.settings import PREDICT_CONCURRENCY, PREDICT_IMAGE_MAX_SIDE, PREDICT_MAX_TOKENS
from core.vocabulary import PROMPT_VERSION, format_prompt

from .endpoint import Endpoint

JPEG_QUALITY = 90
# The endpoint itself is wrong (key, permissions, model name): stop instead of failing every question.
FATAL_ERRORS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
# The first answers decide whether a repeated HTTP 400 is the request's fault (e.g. an unknown model
# name on servers that say 400, not 404) rather than one question's: all of them, same message → stop.
EARLY_400_SAMPLE = 8
PROBE_TIMEOUT_S = 10.0
STOP_POLL_S = 0.2  # how often a run waiting for its last answers looks whether it should stop


def image_data_url(data: bytes, max_side: int) -> str:
    """The image as a data URL, downscaled (aspect kept) when a side exceeds `max_side` (0 = never)."""
    with Image.open(io.BytesIO(data)) as image:
        too_big = bool(max_side) and max(image.size) > max_side
        if image.format in ("PNG", "JPEG") and not too_big:
            return _data_url(data, f"image/{image.format.lower()}")
        if image.mode in ("P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
        if too_big:
            scale = max_side / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if image.mode == "RGB":
            image.save(buffer, "JPEG", quality=JPEG_QUALITY)
            return _data_url(buffer.getvalue(), "image/jpeg")
        image.save(buffer, "PNG")
        return _data_url(buffer.getvalue(), "image/png")


def _data_url(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def build_messages(row: dict, image_max_side: int, *, blind: bool = False) -> list[dict]:
    """One user turn: the image first, then the paper's prompt for this row; `blind`: the prompt alone
    (the same text, the image part removed), to measure what the text answers without the image."""
    prompt = {"type": "text", "text": format_prompt(row)}
    if blind:
        return [{"role": "user", "content": [prompt]}]
    image = row.get("image") or {}
    if not image.get("bytes"):
        raise ValueError(f"row {row['id']}: field 'image' has no embedded bytes")
    return [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": image_data_url(image["bytes"], image_max_side)}},
        prompt,
    ]}]


@dataclass
class AskSettings:
    """How each question is asked (the defaults are `predict`'s: temperature 0, the paper's prompt)."""

    concurrency: int = PREDICT_CONCURRENCY
    max_tokens: int = PREDICT_MAX_TOKENS
    temperature: float = 0.0
    image_max_side: int = PREDICT_IMAGE_MAX_SIDE
    blind: bool = False     # the prompt without its image
    circular: bool = False  # each MCQ in its 5 rotations

    def mode(self) -> dict:
        """The fields every line of this run carries, so one file never mixes modes."""
        return {"blind": self.blind, "circular": self.circular}


@dataclass
class Summary:
    """What a run did, for the last line on the terminal."""

    asked: int = 0  # questions sent (answered, failed, and those dropped in flight by a stop)
    answered: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    fatal: str | None = None  # why the endpoint refused us, when it did
    unreachable: bool = False  # the fatal reason is that nothing answered at the endpoint's address


async def ask_model(client: openai.AsyncOpenAI, model: str, row: dict, settings: AskSettings) -> dict:
    """One question to its predictions record; raises when there is no answer (an empty one included)."""
    messages = await asyncio.to_thread(build_messages, row, settings.image_max_side, blind=settings.blind)
    sent = time.perf_counter()
    response = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=settings.max_tokens, temperature=settings.temperature)
    latency = time.perf_counter() - sent
    choice = response.choices[0] if response.choices else None
    text = choice.message.content if choice else None
    if not text or not text.strip():
        reason = choice.finish_reason if choice else "no choices"
        raise ValueError(f"empty answer (finish_reason={reason}); raise --max-tokens if 'length'")
    usage = response.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}) \
        if response.usage else None
    record = {"id": row["id"], "prediction": text, "model": model, "prompt_version": PROMPT_VERSION,
              **{key: True for key, on in settings.mode().items() if on}, "usage": usage,
              "latency_s": round(latency, 3)}
    if "rotation" in row:
        record["rotation"] = row["rotation"]
    return record


def server_message(error: openai.APIStatusError) -> str:
    """The server's own error message on one line (the `message` of its JSON error), else the client's."""
    body = error.body
    text = body.get("message") if isinstance(body, dict) else None
    text = text if isinstance(text, str) and text.strip() else error.message
    return " ".join(text.split())[:300]


def scrubbed(message: str, secret: str | None) -> str:
    """`message` with the key replaced by *** (a server may echo what it was sent)."""
    return message.replace(secret, "***") if secret else message


async def unreachable(endpoint: Endpoint) -> str | None:
    """Why nothing answers at the endpoint's address (refused, unknown host), or None when a server
    answers at all (any HTTP status, even an error, means someone listens). One call, no retries."""
    async with endpoint.client() as client:
        try:
            await client.with_options(max_retries=0, timeout=min(endpoint.timeout, PROBE_TIMEOUT_S)).models.list()
        except openai.APITimeoutError:
            return None  # a slow server is still a server: the run's own timeouts decide
        except openai.APIConnectionError as error:
            cause = error.__cause__ or error
            return scrubbed(" ".join(str(cause).split())[:200] or type(cause).__name__, endpoint.api_key)
        except openai.OpenAIError:
            return None
    return None


class _Outcomes:
    """What `ask_all` learns as answers arrive: the summary, and whether the endpoint itself is wrong."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.summary = Summary()
        self.first: list[str | None] = []  # the first completed questions: the server's 400 message, else None

    def answered(self, record: dict) -> None:
        self.summary.answered += 1
        self.summary.prompt_tokens += (record["usage"] or {}).get("prompt_tokens") or 0
        self.summary.completion_tokens += (record["usage"] or {}).get("completion_tokens") or 0
        self._note(None)

    def failed(self, error: Exception) -> str:
        """Count a failure; returns its message (the key scrubbed)."""
        cause = f" ({error.__cause__})" if isinstance(error, openai.APIConnectionError) and error.__cause__ else ""
        message = scrubbed(f"{type(error).__name__}: {error}{cause}", self.endpoint.api_key)
        self.summary.failed += 1
        no_connection = isinstance(error, openai.APIConnectionError) \
            and not isinstance(error, openai.APITimeoutError) and self.summary.answered == 0
        if self.summary.fatal is None and (isinstance(error, FATAL_ERRORS) or no_connection):
            self.summary.fatal, self.summary.unreachable = message, no_connection
        self._note(error)
        return message

    def same_400(self) -> str | None:
        """The 400 message every one of the first questions got, if they all got the same one."""
        if self.first and None not in self.first and len(set(self.first)) == 1:
            return f"HTTP 400 on each of the first {len(self.first)} requests: {self.first[0]}"
        return None

    def _note(self, error: Exception | None) -> None:
        if len(self.first) >= EARLY_400_SAMPLE:
            return
        bad = isinstance(error, openai.BadRequestError)
        self.first.append(scrubbed(server_message(error), self.endpoint.api_key) if bad else None)
        if len(self.first) == EARLY_400_SAMPLE and self.summary.fatal is None:
            self.summary.fatal = self.same_400()


async def ask_all(rows: Iterable[dict], endpoint: Endpoint, settings: AskSettings, *,
                  on_answer: Callable[[dict], None], on_failure: Callable[[str, str], None],
                  progress: Callable[[Summary], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Summary:
    """Ask the model every row, at most `concurrency` at a time: `on_answer(record)` as each answer arrives,
    `on_failure(row id, message)` for a question that failed (after the client's retries). Stops taking new
    rows once the endpoint is found wrong (`Summary.fatal`); once `should_stop()` says so, it also drops the
    questions in flight.

    The rows are pulled lazily, so only the questions in flight hold an image in memory.
    """
    outcomes = _Outcomes(endpoint)
    slots = asyncio.Semaphore(settings.concurrency)
    in_flight: set[asyncio.Task] = set()
    started = time.perf_counter()

    async def ask(client: openai.AsyncOpenAI, row: dict) -> None:
        try:
            record = await ask_model(client, endpoint.model, row, settings)
            on_answer(record)
            outcomes.answered(record)
        except (openai.OpenAIError, OSError, ValueError) as error:
            on_failure(row["id"], outcomes.failed(error))
        finally:
            slots.release()
        if progress:
            progress(outcomes.summary)

    stopping = should_stop or (lambda: False)
    async with endpoint.client() as client:
        try:
            for row in rows:
                await slots.acquire()
                if outcomes.summary.fatal or stopping():
                    slots.release()
                    break
                task = asyncio.create_task(ask(client, row))
                outcomes.summary.asked += 1
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            while in_flight and not stopping():  # a stop does not wait for slow answers
                await asyncio.wait(set(in_flight), timeout=STOP_POLL_S)
        finally:  # interrupted (Ctrl-C, a stop): drop the questions in flight, keep every answer recorded
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
    summary = outcomes.summary
    if summary.fatal is None:  # fewer questions than the sample: all of them decide
        summary.fatal = outcomes.same_400()
    summary.elapsed_s = time.perf_counter() - started
    return summary
