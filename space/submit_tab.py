"""The Submit tab: the upload form, the queue and the result card of any submission."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import huggingface_hub
import pandas as pd
from gradio.utils import get_upload_folder

from core.vocabulary import GENERAL, MEDICAL, MODEL_DOMAINS, MODEL_WEIGHTS, OPEN_WEIGHTS
from leaderboard.explore import SERVED, details_file
from leaderboard.intake import PREDICTION_FORMATS, RELATIONS, SubmissionError, SubmissionMeta, checking_label
from leaderboard.records import SubmissionStatus
from leaderboard.service import Leaderboard
from space import toasts
from space.render import card_choices, queue_frame, receipt_markdown, result_card, status_frame

log = logging.getLogger(__name__)
STATUS_REFRESH_SECONDS = 3.0
_UPLOAD_DIR = re.compile(r"[0-9a-f]{64}")  # Gradio's per-upload folder: the content's seeded sha256
PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}


def submitter(profile: gr.OAuthProfile | None, token: gr.OAuthToken | None, on_space: bool) -> str:
    """Who submits: the signed-in Hub user on a Space (browser session, or a script's token
    sent with `Client(url, oauth_token=...)`); "local" when not running on a Space."""
    if profile is not None:
        return profile.username
    if not on_space:
        return "local"
    if token is not None:
        try:
            return huggingface_hub.whoami(token=token.token)["name"]
        except Exception as error:  # any failure means the token proves nothing
            raise SubmissionError("The Hugging Face token sent with this request was not accepted "
                                  "by the Hub; sign in or send a valid token.") from error
    raise SubmissionError("Sign in with Hugging Face (the button above) before submitting; scripts "
                          "pass a token: gradio_client.Client(url, oauth_token=...).")


def client_address(request: gr.Request | None, trusted_proxies: int) -> str | None:
    """The visitor's address as the trusted proxies in front of the Space saw it: the entry of
    `X-Forwarded-For` the outermost trusted proxy appended (a client's own entries come before it and never
    count); with no trusted proxy, the socket's peer."""
    if request is None:
        return None
    peer = request.client.host if request.client else None
    if trusted_proxies < 1:
        return peer
    hops = [hop.strip() for hop in (request.headers.get("x-forwarded-for") or "").split(",") if hop.strip()]
    return hops[-trusted_proxies] if len(hops) >= trusted_proxies else peer


def viewer(profile: gr.OAuthProfile | None, on_space: bool) -> str | None:
    """Whose submissions a status reader may see the submitter of: the signed-in user ("local" off a Space)."""
    if profile is not None:
        return profile.username
    return None if on_space else "local"


def private_submitters(rows: list[dict], reader: str | None) -> list[dict]:
    """The status as the public sees it: a submitter is shown only to that submitter (as the mirror, never);
    an upload waiting to be checked says where it stands ("checking (3 ahead)")."""
    return [{**row, "submitter": row["submitter"] if reader and row.get("submitter") == reader else "",
             **({"status": checking_label(row["ahead"])}
                if row.get("status") == SubmissionStatus.CHECKING and "ahead" in row else {})}
            for row in rows]


def user_error(error: Exception) -> gr.Error:
    """The facade's refusal as a toast that leaves on its own (the reason stays beside the button)."""
    return toasts.error(error, "Submission refused")


class UploadJanitor:
    """Deletes handled uploads (an accepted file's bytes are already in the store's files/) a grace period
    after their last use, never one this process served and never outside Gradio's upload folder.

    Gradio keeps equal content at one path and its served downloads beside the uploads: deleting at
    once would take a file from a concurrent submit of the same content, or delete a download whose
    path a submit named. The grace period covers the first; a served file's digest, the second.
    """

    def __init__(self, upload_folder: Path, grace_s: float) -> None:
        self.upload_folder = Path(upload_folder).resolve()
        self.grace_s = grace_s
        self._due: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def owns(self, path: Path) -> bool:
        """An upload inside Gradio's folder (named by its content, never written again)."""
        target = Path(path).resolve()
        return target.parent != self.upload_folder and target.is_relative_to(self.upload_folder)

    def handled(self, path: Path) -> None:
        """A submit is done with `path`: delete it after the grace period unless it is used again."""
        target = Path(path).resolve()
        if not self.owns(target):
            return
        try:
            if _digest(target) in SERVED:
                return
        except OSError:
            return
        with self._lock:
            self._due[target] = time.monotonic() + self.grace_s
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="upload-janitor", daemon=True)
                self._thread.start()

    def in_use(self, path: Path) -> None:
        """A submit starts using `path`: keep it for this use."""
        with self._lock:
            self._due.pop(Path(path).resolve(), None)

    def delete_due(self) -> int:
        """Delete the uploads whose grace period is over; returns how many."""
        now = time.monotonic()
        with self._lock:
            due = [path for path, when in self._due.items() if when <= now]
            for path in due:
                del self._due[path]
        for target in due:
            try:
                target.unlink(missing_ok=True)
                target.parent.rmdir()
            except OSError as error:  # a folder still holding another file, or one already swept
                if target.exists():
                    log.warning("could not delete the upload %s: %s", target.name, error.strerror or error)
        return len(due)

    def _run(self) -> None:
        while True:
            time.sleep(min(1.0, max(self.grace_s, 0.1)))
            self.delete_due()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def sweep_upload_folder(upload_folder: Path, max_age_s: float) -> int:
    """Delete what Gradio's own sweep (`delete_cache`) misses: files directly in the upload folder (the
    empty temporary file Gradio 6.31's File component leaves per submit, multipart files of a broken
    upload: both named tmp*) and emptied per-upload folders (named by a sha256), once older than
    `max_age_s`; nothing else, even if GRADIO_TEMP_DIR is a shared folder. Returns how many went."""
    removed, cutoff = 0, time.time() - max_age_s
    try:
        entries = list(os.scandir(upload_folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            if entry.is_file(follow_symlinks=False) and entry.name.startswith("tmp"):
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False) and _UPLOAD_DIR.fullmatch(entry.name):
                os.rmdir(entry.path)  # only when empty
            else:
                continue
            removed += 1
        except OSError:  # gone meanwhile, or a folder still holding a file
            continue
    return removed


def start_upload_sweeper(upload_folder: Path, every_s: float, max_age_s: float) -> threading.Thread:
    """Run `sweep_upload_folder` every `every_s` seconds in a daemon thread (for the server's lifetime)."""
    def run() -> None:
        while True:
            time.sleep(every_s)
            sweep_upload_folder(upload_folder, max_age_s)

    thread = threading.Thread(target=run, name="upload-sweeper", daemon=True)
    thread.start()
    return thread


def queue_view(rows: list[dict]) -> pd.DataFrame:
    """The queue as the page shows it: readable headers, times in the server's local time zone."""
    return queue_frame(rows)


def card_for(board: Leaderboard, submission_id: str | None) -> str:
    rows = board.status(submission_id) if submission_id else []
    return result_card(rows[0] if rows else None, board.scores(submission_id) if rows else None,
                       submission_id, judging=board.endpoint is not None)


def with_reproduction(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """The `status` table with each submission's reproduction and its reason beside its review."""
    return frame.assign(reproduction=[row.get("reproduction", "") for row in rows],
                        reproduction_reason=[row.get("reproduction_reason", "") for row in rows])


def runner_field_info(runners: tuple) -> str:
    """What the runner field asks for, naming the models this Space's runners serve (never their addresses)."""
    if not runners:
        return "No runner is configured on this Space: every row is self-reported."
    served = "; ".join(f"{runner.name}: {', '.join(runner.models)}" for runner in runners)
    return ("The Hub id or vendor name a runner this Space trusts serves it under. A random sample is re-asked "
            "with `medcmr predict`'s request (the paper's prompt, temperature 0) once the file is scored: "
            f"the row says reproduced, or not reproduced (held). Runners here serve {served}. "
            "Empty: the row is self-reported.")


# The refusal stays beside the button after the toast has gone: read from the toast (the
# `submit` API raises, so no Python output carries the message) and escaped as Markdown text.
_REFUSAL_JS = r"""() => {
  const texts = [...document.querySelectorAll(".toast-message-text")].map((t) => t.textContent.trim());
  const text = texts.length ? texts[texts.length - 1] : "see the message above";
  const escaped = text.replace(/[\\`*_{}\[\]()#+\-.!|~$<>:&]/g, (c) => "\\" + c);
  return "**Submission refused:** " + escaped;
}"""


def accepted(receipt: dict) -> tuple[str, str]:
    """The receipt for the page (and its id for the result card), and a success toast: with the optional runs
    open, the receipt starts below the screen's edge."""
    where = f", position {receipt['position']} in the queue" if receipt.get("position") else ""
    toasts.info(f"Accepted as {receipt['id']}{where}.")
    return receipt_markdown(receipt), receipt["id"]


SHOW_RECEIPT = "() => document.getElementById('receipt')?.scrollIntoView({block: 'center'})"


def no_outcome() -> tuple[str, str]:
    """The receipt and the refusal cleared as a press starts."""
    return "", ""


class SubmitViews:
    """The tab's handlers over one `Leaderboard`, as plain methods (usable without a page); whether it runs on a
    Space and how long a handled upload is kept come from the board's settings."""

    def __init__(self, board: Leaderboard, downloads: Path) -> None:
        self.board = board
        self.downloads = downloads
        self.on_space = board.settings.on_space
        self.janitor = UploadJanitor(Path(get_upload_folder()), board.settings.upload_grace_s)

    def submit(self, predictions: str | None, model: str, link: str, weights: str, domain: str,
               params_b: float | None, description: str, public_details: bool, blind_run: str | None = None,
               circular_run: str | None = None, runner_model: str | None = None, related_to: str | None = "",
               relation: str | None = "", profile: gr.OAuthProfile | None = None,
               oauth_token: gr.OAuthToken | None = None, request: gr.Request | None = None) -> dict:
        """Queue a predictions file (JSONL, JSON list or CSV with id,prediction) with its model
        metadata and whether its per-question outputs may be published, optionally the same
        model's `predict --blind` and `predict --circular` runs, optionally the model as a runner
        this Space trusts serves it (Hub id or vendor name: a sample is re-asked to mark the row
        reproduced), and optionally a declared relation to a row on the board (its submission id or
        model name, and one of RELATIONS); returns id, status, message, coverage and queue position,
        or raises the reason."""
        board, janitor = self.board, self.janitor
        try:
            if not predictions:
                raise SubmissionError("Choose a predictions file (JSONL, JSON or CSV with id and prediction).")
            janitor.in_use(Path(predictions))
            meta = SubmissionMeta(model=(model or "").strip(), link=(link or "").strip(),
                                  group=weights or OPEN_WEIGHTS, medical=domain == MEDICAL,
                                  params_b=float(params_b) if params_b else None,  # the form's 0 = unknown
                                  description=(description or "").strip(),
                                  public_details=public_details is not False,
                                  runner_model=(runner_model or "").strip(),
                                  related_to=(related_to or "").strip(), relation=(relation or "").strip())
            runs = {"blind": blind_run, "circular": circular_run}
            for run in filter(None, runs.values()):
                janitor.in_use(Path(run))
            return board.submit(Path(predictions), meta, submitter=submitter(profile, oauth_token, self.on_space),
                                client=None if profile is not None else client_address(
                                    request, board.settings.proxy_hops),
                                given_up=all(janitor.owns(Path(f)) for f in (predictions, *runs.values()) if f),
                                **{kind: Path(run) if run else None for kind, run in runs.items()})
        except SubmissionError as error:  # a refusal: one log line (in the facade), no traceback
            refusal = user_error(error)
            refusal.print_exception = False
            raise refusal from None
        finally:
            for handled in filter(None, (predictions, blind_run, circular_run)):
                janitor.handled(Path(handled))

    def _rows(self, submission_id: str | None, profile: gr.OAuthProfile | None) -> list[dict]:
        return private_submitters(self.board.status((submission_id or "").strip() or None),
                                  viewer(profile, self.on_space))

    def status(self, submission_id: str, profile: gr.OAuthProfile | None) -> pd.DataFrame:
        """Submissions, newest first (or just the one with this id): status, progress, error, review,
        reproduction and its reason; the submitter is shown to that submitter only."""
        rows = self._rows(submission_id, profile)
        return with_reproduction(status_frame(rows), rows)

    def tick(self, submission_id: str, chosen: str | None, profile: gr.OAuthProfile | None):
        """The queue as the page shows it, the result card's choices and the chosen card, kept current."""
        rows = self._rows(submission_id, profile)
        return (queue_view(rows), gr.Dropdown(choices=card_choices(self.board.status())), self.card(chosen))

    def card(self, chosen: str | None) -> str:
        """The result card of the chosen submission."""
        return card_for(self.board, chosen)

    def details(self, chosen: str | None) -> str | None:
        """The chosen submission's per-question details (JSONL), once it is scored."""
        return details_file(self.board, chosen, self.downloads)


@dataclass
class SubmitTab:
    """What other tabs wire to: the submit event (to refresh the board after it) and the queue's refresh."""

    submitted: object
    refresh: object
    inputs: list
    outputs: list


@dataclass
class _Queue:
    """The queue and the result card: the components the tab's events read and write."""

    status_id: gr.Textbox
    refresh: gr.Button
    table: gr.Dataframe
    card_choice: gr.Dropdown
    card: gr.Markdown
    card_details: gr.DownloadButton
    timer: gr.Timer

    def ticked(self) -> dict:
        """The inputs and outputs of `SubmitViews.tick`."""
        return {"inputs": [self.status_id, self.card_choice], "outputs": [self.table, self.card_choice, self.card]}


@dataclass
class _Outcome:
    """The Submit button and what a press shows beside it: the refusal, or the receipt (and the API's output)."""

    button: gr.Button
    refusal: gr.Markdown
    receipt_text: gr.Markdown
    receipt: gr.JSON


def _intro(judge_model: str | None, on_space: bool) -> None:
    """The sign-in button on a Space, and what the form takes."""
    if on_space:
        gr.LoginButton()
    gr.Markdown(
        "Upload your model's answers to every question: JSONL (`{\"id\": \"mcq-0\", "
        "\"prediction\": \"B\"}` per line), a JSON list of such objects, or CSV with "
        "`id,prediction`. Ids are `mcq-{index}` / `open-{index}`. VLMEvalKit's `.xlsx`/`.tsv` and "
        "lmms-eval's `samples_*.jsonl` are taken as the tools write them (several files: join them "
        "with `python -m bridges merge`). Everything is checked before scoring; judging runs in the background."
        + ("" if judge_model else "\n\n**No judge endpoint is configured:** MCQ answers "
           "are scored right away; open answers wait as *awaiting judge*."))


def _model_form() -> list[gr.components.Component]:
    """The file and the model's metadata: predictions, model, link, weights, domain, parameters, description."""
    with gr.Row():
        with gr.Column():
            predictions = gr.File(label="Predictions file", file_types=list(PREDICTION_FORMATS),
                                  type="filepath", elem_id="predictions")
            model_name = gr.Textbox(label="Model name", max_length=100, elem_id="model-name")
            link = gr.Textbox(label="Link (model card, paper or code)", placeholder="https://…")
        with gr.Column():
            weights = gr.Radio(list(MODEL_WEIGHTS), value=OPEN_WEIGHTS, label="Weights")
            domain = gr.Radio(list(MODEL_DOMAINS), value=GENERAL, label="Domain")
            params_b = gr.Number(None, label="Parameters (billions; 0 or empty if unknown)", minimum=0)
            description = gr.Textbox(label="Prompt and generation settings", lines=3, max_length=2000)
    return [predictions, model_name, link, weights, domain, params_b, description]


def _optional_runs() -> list[gr.File]:
    """The same model's blind and circular runs, folded away."""
    with gr.Accordion("Beyond accuracy (optional): the same model's blind and circular runs", open=False):
        gr.Markdown("A run of `medcmr predict --blind` (every question without its image) gives *Blind MCQ* "
                    "and the *Image gain*; a run of `medcmr predict --circular` (each MCQ in the 5 rotations "
                    "of its options), or VLMEvalKit's predictions for the `MedCMRCircular_MCQ` export, gives "
                    "*MCQ circular* and the letter-position bias. Neither changes MCQ, Open or the rank.")
        with gr.Row():
            blind_run = gr.File(label="Blind run", file_types=list(PREDICTION_FORMATS), type="filepath",
                                elem_id="blind-run")
            circular_run = gr.File(label="Circular run", file_types=list(PREDICTION_FORMATS), type="filepath",
                                   elem_id="circular-run")
    return [blind_run, circular_run]


def _relation_form() -> list[gr.components.Component]:
    """A declared relation to a row on the board, folded away: related_to, relation."""
    with gr.Accordion("Related to a row on the board? (optional)", open=False):
        gr.Markdown("Say so when this model is a rerun of your own earlier submission with other settings, a "
                    "fine-tune of a model on the board, or of the same family: such rows agree far beyond "
                    "chance, and a declared relation is shown on the row and never held as a copy.")
        with gr.Row():
            relation = gr.Dropdown(["", *RELATIONS], value="", label="Relation", elem_id="relation")
            related_to = gr.Textbox("", label="Related to (a submission id, sub-…, or a model's name as on the board)",
                                    max_length=100, elem_id="related-to")
    return [related_to, relation]


def _form(board: Leaderboard) -> list[gr.components.Component]:
    """Every input of the `submit` API, in its parameters' order."""
    model_inputs = _model_form()
    runner_model = gr.Textbox(label="Model as a runner serves it (optional)", max_length=200, elem_id="runner-model",
                              placeholder="e.g. Qwen/Qwen2.5-VL-7B-Instruct",
                              info=runner_field_info(board.settings.runners))
    public_details = gr.Checkbox(True, label="Publish my model's per-question outputs", elem_id="public-details",
                                 info="Each question's output and its judge verdict become public in the Explore "
                                      "tab, its download and the results mirror. Unticked, only whether each "
                                      "answer was right is shown.")
    runs = _optional_runs()
    relation_inputs = _relation_form()
    return [*model_inputs, public_details, *runs, runner_model, *relation_inputs]


def _queue(board: Leaderboard) -> _Queue:
    """The queue (filtered by an id) and the result card of a chosen submission with its details."""
    gr.Markdown("### Queue")
    with gr.Row():
        status_id = gr.Textbox(label="Submission id (empty: all)", scale=1)
        refresh_status = gr.Button("Refresh", size="sm", scale=0)
    status_table = gr.Dataframe(value=queue_view(board.status()), interactive=False, wrap=True, label="Submissions",
                                elem_id="status")
    gr.Markdown("### Result card")
    card_choice = gr.Dropdown(card_choices(board.status()), value=None, label="Submission", allow_custom_value=True)
    card = gr.Markdown(card_for(board, None), elem_id="result-card")
    card_details = gr.DownloadButton("⬇ Per-question details (JSONL)", size="sm", elem_id="card-details")
    return _Queue(status_id, refresh_status, status_table, card_choice, card, card_details,
                  gr.Timer(STATUS_REFRESH_SECONDS))


def _outcome() -> _Outcome:
    """The Submit button, then its refusal and its receipt."""
    button = gr.Button("Submit", variant="primary", elem_id="submit-button")
    refusal = gr.Markdown(elem_id="submit-refusal")
    receipt_text = gr.Markdown(elem_id="receipt")
    receipt = gr.JSON(visible="hidden")  # the `submit` API's output, for scripts; the page shows receipt_text
    return _Outcome(button, refusal, receipt_text, receipt)


def _wire_submit(views: SubmitViews, form: list, outcome: _Outcome, queue: _Queue):
    """The `submit` API behind the button: its receipt or its refusal beside the button, then the queue."""
    # Each press first clears the last outcome, so an old receipt never sits beside a new refusal,
    # and closes the last refusal's toast, so refusals in a row never pile up as "Error (3)".
    outcome.button.click(None, js=toasts.close_js("error"), **PRIVATE)
    submitted = outcome.button.click(no_outcome, outputs=[outcome.receipt_text, outcome.refusal], **PRIVATE).then(
        views.submit, inputs=form, outputs=outcome.receipt, api_name="submit", concurrency_limit=None,
    )
    submitted.failure(None, outputs=outcome.refusal, js=_REFUSAL_JS, **PRIVATE)
    return submitted.success(accepted, inputs=outcome.receipt, outputs=[outcome.receipt_text, queue.card_choice],
                             **PRIVATE).then(None, js=SHOW_RECEIPT, **PRIVATE).then(views.tick, **queue.ticked(),
                                                                                   **PRIVATE)


def _wire_queue(views: SubmitViews, queue: _Queue) -> None:
    """The `status` API, the queue's refresh (on demand and on a timer) and the result card."""
    # The `status` API keeps its keys for scripts (into a hidden table); the page shows readable ones.
    status_api = gr.Dataframe(visible="hidden")
    gr.on([queue.refresh.click, queue.status_id.submit], views.status, inputs=queue.status_id, outputs=status_api,
          api_name="status", concurrency_limit=None).then(views.tick, **queue.ticked(), **PRIVATE)
    queue.card_choice.change(views.card, inputs=queue.card_choice, outputs=queue.card, **PRIVATE)
    queue.card_choice.change(views.details, inputs=queue.card_choice, outputs=queue.card_details, **PRIVATE)
    queue.timer.tick(views.tick, **queue.ticked(), **PRIVATE)


def build_submit_tab(board: Leaderboard, downloads: Path) -> SubmitTab:
    """Lay out the tab (inside an open `gr.Tab`) and wire its events; `submit` and `status` are public API.
    Details downloads are written under `downloads`."""
    views = SubmitViews(board, downloads)
    _intro(board.endpoint.model if board.endpoint is not None else None, views.on_space)
    form = _form(board)
    outcome = _outcome()
    queue = _queue(board)
    submitted = _wire_submit(views, form, outcome, queue)
    _wire_queue(views, queue)
    return SubmitTab(submitted, views.tick, **queue.ticked())
