"""Run an OpenAI-compatible vision model over Med-CMR and write a predictions file for the judge.

    python medcmr.py predict --model NAME --base-url URL --out preds.jsonl [--config long_tail]
    python medcmr.py predict --model baseline:random --out preds.jsonl     # no model, no server

Every question goes to the model with the paper's prompt (`core.vocabulary.format_prompt`) and its image
as a base64 data URL. Each answer is appended to `--out` as one JSON line and flushed at once,
so a killed run resumes where it stopped and never asks the same question twice. A question
that keeps failing goes to `<out>.errors.jsonl` instead (never an empty answer in `--out`) and
is asked again by the next run.

Images: sent as they are stored (PNG/JPEG bytes, untouched) when no side exceeds
`--image-max-side`; larger or other-format images are resized with their aspect kept and
re-encoded, as JPEG (quality 90) when plain RGB (photographs: fundus, histology, endoscopy)
and as lossless PNG otherwise (grayscale radiology, images with alpha).

Reference baselines need no model and no server: `--model baseline:random` (a uniformly random
letter per multiple-choice question, seeded), `--model baseline:most-frequent` (the build's
commonest answer letter, read from the answers, as every majority-class baseline does) and
`--model baseline:longest-option` (the letter of the longest option, reading no image). All give
open questions the fixed placeholder `OPEN_PLACEHOLDER`, so the judge path runs as for a model.
Their answers come from `judge.baselines`, which the leaderboard's reference rows use too.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO
from urllib.parse import urlparse

import openai
import pyarrow.parquet as pq
from PIL import Image
from tqdm import tqdm

from core.commands import medcmr
from core.settings import (PREDICT_CONCURRENCY, PREDICT_IMAGE_MAX_SIDE, PREDICT_MAX_RETRIES, PREDICT_MAX_TOKENS,
                           PREDICT_TIMEOUT_S, Settings, SettingsError)
from core.vocabulary import LETTERS, PROMPT_VERSION, format_prompt
from judge.baselines import (BASELINE_PREFIX, BASELINES, OPEN_PLACEHOLDER, BaselineError, baseline_answerer,
                             most_frequent_letter)
from judge.circular import rotated
from judge.endpoint import Endpoint
from release.built import load_questions

DEFAULT_IMAGE_MAX_SIDE = PREDICT_IMAGE_MAX_SIDE
JPEG_QUALITY = 90
# The endpoint itself is wrong (key, permissions, model name): stop instead of failing every question.
FATAL_ERRORS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
# The first answers decide whether a repeated HTTP 400 is the request's fault (e.g. an unknown model
# name on servers that say 400, not 404) rather than one question's: all of them, same message → stop.
EARLY_400_SAMPLE = 8


class PredictError(Exception):
    """A user error (missing data, unknown config, unreadable output file): printed, exit 2."""


# ---------------------------------------------------------------- questions and images


def config_files(data_dir: Path, config: str) -> list[str]:
    """The parquet shards of one config, resolved from the card exactly as `load_dataset` does."""
    import datasets

    if not (data_dir / "README.md").is_file():
        raise PredictError(f"{data_dir}: no built dataset here (run `{medcmr('build')}` first)")
    try:
        builder = datasets.load_dataset_builder(str(data_dir), config)
    except ValueError as error:
        raise PredictError(f"{data_dir}: {error}") from None
    return list(builder.config.data_files["test"])


def config_ids(files: list[str]) -> list[str]:
    """Every question id of a config in file order, read without touching the images."""
    return [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


def iter_jobs(files: list[str], todo: list[str]) -> Iterator[dict]:
    """The rows to ask for `todo` (ids, or `id@rotation` in a circular run), rotated where asked."""
    rotations: dict[str, list[int]] = {}
    for key in todo:
        ident, _, rotation = key.partition("@")
        rotations.setdefault(ident, []).append(int(rotation) if rotation else -1)
    for row in iter_rows(files, set(rotations)):
        for rotation in rotations[row["id"]]:
            yield row if rotation < 0 else rotated(row, rotation)


def iter_rows(files: list[str], wanted: set[str]) -> Iterator[dict]:
    """Stream the wanted rows, images as stored bytes, a few at a time (memory stays flat).

    pyarrow's default pre_buffer reads a whole shard (up to 400 MB of images) ahead; without it,
    one row group (about 100 images) is in memory at a time.
    """
    for path in files:
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=16):
            for row in batch.to_pylist():
                if row["id"] in wanted:
                    yield row


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


def answer_key(record: dict) -> str:
    """What one predictions line answers: its id, and in a circular run its rotation too."""
    return f"{record['id']}@{record['rotation']}" if "rotation" in record else record["id"]


# ---------------------------------------------------------------- the predictions file


def read_answered(out: Path, model: str, mode: dict | None = None) -> set[str]:
    """Ids already answered in `out`. A torn last line (a kill mid-write) is cut off and re-asked."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    complete, _, tail = data.rpartition(b"\n")
    lines = complete.split(b"\n") if complete else []
    torn = False
    if tail.strip():
        try:
            json.loads(tail)
            lines.append(tail)
        except ValueError:
            torn = True
    answered: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            row_id = _check_line(out, number, line, model, mode or {})
            if row_id in answered:
                raise PredictError(f"{out}: line {number}: id {row_id} appears twice")
            answered.add(row_id)
    if torn:
        with out.open("r+b") as f:
            f.truncate(len(data) - len(tail))
        print(f"{out}: dropped a torn last line (an interrupted write); that question is asked again",
              file=sys.stderr)
    elif tail.strip():
        with out.open("ab") as f:
            f.write(b"\n")
    return answered


def _check_line(out: Path, number: int, line: bytes, model: str, mode: dict) -> str:
    """What one line of a predictions file written by this command for this model and mode answers."""
    try:
        record = json.loads(line)
    except ValueError as error:
        raise PredictError(f"{out}: line {number} is not valid JSON ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise PredictError(f"{out}: line {number}: field 'id' is missing")
    if not isinstance(record.get("prediction"), str):
        raise PredictError(f"{out}: line {number} (id {record['id']}): field 'prediction' is missing")
    found = {"model": record.get("model"), "prompt_version": record.get("prompt_version"),
             **{key: bool(record.get(key, False)) for key in mode}}  # lines from before the modes are plain
    for key, expected in (("model", model), ("prompt_version", PROMPT_VERSION), *mode.items()):
        if found[key] != expected:
            raise PredictError(
                f"{out}: line {number} (id {record['id']}): field '{key}' is {found[key]!r}, "
                f"this run uses {expected!r}; one predictions file holds one model, prompt "
                "version and mode (plain, --blind, --circular), so choose another --out")
    return answer_key(record)


def errors_path(out: Path) -> Path:
    """Questions that failed in the last run, with the reason; the judge never reads this file."""
    return out.with_name(out.name + ".errors.jsonl")


# ---------------------------------------------------------------- asking the model


@dataclass
class AskSettings:
    """How each question is asked."""

    concurrency: int = PREDICT_CONCURRENCY
    max_tokens: int = PREDICT_MAX_TOKENS
    temperature: float = 0.0
    image_max_side: int = DEFAULT_IMAGE_MAX_SIDE
    blind: bool = False     # the prompt without its image
    circular: bool = False  # each MCQ in its 5 rotations

    def mode(self) -> dict:
        """The fields every line of this run carries, so one file never mixes modes."""
        return {"blind": self.blind, "circular": self.circular}


@dataclass
class Summary:
    """What a run did, for the last line on the terminal."""

    answered: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    fatal: str | None = None  # why the endpoint refused us, when it did


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


async def predict(
    rows: Iterable[dict],
    endpoint: Endpoint,
    out: Path,
    settings: AskSettings,
    progress: Callable[[Summary], None] | None = None,
) -> Summary:
    """Ask the model every row, at most `concurrency` at a time; append each answer as it arrives.

    The rows are pulled lazily, so only the questions in flight hold an image in memory.
    """
    summary = Summary()
    slots = asyncio.Semaphore(settings.concurrency)
    in_flight: set[asyncio.Task] = set()
    started = time.perf_counter()
    first: list[str | None] = []  # the first completed questions: the server's 400 message, else None

    def record_answer(answers: TextIO, record: dict) -> None:
        answers.write(json.dumps(record, ensure_ascii=False) + "\n")
        answers.flush()
        summary.answered += 1
        summary.prompt_tokens += (record["usage"] or {}).get("prompt_tokens") or 0
        summary.completion_tokens += (record["usage"] or {}).get("completion_tokens") or 0

    def unreachable(error: Exception) -> bool:
        """No connection before any answer: a wrong --base-url, not a passing network fault."""
        return isinstance(error, openai.APIConnectionError) and not isinstance(error, openai.APITimeoutError) \
            and summary.answered == 0

    def scrub(message: str) -> str:
        return message.replace(endpoint.api_key, "***") if endpoint.api_key else message

    def same_400() -> str | None:
        """The 400 message every one of the first questions got, if they all got the same one."""
        if first and None not in first and len(set(first)) == 1:
            return f"HTTP 400 on each of the first {len(first)} requests: {first[0]}"
        return None

    def note_outcome(error: Exception | None) -> None:
        if len(first) >= EARLY_400_SAMPLE:
            return
        first.append(scrub(server_message(error)) if isinstance(error, openai.BadRequestError) else None)
        if len(first) == EARLY_400_SAMPLE and summary.fatal is None:
            summary.fatal = same_400()

    def record_failure(row_id: str, error: Exception) -> None:
        message = scrub(f"{type(error).__name__}: {error}")
        summary.failed += 1
        with errors_path(out).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": row_id, "model": endpoint.model, "error": message}) + "\n")
        if summary.fatal is None and (isinstance(error, FATAL_ERRORS) or unreachable(error)):
            summary.fatal = message

    async def ask(client: openai.AsyncOpenAI, answers: TextIO, row: dict) -> None:
        try:
            record_answer(answers, await ask_model(client, endpoint.model, row, settings))
            note_outcome(None)
        except (openai.OpenAIError, OSError, ValueError) as error:
            record_failure(row["id"], error)
            note_outcome(error)
        finally:
            slots.release()
        if progress:
            progress(summary)

    async with endpoint.client() as client:
        with out.open("a", encoding="utf-8") as answers:
            try:
                for row in rows:
                    await slots.acquire()
                    if summary.fatal:
                        slots.release()
                        break
                    task = asyncio.create_task(ask(client, answers, row))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                await asyncio.gather(*in_flight)
            finally:  # interrupted (Ctrl-C): drop the questions in flight, keep every answer written
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)
    if summary.fatal is None:  # fewer questions than the sample: all of them decide
        summary.fatal = same_400()
    summary.elapsed_s = time.perf_counter() - started
    return summary


def server_message(error: openai.APIStatusError) -> str:
    """The server's own error message on one line (the `message` of its JSON error), else the client's."""
    body = error.body
    text = body.get("message") if isinstance(body, dict) else None
    text = text if isinstance(text, str) and text.strip() else error.message
    return " ".join(text.split())[:300]


# ---------------------------------------------------------------- reference baselines


def _check_baseline_file(out: Path, answer: Callable[[dict], str], questions: dict[str, dict]) -> None:
    """Lines already in `out` must be what this baseline answers now: one file holds one seed."""
    if not out.exists():
        return
    for number, line in enumerate(out.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line) if line.strip() else None
        row = questions.get(record["id"]) if record else None
        if row is not None and record["prediction"] != answer(row):
            raise PredictError(f"{out}: line {number} (id {record['id']}): field 'prediction' is "
                               f"{record['prediction']!r}, this run answers {answer(row)!r} (another --seed, or "
                               "another build?); one predictions file holds one run, so choose another --out")


def run_baseline(args: argparse.Namespace, model: str) -> int:
    """Write a reference baseline's answers to every question of the config not yet in `--out`."""
    name = model.removeprefix(BASELINE_PREFIX)
    try:
        _check_numbers(args)
        files = config_files(args.data, args.config)
        ids = config_ids(files)[:args.limit]
        questions = {row["id"]: row for row in load_questions(args.data)}
        answer = baseline_answerer(name, questions.values(), args.seed)
        answered = read_answered(args.out, model)
        _check_baseline_file(args.out, answer, questions)
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except (PredictError, BaselineError, OSError) as error:
        flag = "--model " if name not in BASELINES else ""
        print(f"error: {flag}{error}", file=sys.stderr)
        return 2
    todo = [i for i in ids if i not in answered]
    how = f"seed {args.seed}" if name == "random" else \
        f"letter {most_frequent_letter(questions.values())}, the commonest answer among the build's MCQs"
    print(f"{len(ids)} questions in config '{args.config}', {len(ids) - len(todo)} already in {args.out}; "
          f"answering {len(todo)} with {model} ({how}; no model or server is asked)", file=sys.stderr)
    with args.out.open("a", encoding="utf-8") as answers:
        for row_id in todo:
            record = {"id": row_id, "prediction": answer(questions[row_id]), "model": model,
                      "prompt_version": PROMPT_VERSION, "usage": None, "latency_s": 0.0}
            answers.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"answered {len(todo)} with {model}, failed 0 → {args.out}")
    return 0


# ---------------------------------------------------------------- command line


def check_base_url(url: str | None) -> None:
    """A typo in --base-url is a one-line error before any question (the URL is not echoed: it may hold
    credentials). None means the client's default, api.openai.com."""
    if url is None:
        return
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - reading the port checks its range (ValueError)
    except ValueError as error:
        raise PredictError(f"--base-url is not a usable URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PredictError("--base-url is not a usable URL (expected http(s)://host[:port]/path, "
                           "e.g. http://localhost:8000/v1)")


EPILOG = """\
examples:
  # no model, no server: a reference baseline (also baseline:most-frequent)
  %(prog)s --model baseline:random --data medcmr --out preds.jsonl
  # a model served behind an OpenAI-compatible API, e.g. `vllm serve Qwen/Qwen2.5-VL-7B-Instruct`
  %(prog)s --model Qwen/Qwen2.5-VL-7B-Instruct --base-url http://localhost:8000/v1 --out preds.jsonl
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `predict` flags and help; model, URL and key also come from MEDCMR_PREDICT_* / OPENAI_* variables."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keeps the examples' lines
    parser.add_argument("--model", help="model name as the endpoint knows it (default: MEDCMR_PREDICT_MODEL); "
                        "baseline:random, baseline:most-frequent or baseline:longest-option run a reference "
                        "baseline with no model or server (most-frequent answers the build's commonest answer "
                        "letter, computed from the answers as a majority-class baseline does; longest-option the "
                        f"letter of the longest option; open questions get {OPEN_PLACEHOLDER!r})")
    parser.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 "
                        "(default: MEDCMR_PREDICT_BASE_URL, else OPENAI_BASE_URL, else api.openai.com)")
    parser.add_argument("--api-key", help="API key (better: MEDCMR_PREDICT_API_KEY or OPENAI_API_KEY); "
                        "never printed or written")
    parser.add_argument("--out", type=Path, required=True, help="predictions JSONL, appended and resumed (required)")
    parser.add_argument("--data", type=Path, default=Path("medcmr"), help="built dataset folder (default: medcmr)")
    parser.add_argument("--config", default="all",
                        help="dataset config, e.g. mcq, long_tail, causal_open (default: all)")
    parser.add_argument("--limit", type=int, help="only the first N questions of the config (default: all)")
    parser.add_argument("--blind", action="store_true", help="ask without the image (the same prompt, the image "
                        "part removed): how much the text alone answers (default: off)")
    parser.add_argument("--circular", action="store_true", help="ask each MCQ in the 5 rotations of its options "
                        "(the rotation stated per line); score with `score --circular` (default: off)")
    parser.add_argument("--concurrency", type=int, default=PREDICT_CONCURRENCY,
                        help=f"requests in flight (default: {PREDICT_CONCURRENCY})")
    parser.add_argument("--max-tokens", type=int, default=PREDICT_MAX_TOKENS,
                        help=f"max tokens per answer (default: {PREDICT_MAX_TOKENS})")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0)")
    parser.add_argument("--image-max-side", type=int, default=DEFAULT_IMAGE_MAX_SIDE,
                        help="downscale images whose longer side exceeds this, aspect kept; 0 = never "
                        f"(default: {DEFAULT_IMAGE_MAX_SIDE})")
    parser.add_argument("--timeout", type=float, help="seconds per request "
                        f"(default: MEDCMR_PREDICT_TIMEOUT, else {PREDICT_TIMEOUT_S:g})")
    parser.add_argument("--retries", type=int, help="retries per request on 408/429/5xx/connection errors, "
                        f"with backoff (default: MEDCMR_PREDICT_MAX_RETRIES, else {PREDICT_MAX_RETRIES})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of baseline:random; the same seed writes the same file (default: 0)")


def _check_numbers(args: argparse.Namespace) -> None:
    """Each number in its range; the error names the flag and the value given."""
    ranges = (("--concurrency", args.concurrency, 1), ("--max-tokens", args.max_tokens, 1),
              ("--limit", args.limit or 0, 0), ("--retries", args.retries or 0, 0), ("--image-max-side", args.image_max_side, 0))
    for flag, value, lowest in ranges:
        if value < lowest:
            raise PredictError(f"{flag} must be ≥ {lowest}, got {value}")
    if args.timeout is not None and args.timeout <= 0:
        raise PredictError(f"--timeout must be > 0, got {args.timeout:g}")


def run(args: argparse.Namespace) -> int:
    """Answer every question of the config not yet in `--out`; 0 when all are answered."""
    try:
        endpoint = Endpoint.from_settings(Settings.from_env().predict, base_url=args.base_url, model=args.model,
                                          api_key=args.api_key, timeout=args.timeout, max_retries=args.retries)
    except SettingsError as error:  # a malformed MEDCMR_PREDICT_* variable
        print(f"error: {error}", file=sys.stderr)
        return 2
    if (endpoint.model or "").startswith(BASELINE_PREFIX):
        return run_baseline(args, endpoint.model)
    try:
        if not endpoint.configured:
            raise PredictError("no model endpoint: give --model and --base-url (or MEDCMR_PREDICT_MODEL "
                               "and MEDCMR_PREDICT_BASE_URL; an API key alone means api.openai.com)")
        check_base_url(endpoint.base_url)
        _check_numbers(args)
        files = config_files(args.data, args.config)
        ids = config_ids(files)[:args.limit]
        settings = AskSettings(args.concurrency, args.max_tokens, args.temperature, args.image_max_side,
                               blind=args.blind, circular=args.circular)
        if args.circular:  # each MCQ in its five rotations; open questions have no options to turn
            ids = [f"{i}@{r}" for i in ids if i.startswith("mcq-") for r in range(len(LETTERS))]
        answered = read_answered(args.out, endpoint.model, settings.mode())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        errors_path(args.out).unlink(missing_ok=True)
    except (PredictError, OSError) as error:  # OSError: an --out that is a folder, or under a file
        print(f"error: {error}", file=sys.stderr)
        return 2
    todo = [i for i in ids if i not in answered]
    mode = " without images (--blind)" if args.blind else ""
    mode += " in five rotations each (--circular)" if args.circular else ""
    print(f"{len(ids)} questions in config '{args.config}'{mode}, {len(ids) - len(todo)} already in {args.out}; "
          f"asking {len(todo)} of model {endpoint.model} at {endpoint.host} ({args.concurrency} at a time)",
          file=sys.stderr)
    with tqdm(total=len(todo), unit="q", desc="predict", dynamic_ncols=True, file=sys.stderr) as bar:
        def progress(summary: Summary) -> None:
            bar.update(1)
            if summary.failed:
                bar.set_postfix(failed=summary.failed, refresh=False)

        try:
            summary = asyncio.run(predict(iter_jobs(files, todo), endpoint, args.out, settings, progress))
        except KeyboardInterrupt:
            print(f"\ninterrupted: answers so far are saved in {args.out}; rerun the same command to continue",
                  file=sys.stderr)
            return 130
    print(f"answered {summary.answered} in {summary.elapsed_s:.1f} s, failed {summary.failed}; tokens: "
          f"{summary.prompt_tokens:,} prompt, {summary.completion_tokens:,} completion → {args.out}")
    if summary.fatal:
        print(f"stopped early, the endpoint refused: {summary.fatal}; check --model, --base-url and the "
              "API key, then rerun the same command", file=sys.stderr)
        return 1
    if summary.failed:
        print(f"{summary.failed} question(s) failed (reasons in {errors_path(args.out)}); "
              "rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0

