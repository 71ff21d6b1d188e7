"""The About tab: the benchmark, its prompts and scoring, rendered from the vocabulary."""
from __future__ import annotations

from collections import Counter

import gradio as gr

from leaderboard.service import Leaderboard
from space.render import about_markdown, agreement_markdown


def judge_agreement(board: Leaderboard) -> str:
    """The audit section, current (it grows with every audited submission)."""
    audit = board.reviews.audit
    return agreement_markdown(board.judge_agreement(), audit.model if audit else None, board.reviews.tolerance)


def build_about_tab(board: Leaderboard) -> gr.Markdown:
    """Lay out the tab (inside an open `gr.Tab`); returns the agreement section, refreshed when the tab opens."""
    served = Counter(question["question_type"] for question in board.questions)
    judge_model = board.endpoint.model if board.endpoint is not None else None
    gr.Markdown(about_markdown(judge_model, served, board.paper_notes()), elem_id="about")
    return gr.Markdown(judge_agreement(board), elem_id="judge-agreement")
