"""Scoring one submission: MCQ extraction, open answers through the judge (cached), one document.

This is the single entry point the command line, the leaderboard and the Space share. Every
output is normalised first (`judge.answers`: chat-template format and reasoning blocks removed,
tools' failure markers and empty outputs not answered); open answers then lose the spans that
address the grader (`judge.screen`) and the judge grades the rest.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from core.results import Coverage, DatasetInfo, ItemResult, ItemStatus, JudgeInfo, Results
from core.settings import JUDGE_CONCURRENCY
from core.vocabulary import weighted_score

from .answers import NORMALISATION_VERSION, normalise_answer
from .cache import VerdictCache, cache_key
from .endpoint import Endpoint
from .estimate import Estimate, estimate_answers
from .extract import EXTRACTION_VERSION, extract_choice
from .llm import CRITERIA, JUDGE_PROMPT_VERSION, TEMPERATURE, Judge, JudgeCall
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


_ZERO = {"criteria": {name: 0.0 for name in CRITERIA}, "rationale": "no answer: scored 0 without a judge call"}


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
) -> Results:
    """Score `predictions` against `questions` (rows of `release.built.load_questions`): the typed
    results document, its per-question `items` attached (`Results.to_dict()` is `results.json`).

    Raises PredictionsError before any judge call if the predictions cannot be scored. Open
    answers are judged only when `endpoint` is configured (else counted in `open.awaiting`), by
    `judge_step` (default: `OnlineJudging()`); verdicts are cached in `cache_path` as they arrive.
    `progress(done, total)` counts items; an exception it raises stops the run at once (verdicts
    so far stay cached) and propagates.
    """
    check_predictions(predictions, questions)
    scope = [q for q in questions if not mcq_only or q["question_type"] == "mcq"]
    in_scope = {q["id"] for q in scope}
    answers = {p["id"].strip(): p["prediction"] or "" for p in predictions if p["id"].strip() in in_scope}
    by_id = {q["id"]: q for q in scope}
    total, done = len(scope), 0
    report = progress or (lambda done, total: None)
    report(0, total)

    mcq_items = [_mcq_item(q, answers.get(q["id"])) for q in scope if q["question_type"] == "mcq"]
    done += len(mcq_items)
    report(done, total)

    step = judge_step or OnlineJudging()
    judging = endpoint is not None and bool(endpoint.model) and (endpoint.configured or not step.needs_endpoint)
    cache = VerdictCache(cache_path) if cache_path and judging else None
    open_items: dict[str, ItemResult] = {}
    work: list[tuple[dict, JudgeInput]] = []
    for question in (q for q in scope if q["question_type"] == "open"):
        prediction = answers.get(question["id"])
        if prediction is None:
            open_items[question["id"]] = _open_item(question, ItemStatus.MISSING, None, _ZERO)
            done += 1
            continue
        prepared = judge_input(prediction)
        how = {"flags": list(prepared.flags), "normalisation": list(prepared.normalisation)}
        if prepared.text is None:
            open_items[question["id"]] = _open_item(question, ItemStatus.NOT_ANSWERED, prediction,
                                                    {**_ZERO, "error": prepared.not_answered}, **how)
        elif cache and (verdict := cache.get(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question,
                                                       prepared.text))):
            open_items[question["id"]] = _open_item(question, _judged_status(prepared), prediction, verdict,
                                                    cached=True, **how)
        elif judging:
            work.append((question, prepared))
            continue
        else:
            open_items[question["id"]] = _open_item(question, ItemStatus.AWAITING, prediction, **how)
        done += 1
    report(done, total)
    cached = sum(item.cached for item in open_items.values())

    tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    reasks = calls = 0

    def on_done(question: dict, prepared: JudgeInput, call: JudgeCall) -> None:
        nonlocal done, reasks, calls
        reasks += call.reasks
        calls += 1 + call.reasks
        for name in tokens:
            tokens[name] += call.usage.get(name, 0)
        verdict = {"criteria": call.criteria, "rationale": call.rationale, "raw": call.raw, "error": call.error}
        if call.criteria is not None and cache:
            cache.put(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, prepared.text),
                      endpoint.model, JUDGE_PROMPT_VERSION, question["id"], verdict)
        status = _judged_status(prepared) if call.criteria is not None else ItemStatus.FAILED
        open_items[question["id"]] = _open_item(question, status, answers[question["id"]], verdict,
                                                flags=list(prepared.flags), normalisation=list(prepared.normalisation))
        done += 1
        report(done, total)

    json_mode = None
    try:
        if work:
            json_mode = step(endpoint, work, concurrency, on_done)
    finally:
        if cache:
            cache.close()
    for question, prepared in work:  # what a batch left at the judge still awaits it
        open_items.setdefault(question["id"], _open_item(
            question, ItemStatus.AWAITING, answers[question["id"]], flags=list(prepared.flags),
            normalisation=list(prepared.normalisation)))

    ordered_open = [open_items[q["id"]] for q in scope if q["question_type"] == "open"]
    if isinstance(dataset, dict):
        dataset = DatasetInfo(**dataset)
    items = mcq_items + ordered_open
    results = Results(
        mcq_only=mcq_only,
        mcq=mcq_results(mcq_items, by_id, EXTRACTION_VERSION),
        open=open_results(ordered_open, by_id),
        coverage=Coverage(**coverage(set(answers), scope),
                          not_answered=sum(item.status is ItemStatus.NOT_ANSWERED for item in items),
                          normalised=sum(bool(item.normalisation) for item in items)),
        judge=JudgeInfo(host=endpoint.host if judging and step.needs_endpoint else None,
                        model=endpoint.model if judging else None, engine=step.engine,
                        prompt_version=JUDGE_PROMPT_VERSION, temperature=TEMPERATURE, json_mode=json_mode,
                        concurrency=concurrency, calls=calls, reasks=reasks, cached=cached,
                        tokens=tokens, screen_version=SCREEN_VERSION, normalisation_version=NORMALISATION_VERSION),
        dataset=dataset or DatasetInfo(),
        items=items,
    )
    if details_path:
        write_details(Path(details_path), items)
    return results


def write_details(path: Path, items: list[ItemResult]) -> None:
    """The details file (one JSON line per item), replaced whole so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    temporary.replace(path)
