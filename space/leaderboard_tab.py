"""The Leaderboard tab: filters, the ranked table, downloads and plots, kept current as rows arrive."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr
import pandas as pd

from core.vocabulary import RELEASE_LABEL_NOTE
from leaderboard import board as tables
from leaderboard import plots
from leaderboard.service import Leaderboard
from space.render import escape_md

DEFAULT_COLUMN_GROUPS = ["Overview", "Dimensions", "Model info"]
SOURCE_BADGES = {"paper": "reported in paper", "scored here": "scored here"}
BOARD_REFRESH_SECONDS = 10.0
PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}


def table_view(df: pd.DataFrame) -> pd.DataFrame:
    """The view as the table shows it: source badges, empty cells for missing scores."""
    shown = df.copy()
    if "Source" in shown:
        shown["Source"] = shown["Source"].map(lambda source: SOURCE_BADGES.get(source, source))
    return shown.astype(object).where(shown.notna(), None)


def write_once(root: Path, name: str, data: bytes) -> str:
    """A download file named by its content, so concurrent sessions never overwrite each other."""
    folder = root / hashlib.sha256(data).hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    return str(path)


def ranked_models(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df[tables.PINNED].tolist()))


@dataclass
class LeaderboardTab:
    """What other tabs wire to: the table and the function (with its inputs) that renders it."""

    render: Callable[..., pd.DataFrame]
    filters: list[gr.components.Component]
    table: gr.Dataframe


def build_leaderboard_tab(demo: gr.Blocks, board: Leaderboard) -> LeaderboardTab:
    """Lay out the tab (inside an open `gr.Tab`) and wire its events; `leaderboard` is public API."""
    exports = Path(tempfile.mkdtemp(prefix="medcmr-exports-"))

    def leaderboard(search: str, weights: list[str], domains: list[str], sizes: list[str],
                    sources: list[str], column_groups: list[str]) -> pd.DataFrame:
        """The ranked board filtered by model search (";" separates terms), weights (open/closed),
        domain (medical/general), size bucket and source (paper/scored here); shown column groups."""
        view = tables.filter_board(board.board(), search or "", weights or (), domains or (),
                                   sizes or (), sources or ())
        return table_view(tables.visible_columns(view, column_groups or ()))

    def downloads_and_plot(search, weights, domains, sizes, sources, column_groups):
        view = tables.filter_board(board.board(), search or "", weights or (), domains or (), sizes or (),
                                   sources or ())
        shown = tables.visible_columns(view, column_groups or ())
        return (write_once(exports, "medcmr_leaderboard.csv", tables.export_csv(shown)),
                write_once(exports, "medcmr_leaderboard.json", tables.export_json(shown)),
                plots.score_vs_size(view))

    def radar(models: list[str]) -> object:
        return plots.dimension_chart(board.board(), list(models or [])[:plots.MAX_MODELS])

    def board_tick(seen_version: int, *filters):
        """Re-render only when the board changed, so a reader's sorting is not reset for nothing."""
        current = board.board_version()
        if current == seen_version:
            return (gr.skip(),) * 6
        return (leaderboard(*filters), current, gr.Dropdown(choices=ranked_models(board.board())),
                *downloads_and_plot(*filters))

    models = ranked_models(board.board())
    gr.Markdown(f"Rows marked **reported in paper** are the paper's Table 2/3 numbers; "
                f"**scored here** rows were judged by this Space. "
                f"Note: {escape_md(RELEASE_LABEL_NOTE)}. "
                "Click a column header to sort.")
    with gr.Row():
        search = gr.Textbox(label="Search models", placeholder="e.g. qwen; gemma", scale=2)
        column_groups = gr.CheckboxGroup(list(tables.COLUMN_GROUPS), value=DEFAULT_COLUMN_GROUPS,
                                         label="Columns", scale=3)
    with gr.Row():
        weights_filter = gr.CheckboxGroup(["open", "closed"], label="Weights")
        domain_filter = gr.CheckboxGroup(["medical", "general"], label="Domain")
        size_filter = gr.CheckboxGroup(list(tables.SIZE_BUCKETS), label="Size")
        source_filter = gr.CheckboxGroup(list(tables.SOURCES), label="Source")
    filters = [search, weights_filter, domain_filter, size_filter, source_filter, column_groups]
    table = gr.Dataframe(interactive=False, wrap=True, max_height=640, label="Ranked models",
                         datatype="auto", pinned_columns=2, elem_id="board")  # Rank, Model
    with gr.Row():
        csv_button = gr.DownloadButton("⬇ CSV (filtered view)", size="sm")
        json_button = gr.DownloadButton("⬇ JSON (filtered view)", size="sm")
    with gr.Row():
        with gr.Column():
            compared = gr.Dropdown(models, value=models[:3], multiselect=True, max_choices=plots.MAX_MODELS,
                                   label="Compare up to 5 models by dimension")
            radar_plot = gr.Plot(label="Per-dimension accuracy")
        size_plot = gr.Plot(label="MCQ accuracy vs parameters")
    seen_version = gr.State(-1)
    board_timer = gr.Timer(BOARD_REFRESH_SECONDS)

    board_events = [demo.load] + [f.change for f in filters[1:]] + [search.submit]
    gr.on(board_events, leaderboard, inputs=filters, outputs=table, api_name="leaderboard").then(
        downloads_and_plot, inputs=filters, outputs=[csv_button, json_button, size_plot], **PRIVATE)
    demo.load(board.board_version, outputs=seen_version, **PRIVATE)
    gr.on([demo.load, compared.change], radar, inputs=compared, outputs=radar_plot, **PRIVATE)
    board_timer.tick(board_tick, inputs=[seen_version, *filters],
                     outputs=[table, seen_version, compared, csv_button, json_button, size_plot], **PRIVATE)
    return LeaderboardTab(leaderboard, filters, table)
