"""The board as a visitor reads it: plain functions from a board view to escaped HTML and Markdown; no Gradio.

The page's table is HTML drawn here (not Gradio's Dataframe): every row is in the page's flow (no inner
scroll box), headers are buttons (sortable by keyboard), Rank and Model stay pinned while the rest scrolls
sideways, the best ranked score of a column is marked, and the same markup comes in the page's first bytes
(`space.routes`). The `leaderboard` API keeps its Dataframe value (`table_value`). Every shown string is
escaped here; links come only from the validated link field and only http(s).
"""
from __future__ import annotations

import html
import math
from urllib.parse import quote, urlsplit

import pandas as pd

from core.results import DatasetInfo
from core.vocabulary import (CRITERIA, DIMENSIONS, MEDICAL_INTELLIGENCE, PAPER_JUDGE_MARK, PERCEPTION, REASONING,
                             RELEASE_LABEL_NOTE)
from leaderboard import board as tables
from leaderboard.records import Column, Source
from leaderboard.stats import PAPER_MCQ_N
from space.render import escape_md

DEFAULT_COLUMN_GROUPS = ["Overview", "Dimensions"]
SOURCE_BADGES = {Source.PAPER: ("paper", "reported in the paper (Table 2/3)"),
                 Source.SCORED: ("scored", "scored here by this Space's judge"),
                 Source.REFERENCE: ("reference", "a reference baseline scored here on the served build "
                                                "(no model): never ranked")}
UNRANKED_BADGES = {tables.UNRANKED_OTHER_BUILD: "other build", tables.UNRANKED_SAMPLE_BUILD: "sample build",
                   tables.UNRANKED_PARTIAL: "partial", tables.UNRANKED_NO_MCQ: "no MCQ",
                   "not reproduced": "not reproduced",
                   **{label: "not reproduced yet" for label in tables.REPRODUCED if label != "not reproduced"}}
PAPER_OPEN_MARK = "†"
EMPTY_VIEW = "**No models match these filters.** Clear the search or tick fewer boxes."
# Columns a visitor sorts best-first on their first click; the rest (names, ranks) start A to Z, 1 up.
ASCENDING_FIRST = frozenset({Column.RANK, Column.BAND, Column.OPEN_BAND, Column.MODEL, Column.SOURCE, Column.WEIGHTS,
                             Column.DOMAIN, Column.JUDGE, Column.NOTE, Column.LINK, Column.UNRANKED, Column.BUILD,
                             Column.JUDGE_PROMPT, Column.ID, Column.SUBMITTED})
PINNED_COLUMNS = (Column.RANK, Column.MODEL)  # stay at the left edge while the table scrolls sideways

HEADER_TIPS: dict[str, str] = {
    Column.RANK: "Rank band at 95%: rows whose MCQ Wilson intervals overlap share a band (e.g. 2–4); "
            "— = not comparable, so unranked (see the mark beside the model)",
    Column.MODEL: "Model name, linked to its model card, paper or code",
    Column.MCQ: f"Multiple-choice accuracy (%) ± half of its 95% Wilson interval (paper rows: n = {PAPER_MCQ_N:,})",
    Column.OPEN: f"Open-ended score 0–100 by an LLM judge; {PAPER_OPEN_MARK} = the paper's judge "
                 f"({PAPER_JUDGE_MARK}). "
            "Compared only among rows with the same judge and prompt",
    Column.SOURCE: "paper = reported in the paper; scored = scored here; reference = a baseline with no model "
              "(random letter, commonest letter), never ranked",
    Column.REPRODUCED: "Whether a runner this Space trusts re-asked a random sample of the submission and got its "
                  "answers: reproduced, not reproduced (held, unranked), self-reported (no runner serves it), "
                  "pending, reproduction failed, over budget. Empty for the paper's rows",
    Column.AGREEMENT: "Share of the re-asked MCQs whose letters agree with the file's (Reproduced)",
    **{d.abbr: f"{d.release_name} (MCQ accuracy %, {d.group})" for d in DIMENSIONS},
    **{c.abbr: f"{c.name} (open-ended criterion, 0–100, weight {c.weight})" for c in CRITERIA},
    **{m.abbr: f"{m.name} (MCQ accuracy %, medical-intelligence class)" for m in MEDICAL_INTELLIGENCE},
    Column.PARAMS: "Parameters in billions (empty = unknown)",
    Column.BAND: "Rank band at 95% as text", Column.OPEN_BAND: "Open rank among rows of the same judge and prompt",
    Column.MCQ_LOW: "Lower end of the MCQ 95% interval", Column.MCQ_HIGH: "Upper end of the MCQ 95% interval",
    Column.UNRANKED: "Why the row is not ranked", Column.COVERAGE: "Share of the MCQs answered",
    Column.BUILD: "Fingerprint of the build the row was scored on", Column.JUDGE_PROMPT: "Judge prompt version",
    Column.ID: "Board id: paper:<model>, reference:<baseline> or the submission id",
}
# A header's name for a screen reader where the shown one is an abbreviation.
SPOKEN = {**{d.abbr: d.release_name for d in DIMENSIONS}, **{c.abbr: c.name for c in CRITERIA},
          **{m.abbr: m.name for m in MEDICAL_INTELLIGENCE}}


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
    name = html.escape(str(row[Column.MODEL]), quote=True)
    link = safe_link(row.get(Column.LINK))
    cell = (f'<a href="{html.escape(link, quote=True)}" target="_blank" rel="noopener nofollow">{name}</a>'
            if link else name)
    if footnote:
        cell += f"<sup>{footnote}</sup>"
    if row.get(Column.REPRODUCED) == "reproduced":
        agreement = row.get(Column.AGREEMENT)
        agreed = f": {agreement:.1f}% of the re-asked MCQs agree" if isinstance(agreement, float) and \
            not math.isnan(agreement) else ""
        cell += (f' <span class="reproduced-mark" title="re-asked by a runner this Space trusts{agreed}">'
                 "✓ reproduced</span>")
    reason = str(row.get(Column.UNRANKED) or "")
    if reason and row.get(Column.SOURCE) != Source.REFERENCE:  # the reference badge says it already
        kind = next((badge for key, badge in UNRANKED_BADGES.items() if reason.startswith(key)), "unranked")
        cell += f' <span class="unranked-mark" title="{html.escape(reason, quote=True)}">⚠ {kind}</span>'
    return cell


def _number(value: object, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _half_interval(row: pd.Series) -> str:
    low = row.get(Column.MCQ_LOW)
    if low is None or math.isnan(low):
        return ""
    return f"±{(row['MCQ high'] - low) / 2:.1f}"


def _display(column: str, row: pd.Series, footnote: int | None) -> str:
    """A cell as escaped HTML text (the API's display value)."""
    value = row[column]
    if column == Column.RANK:
        return str(row[Column.BAND]) if row.get(Column.BAND) not in (None, "") else "—"
    if column == Column.MODEL:
        return _model_cell(row, footnote)
    if column == Column.SOURCE:
        badge, title = SOURCE_BADGES.get(value, ("other", str(value)))
        return (f'<span class="source-badge source-{badge}" title="{html.escape(title, quote=True)}">'
                f'{html.escape(badge)}</span>')
    if column == Column.MCQ and _half_interval(row):
        return f"{value:.2f} {_half_interval(row)}"
    if column == Column.OPEN:
        if row.get(Column.JUDGE) == tables.AWAITING_JUDGE:
            return "awaiting"
        mark = PAPER_OPEN_MARK if row.get(Column.JUDGE) == tables.PAPER_JUDGE and _number(value) else ""
        return _number(value) + mark
    if column in tables.NUMERIC_COLUMNS:
        return _number(value)
    return "" if value is None else html.escape(str(value), quote=True)


def footnotes(view: pd.DataFrame) -> dict[str, int]:
    """Row id -> footnote number, for the rows in view that carry a note of their own."""
    noted = [row_id for row_id, note in zip(view[Column.ID], view[Column.NOTE]) if str(note or "").strip()]
    return {row_id: number for number, row_id in enumerate(noted, 1)}


def table_value(view: pd.DataFrame, column_groups: list[str]) -> dict:
    """The `leaderboard` API's Dataframe value: plain cell values (for scripts) and what each cell shows."""
    shown = list(tables.visible_columns(view, column_groups).columns)
    notes = footnotes(view)
    data, display = [], []
    for _, row in view.iterrows():
        data.append([None if isinstance(row[c], float) and math.isnan(row[c]) else row[c] for c in shown])
        display.append([_display(c, row, notes.get(row[Column.ID])) for c in shown])
    return {"headers": shown, "data": data, "metadata": {"display_value": display, "styling": None}}


def _classes(column: str) -> list[str]:
    """A column's CSS classes: its name, and `pin0`/`pin1` for the pinned Rank and Model."""
    name = "col-" + "".join(ch if ch.isalnum() else "-" for ch in column.lower())
    return [name, f"pin{PINNED_COLUMNS.index(column)}"] if column in PINNED_COLUMNS else [name]


def _header(column: str, sorted_by: tuple[str, bool] | None, sortable: bool) -> str:
    tip = HEADER_TIPS.get(column, column)
    classes = _classes(column)
    sort = ""
    if sorted_by and sorted_by[0] == column:
        sort = f' aria-sort="{"descending" if sorted_by[1] else "ascending"}"'
    label = html.escape(column)
    if column in SPOKEN:
        label = f'<abbr title="{html.escape(SPOKEN[column], quote=True)}">{label}</abbr>'
    if not sortable:
        return f'<th scope="col" class="{" ".join(classes)}" title="{html.escape(tip, quote=True)}"{sort}>{label}</th>'
    first = "asc" if column in ASCENDING_FIRST else "desc"
    spoken = html.escape(SPOKEN.get(column, column), quote=True)
    return (f'<th scope="col" class="{" ".join(classes)}"{sort}><button type="button" class="sort" '
            f'data-sort="{html.escape(column, quote=True)}" data-first="{first}" title="{html.escape(tip, quote=True)}" '
            f'aria-label="{spoken}: sort">{label}</button></th>')


def _cell(column: str, row: pd.Series, footnote: int | None, best: bool) -> str:
    classes = _classes(column)
    if column in tables.NUMERIC_COLUMNS and column != Column.RANK:
        classes.append("num")
    if column == Column.MCQ and _half_interval(row):
        shown = f'{_number(row[Column.MCQ])}<span class="pm"> {_half_interval(row)}</span>'
    else:
        shown = _display(column, row, footnote)
    if best:
        classes.append("best")
        shown += '<span class="visually-hidden"> (best in column)</span>'
    tag = "th scope=\"row\"" if column == Column.MODEL else "td"
    return f'<{tag} class="{" ".join(classes)}">{shown}</{tag.split()[0]}>'


def _row_kind(row: pd.Series) -> str:
    if row[Column.SOURCE] == Source.REFERENCE:
        return "reference"
    return "ranked" if not math.isnan(row[Column.RANK]) else "unranked"


def board_table_html(view: pd.DataFrame, column_groups: list[str], sort: str | None = None, *,
                     target: str | None = None, sortable: bool = True) -> str:
    """The board's table as HTML: `view` in its order, the columns of `column_groups` (Rank and Model always),
    header buttons that sort (`sortable`), the best ranked value of each score column marked, and the row whose
    id is `target` highlighted (a link named it)."""
    shown = list(tables.visible_columns(view, column_groups).columns)
    if view.empty:
        return f'<p class="board-empty">{html.escape(EMPTY_VIEW.replace("**", ""))}</p>'
    notes = footnotes(view)
    best = tables.best_in_column(view)
    sorted_by = tables.parse_sort(sort)
    head = "".join(_header(column, sorted_by, sortable) for column in shown)
    rows, previous = [], None
    for _, row in view.iterrows():
        kind = _row_kind(row)
        classes = [kind] + ["group-start"] * (previous is not None and kind != previous)
        previous = kind
        current = ""
        if target and row[Column.ID] == target:
            classes.append("target")
            current = ' aria-current="true"'
        cells = "".join(_cell(c, row, notes.get(row[Column.ID]), row[Column.ID] in best.get(c, ())) for c in shown)
        rows.append(f'<tr class="{" ".join(classes)}" data-row-id="{html.escape(str(row[Column.ID]), quote=True)}"'
                    f'{current}>{cells}</tr>')
    caption = ("Ranked models, then unranked rows, then reference baselines. "
               + ("Column headers sort the table." if sortable else ""))
    return (f'<div class="board-scroll" role="region" aria-label="Ranked models" tabindex="0">'
            f'<table class="board-table"><caption class="visually-hidden">{caption}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def explainer_html(sortable: bool = True, sort: str | None = None) -> str:
    """What the numbers mean, in one line, and the seven dimensions' legend (each one sorts the board by it)."""
    line = ("<p class=\"board-explainer\"><b>MCQ</b>: % of the multiple-choice questions answered right "
            "(± half its 95% interval). <b>Open</b>: open-ended answers scored 0–100 by an LLM judge. "
            "<b>Rank</b>: models whose intervals overlap share a band (2–3). <b>Bold</b>: the best ranked score "
            "of a column.</p>")
    sorted_by = tables.parse_sort(sort)
    groups = []
    for group in (PERCEPTION, REASONING):
        entries = []
        for d in (d for d in DIMENSIONS if d.group == group):
            text = f"<b>{html.escape(d.abbr)}</b> {html.escape(d.release_name)}"
            if sortable:
                pressed = "true" if sorted_by and sorted_by[0] == d.abbr else "false"
                entries.append(f'<button type="button" data-sort="{d.abbr}" data-first="desc" aria-pressed="{pressed}" '
                               f'title="Sort by {html.escape(d.release_name, quote=True)}">{text}</button>')
            else:
                entries.append(f"<span>{text}</span>")
        groups.append(f'<span class="legend-group"><span class="legend-title">{group.capitalize()}:</span> '
                      f'{"".join(entries)}</span>')
    label = "The seven dimensions, MCQ accuracy in % (choose one to sort by it)" if sortable else \
        "The seven dimensions, MCQ accuracy in %"
    return f'{line}<div class="dim-legend" role="group" aria-label="{label}">{"".join(groups)}</div>'


def freshness_markdown(board: pd.DataFrame, last_change: str | None) -> str:
    """How alive the board is: the submissions it shows and when the last one changed."""
    scored = int((board[Column.SOURCE] == Source.SCORED).sum())
    if not scored:
        return "*No submission scored here yet: the rows are the paper's and the reference baselines.*"
    when = f" · last change {str(last_change).replace('T', ' ').removesuffix('Z')} UTC" if last_change else ""
    return f"*{scored:,} submission{'s' if scored != 1 else ''} scored here{when}*"


def notes_markdown(view: pd.DataFrame, freshness: str = "") -> str:
    """The footnotes under the table: how fresh the board is, then an empty view says so, or the rows' own
    notes and what the marks mean (the caveats a first screen does not need)."""
    if view.empty:
        return "\n\n".join(filter(None, (freshness, EMPTY_VIEW)))
    noted = [(model, note) for model, note in zip(view[Column.MODEL], view[Column.NOTE]) if str(note or "").strip()]
    lines = [f"{number}. {escape_md(model)}: {escape_md(note)}" for number, (model, note) in enumerate(noted, 1)]
    marks = ("**⚠** not comparable with the ranked rows (another build, a sample build, or under "
             f"{tables.MIN_COVERAGE:g}% of the MCQs answered), listed below them. *reference* rows, last: "
             "baselines with no model scored on this build's MCQs (a random letter: chance; the commonest answer "
             "letter; the longest option), never ranked and kept by the model filters; the dashed line on the size "
             f"plot is the random one. {PAPER_OPEN_MARK} Open judged by {escape_md(PAPER_JUDGE_MARK)} with an "
             "unpublished prompt: Open compares only among rows with the same judge and prompt. Paper rows' "
             f"intervals take n = {PAPER_MCQ_N:,}. {escape_md(RELEASE_LABEL_NOTE)}. More in the About tab.")
    return "\n\n".join(filter(None, (freshness, "\n".join(lines), marks)))


def banner_markdown(dataset: DatasetInfo) -> str:
    """A warning, in one line, whenever the board serves anything but the official release ("" when it does)."""
    if dataset.official:
        return ""
    count = f"{dataset.questions:,} questions" if dataset.questions else "question count unknown"
    return (f"**Sample build ({count}): not comparable with the paper.** Submitted rows are listed unranked, "
            "below the paper's.")


# Shared by the page (Gradio's CSS) and its first bytes (the preview): class-based, so both read alike.
BOARD_CSS = """
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.board-explainer { margin: 0 0 6px; line-height: 1.45; }
.dim-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0 0 10px; font-size: 0.9em; }
.dim-legend .legend-group { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px; }
.dim-legend .legend-title { font-weight: 600; margin-right: 2px; }
.dim-legend button, .dim-legend span > span:not(.legend-title) { font: inherit; color: inherit; background: none;
  border: 1px solid #c4c8cf; border-radius: 999px; padding: 1px 9px; cursor: pointer; }
.dim-legend button[aria-pressed=true] { background: #e0ecff; border-color: #1d4ed8; }
.board-scroll { overflow-x: auto; max-width: 100%; border: 1px solid #d5d9e0; border-radius: 8px; }
.board-table { border-collapse: separate; border-spacing: 0; width: 100%; font-variant-numeric: tabular-nums;
  font-size: 14px; line-height: 1.35; }
.board-table th, .board-table td { padding: 7px 10px; text-align: left; border-bottom: 1px solid #e3e6eb;
  vertical-align: top; background: var(--background-fill-primary, #fff); }
.board-table thead th { position: sticky; top: 0; z-index: 2; font-weight: 600; white-space: nowrap;
  border-bottom: 2px solid #9aa1ac; }
.board-table tbody th { font-weight: 500; }
.board-table .num { text-align: right; white-space: nowrap; }
.board-table thead th.num, .board-table thead th[class*=col-] { text-align: left; }
.board-table .pm { color: #4b5563; font-size: 0.85em; }
.board-table .best { font-weight: 700; }
.board-table .pin0, .board-table .pin1 { position: sticky; z-index: 1; }
.board-table thead .pin0, .board-table thead .pin1 { z-index: 3; }
.board-table .pin0 { left: 0; width: 3.6em; min-width: 3.6em; white-space: nowrap; }
.board-table .pin1 { left: calc(3.6em + 20px); min-width: 13em; box-shadow: 2px 0 0 #d5d9e0; }
.board-table tr.group-start > * { border-top: 2px solid #9aa1ac; }
.board-table tr.reference > * { color: #4b5563; }
.board-table tr.target > * { background: #fff4c2; }
.board-table tr.target > .pin1 { box-shadow: inset 4px 0 0 #b45309, 2px 0 0 #d5d9e0; }
.board-table button.sort { font: inherit; font-weight: 600; color: inherit; background: none; border: 0;
  padding: 2px 0; cursor: pointer; white-space: nowrap; }
.board-table abbr { text-decoration: none; }
.board-table th[aria-sort=descending] button.sort::after { content: " ▼"; font-size: 0.8em; }
.board-table th[aria-sort=ascending] button.sort::after { content: " ▲"; font-size: 0.8em; }
.board-table a { color: #1d4ed8; text-decoration: underline; text-underline-offset: 2px; }
.board-table .source-badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 0.8em;
  border: 1px solid #9aa1ac; }
.board-table .source-scored { border-color: #0072B2; color: #005a8c; }
.board-table .source-reference { border-style: dashed; font-style: italic; }
.board-table .unranked-mark { font-size: 0.8em; color: #92400e; white-space: nowrap; }
.board-table .reproduced-mark { font-size: 0.8em; color: #047857; white-space: nowrap; }
.board-table sup { font-size: 0.7em; }
.dark .board-table .pm, .dark .board-table tr.reference > * { color: #c4c8cf; }
.dark .board-table tr.target > * { background: #5b4a12; }
.dark .board-table a { color: #93c5fd; }
.dark .board-table .source-scored { color: #7cc4f0; }
.dark .board-table .unranked-mark { color: #fbbf24; }
.dark .board-table .reproduced-mark { color: #34d399; }
.dark .dim-legend button[aria-pressed=true] { background: #1e3a8a; }
@media (max-width: 640px) {
  .board-table { font-size: 13px; }
  .board-table th, .board-table td { padding: 6px 5px; }
  .board-table .pin0 { width: 2.9em; min-width: 2.9em; }
  .board-table .pin1 { left: calc(2.9em + 10px); min-width: 0; width: 7.6em; max-width: 7.6em;
    overflow-wrap: anywhere; }
  .board-table .pm { display: block; }
  .board-table .unranked-mark, .board-table .reproduced-mark { display: block; }
  .board-explainer { font-size: 0.9em; line-height: 1.35; }
  .dim-legend, .dim-legend .legend-group { display: grid; grid-template-columns: 1fr 1fr; gap: 3px 4px;
    font-size: 0.85em; }
  .dim-legend .legend-group { display: contents; }
  .dim-legend .legend-title { display: none; }
  .dim-legend button, .dim-legend span > span:not(.legend-title) { padding: 0 6px; text-align: left;
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
}
"""
