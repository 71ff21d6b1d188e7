"""Run an OpenAI-compatible vision model over Med-CMR and write a predictions file for the judge.

    python medcmr.py predict --model NAME --base-url URL --out preds.jsonl [--config long_tail]
    python medcmr.py predict --model baseline:random --out preds.jsonl     # no model, no server

This file is the command line: which questions, the predictions file, resuming. What each question
sends (the paper's prompt, the image as a base64 data URL) and the asking itself live in `judge.ask`,
which the leaderboard's reproduction shares. Each answer is appended to `--out` as one JSON line and
flushed at once, so a killed run resumes where it stopped and never asks the same question twice. A
question that keeps failing goes to `<out>.errors.jsonl` instead (never an empty answer in `--out`)
and is asked again by the next run. An address where nothing answers is one line and exit 2, before
any file is written.

Reference baselines need no model and no server: `--model baseline:random` (a uniformly random
letter per multiple-choice question, seeded), `--model baseline:most-frequent` (the build's
commonest answer letter, read from the answers, as every majority-class baseline does) and
`--model baseline:longest-option` (the letter of the longest option, reading no image). All give
open questions the fixed placeholder `OPEN_PLACEHOLDER`, so the judge path runs as for a model.
Their answers come from `judge.baselines`, which the leaderboard's reference rows use too; with
`--circular` they answer each MCQ in its five rotations and with `--blind` their lines say so (a
baseline never sees an image), so every mode of the Space can be tried without a model.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO
from urllib.parse import urlparse

import pyarrow.parquet as pq
from tqdm import tqdm

from core.commands import medcmr
from core.settings import (PREDICT_CONCURRENCY, PREDICT_IMAGE_MAX_SIDE, PREDICT_MAX_RETRIES, PREDICT_MAX_TOKENS,
                           PREDICT_TIMEOUT_S, Settings, SettingsError)
from core.vocabulary import LETTERS, PROMPT_VERSION
from judge.ask import AskSettings, Summary, ask_all, unreachable
from judge.baselines import (BASELINE_PREFIX, BASELINES, OPEN_PLACEHOLDER, BaselineError, baseline_answerer,
                             most_frequent_letter)
from judge.circular import rotated
from judge.endpoint import Endpoint
from release.built import load_questions

DEFAULT_IMAGE_MAX_SIDE = PREDICT_IMAGE_MAX_SIDE


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


class _Appender:
    """Lines appended to a file created at the first line (a run that answers nothing leaves no empty file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def write(self, record: dict) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


async def predict(
    rows: Iterable[dict],
    endpoint: Endpoint,
    out: Path,
    settings: AskSettings,
    progress: Callable[[Summary], None] | None = None,
) -> Summary:
    """Ask the model every row (`judge.ask.ask_all`); append each answer to `out` as it arrives and each
    question that failed, with its reason, to `errors_path(out)`."""
    answers, errors = _Appender(out), _Appender(errors_path(out))
    try:
        return await ask_all(rows, endpoint, settings, progress=progress, on_answer=answers.write,
                             on_failure=lambda row_id, message: errors.write(
                                 {"id": row_id, "model": endpoint.model, "error": message}))
    finally:
        answers.close()
        errors.close()


# ---------------------------------------------------------------- reference baselines


def _baseline_row(key: str, questions: dict[str, dict]) -> dict:
    """The question a line answers (`id`, or `id@rotation` in a circular run: the options turned)."""
    ident, _, rotation = key.partition("@")
    return rotated(questions[ident], int(rotation)) if rotation else questions[ident]


def _check_baseline_file(out: Path, answer: Callable[[dict], str], questions: dict[str, dict]) -> None:
    """Lines already in `out` must be what this baseline answers now: one file holds one seed."""
    if not out.exists():
        return
    for number, line in enumerate(out.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line) if line.strip() else None
        if not record or record["id"] not in questions:
            continue
        expected = answer(_baseline_row(answer_key(record), questions))
        if record["prediction"] != expected:
            raise PredictError(f"{out}: line {number} (id {record['id']}): field 'prediction' is "
                               f"{record['prediction']!r}, this run answers {expected!r} (another --seed, or "
                               "another build?); one predictions file holds one run, so choose another --out")


def _baseline_record(key: str, questions: dict[str, dict], answer: Callable[[dict], str], model: str,
                     mode: dict) -> dict:
    """One line as `predict` writes it for a model, with the mode's fields (and the rotation) it runs in."""
    row = _baseline_row(key, questions)
    record = {"id": row["id"], "prediction": answer(row), "model": model, "prompt_version": PROMPT_VERSION,
              **{name: True for name, on in mode.items() if on}, "usage": None, "latency_s": 0.0}
    if "rotation" in row:
        record["rotation"] = row["rotation"]
    return record


def run_baseline(args: argparse.Namespace, model: str) -> int:
    """Write a reference baseline's answers to every question of the config not yet in `--out` (each MCQ in
    its five rotations with --circular; --blind lines say they were written without the image)."""
    name = model.removeprefix(BASELINE_PREFIX)
    mode = {"blind": args.blind, "circular": args.circular}
    try:
        _check_numbers(args)
        ids = _asked_ids(config_ids(config_files(args.data, args.config))[:args.limit], args.circular)
        questions = {row["id"]: row for row in load_questions(args.data)}
        answer = baseline_answerer(name, questions.values(), args.seed)
        answered = read_answered(args.out, model, mode)
        _check_baseline_file(args.out, answer, questions)
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except (PredictError, BaselineError, OSError) as error:
        flag = "--model " if name not in BASELINES else ""
        print(f"error: {flag}{error}", file=sys.stderr)
        return 2
    todo = [i for i in ids if i not in answered]
    how = f"seed {args.seed}" if name == "random" else \
        f"letter {most_frequent_letter(questions.values())}, the commonest answer among the build's MCQs"
    print(f"{len(ids)} questions in config '{args.config}'{_mode_words(args)}, {len(ids) - len(todo)} already in "
          f"{args.out}; answering {len(todo)} with {model} ({how}; no model or server is asked)", file=sys.stderr)
    with args.out.open("a", encoding="utf-8") as answers:
        for key in todo:
            record = _baseline_record(key, questions, answer, model, mode)
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


def shown_url(url: str | None) -> str:
    """The endpoint's address as it may be printed: scheme, host, port and path (no credentials, no query)."""
    if url is None:
        return "https://api.openai.com/v1"
    parsed = urlparse(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}{parsed.path}"


def _asked_ids(ids: list[str], circular: bool) -> list[str]:
    """The lines a run writes: each question's id, or with --circular each MCQ's five rotations (`id@r`)."""
    if not circular:
        return ids
    return [f"{i}@{r}" for i in ids if i.startswith("mcq-") for r in range(len(LETTERS))]


def _mode_words(args: argparse.Namespace) -> str:
    return (" without images (--blind)" if args.blind else "") + \
        (" in five rotations each (--circular)" if args.circular else "")


def _prepare(args: argparse.Namespace, endpoint: Endpoint) -> tuple[list[str], list[str], AskSettings, set[str]]:
    """Everything checked before a question is asked: (shard files, line keys to write, settings, keys already
    answered); a PredictError or OSError says what is wrong. Nothing is written here."""
    if not endpoint.configured:
        raise PredictError("no model endpoint: give --model and --base-url (or MEDCMR_PREDICT_MODEL "
                           "and MEDCMR_PREDICT_BASE_URL; an API key alone means api.openai.com)")
    check_base_url(endpoint.base_url)
    _check_numbers(args)
    files = config_files(args.data, args.config)
    ids = _asked_ids(config_ids(files)[:args.limit], args.circular)
    settings = AskSettings(args.concurrency, args.max_tokens, args.temperature, args.image_max_side,
                           blind=args.blind, circular=args.circular)
    return files, ids, settings, read_answered(args.out, endpoint.model, settings.mode())


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
        files, ids, settings, answered = _prepare(args, endpoint)
        todo = [i for i in ids if i not in answered]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if todo and (why := asyncio.run(unreachable(endpoint))):
            raise PredictError(f"nothing answers at {shown_url(endpoint.base_url)} ({why}); check --base-url "
                               "and that the server runs")
        errors_path(args.out).unlink(missing_ok=True)
    except (PredictError, OSError) as error:  # OSError: an --out that is a folder, or under a file
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(ids)} questions in config '{args.config}'{_mode_words(args)}, {len(ids) - len(todo)} already in "
          f"{args.out}; asking {len(todo)} of model {endpoint.model} at {endpoint.host} ({args.concurrency} at a "
          "time)", file=sys.stderr)
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
    return _finish(summary, args.out)


def _finish(summary: Summary, out: Path) -> int:
    """The last lines on the terminal and the exit status: 0 all answered, 1 some failed or stopped early."""
    print(f"answered {summary.answered} in {summary.elapsed_s:.1f} s, failed {summary.failed}; tokens: "
          f"{summary.prompt_tokens:,} prompt, {summary.completion_tokens:,} completion → {out}")
    if summary.fatal:
        print(f"stopped early, the endpoint refused: {summary.fatal}; check --model, --base-url and the "
              "API key, then rerun the same command", file=sys.stderr)
        return 1
    if summary.failed:
        print(f"{summary.failed} question(s) failed (reasons in {errors_path(out)}); "
              "rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0
