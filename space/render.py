"""What the page says, as plain functions from data to Markdown or tables; no Gradio in here.

Everything a submitter typed reaches the page as escaped text or a code span, never as HTML
or a link (Markdown autolinks included).
"""
from __future__ import annotations

import html
import re
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import quote

import pandas as pd

from judge import JUDGE_PROMPT_VERSION
from core.results import BlindResults, McqGroup, OpenGroup, Results
from core.vocabulary import (CITATION, CRITERIA, DATASET_URL, DIMENSION_BY_SLUG, DIMENSIONS, MEDICAL_INTELLIGENCE,
                             PAPER, PERCEPTION, PROMPT_VERSION, REASONING, RELEASE_LABEL_NOTE, RELEASE_QUESTIONS,
                             LETTERS, SLUGS, format_prompt)
from leaderboard.board import AWAITING_JUDGE
from leaderboard.records import SubmissionStatus
from space.url_state import permalink

STATUS_LABELS = {SubmissionStatus.AWAITING: AWAITING_JUDGE}
STATUS_COLUMNS = ["id", "model", "submitter", "status", "progress", "error", "review", "created_at", "updated_at"]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$<>:@])")


def escape_md(text: object) -> str:
    """Untrusted text as literal Markdown: HTML entities, escaped punctuation, one line.

    The colon and the at sign are escaped too, so "http://host/x" and "name@host.org" never
    become autolinks."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def code(text: object) -> str:
    """Untrusted text as an inline code span (nothing inside a code span is interpreted)."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")


def review_label(row: dict) -> str:
    """The operator's word, the audit's state and the copy checks' finding on a submission, in words ("" when
    there is none); a hidden row shows only why it is hidden."""
    moderation, reason = row.get("moderation") or "visible", row.get("moderation_reason") or ""
    parts = [f"{'hidden' if moderation == 'hidden' else 'flagged'} by the operator: {reason}"] \
        if moderation in ("hidden", "flagged") else []
    if row.get("review"):
        parts.append(row["review"])
    elif row.get("audit"):
        parts.append({"audit_pending": "audit pending", "audited": "audited",
                      "cleared": "audited; review cleared by the operator"}.get(row["audit"], row["audit"]))
    if moderation == "hidden":  # off the board: the operator's reason is the whole story
        return "; ".join(parts)
    if row.get("integrity") == "held":
        parts.append(f"held as a copy: {row.get('integrity_reason') or ''}")
    elif row.get("integrity") == "noted" and row.get("integrity_reason"):
        parts.append(row["integrity_reason"])
    elif row.get("integrity") == "cleared":
        parts.append("copy checks' finding cleared by the operator")
    return "; ".join(parts)


def status_frame(rows: list[dict]) -> pd.DataFrame:
    """The queue as a table: one row per submission, newest first."""
    return pd.DataFrame(
        [{**{key: row.get(key) for key in STATUS_COLUMNS}, "status": status_label(row.get("status")),
          "progress": f"{row.get('progress_done') or 0}/{row.get('progress_total') or 0}",
          "error": row.get("error") or "", "review": review_label(row)} for row in rows],
        columns=STATUS_COLUMNS)


# In the order a visitor reads them: a phone shows the first columns, so the model and its status come first.
QUEUE_HEADERS = {"model": "Model", "status": "Status", "progress": "Progress", "error": "Error", "review": "Review",
                 "created_at": "Submitted", "updated_at": "Last update", "id": "Submission id",
                 "submitter": "Submitted by"}


def readable_time(stamp: object, now: datetime | None = None) -> str:
    """An ISO time from the store as "2026-11-28 05:31 UTC (4 min ago)"; unreadable text as is."""
    text = str(stamp or "")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    when = when.astimezone(timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - when).total_seconds()
    ago = ("just now" if seconds < 60 else f"{int(seconds // 60)} min ago" if seconds < 3600
           else f"{int(seconds // 3600)} h ago" if seconds < 86_400 else f"{int(seconds // 86_400)} d ago")
    return f"{when:%Y-%m-%d %H:%M} UTC ({ago})"


def queue_frame(rows: list[dict]) -> pd.DataFrame:
    """The queue as a visitor reads it: plain headers and times (the `status` API keeps its own keys)."""
    frame = status_frame(rows)
    for column in ("created_at", "updated_at"):
        frame[column] = frame[column].map(readable_time)
    return frame[list(QUEUE_HEADERS)].rename(columns=QUEUE_HEADERS)


def card_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """(label, id) of every submission, for a picker that identifies rows by id, never by name."""
    return [(f"{row['model']} · {row['id']}", row["id"]) for row in rows]


def receipt_markdown(receipt: dict) -> str:
    """The accepted submission, where it waits, and links to its row and its answers once scored."""
    position = receipt.get("position")
    where = f"position **{position}** in the queue" if position else f"status **{receipt['status']}**"
    links = ""
    if receipt.get("model"):
        links = (f"\n\nOnce scored: [see its row on the board]({permalink(row=receipt['id'])}) · "
                 f"[browse its answers]({permalink(tab='explore', submission=receipt['id'])})")
    return (f"**Accepted** as {code(receipt['id'])}, {where}. Follow it in the queue below.\n\n"
            + escape_md(receipt.get("message") or "") + links)


def _dimension_label(key: str) -> str:
    dimension = DIMENSION_BY_SLUG.get(key)
    return f"{dimension.abbr} ({key})" if dimension else key


def _breakdown_table(title: str, breakdown: dict[str, McqGroup] | dict[str, OpenGroup]) -> list[str]:
    if not breakdown:
        return []
    accuracy = isinstance(next(iter(breakdown.values())), McqGroup)
    lines = [f"**{title}**", "", f"| {title} | n | {'accuracy' if accuracy else 'score'} |", "|---|---:|---:|"]
    for key, group in breakdown.items():  # already in the vocabulary's order
        value = group.accuracy if accuracy else group.score
        shown = "—" if value is None else f"{value:.2f}"
        lines.append(f"| {escape_md(_dimension_label(key))} | {group.n} | {shown} |")
    return lines + [""]


def result_card(row: dict | None, results: Results | None, submission_id: str | None = None, *,
                judging: bool = False) -> str:
    """Scores and breakdowns of one submission (`row` from the store's status view), as Markdown;
    `judging`: this Space has a judge, so open answers awaiting one are in its queue."""
    if not submission_id and row is None:
        return "Choose a submission to see its scores."
    if row is None:
        return f"No submission with id {code(submission_id)}."
    lines = [f"### {escape_md(row['model'])}",
             f"{code(row['id'])} · status **{escape_md(status_label(row['status']))}** · "
             f"progress {row.get('progress_done') or 0}/{row.get('progress_total') or 0}", ""]
    if row.get("error"):
        lines += [f"**Error:** {escape_md(row['error'])}", ""]
    if results is None:
        return "\n".join(lines + ["No scores yet."])
    mcq, open_ = results.mcq, results.open
    if mcq.n:
        ci = f"; 95% CI {mcq.ci95[0]:.2f}–{mcq.ci95[1]:.2f}" if mcq.ci95 else ""
        lines.append(f"\n**MCQ accuracy: {mcq.accuracy:.2f}%** ({mcq.correct} of {mcq.n}{ci}; "
                     f"unparsed {mcq.unparsed})")
    if open_.score is not None:
        criteria = ", ".join(f"{c.name} {open_.criteria[c.key]:.2f}" for c in CRITERIA
                             if open_.criteria.get(c.key) is not None)
        extra = "".join(f", {n} {what}" for n, what in ((open_.failed, "failed"), (open_.flagged, "flagged"),
                                                          (open_.not_answered, "not answered")) if n)
        lines.append(f"\n**Open score: {open_.score:.2f}** ({open_.judged} judged{extra}) — {criteria}")
    elif open_.awaiting:
        when = ("being judged now" if row["status"] == SubmissionStatus.RUNNING else
                "in the judge's queue: judged in turn" if judging else
                "no judge is configured on this Space: judged once one is")
        lines.append(f"\n**Open answers: awaiting judge** ({open_.awaiting} stored; {when})")
    lines += _beyond_lines(results)
    lines.append("")
    lines += _breakdown_table("Dimension", mcq.by_dimension)
    lines += _breakdown_table("Medical intelligence", mcq.by_medical_intelligence)
    lines += _breakdown_table("Open dimension", open_.by_dimension)
    if results.judge.model:
        lines.append(f"Judge: {escape_md(results.judge.model)} (prompt {escape_md(results.judge.prompt_version)})")
    audit = row.get("audit_summary")
    if audit and audit.get("ci95"):
        low, high = audit["ci95"]
        kappas = ", ".join(f"{c.abbr} κ {audit['criteria'][c.key]['kappa']:.2f}" for c in CRITERIA
                           if audit["criteria"].get(c.key, {}).get("kappa") is not None)
        lines.append(f"\nAudit: {escape_md(audit['audit_model'])} re-scored {audit['n']} answers; primary − audit "
                     f"{audit['mean_diff']:+.1f} points (95% CI {low:+.1f} to {high:+.1f}; tolerance "
                     f"{audit['tolerance']:g}){'; ' + kappas if kappas else ''}")
        if audit.get("outliers") and audit.get("audited_open") is not None:
            lines.append(f"\nAudited estimate: Open {audit['audited_open']:.1f} with the audit's grades on "
                         f"{len(audit['outliers'])} outlying answers (primary {audit['primary_open']:.1f})"
                         + ("" if audit.get("full") else "; every answer is being audited"))
    if row.get("review") or row.get("integrity") in ("held", "noted"):
        lines.append(f"\n**Review:** {escape_md(review_label(row))}")
    if results.dataset.fingerprint:
        build = "official release" if results.dataset.official else "not the official release"
        lines.append(f"\nScored on build {code(results.dataset.fingerprint)} ({build}"
                     + (f", {results.dataset.questions:,} questions" if results.dataset.questions else "") + ")")
    return "\n".join(lines)


def _beyond_lines(results: Results) -> list[str]:
    """The companion runs' figures: blind MCQ and the image gain, circular MCQ and the letter bias."""
    lines = []
    blind, circular = results.blind, results.circular
    if blind is not None and blind.accuracy is not None:
        gain = "" if blind.image_gain is None else f"; image gain {blind.image_gain:+.2f} points"
        interval = f" (95% CI {blind.ci95[0]:+.2f} to {blind.ci95[1]:+.2f})" if blind.ci95 else ""
        lines.append(f"\n**Blind MCQ: {blind.accuracy:.2f}%** (the same {blind.n} MCQs without their images"
                     f"{gain}{interval})")
    if circular is not None and circular.accuracy is not None:
        first = "" if circular.first_rotation_accuracy is None else \
            f"; {circular.first_rotation_accuracy:.2f}% in the published order"
        bias = ", ".join(f"{letter} {circular.chosen_positions.get(letter, 0):.0f}% "
                         f"(key {circular.key_positions.get(letter, 0):.0f}%)" for letter in LETTERS)
        lines.append(f"\n**MCQ circular: {circular.accuracy:.2f}%** (right in all {len(LETTERS)} rotations of "
                     f"{circular.n} MCQs{first}). Letters chosen: {bias}")
    return lines


def _formula() -> str:
    total = sum(c.weight for c in CRITERIA)
    terms = " + ".join(f"{c.weight}·{c.abbr}" if c.weight != 1 else c.abbr for c in CRITERIA)
    return f"S = ({terms}) / {total}"


def _counts_table(served: Counter) -> str:
    """The served build's counts beside the paper's and the official release's."""
    paper = {"mcq": PAPER.mcq, "open": PAPER.open}
    rows = [f"| {label} | {served[kind]:,} | {paper[kind]:,} | {RELEASE_QUESTIONS[kind]:,} |"
            for kind, label in (("mcq", "Multiple choice (A–E)"), ("open", "Open-ended"))]
    total = (f"| **All** | **{sum(served.values()):,}** | **{PAPER.questions:,}** | "
             f"**{sum(RELEASE_QUESTIONS.values()):,}** |")
    return "\n".join(["| Questions | Served here | Paper | Official release |", "|---|---:|---:|---:|",
                      *rows, total])


def _benchmark_section(served: Counter) -> list[str]:
    """What Med-CMR is, and the served build's counts beside the paper's and the release's."""
    return [
        "## Med-CMR",
        f"A benchmark of medical complex multimodal reasoning ([paper, arXiv {PAPER.arxiv}]({PAPER.url}), "
        f"{PAPER.venue}; [project page]({PAPER.project_url}); [dataset on the Hub]({DATASET_URL})): image "
        f"questions in multiple-choice ({len(LETTERS)} options {LETTERS[0]}–{LETTERS[-1]}) and open-ended form, "
        f"over {PAPER.organ_systems} organ "
        f"systems and {PAPER.modalities} imaging modalities, test split only.",
        _counts_table(served),
        f"The paper reports {PAPER.questions:,} questions ({PAPER.mcq:,} MCQ, {PAPER.open:,} open); the public "
        f"release holds {sum(RELEASE_QUESTIONS.values()):,} ({RELEASE_QUESTIONS['mcq']:,} MCQ, "
        f"{RELEASE_QUESTIONS['open']:,} open).",
    ]


def _dimensions_section() -> list[str]:
    """The dimensions (release task, config, paper abbreviation, group) and the medical-intelligence classes."""
    dimensions = "\n".join(f"| {d.release_name} | `{d.slug}` | {d.abbr} | {d.group} |" for d in DIMENSIONS)
    groups = {group: ", ".join(d.abbr for d in DIMENSIONS if d.group == group) for group in (PERCEPTION, REASONING)}
    classes = ", ".join(f"{m.name} ({m.abbr})" for m in MEDICAL_INTELLIGENCE)
    return [
        f"### {len(DIMENSIONS)} dimensions",
        f"The paper splits them into **perception** ({groups[PERCEPTION]}) and **reasoning** ({groups[REASONING]}).",
        "| Task in the release | Config | Paper | Group |\n|---|---|---|---|\n" + dimensions,
        f"Medical-intelligence classes (paper Table 3): {classes}.",
    ]


def _prompts_section() -> list[str]:
    """The paper's prompts, with placeholders for the question and its options."""
    template = {"question": "{question}", "options": [f"{{{letter}}}" for letter in LETTERS]}
    mcq_prompt = format_prompt({**template, "question_type": "mcq"})
    open_prompt = format_prompt({**template, "question_type": "open", "options": []})
    return [
        f"### The paper's prompts (version `{PROMPT_VERSION}`)",
        f"Multiple choice:\n```text\n{mcq_prompt}\n```\nOpen-ended:\n```text\n{open_prompt}\n```",
    ]


def _scoring_section(judge_model: str | None) -> list[str]:
    """How MCQ and open answers are read, judged and ranked."""
    criteria = ", ".join(f"{c.name} ({c.abbr})" for c in CRITERIA)
    judge_line = code(judge_model) if judge_model else "none configured — open answers wait as **awaiting judge**"
    return [
        "### Scoring",
        "- **MCQ**: accuracy in %, micro-averaged over all MCQs, from a deterministic letter-extraction\n"
        "  cascade; unparsed or missing answers count as wrong and the unparsed rate is reported.\n"
        f"- **Open-ended**: an LLM judge scores {criteria}, each 0–100; {_formula()}.\n"
        f"- Judge here: {judge_line}; judge prompt version `{JUDGE_PROMPT_VERSION}`, temperature 0.\n"
        f"  The paper used {PAPER.judge} with an unpublished prompt, so paper rows and rows scored\n"
        "  here are comparable for MCQ, indicative for open-ended.\n"
        "- **Before anything reads an output**, pure format is removed and never punished: chat-template "
        "tokens and role headers a model server leaked (`ASSISTANT:`, `<|im_start|>`, an echoed prompt, a "
        "trailing user turn) and `<think>` reasoning blocks. Empty outputs and evaluation tools' failure "
        "markers (VLMEvalKit's *Failed to obtain answer via API.*, lmms-eval's *LMMS_EVAL_REQUEST_FAILED*) "
        "are *not answered*: never sent to the judge, counted, and scored as wrong (MCQ) or 0 (open).\n"
        "- **Text that speaks to the grader is cut, the rest judged.** Open answers are folded first (JSON and "
        "HTML escapes, full-width forms, look-alike letters and invisible characters read as what they spell); "
        "then verdict-like objects or key-value grades, claims about the answer's own grade (*this answer "
        "deserves full marks*, *Score: 10/10*, in several languages) and instructions to the grader are cut "
        "and replaced by `[…]`. The item is marked **flagged** with the reason (Explore shows it) and is "
        "judged on what remains, so a false alarm costs the sentence it found, never the answer. Clinical "
        "uses of the same words (*Gleason score 7*, *a firm consistency*, *pain 10/10*) are not touched.\n"
        "- Ranking: by MCQ accuracy; rows with equal MCQ share a rank, and the table lists them by the open "
        "score. Ranks are bands: rows whose 95% Wilson intervals of MCQ overlap share one (e.g. *2–4*); the "
        f"paper publishes only percentages, so its rows use n = {RELEASE_QUESTIONS['mcq']:,} MCQs. Only "
        "comparable rows are ranked: the paper's rows (on the official release) and submissions scored on "
        "the same official build with at least 95% of the MCQs answered. A submission on another build, a "
        "partial one, or any submission while the Space serves a sample build is listed below, unranked "
        "(rank —, with the reason). Open is compared only among rows with the same judge model and prompt "
        "version.",
    ]


def _earned_section() -> list[str]:
    """How a row assembled from the public key is held."""
    return [
        "### Scores that were earned",
        "The answer key and the references are public, so a prediction file can be assembled instead of produced "
        "by a model. Every row scored on this build is read against the others, over many questions, with no "
        "guess of how a copy is disguised: a row right on hard questions as often as on easy ones (the key "
        "pasted over part of its answers), agreeing with the key where the other rows dispute it (a mis-keyed "
        "question that a model gets \"wrong\"), reproducing the reference answers word for word, or giving "
        "the same wrong letters or near-identical answers as an earlier row far beyond chance is **held**: "
        "unranked, with the reason on its row and the questions that show it in Explore, until the operator "
        "clears it. A submitter can declare a relation (a rerun of their own model with other settings, a "
        "fine-tune of a row's model, the same family): declared, and between one submitter's own rows, such "
        "agreement is noted, never held. The checks need at least 10 other rows on the build to read person "
        "fit; their held rates on simulated honest and copied rows are in the kit's docs/trust.md.",
    ]


def _closing_sections(paper_notes: dict[str, str]) -> list[str]:
    """The known discrepancies (the paper rows' own notes among them), research use only, and the citation."""
    notes = "\n".join(f"- {escape_md(model)}: {escape_md(note)}" for model, note in paper_notes.items() if note)
    return [
        "### Known discrepancies",
        f"- {escape_md(RELEASE_LABEL_NOTE)}.\n{notes}",
        "### Research use only",
        "Med-CMR and everything on this page is for research. It is **not for clinical use**.",
        "### Citation",
        f"```bibtex\n{CITATION}\n```",
    ]


def about_markdown(judge_model: str | None, served: Counter, paper_notes: dict[str, str]) -> str:
    """The benchmark, dimensions, prompts, judge, scoring rules, discrepancies and citation.

    `served` counts the served build's questions by format; `paper_notes` are the paper rows' own notes.
    """
    sections = [*_benchmark_section(served), *_dimensions_section(), *_prompts_section(),
                *_scoring_section(judge_model), *_earned_section(), *_closing_sections(paper_notes)]
    return "\n\n".join(sections) + "\n"


def agreement_markdown(found: dict, audit_model: str | None, tolerance: float) -> str:
    """How far the Open column can be trusted: the primary and audit judges' agreement on every audited item."""
    lines = ["### How far the Open column can be trusted",
             "A second judge (the *audit judge*) re-scores every submission's suspicious open answers (those the "
             "screen cut, those with text a person does not write, those graded far above the question's usual "
             "grade) and a seeded random sample of the rest, reading exactly what the primary judge read. One "
             "answer graded far above the audit and every answer is audited before the row is ranked; a submission "
             "whose outlying answers account for a point or more of its Open score, or whose primary scores exceed "
             f"the audit's by more than {tolerance:g} points (the whole 95% interval above it), is **under review**: "
             "unranked, with the reason and the audited estimate on its row, until the operator clears it."]
    if not audit_model:
        return "\n\n".join(lines + ["No audit judge is configured on this Space (MEDCMR_AUDIT_MODEL)."])
    if not found.get("n"):
        return "\n\n".join(lines + [f"Audit judge: {code(audit_model)}. No item has been audited yet."])

    def number(value: float | None, digits: int = 2) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    rows = ["| criterion | weighted κ | Spearman ρ | mean difference (primary − audit), 95% CI |", "|---|---:|---:|---|"]
    for criterion in CRITERIA:
        cell = found["criteria"][criterion.key]
        low, high = cell["ci95"]
        rows.append(f"| {criterion.name} | {number(cell['kappa'])} | {number(cell['spearman'])} | "
                    f"{number(cell['mean_diff'], 1)} ({number(low, 1)} to {number(high, 1)}) |")
    score = found["score"]
    low, high = score["ci95"]
    rows.append(f"| **weighted score** | | {number(score['spearman'])} | {number(score['mean_diff'], 1)} "
                f"({number(low, 1)} to {number(high, 1)}) |")
    return "\n\n".join(lines + [f"Audit judge: {code(audit_model)}, {found['n']:,} audited answers. Weighted κ "
                                "(quadratic weights, grades 0–10) and Spearman's ρ near 1 mean the two judges agree; "
                                "a mean difference above 0 means the primary judge is more generous.",
                                "\n".join(rows)])


def beyond_markdown(best_blind: tuple[str, BlindResults] | None) -> str:
    """What the figures beyond accuracy mean, and how much of the benchmark the best blind run answers."""
    lines = ["### Beyond accuracy",
             "- **Blind MCQ**: the same model asked every question without its image (`medcmr predict --blind`, "
             "sent with the submission). **Image gain** = MCQ − Blind MCQ on the MCQs both runs answered, with "
             "a paired 95% interval (result card): how much the model gets from looking.\n"
             f"- **MCQ circular**: each MCQ asked in the {len(LETTERS)} rotations of its options (`medcmr predict "
             f"--circular`), right only if right in all {len(LETTERS)} (CircularEval); beside it, the share of "
             "each letter chosen against the key's share shows a position bias.\n"
             "- **Item analysis** (Explore): per question, difficulty (share of submissions right) and "
             "discrimination (point-biserial against the rest score); a question strong models miss while weak "
             "ones get it right is listed as *suspect* for the dataset's maintainers (the download names the "
             "rule). None of these change MCQ, Open or the rank."]
    if best_blind is None:
        return "\n\n".join(lines + ["No submission has sent a blind run yet."])
    model, blind = best_blind
    rows = ["| Dimension | MCQs | Blind MCQ (%) | Image gain (points) |", "|---|---:|---:|---:|"]
    for slug, cell in sorted(blind.by_dimension.items(),
                             key=lambda item: SLUGS.index(item[0]) if item[0] in SLUGS else len(SLUGS)):
        name = DIMENSION_BY_SLUG[slug].release_name if slug in DIMENSION_BY_SLUG else slug
        gain = "—" if cell.get("image_gain") is None else f"{cell['image_gain']:+.2f}"
        rows.append(f"| {escape_md(name)} | {cell['n']:,} | {cell['accuracy']:.2f} | {gain} |")
    return "\n\n".join(lines + [f"The best blind run so far, {escape_md(model)}'s, answers **{blind.accuracy:.2f}%** "
                                  f"of {blind.n:,} MCQs right without any image:", "\n".join(rows)])


def findings_markdown(findings: list, submission_id: str, shown: int = 12) -> str:
    """What the copy checks found about a submission, each with the questions that show it (links that open
    them here); "" when nothing was found."""
    if not findings:
        return ""
    lines = ["#### Copy checks"]
    for finding in findings:
        head = "**Held:**" if finding.held else "**Noted:**"
        lines.append(f"- {head} {escape_md(finding.reason)}")
        if finding.items:
            links = ", ".join(f"[{item}](?tab=explore&submission={quote(submission_id)}&question={quote(item)})"
                              for item in finding.items[:shown])
            more = f" and {len(finding.items) - shown} more" if len(finding.items) > shown else ""
            lines.append(f"  Questions that show it: {links}{more}.")
    return "\n".join(lines)
