"""What the page says of reproductions: the About section, Explore's evidence, and the Explore section wiring them.

The words are plain functions from data to Markdown (every value from a submission or a runner escaped);
`build_reproduction_section` lays out Explore's part and registers its `explore_reproduction` API.
"""
from __future__ import annotations

from functools import partial

import gradio as gr
import pandas as pd

from core.settings import PREDICT_MAX_TOKENS, Settings
from judge.reproduce import ALPHA, FLOOR, OPEN_TOLERANCE
from leaderboard.explore import REPRODUCTION_COLUMNS, ExploreError, Explorer
from space import toasts
from space.render import code, escape_md

PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}
DIMENSION_COLUMNS = ["dimension", "n", "agree", "agreement (%)"]
CHOOSE = "Choose a submission above to see whether a runner reproduced it."


def about_markdown(settings: Settings) -> str:
    """How a row comes to say reproduced, not reproduced or self-reported, for the About tab."""
    minimum, fraction = settings.reproduce_sample
    runners = "; ".join(f"{code(runner.name)} serves {', '.join(code(model) for model in runner.models)}"
                        for runner in settings.runners) or "none is configured, so every row is self-reported"
    ranking = ("**This board ranks only reproduced rows**: the others are listed unranked, with the reason."
               if settings.rank_reproduced_only else
               "Rows that are self-reported, pending or whose reproduction failed are ranked as usual; only a row "
               "that is **not reproduced** is held.")
    return "\n\n".join([
        "### Reproduced rows",
        "The answer key is public, so a predictions file proves nothing by itself about the model it names. A "
        "submitter whose model a runner this Space trusts serves names it with the upload (*Model as a runner "
        f"serves it*). Once the file is scored, the runner re-asks a random sample of its questions, max({minimum}, "
        f"{fraction:.0%}) of them, MCQ and open, chosen after the upload with a seed the submitter cannot know, "
        f"with `medcmr predict`'s exact request (the paper's prompt, the image as stored, temperature 0, at most "
        f"{PREDICT_MAX_TOKENS} tokens), and compares:",
        f"- **MCQ**: the share of re-asked MCQs whose extracted letters agree with the file's. Servers are not "
        "bit-exact even at temperature 0, so a re-run agrees on most letters, not all: the row is **not "
        f"reproduced** when its agreement is significantly below {FLOOR:.1%} (one-sided exact binomial test, "
        f"p < {ALPHA:g}). Calibrated by simulation: honest re-runs on a server that differs on up to 2.5% of "
        "letters pass at least 99% of the time, files edited on 10% of the MCQs fail at least 95% of the time "
        "at the release's default sample (167 MCQs).\n"
        "- **Open**: the re-asked answers are judged by this Space's judge and set beside the file's judged "
        f"scores on the same questions; not reproduced when the whole 95% interval of file − runner lies above "
        f"{OPEN_TOLERANCE:g} points. Without a judge they are re-asked, not compared, and the row says so.",
        "A row says **reproduced** (with the agreement), **not reproduced** (held: unranked, with the reason), "
        "**self-reported** (no runner named, or none here serves it), **pending**, **reproduction failed** (the "
        f"reason; tried again later) or **over budget** (the day's {settings.reproduce_budget:,} runner calls are "
        "spent; it waits for the next day). Only the operator's runners count: an endpoint the submitter controls "
        "proves nothing against a deliberate copier. The Explore tab shows each re-asked question with the "
        f"file's answer beside the runner's. {ranking}",
        f"Runners here: {runners}.",
    ])


def evidence_markdown(found: dict) -> str:
    """The reproduction of one submission in words: its state, the reason, what was re-asked."""
    lines = [f"**{escape_md(found['label'].capitalize())}**" + (f" · {found['agreement']:.2f}% of "
                                                                 f"{found['mcq_n']} re-asked MCQs agree"
                                                                 if found.get("agreement") is not None else "")]
    if found.get("reason"):
        lines.append(escape_md(found["reason"]))
    if found.get("sample"):
        lines.append(f"{found['sample']} questions re-asked on runner {code(found['runner'])} as "
                     f"{code(found['model'])}; {found['calls']} runner calls.")
    if not found.get("public") and found.get("rows"):
        lines.append("*The submitter did not publish per-question outputs: only whether each letter agrees.*")
    return "\n\n".join(lines)


def explore_reproduction(explorer: Explorer, submission_id: str) -> tuple[str, pd.DataFrame, pd.DataFrame, dict]:
    """A submission's reproduction: summary, the re-asked questions (file beside runner), agreement per
    dimension, and the record as JSON; raises the reason when the submission has no results."""
    try:
        with explorer.slot():
            found = explorer.reproduction(submission_id)
    except ExploreError as error:
        raise toasts.error(error, "Explore") from error
    return (evidence_markdown(found), pd.DataFrame(found["rows"], columns=REPRODUCTION_COLUMNS),
            pd.DataFrame(found["by_dimension"], columns=DIMENSION_COLUMNS), found)


def quietly(explorer: Explorer, submission_id: str | None):
    """The section's refresh when the chosen submission changes: a hint, never an error toast (the table's own
    error already says what is wrong)."""
    if not str(submission_id or "").strip():
        return CHOOSE, None, None, None
    try:
        return explore_reproduction(explorer, submission_id)
    except gr.Error:
        return CHOOSE, None, None, None


def build_reproduction_section(explorer: Explorer, submission: gr.Dropdown) -> None:
    """Explore's reproduction section (inside the open tab): refreshed when the submission changes;
    `explore_reproduction` is public API."""
    with gr.Accordion("Reproduction: the questions a trusted runner re-asked", open=False):
        summary = gr.Markdown(CHOOSE, elem_id="explore-reproduction")
        show = gr.Button("Show the reproduction", size="sm", elem_id="explore-reproduction-show")
        rows = gr.Dataframe(headers=REPRODUCTION_COLUMNS, interactive=False, wrap=True, max_height=420,
                            label="Re-asked questions: the file's answer beside the runner's",
                            elem_id="explore-reproduction-table")
        dimensions = gr.Dataframe(headers=DIMENSION_COLUMNS, interactive=False, label="MCQ agreement per dimension",
                                  elem_id="explore-reproduction-dimensions")
        record = gr.JSON(visible="hidden")
    outputs = [summary, rows, dimensions, record]
    show.click(partial(explore_reproduction, explorer), inputs=submission, outputs=outputs,
               api_name="explore_reproduction", concurrency_limit=None)
    submission.change(partial(quietly, explorer), inputs=submission, outputs=outputs, **PRIVATE)

