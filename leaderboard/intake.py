"""Taking a submission in: every check before any judge call, then the submission committed to the store.

`Intake.submit` checks the metadata, the file's size and type, the model name, the submitter's
rate limit and repeats. Then, when one of the `check_concurrency` checks is free and no upload waits,
it reads the file through the judge's reader and its companion runs and stores it all before it
answers (a bad file is refused at once). In a burst, the upload's bytes are kept instead (a bounded
waiting room in the store) and checked in turn by the intake's checker threads: the receipt says
"checking (3 ahead)", and a file the check refuses shows its reason in the status. A kept upload
survives a restart. A submitter whose files keep being refused is refused at once, the file unread.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlparse

import judge
import judge.predictions
from core.memory import trim_heap
from core.settings import Settings
from core.vocabulary import MODEL_WEIGHTS, OPEN_WEIGHTS
from leaderboard import companions, identity, reference, reproduce
from leaderboard.records import SubmissionStatus
from leaderboard.store import Store, StoreUnavailable, WaitingRoomFull, _duration

log = logging.getLogger(__name__)

# Ours (JSONL, JSON list, CSV) and the other tools' files as they write them: VLMEvalKit's .xlsx/.tsv,
# lmms-eval's samples_*.jsonl. The reader tells them apart by content.
PREDICTION_FORMATS = judge.predictions.FORMATS
MISSING_SHOWN = 20
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
IDLE_POLL_S = 1.0  # how often an idle checker looks for uploads kept by another process
HANDED_ON = 2  # checked predictions kept for the MCQ lane (each a whole file's, parsed)
# A model as a runner serves it: a Hub id (`Qwen/Qwen2.5-VL-7B-Instruct`) or a vendor's name (`gpt-4o-2024-08-06`).
_RUNNER_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")
TRIM_AFTER_BYTES = 8 * 2**20


class SubmissionError(ValueError):
    """A clear, user-facing message: what is wrong and where."""


class _NotCounted(SubmissionError):
    """A refusal that is not the submitter's doing (busy, storage) or is the refusal limit itself:
    it does not count toward the submitter's refusal limit."""


@dataclass(frozen=True)
class SubmissionMeta:
    model: str                       # required, 1-100 chars
    link: str = ""                   # http(s) URL or empty
    group: str = OPEN_WEIGHTS        # one of MODEL_WEIGHTS
    medical: bool = False            # medical-specialised model?
    params_b: float | None = None    # billions of parameters, or unknown
    description: str = ""            # prompt and generation settings, <= 2000 chars
    public_details: bool = True      # consent to publish per-question outputs
    runner_model: str = ""           # the model as a runner serves it (Hub id or vendor name), to reproduce it
    related_to: str = ""             # an earlier submission id or a board model this one is related to
    relation: str = ""               # how: one of RELATIONS (required with `related_to`)


# How a submission may be related to a row already on the board: declared, such rows may agree far beyond
# chance without being held as copies of each other (leaderboard.integrity).
RELATIONS = ("rerun with other settings", "fine-tune", "same family")


@contextmanager
def _storage_refusal() -> Iterator[None]:
    """A store that cannot write refuses the submission in words, with nothing queued."""
    try:
        yield
    except StoreUnavailable as err:
        raise _NotCounted(f"The server cannot store submissions right now ({err.cause}); "
                          "nothing was queued, try later.") from None


def _checked_meta(meta: SubmissionMeta) -> dict:
    """The metadata as stored, or a SubmissionError naming the field."""
    model = (meta.model or "").strip()
    if not model or len(model) > 100:
        raise SubmissionError("Model name: required, 1 to 100 characters.")
    try:
        identity.check_characters("Model name", model)
        identity.check_characters("Description", meta.description or "", identity.DESCRIPTION_ALLOWED)
    except identity.IdentityError as error:
        raise SubmissionError(str(error)) from None
    link = (meta.link or "").strip()
    if link:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 500 \
                or _CONTROL_CHARS.search(link) or " " in link:
            raise SubmissionError("Link: give an http(s) URL (at most 500 characters) or leave it empty.")
    if meta.group not in MODEL_WEIGHTS:
        raise SubmissionError("Weights: choose " + " or ".join(f'"{kind}"' for kind in MODEL_WEIGHTS) + ".")
    if not isinstance(meta.medical, bool):
        raise SubmissionError("Domain: `medical` is true (medical-specialised) or false (general).")
    params_b = meta.params_b
    if params_b is not None:
        try:
            params_b = float(params_b)
        except (TypeError, ValueError):
            raise SubmissionError("Params (B): a number of billions of parameters, or empty.") from None
        if not math.isfinite(params_b) or not 0 < params_b <= 100_000:
            raise SubmissionError("Params (B): a positive number of billions of parameters "
                                  "(e.g. 7 or 0.5), or empty when unknown.")
    description = meta.description or ""
    if len(description) > 2000:
        raise SubmissionError(f"Description: at most 2000 characters (got {len(description)}).")
    if not isinstance(meta.public_details, bool):
        raise SubmissionError("Public details: true (per-question outputs may be published) or false.")
    runner_model = (meta.runner_model or "").strip()
    if runner_model and not _RUNNER_MODEL.fullmatch(runner_model):
        raise SubmissionError("Model as a runner serves it: a Hub id (e.g. Qwen/Qwen2.5-VL-7B-Instruct) or a "
                              "vendor's model name, at most 200 letters, digits and . _ : / @ + -, or empty.")
    related_to, relation = (meta.related_to or "").strip(), (meta.relation or "").strip()
    if related_to or relation:
        if len(related_to) > 100 or not related_to:
            raise SubmissionError("Related to: an earlier submission's id (sub-…) or a model on the board, "
                                  "at most 100 characters.")
        if relation not in RELATIONS:
            raise SubmissionError("Relation: choose " + ", ".join(f'"{kind}"' for kind in RELATIONS) + ".")
        try:
            identity.check_characters("Related to", related_to)
        except identity.IdentityError as error:
            raise SubmissionError(str(error)) from None
    return {"model": model, "link": link, "weights": meta.group, "medical": meta.medical,
            "params_b": params_b, "description": description, "public_details": meta.public_details,
            "runner_model": runner_model, "related_to": related_to, "relation": relation}


def read_predictions(source: Path, shown: str, known_ids: frozenset[str]) -> list[dict]:
    """Read predictions through the judge's reader (the one place it is called: the intake's check and
    the worker's scoring), naming the upload as the submitter called it (its extension is the format
    hint); unknown and duplicate ids stop the read at the first offender, so a hostile file costs
    bounded work."""
    try:
        return judge.read_predictions(source, name=shown, known_ids=known_ids)
    except judge.PredictionsError as err:
        raise SubmissionError(str(err)) from None


class CheckedReads:
    """The predictions a check just read, kept for the MCQ lane so a file is parsed once, not twice; at most
    `size` of them (the newest), taken once each: in a burst the lane reads the older files again."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._reads: dict[str, list[dict]] = {}
        self._lock = threading.Lock()

    def put(self, submission_id: str, predictions: list[dict]) -> None:
        with self._lock:
            self._reads[submission_id] = predictions
            while len(self._reads) > self._size:
                del self._reads[next(iter(self._reads))]

    def take(self, submission_id: str) -> list[dict] | None:
        with self._lock:
            return self._reads.pop(submission_id, None)


class Intake:
    """The submit side: checks, the per-submitter refusal counter, and adding to the store.

    `paper_models` are names a submission may not take; `judged` says whether open answers will be
    judged (the receipt says what happens next); `on_queued` is called once a submission is stored."""

    def __init__(self, store: Store, questions: list[dict], settings: Settings, *, paper_models: Iterable[str],
                 judged: bool, on_queued: Callable[[], None], checked_reads: CheckedReads | None = None) -> None:
        self.store = store
        self.questions = questions
        self.settings = settings
        self._known_ids = frozenset(question["id"] for question in questions)
        self._paper_models = list(paper_models)
        self._judged = judged
        self._on_queued = on_queued
        self.checked_reads = checked_reads or CheckedReads(HANDED_ON)
        self._checks = threading.BoundedSemaphore(settings.check_concurrency)  # file checks running at once
        self._checkers: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._claimed_lock = threading.Lock()
        self._claimed: set[str] = set()  # kept uploads a thread of this process is checking
        self._refusals_lock = threading.Lock()
        self._refusals: dict[str, deque[float]] = {}  # submitter -> times of counted refusals, in the window

    def submit(self, file_path: Path, meta: SubmissionMeta, submitter: str, client: str | None = None, *,
               given_up: bool = False, blind: Path | None = None, circular: Path | None = None) -> dict:
        """Check a predictions file and its metadata, then queue it; nothing is judged here.
        A refusal is a SubmissionError, logged as one line (what, who, why). Refusals are counted
        per submitter, and per `client` address too when the submitter is not signed in, so one
        visitor's bad files never lock out the others. `given_up`: nothing writes to the file again
        (a Gradio upload), so the store may link it instead of copying it. `blind` and `circular`:
        the same model's companion runs (`leaderboard.companions`), checked and stored with it."""
        who = (submitter or "").strip() or "anonymous"
        counted = who if not client else f"{who} from {client}"
        try:
            self._check_refusals(counted)
            return self._submit(file_path, meta, who, given_up, {"blind": blind, "circular": circular}, counted)
        except SubmissionError as error:
            if not isinstance(error, _NotCounted):
                self._count_refusal(counted)
            log.info("submission refused: model %r from %r: %s", getattr(meta, "model", None), who, error)
            raise

    def _check_refusals(self, submitter: str) -> None:
        """Refuse at once, reading nothing, a submitter whose sent files and forms were refused
        `refusal_limit` times within its window (a flood of bad files costs one dictionary look-up)."""
        limit, window = self.settings.refusal_limit
        now = time.monotonic()
        with self._refusals_lock:
            times = self._refusals.get(submitter)
            while times and times[0] <= now - window:
                times.popleft()
            if times is not None and not times:
                del self._refusals[submitter]
            elif times is not None and len(times) >= limit:
                wait_min = max(1, int((times[0] + window - now) // 60) + 1)
                raise _NotCounted(f"Too many refused submissions: at most {limit} per {_duration(window)} "
                                  f"per submitter; fix the file and try again in about {wait_min} min.")

    def _count_refusal(self, submitter: str) -> None:
        with self._refusals_lock:
            self._refusals.setdefault(submitter, deque()).append(time.monotonic())

    def _submit(self, file_path: Path, meta: SubmissionMeta, submitter: str, given_up: bool,
                runs: dict[str, Path | None], counted: str) -> dict:
        fields = _checked_meta(meta)
        shown = Path(str(file_path)).name  # the upload's name: shown in messages, never a path
        path = Path(file_path)
        size = self._check_size(path, shown)
        file_format = path.suffix.lower()
        if file_format not in PREDICTION_FORMATS:
            raise SubmissionError(f"{shown}: unsupported file type {file_format or '(none)'!r}; upload "
                                  ".jsonl, .json or .csv with `id` and `prediction`, or VLMEvalKit's .xlsx/.tsv "
                                  "or lmms-eval's samples_*.jsonl as they are.")
        extra = {kind: (Path(given), Path(str(given)).name) for kind, given in runs.items() if given}
        for kind, (companion, name) in extra.items():
            size += self._check_size(companion, f"{companions.LABELS[kind]} {name}")
        try:
            identity.check_model_name(fields["model"], self._paper_models,
                                      self.store.models_of_others(submitter), reference.REFERENCE_MODELS.values())
        except identity.IdentityError as error:
            raise SubmissionError(str(error)) from None
        if fields["related_to"]:
            fields["related_to"] = self._related_row(fields["related_to"])
        sha256 = _digest(path)
        with _storage_refusal():
            try:
                self.store.precheck(submitter, fields["model"], sha256, self.settings.rate_limit)
            except ValueError as err:
                raise SubmissionError(str(err)) from None
        reproduction = reproduce.initial(self.settings.runners, fields.pop("runner_model"))
        row = {**fields, "id": f"sub-{uuid.uuid4().hex[:12]}", "submitter": submitter, "file_name": shown,
               "file_format": file_format, "file_path": path, "file_sha256": sha256, "size": size,
               "counted": counted, "reproduction": reproduction}
        # Checked now when a check is free and nobody waits (the refusal comes back at once); else kept.
        if self.store.waiting_count() == 0 and self._checks.acquire(blocking=False):
            try:
                row.update(self._checked(row, extra))
            finally:
                self._checks.release()
                if size >= TRIM_AFTER_BYTES:
                    trim_heap()
            with _storage_refusal():
                try:
                    self.store.add(row, rate_limit=self.settings.rate_limit, link=given_up)
                except ValueError as err:
                    raise SubmissionError(str(err)) from None
            self._on_queued()
            return self._receipt(row)
        row["companions"] = {kind: {"path": companion, "sha256": _digest(companion), "file_name": name}
                             for kind, (companion, name) in extra.items()}
        return self._take(row, given_up)

    def _take(self, row: dict, given_up: bool) -> dict:
        """Keep an upload to be checked in turn (its bytes stored now); the receipt says how many wait ahead."""
        count, mib = self.settings.waiting_room
        with _storage_refusal():
            try:
                ahead = self.store.take(row, rate_limit=self.settings.rate_limit, room=(count, int(mib * 2**20)),
                                        link=given_up)
            except WaitingRoomFull as err:
                raise _NotCounted(f"The server is full: {err}. Nothing was kept; try again in a few minutes.") \
                    from None
            except ValueError as err:
                raise SubmissionError(str(err)) from None
        self._wake.set()
        message = (f"Taken as {row['id']}: {checking_label(ahead)}. It is checked in turn, then scored; "
                   "if the check refuses it, the status below says why.")
        return {"id": row["id"], "model": row["model"], "status": SubmissionStatus.CHECKING, "message": message,
                "coverage": None, "position": ahead + 1}

    def _checked(self, row: dict, extra: dict[str, tuple[Path, str]]) -> dict:
        """What checking adds to a row: its coverage and its checked companion runs (a SubmissionError if not)."""
        try:
            coverage = self._check_file(row["file_path"], row["file_name"], row["id"])
            checked = {kind: companions.check(kind, companion, name, self.questions, row["file_sha256"])
                       for kind, (companion, name) in extra.items()}
        except companions.CompanionError as error:
            raise SubmissionError(str(error)) from None
        return {"coverage": coverage, "companions": checked}

    def _receipt(self, row: dict) -> dict:
        coverage, checked = row["coverage"], row["companions"]
        missing = coverage.get("missing") or 0
        message = (f"Queued as {row['id']}: {coverage.get('given', 0)} of "
                   f"{coverage.get('expected', 0)} questions answered")
        message += f"; {missing} missing count as wrong." if missing else "."
        for kind, companion in checked.items():
            message += f" With its {companions.LABELS[kind]} ({companion['answered']} MCQs)."
        if not self._judged:
            message += " No judge is configured: MCQ is scored now, open answers wait (awaiting judge)."
        else:
            message += " MCQ reaches the board in seconds; open answers are judged after."
        message += reproduce.receipt_words(row["reproduction"], self.settings)
        return {"id": row["id"], "model": row["model"], "status": SubmissionStatus.QUEUED, "message": message,
                "coverage": coverage, "position": self.store.queue_position(row["id"])}

    # -- checking in turn: the uploads kept while every check was busy --------------------------

    def start(self) -> None:
        """Check kept uploads in turn (also those a crash or another process left), in
        `check_concurrency` threads that share the checks' slots with `submit`."""
        if self._checkers:
            return
        self._stop.clear()
        for number in range(self.settings.check_concurrency):
            thread = threading.Thread(target=self._check_in_turn, name=f"intake-check-{number}", daemon=True)
            self._checkers.append(thread)
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop checking; an upload whose check is cut short waits and is checked on the next start."""
        self._stop.set()
        self._wake.set()
        for thread in self._checkers:
            thread.join(timeout)
        self._checkers = []

    def _check_in_turn(self) -> None:
        try:
            while not self._stop.is_set():
                row = self._claim()
                if row is None:
                    self._wake.wait(IDLE_POLL_S)
                    self._wake.clear()
                    continue
                try:
                    self._check_kept(row)
                finally:
                    with self._claimed_lock:
                        self._claimed.discard(row["id"])
        finally:
            self.store.close()

    def _claim(self) -> dict | None:
        """The oldest kept upload no thread here is checking, or None."""
        try:
            with self._claimed_lock:
                row = self.store.waiting(skip=frozenset(self._claimed))
                if row is not None:
                    self._claimed.add(row["id"])
            return row
        except StoreUnavailable as err:
            log.warning("cannot read the uploads waiting to be checked (%s)", err.cause)
            return None

    def _check_kept(self, row: dict) -> None:
        """Check one kept upload: queued for scoring, or refused with its reason (counted against its sender)."""
        extra = {kind: (c["path"], c["file_name"]) for kind, c in row["companions"].items()}
        with self._checks:
            try:
                row.update(self._checked(row, extra))
                refusal = None
            except SubmissionError as error:
                refusal = str(error)
            finally:
                if row["size"] >= TRIM_AFTER_BYTES:
                    trim_heap()
        try:
            if refusal is None:
                if self.store.admit(row):
                    self._on_queued()
                return
            if self.store.refuse(row["id"], refusal):
                self._count_refusal(row.get("counted") or row["submitter"])
                log.info("submission refused after its check: model %r from %r: %s", row["model"],
                         row["submitter"], refusal)
        except StoreUnavailable as err:  # it stays waiting and is checked again
            log.warning("submission %s: cannot record its check (%s); it is checked again", row["id"], err.cause)
            self._stop.wait(2.0)

    def _related_row(self, named: str) -> str:
        """The board row a declared relation names (a submission id, or a model's name as shown), or a
        SubmissionError saying that nothing on the board is called so."""
        if self.store.record(named) is not None:
            return named
        key = identity.identity_key(named)
        for model in [*self._paper_models, *self.store.models()]:
            if identity.identity_key(model) == key:
                return model
        raise SubmissionError(f"Related to: no submission id or model on the board is called {named!r}.")

    def _check_size(self, path: Path, shown: str) -> int:
        """The file's size in bytes, once it is known to be a file within the limit."""
        if not path.is_file():
            raise SubmissionError(f"{shown}: no file was uploaded (an upload is used for one submission "
                                  "and then deleted: choose the file again).")
        size = path.stat().st_size
        if size == 0:
            raise SubmissionError(f"{shown}: the file is empty.")
        limit = self.settings.max_file_bytes
        if size > limit:
            raise SubmissionError(f"{shown}: {size / 2**20:.1f} MiB is over the {limit / 2**20:g} MiB limit.")
        return size

    def _check_file(self, path: Path, shown: str, submission_id: str) -> dict:
        predictions = read_predictions(path, shown, self._known_ids)
        try:
            coverage = judge.check_predictions(predictions, self.questions)
        except judge.PredictionsError as err:
            raise SubmissionError(f"{shown}: {err}") from None
        if not coverage.given:
            raise SubmissionError(f"{shown}: no prediction matches a question id of this dataset "
                                  "(ids look like mcq-0 or open-12).")
        self.checked_reads.put(submission_id, predictions)
        return {"expected": coverage.expected, "given": coverage.given, "missing": coverage.missing,
                "unknown": coverage.unknown, "missing_sample": coverage.missing_ids[:MISSING_SHOWN]}


def checking_label(ahead: int) -> str:
    """"checking (3 ahead)": where a kept upload stands, as its receipt and the status say it."""
    return f"checking ({ahead} ahead)" if ahead else "checking (next)"


def _digest(path: Path) -> str:
    with Path(path).open("rb") as data:
        return hashlib.file_digest(data, "sha256").hexdigest()
