"""Med-CMR judge: score a predictions file the way the paper does, with everything to reproduce it.

MCQ outputs go through a deterministic extraction cascade; open answers through an LLM judge
on any OpenAI-compatible endpoint (cached). `python -m judge score --help` for the command.
The names below are imported on first use, so reading predictions or `--help` never loads the
OpenAI client.
"""
from __future__ import annotations

import importlib

LAZY = {"DEFAULT_CONCURRENCY": "judge.score", "EXTRACTION_VERSION": "judge.extract", "Endpoint": "judge.endpoint",
        "JUDGE_PROMPT_VERSION": "judge.llm", "PredictionsError": "judge.predictions",
        "check_predictions": "judge.predictions", "extract_choice": "judge.extract",
        "read_predictions": "judge.predictions", "score_submission": "judge.score", "summary_table": "judge.report"}

__all__ = sorted(LAZY)


def __getattr__(name: str) -> object:
    if name not in LAZY:
        raise AttributeError(f"module 'judge' has no attribute {name!r}")
    return getattr(importlib.import_module(LAZY[name]), name)
