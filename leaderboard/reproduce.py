"""Reproduced rows: a runner the operator trusts re-asks a seeded sample of each submission whose model it serves.

A submitter whose model one of the operator's runners serves (`core.settings.RunnerSettings`) names it with
the upload. Once the file is scored, the reproduce lane (`leaderboard.worker`) re-asks a random sample of its
questions on that runner, with exactly what `predict` sends (`judge.ask`), and compares the answers
(`judge.reproduce.compare`). The sample is seeded by the submission id and a secret kept in the home
(`reproduce.secret`, never shown), so it is chosen after the upload and cannot be foreseen. An endpoint the
submitter controls would prove nothing against a deliberate copier, so only the operator's runners count,
and each is called through `judge.outbound.AddressGuard`.

States (`core.results.ReproductionState`): **reproduced** (with the agreement), **not reproduced** (held:
unranked, the reason on the row), **self-reported** (no runner named, or none serves it), **reproduction
failed** (the reason; tried again with backoff; answers received are kept, so a retry asks only the rest),
**over budget** (the day's runner calls are spent: it waits for the next UTC day). The budget counts each
attempt's questions once, also across a restart.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import judge
from core.results import ItemResult, Reproduction, ReproductionState
from core.settings import RunnerSettings, Settings
from judge.ask import AskSettings, ask_all
from judge.endpoint import Endpoint
from judge.outbound import AddressGuard, RefusedAddress, Resolver, system_resolver
from judge.reproduce import compare, reason, sample_ids
from judge.score import run_async
from leaderboard.details import SUFFIX, DetailsError, exists, read_details, write_all
from leaderboard.store import Store, _duration, utc_now
from release.hub import ShardImages

log = logging.getLogger(__name__)

SECRET_FILE = "reproduce.secret"
ATTEMPT_DEADLINE_S = 1800.0  # one attempt's re-asking; past it the attempt fails and is tried again later
RETRY_MAX_S = 24 * 3600.0
RANK_ONLY_REPRODUCED = "this board ranks only reproduced rows"
State = ReproductionState


def runner_for(runners: tuple[RunnerSettings, ...], model: str) -> RunnerSettings | None:
    """The first runner that serves `model` (the operator lists them in order of preference)."""
    return next((runner for runner in runners if model and runner.serves(model)), None)


def initial(runners: tuple[RunnerSettings, ...], runner_model: str) -> dict | None:
    """A new submission's reproduction: pending on the runner that serves the named model, else self-reported
    with the reason; None when no model was named (self-reported, nothing stored)."""
    if not runner_model:
        return None
    runner = runner_for(runners, runner_model)
    if runner is None:
        return {"runner_model": runner_model, "state": State.SELF_REPORTED.value,
                "reason": f"no runner this Space trusts serves {runner_model}"}
    return {"runner_model": runner_model, "state": State.PENDING.value, "runner": runner.name,
            "reason": f"waits for runner {runner.name} to re-ask a sample once the file is scored"}


def receipt_words(reproduction: dict | None, settings: Settings) -> str:
    """What the receipt says of the submission's reproduction (a sentence, with a leading space)."""
    if reproduction is None:
        return " No runner was named: the row is self-reported." if settings.runners else ""
    if reproduction["state"] == State.SELF_REPORTED:
        return f" {reproduction['reason'][0].upper()}{reproduction['reason'][1:]}: the row is self-reported."
    minimum, fraction = settings.reproduce_sample
    return (f" Runner {reproduction['runner']} will re-ask a random sample (max({minimum}, {fraction:.0%}) of the "
            f"questions) as {reproduction['runner_model']} once the file is scored, to mark the row reproduced "
            "or not.")


def runner_details(details_path: Path) -> Path:
    """Where the runner's answers to a submission's sample are kept, scored (beside the file's own details)."""
    path = Path(details_path)
    return path.with_name(path.name.removesuffix(SUFFIX).removesuffix(".jsonl") + ".runner" + SUFFIX)


def home_secret(home: Path) -> bytes:
    """The home's secret for seeding samples: made once (32 random bytes, readable by the owner only)."""
    path = Path(home) / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as out:
        out.write(os.urandom(32))
        out.flush()
        os.fsync(out.fileno())
    return path.read_bytes()


def sample_seed(secret: bytes, submission_id: str) -> str:
    """The seed of a submission's sample: unknowable without the home's secret, fixed for the submission."""
    return hmac.new(secret, submission_id.encode(), hashlib.sha256).hexdigest()


def utc_day(timestamp: float | None = None) -> str:
    """The UTC date the budget counts in."""
    return datetime.fromtimestamp(time.time() if timestamp is None else timestamp, timezone.utc).strftime("%Y-%m-%d")


def next_utc_day(timestamp: float | None = None) -> float:
    """When the next UTC day (and its budget) begins."""
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, timezone.utc)
    return (moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).timestamp()


@dataclass(frozen=True)
class ReproductionView:
    """What the board, the status and the mirror show of one submission's reproduction."""

    state: State
    reason: str = ""
    runner: str = ""
    runner_model: str = ""
    agreement: float | None = None

    @property
    def label(self) -> str:
        return self.state.label


SELF_REPORTED = ReproductionView(State.SELF_REPORTED, "no runner named with the upload")


class _Attempt:
    """One attempt's bookkeeping: answers as they arrive, failures, and when to stop asking."""

    def __init__(self, store: Store, submission_id: str, planned: int, should_stop: Callable[[], bool]) -> None:
        self.store, self.submission_id, self.should_stop = store, submission_id, should_stop
        self.failures: list[str] = []
        self.deadline = time.monotonic() + ATTEMPT_DEADLINE_S
        self.most_failures = max(8, planned // 10)  # a runner that fails this often is not answering

    def answer(self, record: dict) -> None:
        self.store.add_reproduction_answer(self.submission_id, record["id"], record["prediction"])

    def failed(self, row_id: str, message: str) -> None:
        self.failures.append(f"{row_id}: {message}")

    def stop(self) -> bool:
        return self.should_stop() or len(self.failures) >= self.most_failures or time.monotonic() > self.deadline


class Reproductions:
    """The reproduce lane's work and what the board, the status and Explore read of it."""

    def __init__(self, store: Store, questions: list[dict], details_path: Callable[[str], Path], settings: Settings,
                 *, home: Path, data_dir: Path, images: ShardImages | None, judge_endpoint: Endpoint | None,
                 cache_path: Path | None, resolve: Resolver | None = None) -> None:
        self.store, self.settings, self.home, self.data_dir = store, settings, Path(home), Path(data_dir)
        self.questions = {q["id"]: q for q in questions}
        self.details_path, self._images = details_path, images
        self.judge_endpoint, self.cache_path = judge_endpoint, cache_path
        self.guard = AddressGuard(settings.runners_allow_private, resolve or system_resolver)

    @property
    def images(self) -> ShardImages:
        """The build's images (the Space's remote shards, else the local build's), opened when first needed."""
        if self._images is None:
            self._images = ShardImages(self.data_dir, cache_dir=self.home / "image_cache")
        return self._images

    @property
    def enabled(self) -> bool:
        """Whether this Space has runners (else every row is self-reported and the lane does not run)."""
        return bool(self.settings.runners)

    def refresh(self) -> None:
        """Follow the runners and budget configured now (called when this process takes the home): a named model
        a new runner serves waits its turn; one whose runner is gone is self-reported; one over budget is due
        again (the operator may have raised the budget; if not, it waits again)."""
        for submission_id, row in self.store.reproductions().items():
            runner = runner_for(self.settings.runners, row["runner_model"])
            waiting = row["state"] in (State.PENDING, State.FAILED, State.OVER_BUDGET, State.RUNNING)
            if row["state"] == State.SELF_REPORTED and runner is not None and not row["compared"]:
                self.store.set_reproduction(submission_id, State.PENDING.value, runner=runner.name,
                                            reason=initial(self.settings.runners, row["runner_model"])["reason"])
            elif waiting and runner is None:
                self.store.set_reproduction(submission_id, State.SELF_REPORTED.value,
                                            reason=f"no runner this Space trusts serves {row['runner_model']} any more")
            elif row["state"] == State.OVER_BUDGET:
                self.store.set_reproduction(submission_id, State.OVER_BUDGET.value, reason=row["reason"])

    # -- the lane --------------------------------------------------------------------------

    def run(self, claimed: dict, should_stop: Callable[[], bool]) -> str | None:
        """Re-ask one submission's sample and record the outcome; None when the lanes stopped meanwhile (it stays
        running and resumes at the next start, its answers and its charge kept)."""
        submission_id, model = claimed["submission_id"], claimed["runner_model"]
        runner = runner_for(self.settings.runners, model)
        if runner is None:
            return self._record(submission_id, State.SELF_REPORTED,
                                reason=f"no runner this Space trusts serves {model}")
        try:
            items = {item.id: item for item in read_details(self.details_path(submission_id))}
        except (DetailsError, OSError) as error:
            return self.failed(claimed, runner=runner, why=f"the file's scored answers cannot be read ({error})")
        seed = sample_seed(home_secret(self.home), submission_id)
        sample = sample_ids(list(items.values()), len(self.questions), seed, *self.settings.reproduce_sample)
        started = time.monotonic()
        missing = [i for i in sample if i not in self.store.reproduction_answers(submission_id)]
        if missing:
            outcome = self._ask(claimed, runner, missing, should_stop)
            if outcome is not None:
                return outcome
        if should_stop():
            return None
        return self._compare(claimed, runner, items, sample, time.monotonic() - started)

    def _ask(self, claimed: dict, runner: RunnerSettings, missing: list[str],
             should_stop: Callable[[], bool]) -> str | None:
        """Ask the runner the sample's questions not answered yet; a state when this attempt ends here."""
        submission_id, attempt = claimed["submission_id"], claimed["attempt"]
        try:
            self.guard.check_url(runner.base_url)
        except RefusedAddress as refused:
            return self.failed(claimed, runner=runner, why=f"runner {runner.name} is refused: {refused}")
        budget = self.settings.reproduce_budget
        if not self.store.charge_reproduction(submission_id, attempt, len(missing), budget, utc_day()):
            used = self.store.reproduction_calls(utc_day())
            return self._record(submission_id, State.OVER_BUDGET, runner=runner.name, retry_ts=next_utc_day(),
                                reason=f"today's budget of {budget:,} runner calls is spent ({used:,} used; this "
                                       f"needs {len(missing):,}): it waits for the next day's (UTC)")
        endpoint = Endpoint(runner.base_url, claimed["runner_model"], runner.api_key, timeout=runner.timeout,
                            max_retries=runner.max_retries, guard=self.guard)
        attempt_state = _Attempt(self.store, submission_id, len(missing), should_stop)
        summary = run_async(ask_all(self._rows(missing), endpoint, AskSettings(concurrency=runner.concurrency),
                                    on_answer=attempt_state.answer, on_failure=attempt_state.failed,
                                    should_stop=attempt_state.stop))
        if should_stop():
            return None  # the reservation stands: the next start asks the rest under it
        self.store.refund_reproduction(submission_id, attempt, len(missing) - summary.asked)
        if summary.fatal or attempt_state.failures or summary.answered < len(missing):
            why = summary.fatal or next(iter(attempt_state.failures), "the attempt ran out of time")
            return self.failed(claimed, runner=runner, why=f"runner {runner.name} answered {summary.answered} of "
                                                            f"{len(missing)} questions ({why})")
        return None

    def _rows(self, ids: list[str]) -> Iterator[dict]:
        """The questions as `predict` reads them, each with its image's stored bytes (read as it is asked)."""
        for item_id in ids:
            yield {**self.questions[item_id], "image": {"bytes": self.images.image_bytes(item_id)}}

    def _compare(self, claimed: dict, runner: RunnerSettings, items: dict[str, ItemResult], sample: list[str],
                 seconds: float) -> str:
        """Score the runner's answers as a file is scored (the same extraction, judge and cache) and compare."""
        submission_id = claimed["submission_id"]
        answers = self.store.reproduction_answers(submission_id)
        scored = judge.score_submission([{"id": i, "prediction": answers[i]} for i in sample],
                                        [self.questions[i] for i in sample], endpoint=self.judge_endpoint,
                                        cache_path=self.cache_path)
        write_all(runner_details(self.details_path(submission_id)), scored.items)
        judged = self.judge_endpoint is not None
        found = compare(items, {item.id: item for item in scored.items}, sample, judged=judged)
        found.runner, found.model = runner.name, claimed["runner_model"]
        found.calls = self.store.reproduction_charged(submission_id)
        found.seconds, found.finished_at = round(seconds, 3), utc_now()
        found.reason = reason(found, judged)
        state = State(found.state)
        log.info("submission %s: %s", submission_id, found.reason)
        return self._record(submission_id, state, runner=runner.name, reason=found.reason, summary=asdict(found))

    def failed(self, claimed: dict, why: str, runner: RunnerSettings | None = None) -> str:
        """A failed attempt: the reason kept, tried again after a backoff that doubles per failure."""
        wait = min(max(self.settings.retry_failed_after_s, 1.0) * 2 ** claimed["attempt"], RETRY_MAX_S)
        log.warning("submission %s: reproduction failed: %s", claimed["submission_id"], why)
        return self._record(claimed["submission_id"], State.FAILED, runner=runner.name if runner else None,
                            failed=True, retry_ts=time.time() + wait, reason=f"{why}; tried again in {_duration(wait)}")

    def _record(self, submission_id: str, state: State, **fields) -> str:
        self.store.set_reproduction(submission_id, state.value, **fields)
        return state.value

    # -- what is shown -----------------------------------------------------------------------

    def views(self) -> dict[str, ReproductionView]:
        """Submission id -> its reproduction as shown; a submission missing here named no runner (self-reported)."""
        return {submission_id: ReproductionView(State(row["state"]), row["reason"], row["runner"], row["runner_model"],
                                                row["agreement"])
                for submission_id, row in self.store.reproductions().items()}

    def view(self, submission_id: str) -> ReproductionView:
        return self.views().get(submission_id, SELF_REPORTED)

    def holds(self, submission_ids: list[str], views: dict[str, ReproductionView]) -> dict[str, str]:
        """Rows kept unranked and why: not reproduced always; any but reproduced when the operator ranks only
        reproduced rows."""
        holds = {}
        for submission_id in submission_ids:
            shown = views.get(submission_id, SELF_REPORTED)
            if shown.state == State.NOT_REPRODUCED:
                holds[submission_id] = shown.reason
            elif self.settings.rank_reproduced_only and shown.state != State.REPRODUCED:
                holds[submission_id] = f"{shown.label} ({RANK_ONLY_REPRODUCED})"
        return holds

    def runner_items(self, submission_id: str) -> list[ItemResult]:
        """The runner's scored answers to the sample (the evidence Explore shows); [] before any comparison."""
        path = runner_details(self.details_path(submission_id))
        return read_details(path) if exists(path) else []

    def results(self, submission_id: str) -> Reproduction:
        """The reproduction as the results document carries it (typed; the summary once compared)."""
        shown = self.view(submission_id)
        summary = self.store.reproduction_summary(submission_id)
        if summary:
            return Reproduction.from_dict({**summary, "state": shown.state.value, "reason": shown.reason})
        return Reproduction(state=shown.state.value, runner=shown.runner, model=shown.runner_model,
                            reason=shown.reason)

