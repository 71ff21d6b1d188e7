"""The About tab: the benchmark, its prompts and scoring, rendered from the vocabulary."""
from __future__ import annotations

from collections import Counter

import gradio as gr

from leaderboard.service import Leaderboard
from space.render import about_markdown


def build_about_tab(board: Leaderboard) -> None:
    """Lay out the tab (inside an open `gr.Tab`)."""
    served = Counter(question["question_type"] for question in board.questions)
    judge_model = board.endpoint.model if board.endpoint is not None else None
    gr.Markdown(about_markdown(judge_model, served, board.paper_notes()), elem_id="about")
