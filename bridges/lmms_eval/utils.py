"""Med-CMR tasks for lmms-eval: the paper's prompts, one image per question, answers kept for our judge.

Self-contained on purpose: lmms-eval loads this file from `--include_path` and its users do not
have the Med-CMR kit on their path. The prompts must equal `medcmr.format_prompt` (a test in the
kit checks it). The scores lmms-eval prints are a quick look only: MCQ accuracy from a plain
letter reading, and the share of open questions answered. The paper's numbers come from the
kit's judge on the samples file (`--log_samples`): every sample logs the question id and the
answer under its metric, which is how the judge maps lmms-eval's output back to our ids.
"""
from __future__ import annotations

import re

LETTERS = "ABCDE"
_HEAD = ("Please carefully observe this medical image and answer the following question:\n\n"
         "Question: {question}\n\n")
MCQ_PROMPT = (_HEAD + "Options:\nA) {A}\nB) {B}\nC) {C}\nD) {D}\nE) {E}\n\n"
              "Answer only with the option letter (A\u2013E).")
OPEN_PROMPT = (_HEAD + "Think step by step, integrating both visual features and medical knowledge "
               "to reach your conclusion. Then provide the final answer to the question in one short "
               "sentence or a single medical term.\n\nOutput format (Must follow strictly):\n"
               "Reasoning: <visual and diagnostic reasoning process>\nAnswer: <final answer to the question>")
_LEAD_LETTER = re.compile(r"\s*\(?([A-E])\)?(?![A-Za-z])")
# What lmms-eval logs in place of an answer when its request to the model failed.
_REQUEST_FAILED = re.compile(r"\s*\[LMMS_EVAL_REQUEST_FAILED")
_ANSWER_LETTER = re.compile(r"answer\s*(?:is)?\s*[:\uff1a]?\s*\**\(?([A-E])\)?(?![A-Za-z])", re.IGNORECASE)


def medcmr_doc_to_visual(doc: dict) -> list:
    """The question's one image, as RGB (the Hub dataset decodes it to a PIL image)."""
    return [doc["image"].convert("RGB")]


def medcmr_doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The paper's prompt; `pre_prompt`/`post_prompt` from the task's kwargs are added if set."""
    kwargs = lmms_eval_specific_kwargs or {}
    if doc["question_type"] == "mcq":
        text = MCQ_PROMPT.format(question=doc["question"], **dict(zip(LETTERS, doc["options"])))
    else:
        text = OPEN_PROMPT.format(question=doc["question"])
    return f"{kwargs.get('pre_prompt', '')}{text}{kwargs.get('post_prompt', '')}"


def _letter(response: str) -> str | None:
    """A plain reading of the chosen letter: a leading letter, else "Answer: X"."""
    found = _LEAD_LETTER.match(response) or _ANSWER_LETTER.search(response)
    return found.group(1) if found else None


def medcmr_process_results(doc: dict, results: list) -> dict:
    """One sample's metric; its value carries our id and the raw answer for the judge."""
    prediction = results[0] if results else ""
    prediction = prediction if isinstance(prediction, str) else str(prediction)
    logged = {"id": doc["id"], "prediction": prediction, "dimension": doc["dimension"]}
    if doc["question_type"] == "mcq":
        return {"medcmr_mcq_acc": {**logged, "correct": _letter(prediction) == doc["answer"]}}
    answered = bool(prediction.strip()) and not _REQUEST_FAILED.match(prediction)
    return {"medcmr_open_answered": {**logged, "answered": answered}}


def medcmr_mcq_accuracy(results: list[dict]) -> float:
    """Share of MCQ answers whose plain letter reading is the key (the judge's cascade reads more)."""
    return sum(result["correct"] for result in results) / len(results) if results else 0.0


def medcmr_open_answered(results: list[dict]) -> float:
    """Share of open questions with an answer (not empty, not a failed request); judging them needs the kit's
    LLM judge."""
    return sum(result["answered"] for result in results) / len(results) if results else 0.0
