"""The Explore tab: every answer behind a score, and whether two models really differ.

UI wiring over `leaderboard.explore.Explorer`; five events are public API for `gradio_client`:
`explore` (a filtered page of one submission's questions), `explore_item` (one question with its
thumbnail), `explore_image` (the full-size image), `explore_details` (the JSONL download) and
`explore_compare` (the paired comparison of two submissions).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from leaderboard.explore import (FACETS, ORDERS, OUTCOMES, PAGE_ROWS, TABLE_COLUMNS, ExploreError,
                                 Explorer, compare_columns, compare_rows, criteria_lines)
from leaderboard.items import FDR, MIN_SUBMISSIONS, items_csv
from leaderboard.records import Comparison
from leaderboard.service import Leaderboard
from space import toasts, url_state
from space.render import code, escape_md, findings_markdown
from space.reproduction_view import build_reproduction_section

PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}
CHOOSE_FIRST = "Choose a submission above."
FACET_LABELS = {"dimension": "Dimension", "medical_intelligence": "Medical intelligence", "modality": "Modality",
                "organ_system": "Organ system"}
WITHHELD = ("*The submitter did not publish per-question outputs: only correctness is shown "
            "(no output, extracted letter, criteria, rationale or judge reply).*")


def _error(error: Exception) -> gr.Error:
    return toasts.error(error, "Explore")


FLAG_NOTE = ("text in this answer spoke to the grader; it was cut before judging (the judge read `[…]` in its "
             "place) and the rest of the answer was judged as usual:")


def _lines(text: object) -> str:
    """Multi-line untrusted text as escaped Markdown lines with hard breaks."""
    return "  \n".join(escape_md(line) for line in str(text).splitlines() if line.strip()) or "—"


def item_markdown(shown: dict) -> str:
    """One question of a submission as Markdown; every piece of data text is escaped."""
    result = shown["result"]
    mcq = shown["question_type"] == "mcq"
    facts = " · ".join(escape_md(shown.get(name) or "—") for name in (*FACETS, "subtype"))
    lines = [f"### {code(shown['id'])} · **{escape_md(shown['outcome'])}**", facts, "",
             f"**Question:** {_lines(shown.get('question') or '')}", ""]
    if mcq:
        extracted = result.get("extracted") if shown["public"] else None
        lines += ["| | option | |", "|---|---|---|"]
        for letter, text in shown["options"].items():
            marks = [m for m, on in (("reference", letter == shown["answer"]), ("model", letter == extracted)) if on]
            lines.append(f"| {letter} | {escape_md(text)} | {' · '.join(marks)} |")
        lines += ["", f"**Reference answer:** {escape_md(shown.get('answer') or '')}"]
    else:
        lines += [f"**Reference answer:** {_lines(shown.get('answer') or '')}", "",
                  f"**Reference visual description:** {_lines(shown.get('visual_description') or '')}"]
    lines.append("")
    if not shown["public"]:
        verdict = ("correct" if result.get("correct") else "not correct") if mcq else \
            f"score {result['score']:.1f}" if result.get("score") is not None else "no score"
        return "\n".join(lines + [f"**Result:** {verdict}", "", WITHHELD])
    if "prediction" not in result:  # details written before they carried the output
        output = "*not recorded in this run's details*"
    else:
        output = "*no answer given*" if result["prediction"] is None else _lines(result["prediction"])
    lines += ["**Model's output:**", "", output, ""]
    if result.get("normalisation"):
        lines += [f"**Format removed before reading:** {escape_md('; '.join(result['normalisation']))}", ""]
    if result.get("flags"):
        lines += [f"**Flagged:** {FLAG_NOTE}", "", *(f"- {escape_md(flag)}" for flag in result["flags"]), ""]
    if mcq:
        if result.get("status") == "not_answered":
            lines.append(f"**Not answered:** {escape_md(result.get('error') or '')}")
        else:
            lines.append(f"**Extracted letter:** {escape_md(result.get('extracted') or 'none (unparsed)')}")
        return "\n".join(lines)
    criteria = criteria_lines(result)
    if criteria:
        lines += ["| criterion | 0–100 |", "|---|---:|",
                  *(f"| {name} | {'—' if value is None else f'{value:.1f}'} |" for name, value in criteria), ""]
    if result.get("score") is not None:
        lines.append(f"**Score:** {result['score']:.1f}")
    for label, key in (("Rationale", "rationale"), ("Error", "error")):
        if result.get(key):
            lines += ["", f"**{label}:** {_lines(result[key])}"]
    if result.get("raw"):
        lines += ["", f"**Raw judge reply:** {code(result['raw'])}"]
    return "\n".join(lines)


def compare_markdown(result: Comparison) -> str:
    """The two verdict sentences (escaped: they carry model names) and the counts of agreement."""
    mcq = result.mcq
    lines = [f"**MCQ:** {escape_md(mcq.sentence)}", "", f"**Open:** {escape_md(result.open.sentence)}", ""]
    if mcq.n:
        lines.append(f"Both right {mcq.both_right:,} · only {escape_md(result.names[0])} {mcq.only_a:,} · "
                     f"only {escape_md(result.names[1])} {mcq.only_b:,} · both wrong {mcq.both_wrong:,} "
                     f"(exact McNemar p = {mcq.p:.4g}). Per-dimension p-values are a guide, not adjusted "
                     "for seven looks.")
    return "\n".join(lines)


def compare_summary(result: Comparison) -> dict:
    """The compare result for the API: everything but the long id lists, which become counts."""
    return result.summary()


def suspect_reason(item_counts: list[int]) -> str:
    """Why "only suspect questions" finds none: the item analysis needs MIN_SUBMISSIONS answers per question."""
    counted = max(item_counts, default=0)
    if counted >= MIN_SUBMISSIONS:
        return (f"No question is marked suspect: none shows negative discrimination strong enough at a "
                f"false-discovery rate of {FDR:.0%} over all questions ({counted} submissions answered so far).")
    return (f"No question is marked suspect yet: the item analysis needs {MIN_SUBMISSIONS} submissions on this "
            f"build, and {counted} answered so far.")


# The tab's view in the page's address, beside `submission`, `question` and `compare`: one line per filter.
ADDRESS_NAMES = ("dimension", "medical_intelligence", "modality", "organ_system", "outcome", "text", "disagree",
                 "suspect", "order", "page")


def state_in_address(query: str, facets: dict[str, list[str]]) -> tuple:
    """Explore's filters, order and page a link carries (`?dimension=causal&outcome=wrong&order=difficulty&page=2`),
    in ADDRESS_NAMES' order; what it does not carry (or names wrongly) is left as it is."""
    def listed(name: str, choices) -> list[str] | None:
        given = url_state.read_all(query, name)
        return [value for value in given if value in choices] if given else None

    text, disagree, suspect = (url_state.read(query, name) for name in ("text", "disagree", "suspect"))
    order, page = url_state.read(query, "order"), url_state.read(query, "page", limit=6)
    values = [*(listed(name, facets.get(name, ())) for name in FACETS), listed("outcome", OUTCOMES),
              text or None, disagree or None, (suspect == "true") if suspect else None,
              order if order in ORDERS else None, int(page) if page.isdigit() and int(page) >= 1 else None]
    return tuple(gr.skip() if value is None else value for value in values)


class ExploreViews:
    """The tab's handlers over one `Explorer`, as plain methods (usable without a page); refusals become an
    error toast."""

    def __init__(self, board: Leaderboard, files: Path) -> None:
        self.board = board
        self.explorer = Explorer(board, files)
        self.facets = self.explorer.facet_values()

    def explore(self, submission_id: str, dimension: list[str], medical_intelligence: list[str], modality: list[str],
                organ_system: list[str], status: list[str], search: str, disagree_with: str | None,
                suspect_only: bool, order: str, page: float | None) -> tuple[pd.DataFrame, str, int]:
        """One page (50 rows) of a scored submission's questions, filtered by dimension, medical
        intelligence, modality, organ system and status (correct, wrong, unparsed, missing, judged,
        flagged, failed, awaiting, not answered), by words in the text, to the questions where another
        submission (`disagree_with`) disagrees, and to the item analysis's suspects; ordered by question,
        difficulty (hardest first) or discrimination (lowest first); returns the rows, a summary line and
        the page shown."""
        try:
            with self.explorer.slot():
                found = self.explorer.page(
                    submission_id, dimension=dimension, medical_intelligence=medical_intelligence, modality=modality,
                    organ_system=organ_system, status=status, search=search or "", disagree_with=disagree_with or None,
                    suspect_only=bool(suspect_only), order=order or "question", page=int(page or 1))
        except ExploreError as error:
            raise _error(error) from error
        matched = "question matches" if found["total"] == 1 else "questions match"
        info = (f"**{found['total']:,}** {matched} · page {found['page']} of {found['pages']} "
                f"({PAGE_ROWS} per page)")
        if suspect_only and not found["total"]:
            info += " · " + suspect_reason([item.n for item in self.board.item_analysis()])
        if not found["public"]:
            info += " · " + WITHHELD
        return pd.DataFrame(found["rows"], columns=TABLE_COLUMNS), info, found["page"]

    def first_page(self, *values) -> tuple:
        """A filter changed: its first page. Before a submission is chosen there is nothing to filter, and
        that is no error: the hint stays."""
        return self.page_at(*values, 1)

    def previous_page(self, *values) -> tuple:
        """The page before the one the inputs name (never before the first)."""
        return self.explore(*values[:-1], max(1, int(values[-1] or 1) - 1))

    def next_page(self, *values) -> tuple:
        """The page after the one the inputs name."""
        return self.explore(*values[:-1], int(values[-1] or 1) + 1)

    def page_at(self, *values) -> tuple:
        """The page the inputs name (a link's `?page=`), or the hint before a submission is chosen."""
        if not str(values[0] or "").strip():
            return pd.DataFrame(columns=TABLE_COLUMNS), CHOOSE_FIRST, 1
        return self.explore(*values)

    def explore_item(self, submission_id: str, item_id: str) -> tuple[str | None, str, dict]:
        """One question of a submission: its thumbnail, a readable view, and the record as JSON
        (question, options, reference, outcome, and with consent the output and judge verdict)."""
        try:
            with self.explorer.slot():
                shown = self.explorer.item(submission_id, item_id)
        except ExploreError as error:
            raise _error(error) from error
        link = url_state.permalink(tab="explore", submission=submission_id, question=shown["id"])
        rows = self.board.status(submission_id)
        model = f"**{escape_md(rows[0]['model'])}** · {code(submission_id)}\n\n" if rows else ""
        return (self.explorer.thumbnail(shown["id"]),
                f"{model}{item_markdown(shown)}\n\n[Link to this question]({link})", shown)

    def choices(self) -> gr.Dropdown:
        """Every scored submission, by "model · id" (fresh: one scored since the page opened is there too)."""
        return gr.Dropdown(choices=self.explorer.submissions())

    def chosen(self, query: str) -> tuple:
        """The submission a link names, shown by its model's name (its id stays the value), and the one it is
        compared with."""
        submissions = self.explorer.submissions()
        picked = [url_state.read(query, name) for name in ("submission", "compare")]
        return tuple(gr.Dropdown(choices=submissions, value=value) if value else gr.skip() for value in picked)

    def filters_in_address(self, query: str) -> tuple:
        """The filters, order and page a link carries (see `state_in_address`)."""
        return state_in_address(query, self.facets)

    def question_from_address(self, query: str):
        """The question a link names (`?tab=explore&submission=…&question=…`), opened."""
        chosen, question = (url_state.read(query, name) for name in ("submission", "question"))
        if not (chosen and question):
            return (gr.skip(),) * 4
        try:
            return question, *self.explore_item(chosen, question)
        except gr.Error as error:
            return question, None, f"**{escape_md(str(error.message))}**", None

    def explore_compare(self, submission_a: str, submission_b: str) -> tuple[str, pd.DataFrame, dict]:
        """Question-by-question agreement of two submissions: both right / only A / only B / both
        wrong overall and per dimension with the exact McNemar p, the Open paired bootstrap, and
        one sentence per format saying whether the difference is significant at 95%."""
        try:
            with self.explorer.slot():
                result = self.explorer.compare(submission_a, submission_b)
        except ExploreError as error:
            raise _error(error) from error
        link = url_state.permalink(tab="explore", submission=submission_a, compare=submission_b)
        return (f"{compare_markdown(result)}\n\n[Link to this comparison]({link})", pd.DataFrame(compare_rows(result)),
                compare_summary(result))

    def compare_from_address(self, query: str):
        """The pair a link names (`?tab=explore&submission=…&compare=…`), compared."""
        chosen, other = (url_state.read(query, name) for name in ("submission", "compare"))
        if not (chosen and other):
            return (gr.skip(),) * 3
        try:
            return self.explore_compare(chosen, other)
        except gr.Error as error:
            return f"**{escape_md(str(error.message))}**", gr.skip(), gr.skip()

    def select_row(self, submission_id: str, evt: gr.SelectData):
        item_id = str((evt.row_value or [""])[0])
        return (item_id, *self.explore_item(submission_id, item_id))

    def explore_image(self, item_id: str) -> str | None:
        """A question's image at full size, as stored in the build."""
        return self.explorer.full_image((item_id or "").strip())

    def explore_details(self, submission_id: str) -> str:
        """The submission's per-question details as JSONL (only correctness without the submitter's consent)."""
        try:
            with self.explorer.slot():
                return self.explorer.details_download(submission_id)
        except ExploreError as error:
            raise _error(error) from error

    def download(self, submission_id: str):
        """The chosen submission's details, or none: an unknown or unscored choice is already said by the
        table's own error (a second toast of the same words would make "Error (2)")."""
        try:
            return gr.DownloadButton(value=self.explore_details(submission_id) if submission_id else None)
        except gr.Error:
            return gr.DownloadButton(value=None)

    def findings(self, submission_id: str | None) -> str:
        """What the copy checks found about the chosen submission, each with the questions that show it."""
        return findings_markdown(self.board.findings(submission_id), submission_id) if submission_id else ""

    def item_analysis(self) -> tuple[str, str]:
        """Every MCQ's difficulty, discrimination and suspect mark as CSV (suspects first), and a summary."""
        stats = self.board.item_analysis()
        ordered = sorted(stats, key=lambda item: (not item.suspect, item.id))
        flagged = [item for item in stats if item.suspect]
        rules = ", ".join(f"{rule}: {sum(item.rule == rule for item in flagged)}"
                          for rule in sorted({item.rule for item in flagged}))
        counted = max((item.n for item in stats), default=0)
        summary = (f"**{len(flagged)}** of {len(stats):,} questions suspect ({rules or 'none'}), from up to "
                   f"{counted} submissions.")
        return (self.explorer.write("medcmr_item_analysis.csv", items_csv(ordered, self.explorer.questions)),
                summary)


def no_image(item_id: str) -> None:
    """Another question chosen: the full-size image shown is cleared (never another question's image)."""
    return None


def disagreeing_with(other: str | None) -> str | None:
    """The submission compared with becomes the one the table shows disagreements with."""
    return other


@dataclass
class _Browse:
    """The chosen submission, its filters, the table of its questions and the pager."""

    submission: gr.Dropdown
    details_button: gr.DownloadButton
    facet_inputs: list[gr.Dropdown]
    status: gr.Dropdown
    search: gr.Textbox
    disagree_with: gr.Dropdown
    suspect_only: gr.Checkbox
    order: gr.Dropdown
    table: gr.Dataframe
    previous: gr.Button
    page: gr.Number
    following: gr.Button
    info: gr.Markdown
    findings: gr.Markdown

    @property
    def filters(self) -> list:
        """The inputs of `ExploreViews.first_page` (and, with `page`, of `explore`)."""
        return [self.submission, *self.facet_inputs, self.status, self.search, self.disagree_with, self.suspect_only,
                self.order]

    @property
    def tail(self) -> list:
        """The filters and page a link carries, in ADDRESS_NAMES' order."""
        return [*self.filters[1:], self.page]

    @property
    def page_outputs(self) -> list:
        return [self.table, self.info, self.page]


@dataclass
class _Question:
    """One question opened: its id, thumbnail, full-size image, readable view and record."""

    item_id: gr.Textbox
    thumbnail: gr.Image
    full_button: gr.Button
    item_view: gr.Markdown
    full_image: gr.Image
    item_json: gr.JSON

    @property
    def outputs(self) -> list:
        return [self.thumbnail, self.item_view, self.item_json]


@dataclass
class _Compare:
    """The comparison of the chosen submission with another."""

    other: gr.Dropdown
    button: gr.Button
    jump_button: gr.Button
    view: gr.Markdown
    table: gr.Dataframe
    json: gr.JSON

    @property
    def outputs(self) -> list:
        return [self.view, self.table, self.json]


def _browse(facets: dict[str, list[str]], submissions: list[tuple[str, str]]) -> _Browse:
    """Lay out the submission picker, the filters, the table of questions and the pager."""
    gr.Markdown("Browse every answer behind a score: choose a scored submission, filter its questions and click "
                "a row to see the image, the question, the reference and the model's output with its verdict. "
                "Outputs are shown only where the submitter agreed to publish them.")
    with gr.Row():
        submission = gr.Dropdown(submissions, value=None, label="Submission", allow_custom_value=True, scale=3,
                                 elem_id="explore-submission")
        details_button = gr.DownloadButton("⬇ Per-question details (JSONL)", size="sm", scale=1)
    with gr.Row():
        facet_inputs = [gr.Dropdown(facets[name], multiselect=True, label=FACET_LABELS[name]) for name in FACETS]
        status = gr.Dropdown(list(OUTCOMES), multiselect=True, label="Status")
    with gr.Row():
        search = gr.Textbox(label="Search the text", placeholder="words in question, options, answer or output",
                            scale=2, elem_id="explore-search")
        disagree_with = gr.Dropdown(submissions, value=None, label="Only where it disagrees with",
                                    allow_custom_value=True, scale=2, elem_id="explore-disagree")
        suspect_only = gr.Checkbox(False, label="Only suspect questions (item analysis)", scale=1,
                                   elem_id="explore-suspect")
        order = gr.Dropdown(list(ORDERS), value="question", label="Order by", scale=1, elem_id="explore-order",
                            info="difficulty: hardest first; discrimination: lowest first")
    # What a question is about first (outcome, answers, score and its statistics), its long text after.
    # One line per question (the row opens it whole), so a page's rows and their statistics are in view.
    table = gr.Dataframe(headers=TABLE_COLUMNS, interactive=False, wrap=False, max_height=560,
                         label="Questions (click a row)", elem_id="explore-table",
                         column_widths=["92px", "96px", "200px", "160px", "64px", "92px", "120px", "360px"])
    with gr.Row(elem_id="explore-pager"):
        previous = gr.Button("◀ Previous", size="sm", scale=0)
        page = gr.Number(1, label="Page", precision=0, minimum=1, scale=0, min_width=90)
        following = gr.Button("Next ▶", size="sm", scale=0)
    info = gr.Markdown(CHOOSE_FIRST if submissions else
                       "Nothing is scored yet: a submission appears here once the Submit tab has scored it.",
                       elem_id="explore-info")
    findings = gr.Markdown(elem_id="explore-findings")
    return _Browse(submission, details_button, facet_inputs, status, search, disagree_with, suspect_only, order,
                   table, previous, page, following, info, findings)


def _question() -> _Question:
    """Lay out one question's view: its id, images, readable view and record."""
    with gr.Row():
        with gr.Column(scale=1):
            item_id = gr.Textbox(label="Question id", placeholder="e.g. mcq-12", elem_id="explore-item-id")
            thumbnail = gr.Image(type="filepath", label="Image (thumbnail)", interactive=False, height=320,
                                 elem_id="explore-thumbnail")
            full_button = gr.Button("Full-size image", size="sm", elem_id="explore-full")
        with gr.Column(scale=2):
            item_view = gr.Markdown("Click a row to open a question.", elem_id="explore-item")
    # Shown once it holds an image (CSS leaves an empty image box out).
    full_image = gr.Image(type="filepath", label="Full size", interactive=False,
                          elem_id="explore-full-image", buttons=["download", "fullscreen"])
    with gr.Accordion("Record as returned by the API", open=False):
        item_json = gr.JSON(show_label=False)
    return _Question(item_id, thumbnail, full_button, item_view, full_image, item_json)


def _compare(submissions: list[tuple[str, str]]) -> _Compare:
    """Lay out the comparison of two models."""
    gr.Markdown("### Compare two models")
    with gr.Row():
        compare_b = gr.Dropdown(submissions, value=None, label="Compare the chosen submission with",
                                allow_custom_value=True, scale=3, elem_id="explore-compare-b")
        compare_button = gr.Button("Compare", scale=0, elem_id="explore-compare")
        jump_button = gr.Button("Show the questions where they disagree", scale=1, size="sm")
    compare_view = gr.Markdown(elem_id="explore-compare-view")
    compare_table = gr.Dataframe(headers=compare_columns(), interactive=False, wrap=True,
                                 label="MCQ agreement per dimension", elem_id="explore-compare-table")
    with gr.Accordion("Comparison as returned by the API", open=False):
        compare_json = gr.JSON(show_label=False)
    return _Compare(compare_b, compare_button, jump_button, compare_view, compare_table, compare_json)


def _wire_pages(views: ExploreViews, browse: _Browse, question: _Question, compare: _Compare) -> None:
    """The `explore` API and the page's own paging; each attempt first closes the last one's error toast."""
    filters, page, page_outputs = browse.filters, browse.page, browse.page_outputs
    # Each attempt first closes the last one's error toast (Gradio runs a trigger's listeners in order):
    # errors in a row, such as unknown submission ids typed one after another, show one toast, never "Error (3)".
    # Only a visitor's own changes (`input`) start over at page 1: a link's filters are set with its page.
    filter_changes = [f.input for f in filters if f is not browse.search] + [browse.search.submit]
    gr.on([*filter_changes, page.submit, browse.previous.click, browse.following.click, question.item_id.submit,
           browse.table.select, browse.details_button.click, compare.button.click], None,
          js=toasts.close_js("error"), **PRIVATE)
    gr.on(filter_changes, views.first_page, inputs=filters, outputs=page_outputs, trigger_mode="always_last",
          **PRIVATE)  # a change made while the last one is shown is shown next, never dropped
    gr.on([page.submit], views.explore, inputs=[*filters, page], outputs=page_outputs, api_name="explore",
          concurrency_limit=None)
    browse.previous.click(views.previous_page, inputs=[*filters, page], outputs=page_outputs, **PRIVATE)
    browse.following.click(views.next_page, inputs=[*filters, page], outputs=page_outputs, **PRIVATE)


def _wire_submission(views: ExploreViews, browse: _Browse, compare: _Compare) -> None:
    """The chosen submission's download (`explore_details`) and findings; pickers listing what is scored now."""
    submission = browse.submission
    submission.change(views.download, inputs=submission, outputs=browse.details_button, **PRIVATE)
    submission.change(views.findings, inputs=submission, outputs=browse.findings, **PRIVATE)
    browse.details_button.click(views.explore_details, inputs=submission, outputs=browse.details_button,
                                api_name="explore_details")
    for dropdown in (submission, browse.disagree_with, compare.other):
        dropdown.focus(views.choices, outputs=dropdown, **PRIVATE)


def _keep_question(browse: _Browse, question: _Question) -> dict:
    """The open question in the page's address, once it is shown."""
    return {"fn": None, "inputs": [browse.submission, question.item_id],
            "js": url_state.remember("submission", "question"), **PRIVATE}


def _wire_question(views: ExploreViews, browse: _Browse, question: _Question) -> None:
    """A question opened by id (`explore_item`) or by a row, and its full-size image (`explore_image`)."""
    question.item_id.submit(views.explore_item, inputs=[browse.submission, question.item_id],
                            outputs=question.outputs, api_name="explore_item",
                            concurrency_limit=None).then(**_keep_question(browse, question))
    browse.table.select(views.select_row, inputs=browse.submission, outputs=[question.item_id, *question.outputs],
                        **PRIVATE).then(**_keep_question(browse, question))
    question.full_button.click(views.explore_image, inputs=question.item_id, outputs=question.full_image,
                               api_name="explore_image")
    question.item_id.change(no_image, inputs=question.item_id, outputs=question.full_image,
                            **PRIVATE)  # never another question's image


def _wire_address(demo: gr.Blocks, views: ExploreViews, address: gr.Textbox, browse: _Browse, question: _Question,
                  compare: _Compare) -> None:
    """A link opens what it names: the submission (by its model's name), its filters and page, the question and
    the comparison; the page's script then scrolls to what the link named and marks it. What the visitor
    chooses is kept in the address."""
    demo.load(views.chosen, inputs=address, outputs=[browse.submission, compare.other], js=url_state.READ_ADDRESS,
              **PRIVATE).then(
        views.filters_in_address, inputs=address, outputs=browse.tail, js=url_state.READ_ADDRESS, **PRIVATE).then(
        views.page_at, inputs=[*browse.filters, browse.page], outputs=browse.page_outputs, **PRIVATE).then(
        views.question_from_address, inputs=address, outputs=[question.item_id, *question.outputs],
        js=url_state.READ_ADDRESS, **PRIVATE).then(
        views.compare_from_address, inputs=address, outputs=compare.outputs, js=url_state.READ_ADDRESS, **PRIVATE)
    browse.submission.input(**_keep_question(browse, question))
    for name, component in zip(ADDRESS_NAMES, browse.tail):
        component.change(None, inputs=component, js=url_state.remember(name), **PRIVATE)


def _wire_compare(views: ExploreViews, browse: _Browse, compare: _Compare) -> None:
    """The `explore_compare` API, and the jump to the questions where the two disagree."""
    compared = compare.button.click(views.explore_compare, inputs=[browse.submission, compare.other],
                                    outputs=compare.outputs, api_name="explore_compare")
    compared.then(None, inputs=[browse.submission, compare.other], js=url_state.remember("submission", "compare"),
                  **PRIVATE)
    compare.jump_button.click(disagreeing_with, inputs=compare.other, outputs=browse.disagree_with, **PRIVATE).then(
        views.first_page, inputs=browse.filters, outputs=browse.page_outputs, **PRIVATE)


def _item_analysis(views: ExploreViews) -> None:
    """Lay out and wire the item analysis (`item_analysis` API): which questions look broken."""
    gr.Markdown("### Which questions look broken (item analysis)\nFrom every submission scored on this build: "
                "each MCQ's difficulty (share right) and discrimination (point-biserial against the submissions' "
                "other answers). A question is **suspect** when the submissions right on it are weaker than those "
                "wrong on it beyond chance (negative discrimination: the signature of a wrong key), tested once "
                f"{MIN_SUBMISSIONS} submissions answered it, at a false-discovery rate of {FDR:.0%} over all "
                "questions (at most one flagged question in twenty is expected to be sound; with few submissions "
                "only blatant cases can be flagged). The list is for the dataset's maintainers.")
    with gr.Row():
        items_summary = gr.Markdown(elem_id="item-analysis")
        items_button = gr.DownloadButton("⬇ Item analysis (CSV)", size="sm", scale=0)
    items_button.click(views.item_analysis, outputs=[items_button, items_summary], api_name="item_analysis")


def build_explore_tab(demo: gr.Blocks, board: Leaderboard, files: Path, address: gr.Textbox) -> Explorer:
    """Lay out the tab (inside an open `gr.Tab`) and wire its events."""
    views = ExploreViews(board, files)
    submissions = views.explorer.submissions()
    browse = _browse(views.facets, submissions)
    question = _question()
    compare = _compare(submissions)
    _wire_pages(views, browse, question, compare)
    _wire_submission(views, browse, compare)
    _wire_question(views, browse, question)
    _wire_address(demo, views, address, browse, question, compare)
    _wire_compare(views, browse, compare)
    build_reproduction_section(views.explorer, browse.submission)
    _item_analysis(views)
    return views.explorer
