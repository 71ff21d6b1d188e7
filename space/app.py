"""The Gradio 6 page: Leaderboard, Submit, Explore and About tabs wired to the `Leaderboard` facade.

UI code only: each tab module lays out its components and wires them to plain functions of
`leaderboard/` and `space/render.py`. Events with API names for `gradio_client`: `submit`,
`status`, `leaderboard`, and Explore's `explore`, `explore_item`, `explore_image`,
`explore_details` and `explore_compare`.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # a Space runs `python space/app.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio as gr

from core.vocabulary import PAPER
from leaderboard.service import Leaderboard
from space.about_tab import build_about_tab
from space.explore_tab import build_explore_tab
from space.leaderboard_tab import PRIVATE, build_leaderboard_tab
from space.submit_tab import build_submit_tab

# The paper's open prompt has one long line: wrap code blocks in About rather than hide its end.
CSS = "#about pre, #about pre code { white-space: pre-wrap; overflow-wrap: anywhere; }"


def build_app(board: Leaderboard) -> gr.Blocks:
    """The four-tab page over one running `Leaderboard` (its worker is started by the caller)."""
    with gr.Blocks(title="Med-CMR leaderboard") as demo:
        gr.Markdown(f"# Med-CMR leaderboard\nMedical complex multimodal reasoning "
                    f"([arXiv {PAPER.arxiv}]({PAPER.url})). *Research use only — not for clinical use.*")
        with gr.Tabs():
            with gr.Tab("Leaderboard", id="leaderboard") as board_tab:
                ranked = build_leaderboard_tab(demo, board)
            with gr.Tab("Submit", id="submit"):
                submitted = build_submit_tab(board)
            with gr.Tab("Explore", id="explore"):
                build_explore_tab(board)
            with gr.Tab("About", id="about"):
                build_about_tab(board)
        board_tab.select(ranked.render, inputs=ranked.filters, outputs=ranked.table, **PRIVATE)
        submitted.submitted.then(ranked.render, inputs=ranked.filters, outputs=ranked.table, **PRIVATE)
    return demo


if __name__ == "__main__":
    from space.__main__ import main

    main()
