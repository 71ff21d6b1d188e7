"""The Leaderboard tab: filters, the ranked table, downloads and plots, kept current as rows arrive.

The table is a Gradio Dataframe whose cells keep their plain values (what `gradio_client` and
sorting see) and show a display value: the rank band, the MCQ with its ± half interval, the model
name as a link, the source as a badge. Every shown string is escaped here; links come only from
the validated link field and only http(s).
"""
from __future__ import annotations

import html
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

import gradio as gr
import pandas as pd

from core.results import DatasetInfo
from core.vocabulary import (CRITERIA, DIMENSIONS, MEDICAL_INTELLIGENCE, MODEL_DOMAINS, MODEL_WEIGHTS, PAPER_JUDGE_MARK,
                             RELEASE_LABEL_NOTE)
from leaderboard import board as tables
from leaderboard import intervals, plots
from leaderboard.service import Leaderboard
from leaderboard.explore import write_once
from leaderboard.stats import PAPER_MCQ_N
from space import toasts, url_state
from space.render import escape_md

DEFAULT_COLUMN_GROUPS = ["Overview", "Dimensions"]
SOURCE_BADGES = {"paper": ("paper", "reported in the paper (Table 2/3)"),
                 "scored here": ("scored", "scored here by this Space's judge"),
                 tables.REFERENCE: ("reference", "a reference baseline scored here on the served build "
                                                "(no model): never ranked")}
UNRANKED_BADGES = {tables.UNRANKED_OTHER_BUILD: "other build", tables.UNRANKED_SAMPLE_BUILD: "sample build",
                   tables.UNRANKED_PARTIAL: "partial", "no MCQ score": "no MCQ", "not reproduced": "not reproduced",
                   **{label: "not reproduced yet" for label in tables.REPRODUCED if label != "not reproduced"}}
PAPER_OPEN_MARK = "†"
BOARD_REFRESH_SECONDS = 10.0
RENDERED_KEPT = 64  # filter combinations kept rendered per board version
PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}
EMPTY_VIEW = "**No models match these filters.** Clear the search or tick fewer boxes."

HEADER_TIPS: dict[str, str] = {
    "Rank": "Rank band at 95%: rows whose MCQ Wilson intervals overlap share a band (e.g. 2–4); "
            "— = not comparable, so unranked (see the mark beside the model)",
    "Model": "Model name, linked to its model card, paper or code",
    "MCQ": f"Multiple-choice accuracy (%) ± half of its 95% Wilson interval (paper rows: n = {PAPER_MCQ_N:,})",
    "Open": f"Open-ended score 0–100 by an LLM judge; {PAPER_OPEN_MARK} = the paper's judge ({PAPER_JUDGE_MARK}). "
            "Compared only among rows with the same judge and prompt",
    "Source": "paper = reported in the paper; scored = scored here; reference = a baseline with no model "
              "(random letter, commonest letter), never ranked",
    "Reproduced": "Whether a runner this Space trusts re-asked a random sample of the submission and got its "
                  "answers: reproduced, not reproduced (held, unranked), self-reported (no runner serves it), "
                  "pending, reproduction failed, over budget. Empty for the paper's rows",
    "Agreement (%)": "Share of the re-asked MCQs whose letters agree with the file's (Reproduced)",
    **{d.abbr: f"{d.release_name} (MCQ accuracy %, {d.group})" for d in DIMENSIONS},
    **{c.abbr: f"{c.name} (open-ended criterion, 0–100, weight {c.weight})" for c in CRITERIA},
    **{m.abbr: f"{m.name} (MCQ accuracy %, medical-intelligence class)" for m in MEDICAL_INTELLIGENCE},
    "Params (B)": "Parameters in billions (empty = unknown)",
    "Band": "Rank band at 95% as text", "Open band": "Open rank among rows of the same judge and prompt",
    "MCQ low": "Lower end of the MCQ 95% interval", "MCQ high": "Upper end of the MCQ 95% interval",
    "Unranked": "Why the row is not ranked", "Coverage (%)": "Share of the MCQs answered",
    "Build": "Fingerprint of the build the row was scored on", "Judge prompt": "Judge prompt version",
    "Id": "Board id: paper:<model>, reference:<baseline> or the submission id",
}


def safe_link(url: object) -> str:
    """An http(s) URL fit for an href, or "" (no javascript:, data: or relative links)."""
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        return ""
    return quote(text, safe=":/?#[]@!$&'()*+,;=%-._~")


def _model_cell(row: pd.Series, footnote: int | None) -> str:
    name = html.escape(str(row["Model"]), quote=True)
    link = safe_link(row.get("Link"))
    cell = (f'<a href="{html.escape(link, quote=True)}" target="_blank" rel="noopener nofollow">{name}</a>'
            if link else name)
    if footnote:
        cell += f"<sup>{footnote}</sup>"
    if row.get("Reproduced") == "reproduced":
        agreement = row.get("Agreement (%)")
        agreed = f": {agreement:.1f}% of the re-asked MCQs agree" if isinstance(agreement, float) and \
            not math.isnan(agreement) else ""
        cell += (f' <span class="reproduced-mark" title="re-asked by a runner this Space trusts{agreed}">'
                 "✓ reproduced</span>")
    reason = str(row.get("Unranked") or "")
    if reason and row.get("Source") != tables.REFERENCE:  # the reference badge says it already
        kind = next((badge for key, badge in UNRANKED_BADGES.items() if reason.startswith(key)), "unranked")
        cell += f' <span class="unranked-mark" title="{html.escape(reason, quote=True)}">⚠ {kind}</span>'
    return cell


def _number(value: object, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _display(column: str, row: pd.Series, footnote: int | None) -> str:
    value = row[column]
    if column == "Rank":
        return str(row["Band"]) if row.get("Band") not in (None, "") else "—"
    if column == "Model":
        return _model_cell(row, footnote)
    if column == "Source":
        badge, title = SOURCE_BADGES.get(value, ("other", str(value)))
        return (f'<span class="source-badge source-{badge}" title="{html.escape(title, quote=True)}">'
                f'{html.escape(badge)}</span>')
    if column == "MCQ" and row.get("MCQ low") is not None and not math.isnan(row.get("MCQ low", math.nan)):
        return f"{value:.2f} ±{(row['MCQ high'] - row['MCQ low']) / 2:.1f}"
    if column == "Open":
        if row.get("Judge") == tables.AWAITING_JUDGE:
            return "awaiting"
        mark = PAPER_OPEN_MARK if row.get("Judge") == tables.PAPER_JUDGE and _number(value) else ""
        return _number(value) + mark
    if column in tables.NUMERIC_COLUMNS:
        return _number(value)
    return "" if value is None else html.escape(str(value), quote=True)


def footnotes(view: pd.DataFrame) -> dict[str, int]:
    """Row id -> footnote number, for the rows in view that carry a note of their own."""
    noted = [row_id for row_id, note in zip(view["Id"], view["Note"]) if str(note or "").strip()]
    return {row_id: number for number, row_id in enumerate(noted, 1)}


def table_value(view: pd.DataFrame, column_groups: list[str]) -> dict:
    """The Dataframe value: plain cell values (for sorting and scripts) and what each cell shows.

    The table's datatype is "html" for every column (the shown columns vary, the datatype list
    cannot), so every display string here is escaped HTML; sorting still compares the plain values.
    """
    shown = list(tables.visible_columns(view, column_groups).columns)
    notes = footnotes(view)
    data, display = [], []
    for _, row in view.iterrows():
        data.append([None if isinstance(row[c], float) and math.isnan(row[c]) else row[c] for c in shown])
        display.append([_display(c, row, notes.get(row["Id"])) for c in shown])
    return {"headers": shown, "data": data, "metadata": {"display_value": display, "styling": None}}


def freshness_markdown(board: pd.DataFrame, last_change: str | None) -> str:
    """How alive the board is: the submissions it shows and when the last one changed."""
    scored = int((board["Source"] == "scored here").sum())
    if not scored:
        return "*No submission scored here yet: the rows are the paper's and the reference baselines.*"
    when = f" · last change {str(last_change).replace('T', ' ').removesuffix('Z')} UTC" if last_change else ""
    return f"*{scored:,} submission{'s' if scored != 1 else ''} scored here{when}*"


def notes_markdown(view: pd.DataFrame, freshness: str = "") -> str:
    """Under the table: how fresh the board is, then an empty view says so, or the legend and the rows'
    own notes."""
    if view.empty:
        return "\n\n".join(filter(None, (freshness, EMPTY_VIEW)))
    noted = [(model, note) for model, note in zip(view["Model"], view["Note"]) if str(note or "").strip()]
    lines = [f"{number}. {escape_md(model)}: {escape_md(note)}" for number, (model, note) in enumerate(noted, 1)]
    legend = ("Rank: a band such as *2–4* means the row's MCQ cannot be told apart from the rows sharing it "
              f"at 95% (Wilson intervals; paper rows with n = {PAPER_MCQ_N:,}). **—** with ⚠: not comparable "
              "with the ranked rows (another build, a sample build, or under "
              f"{tables.MIN_COVERAGE:g}% of the MCQs answered), shown below them. "
              "*reference* rows, last: baselines with no model scored on this build's MCQs (a random letter: "
              "chance; the commonest answer letter; the longest option, reading no image), never ranked and kept "
              "by the model filters; the dashed "
              "line on the size plot is the random one. "
              f"{PAPER_OPEN_MARK} Open judged by {escape_md(PAPER_JUDGE_MARK)} with an unpublished prompt: "
              "Open compares only among rows with the same judge and prompt. "
              "**Sort:** click a column header (again to reverse). Hover a header for its full name.")
    return "\n\n".join(filter(None, (freshness, legend, "\n".join(lines))))


def banner_markdown(dataset: DatasetInfo) -> str:
    """A plain warning whenever the board serves anything but the official release."""
    label = f"\u26a0\ufe0f {RELEASE_LABEL_NOTE}."
    if dataset.official:
        return label
    count = f"{dataset.questions:,} questions" if dataset.questions else "question count unknown"
    return (f"**Sample build, {count}: scores here are not comparable with the paper's.** Submitted rows are "
            f"shown unranked; the ranks are the paper's own rows.\n\n{label}")


def model_choices(df: pd.DataFrame) -> list[tuple[str, str]]:
    """("name · source", id) for every row, in board order: pickers identify rows by id, never by name."""
    return [(plots.row_label(row), row["Id"]) for _, row in df.drop_duplicates("Id").iterrows()]


@dataclass
class LeaderboardTab:
    """What other tabs wire to: the refresh of every view (table, notes, plots, pickers) and its inputs."""

    refresh: Callable[..., tuple]
    inputs: list[gr.components.Component]
    outputs: list[gr.components.Component]


FILTER_CHOICES: dict[str, tuple[str, ...]] = {"weights": tuple(MODEL_WEIGHTS), "domain": tuple(MODEL_DOMAINS),
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


def _listed(query: str, name: str, choices: tuple[str, ...]) -> list[str] | None:
    given = url_state.read(query, name, limit=400)
    return [value for value in given.split(",") if value in choices] if given else None


def state_in_address(query: str) -> tuple:
    """The board's search, filters, columns and sort a link carries (`?search=qwen&weights=open&sort=MCQ:asc`);
    what it does not carry (or names wrongly) is left as it is."""
    values = [url_state.read(query, "search") or None]
    values += [_listed(query, name, choices) for name, choices in FILTER_CHOICES.items()]
    values.append(_listed(query, "columns", tuple(tables.COLUMN_GROUPS)))
    sort = url_state.read(query, "sort")
    values.append(sort if tables.parse_sort(sort) else None)
    return tuple(gr.skip() if value is None else value for value in values)


def build_leaderboard_tab(demo: gr.Blocks, board: Leaderboard, exports: Path, address: gr.Textbox) -> LeaderboardTab:
    """Lay out the tab (inside an open `gr.Tab`) and wire its events; `leaderboard` is public API.
    Downloads are written under `exports`."""

    def filtered(search, weights, domains, sizes, sources, reproduced, sort=None) -> pd.DataFrame:
        return tables.sort_board(tables.filter_board(board.board(), search or "", weights or (), domains or (),
                                                     sizes or (), sources or (), reproduced or ()), sort)

    rendered: dict[tuple, dict] = {}  # (board version, filters) -> table value; an unchanged board is not re-rendered
    rendered_lock = threading.Lock()

    def leaderboard(search: str, weights: list[str], domains: list[str], sizes: list[str],
                    sources: list[str], reproduced: list[str] | None = None, column_groups: list[str] | None = None,
                    sort: str | None = None) -> dict:
        """The ranked board filtered by model search (";" separates terms), weights (open/closed),
        domain (medical/general), size bucket, source (paper/scored here/reference) and reproduction
        (reproduced, not reproduced, self-reported, pending, running, reproduction failed, over budget);
        shown column groups; `sort` one column as "MCQ:desc" (ranked rows stay first, whatever the key).
        Unranked rows (another build, a sample build, partial, not reproduced) have Rank null and say why in
        "Unranked"; the reference rows (baselines, Source "reference") come last, Rank null."""
        key = (board.board_version(), search or "", sort or "",
               *(tuple(v or ()) for v in (weights, domains, sizes, sources, reproduced, column_groups)))
        with rendered_lock:
            value = rendered.get(key)
        if value is None:
            value = table_value(filtered(search, weights, domains, sizes, sources, reproduced, sort),
                                column_groups or [])
            with rendered_lock:
                if len(rendered) >= RENDERED_KEPT:
                    rendered.clear()
                rendered[key] = value
        return {"headers": list(value["headers"]), "data": [list(row) for row in value["data"]],
                "metadata": {"display_value": [list(row) for row in value["metadata"]["display_value"]],
                             "styling": None}}

    def views(search, weights, domains, sizes, sources, reproduced, column_groups, sort, compared):
        """Everything beside the table: notes, downloads (sorted as shown), the size and interval plots, the radar
        and its picker."""
        full = board.board()
        view = filtered(search, weights, domains, sizes, sources, reproduced, sort)
        shown = tables.visible_columns(view, column_groups or ())
        exported = shown.assign(Rank=view["Band"])  # the rank as the page shows it ("2–3", "—")
        choices = model_choices(full)
        ids = {value for _, value in choices}
        kept, _ = plots.radar_picks([i for i in (compared or []) if i in ids])
        return (notes_markdown(view, freshness_markdown(full, board.last_scored_at())),
                write_once(exports, "medcmr_leaderboard.csv", tables.export_csv(exported)),
                write_once(exports, "medcmr_leaderboard.json", tables.export_json(exported)),
                plots.score_vs_size(view), intervals.mcq_interval_svg(view), gr.Dropdown(choices=choices, value=kept),
                plots.dimension_chart(full, kept))

    def pick_compared(ids: list[str]):
        """The radar follows the picker; a pick past the limit is undone and the visitor told why."""
        kept, refused = plots.radar_picks(ids)
        if refused:
            toasts.warn(refused)
        return gr.Dropdown(value=kept) if refused else gr.skip(), plots.dimension_chart(board.board(), kept)

    def board_tick(seen_version: int, *inputs):
        """Re-render only when the board changed, so a reader's sorting is not reset for nothing."""
        current = board.board_version()
        if current == seen_version:
            return (gr.skip(),) * (2 + len(view_outputs))
        return (leaderboard(*inputs[:len(filters)]), current, *views(*inputs))

    first = board.board()
    default_ids = list(first["Id"][:3])
    gr.Markdown(banner_markdown(board.dataset), elem_id="build-banner")
    # On a phone the controls fold behind this button (CSS shows it only there), so a row is on the first screen.
    controls_toggle = gr.Button("☰ Search, filters and columns", size="sm", elem_id="board-controls-toggle")
    with gr.Column(elem_id="board-controls"):
        with gr.Row():
            search = gr.Textbox(label="Search models", placeholder="e.g. qwen; gemma", scale=2)
            column_groups = gr.CheckboxGroup(list(tables.COLUMN_GROUPS), value=DEFAULT_COLUMN_GROUPS,
                                             label="Columns", scale=3)
        with gr.Accordion("Filters", open=False, elem_id="board-filters"):
            with gr.Row():
                weights_filter = gr.CheckboxGroup(list(FILTER_CHOICES["weights"]), label="Weights")
                domain_filter = gr.CheckboxGroup(list(reversed(FILTER_CHOICES["domain"])), label="Domain")
                size_filter = gr.CheckboxGroup(list(FILTER_CHOICES["size"]), label="Size")
                source_filter = gr.CheckboxGroup(list(FILTER_CHOICES["source"]), label="Source")
                reproduced_filter = gr.CheckboxGroup(list(FILTER_CHOICES["reproduced"]), label="Reproduced")
    with gr.Row(elem_id="board-chips-row"):
        chips = gr.CheckboxGroup([], label="Active filters (untick one to remove it)", visible=False,
                                 elem_id="board-chips", scale=4)
        clear_all = gr.Button("Clear all filters", visible=False, size="sm", elem_id="board-clear", scale=1)
    # The column the table is sorted by ("MCQ:desc"): a header click writes it (see space/ui.py's HEAD).
    sort = gr.Textbox(visible="hidden", elem_id="board-sort")
    model_filters = [search, weights_filter, domain_filter, size_filter, source_filter, reproduced_filter]
    filters = [*model_filters, column_groups, sort]
    initial = table_value(first, DEFAULT_COLUMN_GROUPS)
    table = gr.Dataframe(value=initial, datatype="html", interactive=False, wrap=True, max_height=640, label="Ranked models",
                         column_widths=["64px", "240px"], elem_id="board")
    notes = gr.Markdown(notes_markdown(first, freshness_markdown(first, board.last_scored_at())),
                        elem_id="board-notes")
    with gr.Row():
        csv_button = gr.DownloadButton("⬇ CSV (filtered view)", size="sm")
        json_button = gr.DownloadButton("⬇ JSON (filtered view)", size="sm")
    # Drawn on the server as SVG: it comes with the page, the first chart on screen (the plotly ones load after).
    interval_plot = gr.HTML(intervals.mcq_interval_svg(first), elem_id="interval-plot")
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
    seen_version = gr.State(-1)
    board_timer = gr.Timer(BOARD_REFRESH_SECONDS)

    inputs = [*filters, compared]
    view_outputs = [notes, csv_button, json_button, size_plot, interval_plot, compared, radar_plot]
    board_events = [demo.load] + [f.change for f in filters[1:]] + [search.submit]
    # Reads skip Gradio's queue limit: an unchanged board is a cached value, so they never wait on submits.
    # "always_last": a filter set while the first render runs (from the address) is rendered after it, not dropped.
    gr.on(board_events, leaderboard, inputs=filters, outputs=table, api_name="leaderboard",
          concurrency_limit=None, trigger_mode="always_last").then(
        views, inputs=inputs, outputs=view_outputs, **PRIVATE)
    # The search, filters, columns and sort live in the address: a shared link or a reload shows the same view.
    demo.load(state_in_address, inputs=address, outputs=filters, js=url_state.READ_ADDRESS, **PRIVATE)
    for name, component in zip(ADDRESS_NAMES, filters):
        component.change(None, inputs=component, js=url_state.remember(name), **PRIVATE)
    gr.on([component.change for component in model_filters], chips_view, inputs=model_filters,
          outputs=[chips, clear_all], **PRIVATE)
    chips.input(filters_kept, inputs=[chips, *model_filters], outputs=model_filters, **PRIVATE)
    clear_all.click(lambda: ("", *([] for _ in FILTER_CHOICES)), outputs=model_filters, **PRIVATE)
    controls_toggle.click(None, js="() => document.getElementById('board-controls').classList.toggle('open')",
                          **PRIVATE)
    # Search as you type: while one filtering runs, only the last change waits (none pile up, none is lost).
    search.change(leaderboard, inputs=filters, outputs=table, trigger_mode="always_last", concurrency_limit=None,
                 **PRIVATE).then(views, inputs=inputs, outputs=view_outputs, **PRIVATE)
    demo.load(board.board_version, outputs=seen_version, **PRIVATE)
    compared.input(None, js=toasts.close_js("warning"), **PRIVATE)  # a new pick makes the last warning stale
    compared.input(pick_compared, inputs=compared, outputs=[compared, radar_plot], **PRIVATE)
    board_timer.tick(board_tick, inputs=[seen_version, *inputs],
                     outputs=[table, seen_version, *view_outputs], **PRIVATE)

    def refresh(*values):
        return (leaderboard(*values[:len(filters)]), *views(*values))
    return LeaderboardTab(refresh, inputs, [table, *view_outputs])
