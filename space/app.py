"""The Gradio 6 page: Leaderboard, Submit and About tabs wired to the `Leaderboard` facade.

UI code only: each function below translates between Gradio values and one `leaderboard/` call.
Everything a submitter typed reaches the page as escaped text, never as HTML. Three events
carry API names for `gradio_client`: `submit`, `status` and `leaderboard`.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__" and not __package__:  # a Space runs `python space/app.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio as gr
import huggingface_hub
import pandas as pd

import judge
import medcmr
from leaderboard import board as tables
from leaderboard import plots
from leaderboard.service import Leaderboard, SubmissionError, SubmissionMeta

DEFAULT_COLUMN_GROUPS = ["Overview", "Dimensions", "Model info"]
SOURCE_BADGES = {"paper": "reported in paper", "scored here": "scored here"}
STATUS_LABELS = {"awaiting_judge": "awaiting judge"}
STATUS_COLUMNS = ["id", "model", "submitter", "status", "progress", "error", "created_at", "updated_at"]
STATUS_REFRESH_SECONDS = 3.0
# The paper's open prompt has one long line: wrap code blocks in About rather than hide its end.
CSS = "#about pre, #about pre code { white-space: pre-wrap; overflow-wrap: anywhere; }"
BOARD_REFRESH_SECONDS = 10.0

CITATION = """@misc{gong2025medcmr,
  title         = {Med-CMR: A Fine-Grained Benchmark Integrating Visual Evidence and Clinical
                   Logic for Medical Complex Multimodal Reasoning},
  author        = {Gong, Haozhen and Ji, Xiaozhong and Liu, Yuansen and Wu, Wenbin and
                   Yan, Xiaoxiao and Liu, Jingjing and Wu, Kai and Pan, Jiazhen and
                   Jian, Bailiang and Zhang, Jiangning and Hu, Xiaobin and Li, Hongwei Bran},
  year          = {2025},
  eprint        = {2512.00818},
  archivePrefix = {arXiv},
}"""

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")


def escape_md(text: object) -> str:
    """Untrusted text as literal Markdown: HTML entities, escaped punctuation, one line."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def code(text: object) -> str:
    """Untrusted text as an inline code span (nothing inside a code span is interpreted)."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def _user_error(error: Exception) -> gr.Error:
    """gr.Error renders HTML, so the facade's message (which may quote the file) is escaped."""
    return gr.Error(html.escape(str(error), quote=False), title="Submission refused")


# ---------------------------------------------------------------- leaderboard tab adapters

def _table(df: pd.DataFrame) -> pd.DataFrame:
    """The view as the table shows it: source badges, empty cells for missing scores."""
    shown = df.copy()
    if "Source" in shown:
        shown["Source"] = shown["Source"].map(lambda source: SOURCE_BADGES.get(source, source))
    return shown.astype(object).where(shown.notna(), None)


def _write_once(root: Path, name: str, data: bytes) -> str:
    """A download file named by its content, so concurrent sessions never overwrite each other."""
    folder = root / hashlib.sha256(data).hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    return str(path)


def _ranked_models(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df[tables.PINNED].tolist()))


# ---------------------------------------------------------------- submit tab adapters

def on_space() -> bool:
    """Running on a Hugging Face Space (the same test Gradio's OAuth uses)."""
    return os.environ.get("SYSTEM") == "spaces" and bool(os.environ.get("SPACE_ID"))


def _submitter(profile: gr.OAuthProfile | None, token: gr.OAuthToken | None) -> str:
    """Who submits: the signed-in Hub user on a Space (browser session, or a script's token
    sent with `Client(url, oauth_token=...)`); "local" when not running on a Space."""
    if profile is not None:
        return profile.username
    if not on_space():
        return "local"
    if token is not None:
        try:
            return huggingface_hub.whoami(token=token.token)["name"]
        except Exception as error:  # any failure means the token proves nothing
            raise SubmissionError("The Hugging Face token sent with this request was not accepted "
                                  "by the Hub; sign in or send a valid token.") from error
    raise SubmissionError("Sign in with Hugging Face (the button above) before submitting; scripts "
                          "pass a token: gradio_client.Client(url, oauth_token=...).")


def _receipt_markdown(receipt: dict) -> str:
    position = receipt.get("position")
    where = f"position **{position}** in the queue" if position else f"status **{receipt.get('status')}**"
    return (f"**Accepted** as {code(receipt.get('id'))}, {where}. Follow it in the queue below.\n\n"
            + escape_md(receipt.get("message") or ""))


def _status_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [{**{key: row.get(key) for key in STATUS_COLUMNS},
          "status": STATUS_LABELS.get(row.get("status"), row.get("status")),
          "progress": f"{row.get('progress_done') or 0}/{row.get('progress_total') or 0}",
          "error": row.get("error") or ""} for row in rows],
        columns=STATUS_COLUMNS)


def _card_choices(rows: list[dict]) -> list[tuple[str, str]]:
    return [(f"{row.get('model')} · {row['id']}", row["id"]) for row in rows]


def _breakdown_table(title: str, breakdown: dict, value_key: str) -> list[str]:
    if not breakdown:
        return []
    lines = [f"**{title}**", "", f"| {title} | n | {'accuracy' if value_key == 'accuracy' else 'score'} |",
             "|---|---:|---:|"]
    order = {name: position for position, name in enumerate(tables.DIMENSION_ABBR)}
    for name, cell in sorted(breakdown.items(), key=lambda item: (order.get(item[0], len(order)), item[0])):
        value = cell.get(value_key)
        shown = "—" if value is None else f"{value:.2f}"
        label = f"{tables.DIMENSION_ABBR[name]} ({name})" if name in tables.DIMENSION_ABBR else name
        lines.append(f"| {escape_md(label)} | {cell.get('n', '')} | {shown} |")
    return lines + [""]


def result_card(board: Leaderboard, submission_id: str | None) -> str:
    """Scores and per-dimension breakdown of one submission, as Markdown (typed text escaped)."""
    if not submission_id:
        return "Choose a submission to see its scores."
    rows = board.status(submission_id)
    if not rows:
        return f"No submission with id {code(submission_id)}."
    row = rows[0]
    status = STATUS_LABELS.get(row.get("status"), row.get("status"))
    lines = [f"### {escape_md(row.get('model'))}",
             f"{code(row['id'])} · status **{escape_md(status)}** · "
             f"progress {row.get('progress_done') or 0}/{row.get('progress_total') or 0}", ""]
    if row.get("error"):
        lines += [f"**Error:** {escape_md(row['error'])}", ""]
    results = board.result(submission_id)
    if not results:
        return "\n".join(lines + ["No scores yet."])
    mcq, open_ = results.get("mcq") or {}, results.get("open") or {}
    if mcq:
        ci = mcq.get("ci95") or (None, None)
        lines.append(f"\n**MCQ accuracy: {mcq.get('accuracy', 0):.2f}%** ({mcq.get('correct')} of {mcq.get('n')}"
                     + (f"; 95% CI {ci[0]:.2f}–{ci[1]:.2f}" if None not in tuple(ci) else "")
                     + f"; unparsed {mcq.get('unparsed', 0)})")
    if open_.get("score") is not None:
        criteria = open_.get("criteria") or {}
        lines.append(f"\n**Open score: {open_['score']:.2f}** ({open_.get('judged')} judged"
                     + (f", {open_['failed']} failed" if open_.get("failed") else "") + ") — "
                     + ", ".join(f"{name.replace('_', ' ')} {value:.2f}"
                                 for name, value in criteria.items() if value is not None))
    elif open_.get("awaiting"):
        lines.append(f"\n**Open answers: awaiting judge** ({open_['awaiting']} stored; judged once a "
                     "judge endpoint is configured)")
    lines.append("")
    lines += _breakdown_table("Dimension", mcq.get("by_dimension") or {}, "accuracy")
    lines += _breakdown_table("Medical intelligence", mcq.get("by_medical_intelligence") or {}, "accuracy")
    lines += _breakdown_table("Open dimension", open_.get("by_dimension") or {}, "score")
    judge_info = results.get("judge") or {}
    if judge_info.get("model"):
        lines.append(f"Judge: {escape_md(judge_info.get('model'))} "
                     f"(prompt {escape_md(judge_info.get('prompt_version', ''))})")
    return "\n".join(lines)


# ---------------------------------------------------------------- about tab

def about_markdown(board: Leaderboard, judge_model: str | None) -> str:
    """The benchmark, dimensions, prompts, judge, scoring rules, discrepancies and citation."""
    template = {"question": "{question}", "options": [f"{{{letter}}}" for letter in "ABCDE"]}
    mcq_prompt = medcmr.format_prompt({**template, "question_type": "mcq"})
    open_prompt = medcmr.format_prompt({**template, "question_type": "open", "options": []})
    paper = board.board()
    paper = paper[paper["Source"] == "paper"]
    own_notes = {model: note.replace(tables.RELEASE_LABEL_NOTE, "").strip("; ")
                 for model, note in zip(paper["Model"], paper["Note"])}
    notes = [f"- {escape_md(model)}: {escape_md(note)}" for model, note in own_notes.items() if note]
    dimensions = "\n".join(f"| {task} | `{slug}` | {tables.DIMENSION_ABBR.get(slug, '')} |"
                           for task, slug in medcmr.DIMENSIONS.items())
    judge_line = (code(judge_model) if judge_model
                  else "none configured — open answers wait as **awaiting judge**")
    return f"""
## Med-CMR

A benchmark of medical complex multimodal reasoning ([arXiv 2512.00818](https://arxiv.org/abs/2512.00818),
CVPR 2026): image questions in multiple-choice (five options A–E) and open-ended form, over
11 organ systems and 12 imaging modalities, test split only.

### Seven dimensions

| Task in the release | Config | Paper |
|---|---|---|
{dimensions}

Medical-intelligence classes (paper Table 3): clinical decision support (CDS), diagnosis (DX),
pathophysiologic analysis (PA), procedural risk assessment (PRA), staging and extent evaluation
(SEE), treatment response evaluation (TRE).

### The paper's prompts (version `{medcmr.PROMPT_VERSION}`)

Multiple choice:
```text
{mcq_prompt}
```
Open-ended:
```text
{open_prompt}
```

### Scoring

- **MCQ**: accuracy in %, micro-averaged over all MCQs, from a deterministic letter-extraction
  cascade; unparsed or missing answers count as wrong and the unparsed rate is reported.
- **Open-ended**: an LLM judge scores Consistency (Con), Coherence (Coh), Visual Accuracy (VA)
  and Ground-truth correctness (GT), each 0–100; S = (Con + Coh + 4·VA + 4·GT) / 10.
- Judge here: {judge_line}; judge prompt version `{judge.JUDGE_PROMPT_VERSION}`, temperature 0.
  The paper used DeepSeek-V3.2-Exp with an unpublished prompt, so paper rows and rows scored
  here are comparable for MCQ, indicative for open-ended.
- Ranking: MCQ overall, ties broken by the open score.

### Known discrepancies

- {escape_md(tables.RELEASE_LABEL_NOTE)}.
{chr(10).join(notes)}

### Research use only

Med-CMR and everything on this page is for research. It is **not for clinical use**.

### Citation

```bibtex
{CITATION}
```
"""


# ---------------------------------------------------------------- the page

def build_app(board: Leaderboard) -> gr.Blocks:
    """The three-tab page over one running `Leaderboard` (its worker is started by the caller)."""
    judge_model = board.endpoint.model if board.endpoint is not None else None
    exports = Path(tempfile.mkdtemp(prefix="medcmr-exports-"))

    def leaderboard(search: str, weights: list[str], domains: list[str], sizes: list[str],
                    sources: list[str], column_groups: list[str]) -> pd.DataFrame:
        """The ranked board filtered by model search (";" separates terms), weights (open/closed),
        domain (medical/general), size bucket and source (paper/scored here); shown column groups."""
        view = tables.filter_board(board.board(), search or "", weights or (), domains or (),
                                   sizes or (), sources or ())
        return _table(tables.visible_columns(view, column_groups or ()))

    def downloads_and_plot(search, weights, domains, sizes, sources, column_groups):
        full = board.board()
        view = tables.filter_board(full, search or "", weights or (), domains or (), sizes or (), sources or ())
        shown = tables.visible_columns(view, column_groups or ())
        return (_write_once(exports, "medcmr_leaderboard.csv", tables.export_csv(shown)),
                _write_once(exports, "medcmr_leaderboard.json", tables.export_json(shown)),
                plots.score_vs_size(view))

    def radar(models: list[str]) -> object:
        return plots.dimension_chart(board.board(), list(models or [])[:5])

    def board_tick(seen_version: int, *filters):
        """Re-render only when the board changed, so a reader's sorting is not reset for nothing."""
        current = board.board_version()
        if current == seen_version:
            return (gr.skip(),) * 6
        return (leaderboard(*filters), current, gr.Dropdown(choices=_ranked_models(board.board())),
                *downloads_and_plot(*filters))

    def submit(predictions: str | None, model: str, link: str, weights: str, domain: str,
               params_b: float | None, description: str, profile: gr.OAuthProfile | None,
               oauth_token: gr.OAuthToken | None) -> dict:
        """Queue a predictions file (JSONL, JSON list or CSV with id,prediction) with its model
        metadata; returns id, status, message, coverage and queue position, or raises the reason."""
        try:
            if not predictions:
                raise SubmissionError("Choose a predictions file (JSONL, JSON or CSV with id and prediction).")
            meta = SubmissionMeta(model=(model or "").strip(), link=(link or "").strip(),
                                  group=weights or "open", medical=domain == "medical",
                                  params_b=float(params_b) if params_b else None,  # the form's 0 = unknown
                                  description=(description or "").strip())
            receipt = board.submit(Path(predictions), meta, submitter=_submitter(profile, oauth_token))
        except SubmissionError as error:
            raise _user_error(error) from error
        return receipt

    def status(submission_id: str) -> pd.DataFrame:
        """Submissions, newest first (or just the one with this id): status, progress, error."""
        return _status_frame(board.status((submission_id or "").strip() or None))

    def submit_tab_tick(submission_id: str, chosen: str | None):
        rows = board.status()
        return (status(submission_id), gr.Dropdown(choices=_card_choices(rows)),
                result_card(board, chosen))

    full = board.board()
    with gr.Blocks(title="Med-CMR leaderboard") as demo:
        gr.Markdown("# Med-CMR leaderboard\nMedical complex multimodal reasoning "
                    "([arXiv 2512.00818](https://arxiv.org/abs/2512.00818)). "
                    "*Research use only — not for clinical use.*")
        with gr.Tabs():
            with gr.Tab("Leaderboard", id="leaderboard") as board_tab:
                gr.Markdown(f"Rows marked **reported in paper** are the paper's Table 2/3 numbers; "
                            f"**scored here** rows were judged by this Space. "
                            f"Note: {escape_md(tables.RELEASE_LABEL_NOTE)}. "
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
                        compared = gr.Dropdown(_ranked_models(full), value=_ranked_models(full)[:3],
                                               multiselect=True, max_choices=5,
                                               label="Compare up to 5 models by dimension")
                        radar_plot = gr.Plot(label="Per-dimension accuracy")
                    size_plot = gr.Plot(label="MCQ accuracy vs parameters")
                seen_version = gr.State(-1)
                board_timer = gr.Timer(BOARD_REFRESH_SECONDS)

            with gr.Tab("Submit", id="submit"):
                if on_space():
                    gr.LoginButton()
                gr.Markdown(
                    "Upload your model's answers to every question: JSONL (`{\"id\": \"mcq-0\", "
                    "\"prediction\": \"B\"}` per line), a JSON list of such objects, or CSV with "
                    "`id,prediction`. Ids are `mcq-{index}` / `open-{index}`. Everything is checked "
                    "before scoring; judging runs in the background."
                    + ("" if judge_model else "\n\n**No judge endpoint is configured:** MCQ answers "
                       "are scored right away; open answers wait as *awaiting judge*."))
                with gr.Row():
                    with gr.Column():
                        predictions = gr.File(label="Predictions file", file_types=[".jsonl", ".json", ".csv"],
                                              type="filepath", elem_id="predictions")
                        model_name = gr.Textbox(label="Model name", max_length=100, elem_id="model-name")
                        link = gr.Textbox(label="Link (model card, paper or code)", placeholder="https://…")
                    with gr.Column():
                        weights = gr.Radio(["open", "closed"], value="open", label="Weights")
                        domain = gr.Radio(["general", "medical"], value="general", label="Domain")
                        params_b = gr.Number(None, label="Parameters (billions; 0 or empty if unknown)", minimum=0)
                        description = gr.Textbox(label="Prompt and generation settings", lines=3,
                                                 max_length=2000)
                submit_button = gr.Button("Submit", variant="primary", elem_id="submit-button")
                receipt_text = gr.Markdown(elem_id="receipt")
                with gr.Accordion("Receipt as returned by the API", open=False):
                    receipt = gr.JSON(show_label=False)
                gr.Markdown("### Queue")
                with gr.Row():
                    status_id = gr.Textbox(label="Submission id (empty: all)", scale=1)
                    refresh_status = gr.Button("Refresh", size="sm", scale=0)
                status_table = gr.Dataframe(value=status(""), interactive=False, wrap=True,
                                            label="Submissions", elem_id="status")
                gr.Markdown("### Result card")
                card_choice = gr.Dropdown(_card_choices(board.status()), label="Submission",
                                          allow_custom_value=True)
                card = gr.Markdown(result_card(board, None))
                status_timer = gr.Timer(STATUS_REFRESH_SECONDS)

            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown(board, judge_model), elem_id="about")

        private = {"api_visibility": "private", "show_progress": "hidden"}
        board_events = [demo.load, board_tab.select] + [f.change for f in filters[1:]] + [search.submit]
        gr.on(board_events, leaderboard, inputs=filters, outputs=table, api_name="leaderboard").then(
            downloads_and_plot, inputs=filters, outputs=[csv_button, json_button, size_plot], **private)
        demo.load(board.board_version, outputs=seen_version, **private)
        gr.on([demo.load, compared.change], radar, inputs=compared, outputs=radar_plot, **private)
        board_timer.tick(board_tick, inputs=[seen_version, *filters],
                         outputs=[table, seen_version, compared, csv_button, json_button, size_plot], **private)

        submit_button.click(
            submit, inputs=[predictions, model_name, link, weights, domain, params_b, description],
            outputs=receipt, api_name="submit", concurrency_limit=None,
        ).success(lambda r: (_receipt_markdown(r), r["id"]), inputs=receipt,
                  outputs=[receipt_text, card_choice], **private
        ).then(submit_tab_tick, inputs=[status_id, card_choice], outputs=[status_table, card_choice, card],
               **private
        ).then(leaderboard, inputs=filters, outputs=table, **private)
        gr.on([refresh_status.click, status_id.submit], status, inputs=status_id, outputs=status_table,
              api_name="status", concurrency_limit=None)
        card_choice.change(lambda chosen: result_card(board, chosen), inputs=card_choice, outputs=card, **private)
        status_timer.tick(submit_tab_tick, inputs=[status_id, card_choice],
                          outputs=[status_table, card_choice, card], **private)
    return demo


if __name__ == "__main__":
    from space.__main__ import main

    main()
