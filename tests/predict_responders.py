"""A vision "model" for the fake server (fakes.server) that checks every request `predict` sends.

It knows the built dataset (rows and stored image bytes), so for each request it checks what a
real multimodal endpoint would need and what the paper requires: one user turn holding a valid
base64 data URL that decodes to an image of the expected size (downscaled with aspect kept only
when over the bound, otherwise the stored bytes unchanged) and text equal to the paper's prompt
for that row. Anything wrong is recorded in `problems` and answered with HTTP 400.
Faults are injected per question id: scripted replies first (429, 500, ...), or always failing.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image

import medcmr
from fakes.server import Reply

DATA_URL = re.compile(r"data:(image/(?:png|jpeg));base64,(.+)", re.S)
LETTERS = "ABCDE"


def read_built(data_dir: Path) -> list[dict]:
    """Every row of a built folder, image as stored bytes, in id order."""
    rows = [row for shard in sorted(data_dir.glob("data/*/*.parquet")) for row in pq.read_table(shard).to_pylist()]
    return sorted(rows, key=lambda row: row["id"])


def model_answer(row: dict) -> str:
    """Correct for even indices, wrong for odd ones, so a score checks the ids end to end."""
    if row["question_type"] == "open":
        return f"Reasoning: the image shows the finding.\nAnswer: {row['answer']}"
    letter = row["answer"] if row["index"] % 2 == 0 else LETTERS[(LETTERS.index(row["answer"]) + 1) % 5]
    return f"Answer: {letter}"


def model_not_found(request: dict) -> Reply:
    """A server that does not know the model name and, like several local servers, says so with HTTP 400."""
    return Reply(status=400, body={"error": {"message": f"model {request.get('model')!r} not found",
                                             "type": "invalid_request_error"}})


class VisionModel:
    """Answers like a model that read the question; records who was asked and what was wrong."""

    def __init__(self, rows: list[dict], *, model: str = "test-vlm", max_side: int) -> None:
        self.model = model
        self.max_side = max_side
        self.rows = {row["id"]: row for row in rows}
        self.ids_by_prompt: dict[str, list[str]] = {}
        for row in rows:
            self.ids_by_prompt.setdefault(medcmr.format_prompt(row), []).append(row["id"])
        self.problems: list[str] = []
        self.asked: Counter[str] = Counter()
        self.asked_at: dict[str, list[float]] = {}  # monotonic clock of each request, per id
        self.downscaled = 0
        self.script: dict[str, list[Reply]] = {}   # replies to give before answering normally
        self.broken: set[str] = set()              # ids that always get HTTP 500
        self.empty: set[str] = set()               # ids answered with an empty message
        self.slow: set[str] = set()                # ids answered only after 5 s
        self._lock = threading.Lock()

    def asked_ids(self) -> Counter[str]:
        """How often each id was asked."""
        with self._lock:
            return Counter(self.asked)

    def __call__(self, request: dict) -> Reply:
        try:
            row_id = self._check(request)
        except ValueError as problem:
            with self._lock:
                self.problems.append(str(problem))
            return Reply(status=400, body={"error": {"message": str(problem), "type": "invalid_request"}})
        with self._lock:
            self.asked[row_id] += 1
            self.asked_at.setdefault(row_id, []).append(time.monotonic())
            scripted = self.script.get(row_id)
            if scripted:
                return scripted.pop(0)
        if row_id in self.broken:
            return Reply(status=500)
        if row_id in self.empty:
            return Reply(content="")
        if row_id in self.slow:
            return Reply(content=model_answer(self.rows[row_id]), delay=5.0)
        return Reply(content=model_answer(self.rows[row_id]))

    def _check(self, request: dict) -> str:
        if request.get("model") != self.model:
            raise ValueError(f"model is {request.get('model')!r}, expected {self.model!r}")
        messages = request.get("messages") or []
        if len(messages) != 1 or messages[0].get("role") != "user":
            raise ValueError(f"expected one user message, got {messages!r:.200}")
        parts = messages[0].get("content")
        if not isinstance(parts, list):
            raise ValueError("user content is not a list of parts")
        texts = [p.get("text") for p in parts if p.get("type") == "text"]
        urls = [p.get("image_url", {}).get("url", "") for p in parts if p.get("type") == "image_url"]
        if len(texts) != 1 or len(urls) != 1 or len(parts) != 2:
            raise ValueError(f"expected one text and one image part, got types {[p.get('type') for p in parts]}")
        ids = self.ids_by_prompt.get(texts[0])
        if not ids:
            raise ValueError(f"prompt is not the paper's prompt for any row: {texts[0]!r:.300}")
        match = DATA_URL.fullmatch(urls[0])
        if not match:
            raise ValueError(f"not a base64 PNG/JPEG data URL: {urls[0]:.80}")
        try:
            payload = base64.b64decode(match.group(2), validate=True)
        except binascii.Error as error:
            raise ValueError(f"base64 does not decode: {error}") from None
        try:
            with Image.open(io.BytesIO(payload)) as image:
                image.load()
                sent_format, sent_size = image.format, image.size
        except OSError as error:
            raise ValueError(f"image does not decode: {error}") from None
        if f"image/{sent_format.lower()}" != match.group(1):
            raise ValueError(f"data URL says {match.group(1)} but holds {sent_format}")
        for row_id in ids:
            if self._image_fits(row_id, payload, sent_size):
                return row_id
        raise ValueError(f"image of {sent_size} is not the (bounded to {self.max_side}) image of {ids}")

    def _image_fits(self, row_id: str, payload: bytes, sent_size: tuple[int, int]) -> bool:
        stored = self.rows[row_id]["image"]["bytes"]
        with Image.open(io.BytesIO(stored)) as image:
            width, height = image.size
        if max(width, height) <= self.max_side:
            return payload == stored
        if max(sent_size) != self.max_side:
            return False
        scale = self.max_side / max(width, height)
        fits = abs(sent_size[0] - width * scale) <= 1 and abs(sent_size[1] - height * scale) <= 1
        if fits:
            with self._lock:
                self.downscaled += 1
        return fits


_OPTION_LINE = re.compile(r"^([A-E])\) (.*)$", re.M)


class KnowingModel:
    """A vision "model" that knows the answers of the built dataset and answers as a rule says.

    It reads each request as a model would: the question and the options as shown (in any rotation),
    and whether an image came with them. `rule(row, image)` says whether it knows this one; when it
    does not, it answers `guess` (a letter as shown, e.g. always "A": a position bias) or the first
    wrong option. Records whether each request carried an image.
    """

    def __init__(self, rows: list[dict], rule, guess: str | None = None) -> None:
        self.rows = {(row["question"], frozenset(row["options"])): row for row in rows if row["question_type"] == "mcq"}
        self.open = {row["question"]: row for row in rows if row["question_type"] == "open"}
        self.rule, self.guess = rule, guess
        self.with_image = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> Reply:
        content = request["messages"][-1]["content"]
        image = any(part.get("type") == "image_url" for part in content)
        text = next(part["text"] for part in content if part.get("type") == "text")
        with self._lock:
            self.with_image[image] += 1
        question = text.split("Question: ", 1)[1].split("\n\n", 1)[0]
        shown = dict(_OPTION_LINE.findall(text))
        if not shown:
            row = self.open[question]
            return Reply(content=f"Reasoning: seen.\nAnswer: {row['answer'] if self.rule(row, image) else 'unsure'}")
        row = self.rows[(question, frozenset(shown.values()))]
        right = row["options"][LETTERS.index(row["answer"])]
        if self.rule(row, image):
            letter = next(x for x, option in shown.items() if option == right)
        else:
            letter = self.guess or next(x for x, option in shown.items() if option != right)
        return Reply(content=f"Answer: {letter}")
