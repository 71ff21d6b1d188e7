"""Bulk judging: the judge's requests in the OpenAI Batch API's JSONL format, run by the Batch API
(OpenAI or any compatible server) or by `vllm run-batch` on the user's GPUs, and read back into the
same verdict cache and results document as online judging.

Each line asks exactly what an online call asks (`judge.llm.request_body`) and each reply is read by
the same rules (`judge.llm.read_reply`): one verdict carrying the request's nonce, else the answer is
asked again with a fresh nonce (in the next batch), at most MAX_TRIES times; a line answered with
HTTP 400 is asked again in the next response format, as online. A request's nonce is derived from
a random seed kept in the batch folder and its `custom_id` (`question id:cache key:request number`):
a rewritten requests file is byte-identical, a results file can be read on any later run, and the
author of an answer still cannot know the nonce. The folder holds:

    state.json      the seed, the Batch API's batches (ids and host, never a key) and the answers
                    that needed more than one request
    requests.jsonl  the last requests written: what the Batch API was given, or what to give
                    `vllm run-batch -i requests.jsonl -o results.jsonl --model MODEL`
    results.jsonl   where that run's output is read from, in any order (or files given as `results`)

A batch still running blocks the next one, so a rerun never submits twice. A batch that ended
short (expired, failed, cancelled) has its finished part read; the rest is sent again at once
(`resubmit_unfinished`, the command line) or fails with the reason (the Space retries it later).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import openai
from openai.types.chat import ChatCompletion

from core.files import atomic_write

from .cache import cache_key
from .endpoint import Endpoint
from .estimate import Estimate, estimate
from .llm import (JUDGE_PROMPT_VERSION, MAX_TRIES, RESPONSE_FORMATS, JudgeCall, add_usage, build_messages, gave_up,
                  http_error, read_reply, request_body)
from .score import OnDone, Work
from .screen import JudgeInput

URL = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
ENDED = frozenset({"completed", "expired", "failed", "cancelled"})
Lines = list[tuple[str, dict]]  # (where it was read, one output line)


class BatchError(RuntimeError):
    """A batch cannot be written, sent or read; the message names the file or batch and why."""


@dataclass
class Tries:
    """An answer that needed more than one request: the next request's number and response format,
    its replies without a verdict so far and the tokens they cost."""

    number: int = 0
    format: int = 0
    reasks: int = 0
    usage: dict = field(default_factory=dict)


@dataclass
class BatchState:
    """What a batch folder remembers between runs (`state.json`)."""

    folder: Path
    seed: str = field(default_factory=lambda: secrets.token_hex(32))
    format: int = 0  # the weakest response format the endpoint needed; kept for later requests, as online
    tries: dict[str, Tries] = field(default_factory=dict)  # cache key -> requests beyond the first
    batches: list[dict] = field(default_factory=list)  # the Batch API's batches, oldest first

    @classmethod
    def load(cls, folder: Path) -> "BatchState":
        path = folder / "state.json"
        if not path.exists():
            return cls(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(folder, seed=data["seed"], format=data["format"], batches=data["batches"],
                       tries={key: Tries(**value) for key, value in data["tries"].items()})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BatchError(f"{path}: not a batch state this kit wrote ({type(exc).__name__}); "
                             "move it away to start the batch over") from None

    def save(self) -> None:
        """Replace state.json whole: a crash leaves the old state or the new one, never half."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "seed": self.seed, "format": self.format, "batches": self.batches,
                "tries": {key: asdict(value) for key, value in self.tries.items()}}
        atomic_write(self.folder / "state.json", json.dumps(data, indent=1) + "\n")

    def nonce(self, custom_id: str) -> str:
        """The request's nonce: unpredictable without the seed, the same whenever it is rewritten."""
        return hmac.new(bytes.fromhex(self.seed), custom_id.encode(), hashlib.sha256).hexdigest()[:16]

    def request(self, model: str, question: dict, prepared: JudgeInput, key: str) -> dict:
        """The Batch API line asking for an answer's verdict: the body online judging sends."""
        tries = self.tries.get(key, Tries())
        custom_id = f"{question['id']}:{key}:{tries.number}"
        messages = build_messages(question, prepared.text, self.nonce(custom_id))
        mode = RESPONSE_FORMATS[max(self.format, tries.format)]
        return {"custom_id": custom_id, "method": "POST", "url": URL, "body": request_body(model, messages, mode)}


def judge_folder(base: Path, endpoint: Endpoint) -> Path:
    """A batch folder under `base` for this judge alone: after a change of judge, the new one
    starts its own batches instead of waiting on the old judge's."""
    return base / hashlib.sha256(f"{endpoint.model}@{endpoint.host}".encode()).hexdigest()[:12]


def read_lines(where: str, text: str) -> Lines:
    """The lines of a Batch API or `vllm run-batch` output file. A last line cut off (a run that
    was stopped while writing) is skipped; any other line that is not an output line is an error."""
    lines: Lines = []
    rows = text.splitlines()
    for number, row in enumerate(rows, 1):
        if not row.strip():
            continue
        try:
            line = json.loads(row)
        except json.JSONDecodeError as exc:
            if number == len(rows) and not text.endswith("\n"):
                break
            raise BatchError(f"{where} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            raise BatchError(f"{where} line {number}: not a batch output line (no custom_id)")
        lines.append((f"{where} line {number}", line))
    return lines


def _request_of(custom_id: str) -> tuple[str, int] | None:
    """(cache key, request number) of one of our custom ids, else None."""
    _, key, number = (["", ""] + custom_id.rsplit(":", 2))[-3:]
    return (key, int(number)) if len(key) == 64 and number.isdigit() else None


def _line_error(line: dict) -> str:
    """Why an output line holds no reply, in a few words."""
    response = line.get("response") or {}
    status, body = response.get("status_code"), response.get("body")
    error = line.get("error") or (body.get("error") if isinstance(body, dict) else None)
    while isinstance(error, dict):  # the Batch API's {code, message}; vLLM's {error: {message, ...}}
        error = error.get("error") or error.get("message") or error.get("code")
    parts = [http_error(status)] if isinstance(status, int) and status != 200 else []
    parts += [str(error)[:200]] if error else []
    return ": ".join(parts) or "no reply for this request"


def _api(endpoint: Endpoint, what: str, call: Callable, /, *args, **kwargs):
    """One Batch API call; its failure becomes a BatchError naming the host, never the key."""
    try:
        return call(*args, **kwargs)
    except openai.APIStatusError as exc:
        hint = ("; vLLM's server has no Batch API: use --batch file and `vllm run-batch`"
                if exc.status_code == 404 and what.startswith("uploading") else "")
        detail = f"HTTP {exc.status_code}: {str(exc)[:300]}{hint}"
    except openai.APIError as exc:  # connection errors and timeouts, after the client's retries
        detail = f"{type(exc).__name__}: {str(exc)[:300]}"
    raise BatchError(endpoint.redact(f"the Batch API at {endpoint.host}: {what} failed ({detail})"))


@dataclass
class BatchJudging:
    """A judge step of `score_submission` (`judge.score.JudgeStep`) that judges in bulk.

    `batch-api`: the requests go to the Batch API at the endpoint; a later call reads the batch
    once it ended. `batch-file`: they are written to requests.jsonl for `vllm run-batch`, whose
    output (`results`, default results.jsonl in the folder) a later call reads. `announce` hears
    the estimate before anything is sent; `say` hears what happened and what to do next."""

    folder: Path
    engine: str = "batch-api"
    results: Sequence[Path] = ()
    resubmit_unfinished: bool = True
    announce: Callable[[Estimate], None] | None = None
    say: Callable[[str], None] = lambda text: None

    @property
    def needs_endpoint(self) -> bool:
        return self.engine == "batch-api"

    def running(self, endpoint: Endpoint) -> bool:
        """Whether the last batch sent is still at the judge: one look, so a caller that polls need
        not score the submission again to learn that nothing has changed."""
        sent = [entry for entry in BatchState.load(self.folder).batches if entry["id"] and not entry["read"]]
        if not sent or not self.needs_endpoint:
            return False
        client = endpoint.blocking_client()
        try:
            batch = _api(endpoint, f"checking batch {sent[-1]['id']}", client.batches.retrieve, sent[-1]["id"])
        finally:
            client.close()
        return batch.status not in ENDED

    def __call__(self, endpoint: Endpoint, work: Work, concurrency: int, on_done: OnDone) -> bool | None:
        state = BatchState.load(self.folder)
        pending = {cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text): (question, prepared)
                   for question, prepared in work}
        client = endpoint.blocking_client() if self.needs_endpoint else None
        try:
            lines, running, short = self._poll(state, client, endpoint) if client else (self._read_files(), None, None)
            unfinished, seen = self._read(state, lines, pending, on_done)
            if short:  # the batch's reason first; an answer it left without any line is unfinished too
                unfinished = {key: f"{short}: {unfinished[key]}" if key in unfinished else short
                              for key in pending if key in unfinished or key not in seen}
            if unfinished and not self.resubmit_unfinished:
                for key, reason in unfinished.items():
                    question, prepared = pending.pop(key)
                    tries = state.tries.get(key, Tries())
                    on_done(question, prepared, JudgeCall(error=reason, usage=tries.usage, reasks=tries.reasks))
            if running is not None:
                self.say(f"batch {running['id']} at {endpoint.host}: {running['status']}, "
                         f"{running.get('done', 0)} of {running['requests']} requests done; run the same command "
                         "again later to read it")
            elif pending:
                self._send(state, client, endpoint, pending)
            state.save()
        finally:
            if client is not None:
                client.close()
        return RESPONSE_FORMATS[state.format] != "plain"

    def _poll(self, state: BatchState, client: openai.OpenAI,
              endpoint: Endpoint) -> tuple[Lines, dict | None, str | None]:
        """The lines of the batches that ended since the last call, the batch still running (if
        any), and why an ended batch stopped short (None when every one completed)."""
        lines: Lines = []
        running, short = None, None
        for entry in (entry for entry in state.batches if not entry["read"]):
            if (entry["host"], entry["model"]) != (endpoint.host, endpoint.model):
                raise BatchError(f"{self.folder / 'state.json'}: batch {entry['id'] or entry['input_file_id']} asks "
                                 f"{entry['model']} at {entry['host']}, not {endpoint.model} at {endpoint.host}; "
                                 "use that judge, or another batch folder")
            if entry["id"] is None:  # uploaded, but the run stopped before the batch was started
                self._start(state, client, endpoint, entry, look_first=True)
            batch = _api(endpoint, f"checking batch {entry['id']}", client.batches.retrieve, entry["id"])
            counts = batch.request_counts
            entry.update(status=batch.status, done=counts.completed if counts else 0)
            if batch.status not in ENDED:
                running = entry
                continue
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    text = _api(endpoint, f"reading file {file_id} of batch {entry['id']}",
                                lambda: client.files.content(file_id).text)
                    lines += read_lines(f"batch {entry['id']} file {file_id}", text)
            entry["read"] = True
            if batch.status != "completed":
                why = next((error.message for error in (batch.errors.data or []) if error.message), None) \
                    if batch.errors else None
                short = (f"batch {entry['id']} {batch.status}{': ' + why if why else ''} with {entry['done']} of "
                         f"{entry['requests']} requests done")
                self.say(short + (": the finished part is read, the rest goes in a new batch"
                                  if self.resubmit_unfinished else ": the finished part is read"))
        return lines, running, short

    def _read_files(self) -> Lines:
        """The lines of the given results files (default: results.jsonl in the folder, if there)."""
        paths = list(self.results) or [path for path in [self.folder / "results.jsonl"] if path.is_file()]
        lines: Lines = []
        for path in paths:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except FileNotFoundError:
                raise BatchError(f"{path}: not found (the output file of `vllm run-batch`)") from None
            except UnicodeDecodeError:
                raise BatchError(f"{path}: not UTF-8 text (the output file of `vllm run-batch`)") from None
            lines += read_lines(str(path), text)
        return lines

    def _read(self, state: BatchState, lines: Lines, pending: dict, on_done: OnDone) -> tuple[dict[str, str], set[str]]:
        """Apply output lines to the pending answers (an outcome removes one); returns why answers
        are not done (a line's error) and the answers that had a line for their current request."""
        unfinished: dict[str, str] = {}
        seen: set[str] = set()
        verdicts = again = 0
        for where, line in lines:
            request = _request_of(line["custom_id"])
            if request is None or request[0] not in pending:
                continue  # not ours, or an answer with a verdict already
            key, number = request
            tries = state.tries.get(key, Tries())
            if number != tries.number:
                continue  # the reply to an earlier request of this answer
            seen.add(key)
            response = line.get("response") or {}
            status, body = response.get("status_code"), response.get("body")
            mode = max(state.format, tries.format)
            if status == 200 and isinstance(body, dict):
                verdicts += self._reply(state, key, line["custom_id"], body, pending, on_done)
            elif status == 400 and mode < len(RESPONSE_FORMATS) - 1:  # rejected the format: the next one
                state.tries[key] = Tries(tries.number + 1, mode + 1, tries.reasks, tries.usage)
            elif status == 400:
                question, prepared = pending.pop(key)
                on_done(question, prepared, JudgeCall(error=http_error(400), usage=tries.usage, reasks=tries.reasks))
            else:
                unfinished[key] = _line_error(line)
            again += key in pending and key not in unfinished
        if lines:
            first = f" (the first: {next(iter(unfinished.values()))})" if unfinished else ""
            self.say(f"read {len(lines)} output lines: {verdicts} verdicts, {again} answers to ask again, "
                     f"{len(unfinished)} requests without a reply{first}")
        return unfinished, seen

    def _reply(self, state: BatchState, key: str, custom_id: str, body: dict, pending: dict, on_done: OnDone) -> bool:
        """Read one reply by the online rules; True when it gave a verdict. Without one, the answer
        is asked again with a fresh nonce, up to MAX_TRIES requests in all."""
        tries = state.tries.get(key, Tries())
        completion = ChatCompletion.construct(**body)
        usage = dict(tries.usage)
        add_usage(usage, completion)
        raw, reading = read_reply(completion, state.nonce(custom_id))
        state.format = max(state.format, tries.format)  # a reply came in this format: keep it, as online
        if reading.criteria is None and tries.reasks + 1 < MAX_TRIES:
            state.tries[key] = Tries(tries.number + 1, tries.format, tries.reasks + 1, usage)
            return False
        question, prepared = pending.pop(key)
        if reading.criteria is None:
            state.tries[key] = Tries(tries.number + 1, tries.format)  # a later run asks afresh
            on_done(question, prepared, gave_up(raw, usage, reading.problem))
            return False
        state.tries.pop(key, None)
        on_done(question, prepared, JudgeCall(criteria=reading.criteria, rationale=reading.rationale, raw=raw,
                                              usage=usage, reasks=tries.reasks))
        return True

    def _send(self, state: BatchState, client: openai.OpenAI | None, endpoint: Endpoint, pending: dict) -> None:
        """Write the pending answers' requests; with the Batch API, upload them and start the batch."""
        requests = [state.request(endpoint.model, question, prepared, key)
                    for key, (question, prepared) in pending.items()]
        path = self.folder / "requests.jsonl"
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(path, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in requests))
        if self.announce is not None:
            self.announce(estimate((line["body"] for line in requests), batch=True))
        if client is None:
            self.say(f"{path}: {len(requests)} judge requests; run them, then run the same command again to "
                     f"read the results:\n  vllm run-batch -i {path} -o {self.folder / 'results.jsonl'} "
                     f"--model {endpoint.model}")
            return
        uploaded = _api(endpoint, f"uploading {path}", client.files.create, file=(path.name, path.read_bytes()),
                        purpose="batch")  # bytes, not a handle: a retried upload sends the whole file again
        entry = {"id": None, "input_file_id": uploaded.id, "host": endpoint.host, "model": endpoint.model,
                 "requests": len(requests),
                 "status": "uploaded", "done": 0, "read": False}
        state.batches.append(entry)
        state.save()
        self._start(state, client, endpoint, entry)
        self.say(f"batch {entry['id']} sent to {endpoint.host}: {len(requests)} requests ({path}); run the same "
                 f"command again later to read it (the Batch API finishes within {COMPLETION_WINDOW})")

    def _start(self, state: BatchState, client: openai.OpenAI, endpoint: Endpoint, entry: dict, *,
               look_first: bool = False) -> None:
        """Start the batch of an uploaded file, once: never retried blindly (a lost reply may hide a
        started batch), and after a stop between upload and start, looked up by its file first."""
        batch = None
        if look_first:
            listed = _api(endpoint, "listing batches", client.batches.list, limit=100)
            batch = next((b for b in listed.data if b.input_file_id == entry["input_file_id"]), None)
        if batch is None:
            batch = _api(endpoint, f"starting the batch of file {entry['input_file_id']}",
                         client.with_options(max_retries=0).batches.create, input_file_id=entry["input_file_id"],
                         endpoint=URL, completion_window=COMPLETION_WINDOW, metadata={"medcmr": JUDGE_PROMPT_VERSION})
        entry.update(id=batch.id, status=batch.status)
        state.save()
