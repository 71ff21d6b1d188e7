"""Scoring one submission: MCQ extraction, open answers through the judge (cached), one document.

This is the single entry point the command line, the leaderboard and the Space share. Every
output is normalised first (`judge.answers`: chat-template format and reasoning blocks removed,
tools' failure markers and empty outputs not answered); open answers then lose the spans that
address the grader (`judge.screen`) and the judge grades the rest.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

from core.results import DatasetInfo, ItemResult, ItemStatus, JudgeInfo, Results, write_details
from core.settings import JUDGE_CONCURRENCY
from core.vocabulary import CRITERION_KEYS, weighted_score

from .answers import NORMALISATION_VERSION, normalise_answer
from .cache import VerdictCache, cache_key
from .endpoint import Endpoint
from .estimate import Estimate, estimate_answers
from .extract import EXTRACTION_VERSION, extract_choice
from .llm import JUDGE_PROMPT_VERSION, TEMPERATURE, Judge, JudgeCall
from .screen import SCREEN_VERSION, JudgeInput, judge_input
from .predictions import check_predictions, coverage
from .report import mcq_results, open_results

DEFAULT_CONCURRENCY = JUDGE_CONCURRENCY
Work = list[tuple[dict, JudgeInput]]  # the answers that need a verdict, with the question each answers
OnDone = Callable[[dict, JudgeInput, JudgeCall], None]


def _mcq_item(question: dict, prediction: str | None) -> ItemResult:
    key = question["answer"].strip().upper()
    item = ItemResult(id=question["id"], question_type="mcq", dimension=question.get("dimension"),
                      status=ItemStatus.MISSING, prediction=prediction, answer=key, correct=False)
    if prediction is None:
        return item
    answer = normalise_answer(prediction)
    item.normalisation = list(answer.steps)
    if answer.not_answered:
        item.status, item.error = ItemStatus.NOT_ANSWERED, answer.not_answered
        return item
    item.extracted = extract_choice(answer.text, question["options"])
    item.status = ItemStatus.ANSWERED if item.extracted else ItemStatus.UNPARSED
    item.correct = item.extracted is not None and item.extracted == key
    return item


def _open_item(question: dict, status: ItemStatus, prediction: str | None, verdict: dict | None = None,
               **extra) -> ItemResult:
    """One open item; `prediction` is the model's output as submitted, so the details explain every score."""
    verdict = verdict or {}
    criteria = verdict.get("criteria")
    return ItemResult(id=question["id"], question_type="open", dimension=question.get("dimension"), status=status,
                      prediction=prediction, criteria=criteria,
                      score=round(weighted_score(criteria), 4) if criteria else None,
                      rationale=verdict.get("rationale"), raw=verdict.get("raw"), error=verdict.get("error"), **extra)


_ZERO = {"criteria": {name: 0.0 for name in CRITERION_KEYS}, "rationale": "no answer: scored 0 without a judge call"}


def run_async(coroutine):
    """asyncio.run, also from a thread that already runs an event loop (e.g. an async web handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _judged_status(prepared: JudgeInput) -> ItemStatus:
    return ItemStatus.FLAGGED if prepared.flags else ItemStatus.JUDGED


def _how(prepared: JudgeInput) -> dict[str, list[str]]:
    """How an answer was prepared for the judge, as its item records it."""
    return {"flags": list(prepared.flags), "normalisation": list(prepared.normalisation)}


async def judge_all(endpoint: Endpoint, work: list[tuple[dict, JudgeInput]], concurrency: int,
                    on_done: Callable[[dict, JudgeInput, JudgeCall], None]) -> bool:
    """Judge every (question, prepared answer) with at most `concurrency` calls in flight; True if JSON mode held."""
    client = endpoint.client()
    judge = Judge(client, endpoint.model)
    pending = iter(work)

    async def worker() -> None:
        for question, prepared in pending:
            on_done(question, prepared, await judge.judge(question, prepared.text))

    try:
        async with asyncio.TaskGroup() as group:  # the first error (e.g. from `progress`) cancels the rest
            for _ in range(max(1, min(concurrency, len(work)))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    finally:
        await client.close()
    return judge.json_mode


class JudgeStep(Protocol):
    """How the answers that need a verdict reach the judge: `OnlineJudging` or a batch
    (`judge.batch.BatchJudging`). It calls `on_done` for each answer it has an outcome for; one it
    leaves (still at the judge) stays awaiting. Returns whether replies were constrained to JSON."""

    engine: str  # recorded as `judge.engine`
    needs_endpoint: bool  # False: only the judge's name is needed (the user runs the requests)

    def __call__(self, endpoint: Endpoint, work: Work, concurrency: int, on_done: OnDone) -> bool | None: ...


@dataclass
class OnlineJudging:
    """Every answer now through the endpoint's chat completions, `concurrency` calls in flight;
    `announce` hears the estimate before the first call."""

    announce: Callable[[Estimate], None] | None = None
    engine: str = "online"
    needs_endpoint: bool = True

    def __call__(self, endpoint: Endpoint, work: Work, concurrency: int, on_done: OnDone) -> bool | None:
        if self.announce is not None:
            self.announce(estimate_answers(endpoint.model, work))
        return run_async(judge_all(endpoint, work, concurrency, on_done))


@dataclass
class Verdicts:
    """What one cached judging pass gave: a verdict per answered question id (criteria None: no readable
    verdict, with the error), which of them came from the cache, and what the calls cost."""

    by_id: dict[str, dict]
    cached: set[str]
    calls: int = 0
    reasks: int = 0
    tokens: dict[str, int] | None = None
    json_mode: bool | None = None


def judge_cached(endpoint: Endpoint, work: Work, *, cache_path: Path | None, concurrency: int,
                 step: JudgeStep | None = None, on_verdict: Callable[[str], None] | None = None) -> Verdicts:
    """The one cache-or-judge loop: each (question, prepared answer) from the verdict cache when it holds one,
    else through `step` (default online), each readable verdict cached as it arrives. `on_verdict(id)` hears
    every verdict, cached or given (for progress); what a batch leaves at the judge has none yet."""
    cache = VerdictCache(cache_path) if cache_path else None
    found = Verdicts({}, set(), tokens={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    pending: Work = []
    try:
        for question, prepared in work:
            verdict = cache.get(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text)) \
                if cache else None
            if verdict:
                found.by_id[question["id"]] = verdict
                found.cached.add(question["id"])
                if on_verdict is not None:
                    on_verdict(question["id"])
            else:
                pending.append((question, prepared))

        def on_done(question: dict, prepared: JudgeInput, call: JudgeCall) -> None:
            found.reasks += call.reasks
            found.calls += 1 + call.reasks
            for name in found.tokens:
                found.tokens[name] += call.usage.get(name, 0)
            verdict = {"criteria": call.criteria, "rationale": call.rationale, "raw": call.raw, "error": call.error,
                       "model": endpoint.model}
            found.by_id[question["id"]] = verdict
            if call.criteria is not None and cache:
                cache.put(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text),
                          endpoint.model, JUDGE_PROMPT_VERSION, question["id"], verdict)
            if on_verdict is not None:
                on_verdict(question["id"])

        if pending:
            found.json_mode = (step or OnlineJudging())(endpoint, pending, concurrency, on_done)
    finally:
        if cache:
            cache.close()
    return found


class _Count:
    """Items done of `total`, told to `progress(done, total)` as they finish."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        self._report = progress or (lambda done, total: None)
        self.done, self.total = 0, total
        self._report(0, total)

    def add(self, finished: int = 1) -> None:
        self.done += finished
        self._report(self.done, self.total)


def score_submission(
    predictions: list[dict],
    questions: list[dict],
    *,
    endpoint: Endpoint | None = None,
    cache_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    details_path: Path | None = None,
    mcq_only: bool = False,
    dataset: DatasetInfo | dict | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    judge_step: JudgeStep | None = None,
    scored_mcq: list[ItemResult] | None = None,
) -> Results:
    """Score `predictions` against `questions` (rows of `release.built.load_questions`): the typed
    results document, its per-question `items` attached (`Results.to_dict()` is `results.json`).

    Raises PredictionsError before any judge call if the predictions cannot be scored. Open
    answers are judged only when `endpoint` is configured (else counted in `open.awaiting`), by
    `judge_step` (default: `OnlineJudging()`); verdicts are cached in `cache_path` as they arrive.
    `progress(done, total)` counts items; an exception it raises stops the run at once (verdicts
    so far stay cached) and propagates. `scored_mcq`: the MCQ items an earlier pass over the same
    predictions scored (the leaderboard's MCQ lane), taken as they are instead of extracted again.
    """
    check_predictions(predictions, questions)
    scope = [q for q in questions if not mcq_only or q["question_type"] == "mcq"]
    in_scope = {q["id"] for q in scope}
    answers = {p["id"].strip(): p["prediction"] or "" for p in predictions if p["id"].strip() in in_scope}
    count = _Count(progress, len(scope))
    mcq_items = scored_mcq if scored_mcq is not None else \
        [_mcq_item(q, answers.get(q["id"])) for q in scope if q["question_type"] == "mcq"]
    count.add(len(mcq_items))

    step = judge_step or OnlineJudging()
    judging = endpoint is not None and bool(endpoint.model) and (endpoint.configured or not step.needs_endpoint)
    open_items, work = _unjudged_open_items(scope, answers)
    count.add(len(open_items))
    verdicts = judge_cached(endpoint, work, cache_path=cache_path, concurrency=concurrency, step=step,
                            on_verdict=lambda question_id: count.add()) if judging and work else Verdicts({}, set())
    open_items |= _judged_open_items(work, answers, verdicts)
    if not judging:
        count.add(len(work))  # awaiting a judge: nothing more to do for them in this run

    ordered_open = [open_items[q["id"]] for q in scope if q["question_type"] == "open"]
    items = mcq_items + ordered_open
    by_id = {q["id"]: q for q in scope}
    results = Results(
        mcq_only=mcq_only,
        mcq=mcq_results(mcq_items, by_id, EXTRACTION_VERSION),
        open=open_results(ordered_open, by_id),
        coverage=replace(coverage(set(answers), scope),
                         not_answered=sum(item.status is ItemStatus.NOT_ANSWERED for item in items),
                         normalised=sum(bool(item.normalisation) for item in items)),
        judge=_judge_info(endpoint if judging else None, step, verdicts, concurrency),
        dataset=DatasetInfo(**dataset) if isinstance(dataset, dict) else dataset or DatasetInfo(),
        items=items,
    )
    if details_path:
        write_details(Path(details_path), items)
    return results


def _unjudged_open_items(scope: list[dict], answers: dict[str, str]) -> tuple[dict[str, ItemResult], Work]:
    """The open items settled without a judge (missing, or no answer: 0) and the answers that need one."""
    settled: dict[str, ItemResult] = {}
    work: Work = []
    for question in (q for q in scope if q["question_type"] == "open"):
        prediction = answers.get(question["id"])
        if prediction is None:
            settled[question["id"]] = _open_item(question, ItemStatus.MISSING, None, _ZERO)
            continue
        prepared = judge_input(prediction)
        if prepared.text is None:
            settled[question["id"]] = _open_item(question, ItemStatus.NOT_ANSWERED, prediction,
                                                 {**_ZERO, "error": prepared.not_answered}, **_how(prepared))
        else:
            work.append((question, prepared))
    return settled, work


def _judged_open_items(work: Work, answers: dict[str, str], verdicts: Verdicts) -> dict[str, ItemResult]:
    """Each answer that needed a judge with its verdict: judged (or flagged), failed, or still awaiting one
    (no judge yet, or a batch still at the judge)."""
    items = {}
    for question, prepared in work:
        verdict = verdicts.by_id.get(question["id"])
        status = (ItemStatus.AWAITING if verdict is None
                  else _judged_status(prepared) if verdict["criteria"] is not None else ItemStatus.FAILED)
        items[question["id"]] = _open_item(question, status, answers[question["id"]], verdict,
                                           cached=question["id"] in verdicts.cached, **_how(prepared))
    return items


def _judge_info(endpoint: Endpoint | None, step: JudgeStep, verdicts: Verdicts, concurrency: int) -> JudgeInfo:
    """Who judged (`endpoint` None: nobody yet), how, and at what cost."""
    return JudgeInfo(host=endpoint.host if endpoint is not None and step.needs_endpoint else None,
                     model=endpoint.model if endpoint is not None else None, engine=step.engine,
                     prompt_version=JUDGE_PROMPT_VERSION, temperature=TEMPERATURE, json_mode=verdicts.json_mode,
                     concurrency=concurrency, calls=verdicts.calls, reasks=verdicts.reasks,
                     cached=len(verdicts.cached),
                     tokens=verdicts.tokens or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                     screen_version=SCREEN_VERSION, normalisation_version=NORMALISATION_VERSION)
