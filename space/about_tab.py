"""The About tab: the benchmark, its prompts and scoring, rendered from the vocabulary."""
from __future__ import annotations

from collections import Counter

import gradio as gr

from leaderboard.service import Leaderboard
from space.render import about_markdown, agreement_markdown, beyond_markdown
from space.reproduction_view import about_markdown as reproduction_markdown


def live_sections(board: Leaderboard) -> str:
    """The sections that grow with the board: the judges' agreement and the best blind run."""
    audit = board.reviews.audit
    return "\n\n".join([agreement_markdown(board.judge_agreement(), audit.model if audit else None,
                                            board.reviews.tolerance), beyond_markdown(board.best_blind())])


def build_about_tab(board: Leaderboard) -> gr.Markdown:
    """Lay out the tab (inside an open `gr.Tab`); returns the live sections, refreshed when the tab opens."""
    served = Counter(question["question_type"] for question in board.questions)
    judge_model = board.endpoint.model if board.endpoint is not None else None
    gr.Markdown(about_markdown(judge_model, served, board.paper_notes()), elem_id="about")
    gr.Markdown(reproduction_markdown(board.settings), elem_id="about-reproduction")
    return gr.Markdown(live_sections(board), elem_id="judge-agreement")
