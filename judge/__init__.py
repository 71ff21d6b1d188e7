"""Med-CMR judge: score a predictions file the way the paper does, with everything to reproduce it.

MCQ outputs go through a deterministic extraction cascade; open answers through an LLM judge
on any OpenAI-compatible endpoint (cached). `python -m judge score --help` for the command.
"""
from .endpoint import Endpoint
from .extract import EXTRACTION_VERSION, extract_choice
from .llm import JUDGE_PROMPT_VERSION
from .predictions import PredictionsError, check_predictions, read_predictions
from .report import summary_table
from .score import DEFAULT_CONCURRENCY, score_submission

__all__ = [
    "DEFAULT_CONCURRENCY", "EXTRACTION_VERSION", "Endpoint", "JUDGE_PROMPT_VERSION", "PredictionsError",
    "check_predictions", "extract_choice", "read_predictions", "score_submission", "summary_table",
]
