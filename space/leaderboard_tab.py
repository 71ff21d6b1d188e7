"""The Leaderboard tab: what the numbers mean, filters, the ranked table, downloads and plots, kept current as
rows arrive.

The table is HTML drawn by `space.board_view` (sorted by the server: a header button writes "MCQ:desc" into a
hidden box, see `space.ui.HEAD`); the `leaderboard` API returns the same view as a Dataframe value for scripts.
The handlers are methods of `BoardViews`, plain functions of the board usable without a page.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr
import pandas as pd

from core.vocabulary import MODEL_DOMAINS, MODEL_WEIGHTS
from leaderboard import board as tables
from leaderboard import intervals, plots
from leaderboard.explore import write_once
from leaderboard.records import Column
from leaderboard.service import Leaderboard
from space import toasts, url_state
from space.board_view import (DEFAULT_COLUMN_GROUPS, banner_markdown, board_table_html, explainer_html,
                              freshness_markdown, notes_markdown, table_value)

BOARD_REFRESH_SECONDS = 10.0
RENDERED_KEPT = 64  # views kept rendered per board version
PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}

# One line per filter: its address name, its choices (in the order shown) and its label; chips follow.
FILTER_CHOICES: dict[str, tuple[str, ...]] = {"weights": tuple(MODEL_WEIGHTS), "domain": tuple(reversed(MODEL_DOMAINS)),
                                              "size": tuple(tables.SIZE_BUCKETS), "source": tuple(tables.SOURCES),
                                              "reproduced": tables.REPRODUCED}
FILTER_LABELS = {"weights": "Weights", "domain": "Domain", "size": "Size", "source": "Source",
                 "reproduced": "Reproduced"}
ADDRESS_NAMES = ("search", *FILTER_CHOICES, "columns", "sort")  # the board's state in the page's address


def active_filters(search: str | None, *chosen: list[str] | None) -> list[str]:
    """A chip per active filter ("Search: qwen", "Weights: open", ...), in the controls' order."""
    chips = [f"Search: {search.strip()}"] if (search or "").strip() else []
    for label, values in zip(FILTER_LABELS.values(), chosen):
        chips += [f"{label}: {value}" for value in values or ()]
    return chips


def filters_kept(kept: list[str] | None, search: str | None, *chosen: list[str] | None) -> tuple:
    """The search and filter values left once the visitor unticks chips (`kept`: the chips still ticked)."""
    kept = set(kept or ())
    search = search if f"Search: {(search or '').strip()}" in kept else ""
    return (search, *([v for v in values or () if f"{label}: {v}" in kept]
                      for label, values in zip(FILTER_LABELS.values(), chosen)))


def chips_view(search: str | None, *chosen: list[str] | None) -> tuple:
    """The chips and "Clear all", shown only while a filter is active."""
    chips = active_filters(search, *chosen)
    return (gr.CheckboxGroup(choices=chips, value=chips, visible=bool(chips)), gr.Button(visible=bool(chips)))


def cleared() -> tuple:
    """Every model filter emptied ("Clear all")."""
    return ("", *([] for _ in FILTER_CHOICES))


def _listed(query: str, name: str, choices: tuple[str, ...]) -> list[str] | None:
    """The known values of a list in the address: one `name=` per value, or one comma list (`weights=open,closed`)."""
    given = [value for each in url_state.read_all(query, name, limit=400) for value in each.split(",")]
    return [value for value in given if value in choices] if given else None


def state_in_address(query: str) -> tuple:
    """The board's search, filters, columns and sort a link carries (`?search=qwen&weights=open&sort=MCQ:asc`);
    what it does not carry (or names wrongly) is left as it is."""
    values = [url_state.read(query, "search") or None]
    values += [_listed(query, name, choices) for name, choices in FILTER_CHOICES.items()]
    values.append(_listed(query, "columns", tuple(tables.COLUMN_GROUPS)))
    sort = url_state.read(query, "sort")
    values.append(sort if tables.parse_sort(sort) else None)
    return tuple(gr.skip() if value is None else value for value in values)


def model_choices(df: pd.DataFrame) -> list[tuple[str, str]]:
    """("name · source", id) for every row, in board order: pickers identify rows by id, never by name."""
    return [(plots.row_label(row), row[Column.ID]) for _, row in df.drop_duplicates(Column.ID).iterrows()]


class BoardViews:
    """Every view of the board the tab shows, as plain methods over one `Leaderboard` (no page needed)."""

    def __init__(self, board: Leaderboard, exports: Path) -> None:
        self.board = board
        self.exports = exports
        self._rendered: dict[tuple, object] = {}  # (kind, board version, view) -> rendered; cleared when full
        self._lock = threading.Lock()

    def _cached(self, key: tuple, make: Callable[[], object]) -> object:
        key = (self.board.board_version(), *key)
        with self._lock:
            value = self._rendered.get(key)
        if value is None:
            value = make()
            with self._lock:
                if len(self._rendered) >= RENDERED_KEPT:
                    self._rendered.clear()
                self._rendered[key] = value
        return value

    def filtered(self, search, weights, domains, sizes, sources, reproduced, sort=None) -> pd.DataFrame:
        """The board's rows matching the filters, in the order asked for."""
        return tables.sort_board(tables.filter_board(self.board.board(), search or "", weights or (), domains or (),
                                                     sizes or (), sources or (), reproduced or ()), sort)

    def leaderboard(self, search: str, weights: list[str], domains: list[str], sizes: list[str],
                    sources: list[str], reproduced: list[str] | None = None, column_groups: list[str] | None = None,
                    sort: str | None = None) -> dict:
        """The ranked board filtered by model search (";" separates terms), weights (open/closed),
        domain (medical/general), size bucket, source (paper/scored here/reference) and reproduction
        (reproduced, not reproduced, self-reported, pending, running, reproduction failed, over budget);
        shown column groups; `sort` one column as "MCQ:desc" (ranked rows stay first, whatever the key).
        Unranked rows (another build, a sample build, partial, not reproduced, held) have Rank null and say why in
        "Unranked"; the reference rows (baselines, Source "reference") come last, Rank null."""
        filters = (search, weights, domains, sizes, sources, reproduced)
        key = ("api", search or "", sort or "", *(tuple(v or ()) for v in (*filters[1:], column_groups)))
        return self._cached(key, lambda: table_value(self.filtered(*filters, sort), column_groups or []))

    def table(self, search, weights, domains, sizes, sources, reproduced, column_groups, sort,
              target=None) -> tuple[str, str]:
        """The legend (marking the dimension sorted by) and the table's HTML, the row `target` highlighted."""
        filters = (search, weights, domains, sizes, sources, reproduced)
        key = ("html", search or "", sort or "", target or "", *(tuple(v or ()) for v in (*filters[1:], column_groups)))
        html = self._cached(key, lambda: board_table_html(self.filtered(*filters, sort), column_groups or [], sort,
                                                          target=target or None))
        return explainer_html(sort=sort), html

    def beside(self, search, weights, domains, sizes, sources, reproduced, column_groups, sort, compared) -> tuple:
        """Everything beside the table: notes, downloads (sorted as shown), the size and interval plots, the radar
        and its picker."""
        full = self.board.board()
        view = self.filtered(search, weights, domains, sizes, sources, reproduced, sort)
        shown = tables.visible_columns(view, column_groups or ())
        exported = shown.assign(Rank=view[Column.BAND])  # the rank as the page shows it ("2–3", "—")
        choices = model_choices(full)
        ids = {value for _, value in choices}
        kept, _ = plots.radar_picks([i for i in (compared or []) if i in ids])
        # The picks are set only when a picked row is gone: a refresh computed from the picks of a moment ago
        # never undoes the visitor's newer pick.
        picker = (gr.Dropdown(choices=choices, value=kept) if kept != list(compared or [])
                  else gr.Dropdown(choices=choices))
        return (notes_markdown(view, freshness_markdown(full, self.board.last_scored_at())),
                write_once(self.exports, "medcmr_leaderboard.csv", tables.export_csv(exported)),
                write_once(self.exports, "medcmr_leaderboard.json", tables.export_json(exported)),
                plots.score_vs_size(view), intervals.mcq_interval_svg(view), picker,
                plots.dimension_chart(full, kept))

    def pick_compared(self, ids: list[str]) -> tuple:
        """The radar follows the picker; a pick past the limit is undone and the visitor told why."""
        kept, refused = plots.radar_picks(ids)
        if refused:
            toasts.warn(refused)
        return gr.Dropdown(value=kept) if refused else gr.skip(), plots.dimension_chart(self.board.board(), kept)

    def refresh(self, *values) -> tuple:
        """The table and everything beside it, for the inputs `BoardTab.inputs` lists."""
        *filters, target, compared = values
        return (*self.table(*filters, target), *self.beside(*filters, compared))

    def tick(self, seen_version: int, *values) -> tuple:
        """Re-render only when the board changed, so a reader's view is not redrawn for nothing."""
        current = self.board.board_version()
        if current == seen_version:
            return (gr.skip(),) * (1 + len(self.refresh_outputs))
        return (current, *self.refresh(*values))

    refresh_outputs = ("legend", "table", "notes", "csv", "json", "size", "intervals", "picker", "radar")


def target_in_address(query: str) -> str:
    """The board row a link names (`?row=<id>`: a submission's receipt links to its own row)."""
    return url_state.read(query, "row")


@dataclass
class BoardTab:
    """What other tabs wire to: the refresh of every view (table, notes, plots, pickers) and its inputs."""

    refresh: Callable[..., tuple]
    inputs: list[gr.components.Component]
    outputs: list[gr.components.Component]


@dataclass
class _Controls:
    """The search, filters, columns and sort, their chips and the downloads of the filtered view."""

    legend: gr.HTML
    toggle: gr.Button
    search: gr.Textbox
    column_groups: gr.CheckboxGroup
    boxes: list[gr.CheckboxGroup]
    chips: gr.CheckboxGroup
    clear_all: gr.Button
    csv_button: gr.DownloadButton
    json_button: gr.DownloadButton
    sort: gr.Textbox
    target: gr.Textbox

    @property
    def model_filters(self) -> list:
        return [self.search, *self.boxes]

    @property
    def filters(self) -> list:
        """The board's state in the page's address, in ADDRESS_NAMES' order."""
        return [*self.model_filters, self.column_groups, self.sort]


@dataclass
class _Views:
    """The table and everything drawn beside it."""

    table: gr.HTML
    notes: gr.Markdown
    interval_plot: gr.HTML
    compared: gr.Dropdown
    radar_plot: gr.Plot
    size_plot: gr.Plot


PLAIN_HTML = {"js_on_load": None, "apply_default_css": False}  # HTML the server drew: no click event, no prose CSS


def _controls(board: Leaderboard) -> _Controls:
    """Lay out the banner, the legend, the search, filters and columns, and the toolbar above the table."""
    banner = banner_markdown(board.dataset)
    gr.Markdown(banner, elem_id="build-banner", visible=bool(banner))
    legend = gr.HTML(explainer_html(), elem_id="board-legend", **PLAIN_HTML)
    # On a phone the controls fold behind this button (CSS shows it only there), so a row is on the first screen.
    controls_toggle = gr.Button("☰ Search, filters and columns", size="sm", elem_id="board-controls-toggle")
    with gr.Column(elem_id="board-controls"):
        with gr.Row():
            search = gr.Textbox(label="Search models", placeholder="e.g. qwen; gemma", scale=2, elem_id="board-search")
            column_groups = gr.CheckboxGroup(list(tables.COLUMN_GROUPS), value=DEFAULT_COLUMN_GROUPS,
                                             label="Columns", scale=3)
        with gr.Accordion("Filters", open=False, elem_id="board-filters"):
            with gr.Row():
                boxes = [gr.CheckboxGroup(list(choices), label=FILTER_LABELS[name])
                         for name, choices in FILTER_CHOICES.items()]
    with gr.Row(elem_id="board-toolbar"):
        chips = gr.CheckboxGroup([], label="Active filters (untick one to remove it)", visible=False,
                                 elem_id="board-chips", scale=4)
        clear_all = gr.Button("Clear all filters", visible=False, size="sm", elem_id="board-clear", scale=1)
        csv_button = gr.DownloadButton("⬇ CSV (filtered view)", size="sm", scale=0, elem_id="board-csv")
        json_button = gr.DownloadButton("⬇ JSON (filtered view)", size="sm", scale=0, elem_id="board-json")
    # The column the table is sorted by ("MCQ:desc"): a header button writes it (see space/ui.py's HEAD).
    sort = gr.Textbox(visible="hidden", elem_id="board-sort")
    target = gr.Textbox(visible=False)  # the row a link names (`?row=`), highlighted
    return _Controls(legend, controls_toggle, search, column_groups, boxes, chips, clear_all, csv_button,
                     json_button, sort, target)


def _views(board: Leaderboard, first: pd.DataFrame) -> _Views:
    """Lay out the table, its notes and the plots, drawn from the board as it is when the page is built."""
    default_ids = list(first[Column.ID][:3])
    table = gr.HTML(board_table_html(first, DEFAULT_COLUMN_GROUPS), elem_id="board", **PLAIN_HTML)
    notes = gr.Markdown(notes_markdown(first, freshness_markdown(first, board.last_scored_at())),
                        elem_id="board-notes")
    # Drawn on the server as SVG: it comes with the page, the first chart on screen (the plotly ones load after).
    interval_plot = gr.HTML(intervals.mcq_interval_svg(first), elem_id="interval-plot", **PLAIN_HTML)
    with gr.Row():
        with gr.Column():
            # No max_choices: Gradio would refuse a sixth pick without a word; `pick_compared` says why.
            compared = gr.Dropdown(model_choices(first), value=default_ids, multiselect=True,
                                   label=f"Compare up to {plots.MAX_MODELS} models by dimension",
                                   info=f"At most {plots.MAX_MODELS} at once: remove one to add another.",
                                   elem_id="radar-models")
            radar_plot = gr.Plot(plots.dimension_chart(first, default_ids), label="Per-dimension accuracy",
                                 elem_id="radar-plot")
        size_plot = gr.Plot(plots.score_vs_size(first), label="MCQ accuracy vs parameters", elem_id="size-plot")
    return _Views(table, notes, interval_plot, compared, radar_plot, size_plot)


def _wire_address(demo: gr.Blocks, address: gr.Textbox, controls: _Controls) -> None:
    """The search, filters, columns and sort live in the address: a shared link or a reload shows the same view."""
    demo.load(state_in_address, inputs=address, outputs=controls.filters, js=url_state.READ_ADDRESS, **PRIVATE)
    demo.load(target_in_address, inputs=address, outputs=controls.target, js=url_state.READ_ADDRESS, **PRIVATE)
    for name, component in zip(ADDRESS_NAMES, controls.filters):
        component.change(None, inputs=component, js=url_state.remember(name), **PRIVATE)


def _wire_chips(controls: _Controls) -> None:
    """A chip per active filter (untick one to remove it), "Clear all", and the controls' fold on a phone."""
    model_filters = controls.model_filters
    gr.on([component.change for component in model_filters], chips_view, inputs=model_filters,
          outputs=[controls.chips, controls.clear_all], **PRIVATE)
    controls.chips.input(filters_kept, inputs=[controls.chips, *model_filters], outputs=model_filters, **PRIVATE)
    controls.clear_all.click(cleared, outputs=model_filters, **PRIVATE)
    controls.toggle.click(None, js="() => document.getElementById('board-controls').classList.toggle('open')",
                          **PRIVATE)


def build_leaderboard_tab(demo: gr.Blocks, board: Leaderboard, exports: Path, address: gr.Textbox) -> BoardTab:
    """Lay out the tab (inside an open `gr.Tab`) and wire its events; `leaderboard` is public API.
    Downloads are written under `exports`."""
    views = BoardViews(board, exports)
    controls = _controls(board)
    shown = _views(board, board.board())
    seen_version = gr.State(-1)
    board_timer = gr.Timer(BOARD_REFRESH_SECONDS)
    filters, compared = controls.filters, shown.compared
    inputs = [*filters, controls.target, compared]
    table_outputs = [controls.legend, shown.table]
    beside_outputs = [shown.notes, controls.csv_button, controls.json_button, shown.size_plot, shown.interval_plot,
                      compared, shown.radar_plot]
    # Scripts read the board as a Dataframe value; the page gets HTML. Reads skip Gradio's queue limit.
    gr.api(views.leaderboard, api_name="leaderboard", concurrency_limit=None)
    # "always_last": a filter set while a render runs (from the address, or typing) is rendered after it, never lost.
    gr.on([demo.load, *(f.change for f in filters[1:]), controls.search.change, controls.target.change], views.table,
          inputs=[*filters, controls.target], outputs=table_outputs, concurrency_limit=None,
          trigger_mode="always_last", **PRIVATE).then(
        views.beside, inputs=[*filters, compared], outputs=beside_outputs, trigger_mode="always_last",
        **PRIVATE)  # the plots follow the last filters, also when they changed while drawn
    _wire_address(demo, address, controls)
    _wire_chips(controls)
    demo.load(board.board_version, outputs=seen_version, **PRIVATE)
    compared.input(None, js=toasts.close_js("warning"), **PRIVATE)  # a new pick makes the last warning stale
    compared.input(views.pick_compared, inputs=compared, outputs=[compared, shown.radar_plot], **PRIVATE)
    board_timer.tick(views.tick, inputs=[seen_version, *inputs],
                     outputs=[seen_version, *table_outputs, *beside_outputs], **PRIVATE)
    return BoardTab(views.refresh, inputs, [*table_outputs, *beside_outputs])
