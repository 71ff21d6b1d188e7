"""Scoring one submission: MCQ extraction, open answers through the judge (cached), one document.

This is the single entry point the command line, the leaderboard and the Space share.
"""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from core.settings import JUDGE_CONCURRENCY

from core.results import Coverage, DatasetInfo, JudgeInfo, Results
from core.vocabulary import weighted_score

from .cache import VerdictCache, cache_key
from .endpoint import Endpoint
from .extract import EXTRACTION_VERSION, extract_choice
from .llm import CRITERIA, JUDGE_PROMPT_VERSION, TEMPERATURE, Judge, JudgeCall, screen_answer
from .predictions import check_predictions, coverage
from .report import mcq_results, open_results

DEFAULT_CONCURRENCY = JUDGE_CONCURRENCY


def _mcq_item(question: dict, prediction: str | None) -> dict:
    extracted = None if prediction is None else extract_choice(prediction, question["options"])
    status = "missing" if prediction is None else ("answered" if extracted else "unparsed")
    return {"id": question["id"], "question_type": "mcq", "dimension": question.get("dimension"),
            "status": status, "prediction": prediction, "extracted": extracted,
            "answer": question["answer"].strip().upper(),
            "correct": extracted is not None and extracted == question["answer"].strip().upper()}


def _open_item(question: dict, status: str, verdict: dict | None = None, *, cached: bool = False,
               prediction: str | None = None) -> dict:
    """One open item; `prediction` is the model's output, so the details explain every score."""
    verdict = verdict or {}
    criteria = verdict.get("criteria")
    return {"id": question["id"], "question_type": "open", "dimension": question.get("dimension"),
            "status": status, "prediction": prediction, "criteria": criteria,
            "score": round(weighted_score(criteria), 4) if criteria else None,
            "rationale": verdict.get("rationale"), "raw": verdict.get("raw"), "error": verdict.get("error"),
            "flag": verdict.get("flag"), "cached": cached}


_ZERO = {"criteria": {name: 0.0 for name in CRITERIA}, "rationale": "empty answer: scored 0 without a judge call"}


def _flagged(flag: str) -> dict:
    """An answer that addresses the grader scores 0 on every criterion, never what it asked for.

    Scoring it 0 rather than failing it keeps an attacker from dropping hard items from the mean.
    """
    return {"criteria": {name: 0.0 for name in CRITERIA}, "flag": flag,
            "rationale": "flagged: the answer addresses the grader; scored 0 on every criterion without a judge call"}


def _run(coroutine):
    """asyncio.run, also from a thread that already runs an event loop (e.g. an async web handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _judge_all(endpoint: Endpoint, work: list[tuple[dict, str]], concurrency: int,
                     on_done: Callable[[dict, str, JudgeCall], None]) -> bool:
    """Judge every (question, answer) with at most `concurrency` calls in flight; True if JSON mode held."""
    client = endpoint.client()
    judge = Judge(client, endpoint.model)
    pending = iter(work)

    async def worker() -> None:
        for question, answer in pending:
            on_done(question, answer, await judge.judge(question, answer))

    try:
        async with asyncio.TaskGroup() as group:  # the first error (e.g. from `progress`) cancels the rest
            for _ in range(max(1, min(concurrency, len(work)))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    finally:
        await client.close()
    return judge.json_mode


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
) -> dict:
    """Score `predictions` against `questions` (rows of `release.built.load_questions`); the results
    document as JSON-ready dict (`core.results.Results.from_dict` reads it back typed).

    Raises PredictionsError before any judge call if the predictions cannot be scored. Open
    answers are judged only when `endpoint` is configured (else counted in `open.awaiting`);
    verdicts are cached in `cache_path` as they arrive. `progress(done, total)` counts items;
    an exception it raises stops the run at once (verdicts so far stay cached) and propagates.
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

    judging = endpoint is not None and endpoint.configured
    cache = VerdictCache(cache_path) if cache_path and judging else None
    open_items: dict[str, dict] = {}
    work: list[tuple[dict, str]] = []
    for question in (q for q in scope if q["question_type"] == "open"):
        answer = answers.get(question["id"])
        if answer is None or not answer.strip():
            open_items[question["id"]] = _open_item(question, "missing" if answer is None else "empty", _ZERO,
                                                    prediction=answer)
        elif flag := screen_answer(answer):
            open_items[question["id"]] = _open_item(question, "flagged", _flagged(flag), prediction=answer)
        elif cache and (verdict := cache.get(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, answer))):
            open_items[question["id"]] = _open_item(question, "judged", verdict, cached=True, prediction=answer)
        elif judging:
            work.append((question, answer))
            continue
        else:
            open_items[question["id"]] = _open_item(question, "awaiting", prediction=answer)
        done += 1
    report(done, total)
    cached = sum(item["cached"] for item in open_items.values())

    tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    reasks = 0

    def on_done(question: dict, answer: str, call: JudgeCall) -> None:
        nonlocal done, reasks
        reasks += call.reasks
        for name in tokens:
            tokens[name] += call.usage.get(name, 0)
        verdict = {"criteria": call.criteria, "rationale": call.rationale, "raw": call.raw, "error": call.error}
        if call.criteria is not None:
            if cache:
                cache.put(cache_key(endpoint.model, JUDGE_PROMPT_VERSION, question, answer),
                          endpoint.model, JUDGE_PROMPT_VERSION, question["id"], verdict)
            open_items[question["id"]] = _open_item(question, "judged", verdict, prediction=answer)
        else:
            open_items[question["id"]] = _open_item(question, "failed", verdict, prediction=answer)
        done += 1
        report(done, total)

    json_mode = None
    try:
        if work:
            json_mode = _run(_judge_all(endpoint, work, concurrency, on_done))
    finally:
        if cache:
            cache.close()

    ordered_open = [open_items[q["id"]] for q in scope if q["question_type"] == "open"]
    if isinstance(dataset, dict):
        dataset = DatasetInfo(**dataset)
    results = Results(
        mcq_only=mcq_only,
        mcq=mcq_results(mcq_items, by_id, EXTRACTION_VERSION),
        open=open_results(ordered_open, by_id),
        coverage=Coverage(**coverage(set(answers), scope)),
        judge=JudgeInfo(host=endpoint.host if judging else None, model=endpoint.model if judging else None,
                        prompt_version=JUDGE_PROMPT_VERSION, temperature=TEMPERATURE, json_mode=json_mode,
                        concurrency=concurrency, calls=len(work) + reasks, reasks=reasks, cached=cached,
                        tokens=tokens),
        dataset=dataset or DatasetInfo(),
    )
    if details_path:
        _write_details(Path(details_path), mcq_items + ordered_open)
    return results.to_dict()


def _write_details(path: Path, items: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    temporary.replace(path)
