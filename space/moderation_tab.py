"""The Moderate tab: the Space's owner flags, hides, restores, clears or rescores a submission.

Only a signed-in owner sees it (the Space's author, and the usernames in MEDCMR_OWNERS, as the board's
settings hold them); every action checks the signed-in user again on the server, so calling the event
directly proves nothing. Local runs have no sign-in, so nobody sees it there: the operator uses
`python -m space.moderate` on the Space's home instead.
"""
from __future__ import annotations

import html

import gradio as gr

from leaderboard.intake import SubmissionError
from leaderboard.review import ReviewError
from leaderboard.service import Leaderboard
from space import toasts
from space.leaderboard_tab import PRIVATE

ACTIONS = {"flag (shown unranked, with the reason)": "flagged", "hide (off the board)": "hidden",
           "restore (visible and ranked again)": "visible", "clear the audit's review": "clear",
           "rescore with the current judge": "rescore"}


def is_owner(profile: gr.OAuthProfile | None, owners: tuple[str, ...]) -> bool:
    """True for a signed-in user named among the owners (Hub usernames, compared without case)."""
    return profile is not None and profile.username.casefold() in {owner.casefold() for owner in owners}


class ModerationViews:
    """The tab's handlers over one `Leaderboard`, as plain methods (usable without a page)."""

    def __init__(self, board: Leaderboard) -> None:
        self.board = board

    def visible(self, profile: gr.OAuthProfile | None = None) -> dict:
        """What the page runs on load: the tab shows for an owner only."""
        return gr.update(visible=is_owner(profile, self.board.settings.owners))

    def act(self, submission_id: str, action: str, reason: str, profile: gr.OAuthProfile | None) -> str:
        """Carry out one moderation action for an owner (named in the board's settings); a one-line outcome
        either way."""
        if not is_owner(profile, self.board.settings.owners):
            raise toasts.error("Only the Space's owner can moderate submissions.", "Not allowed")
        submission_id, kind = (submission_id or "").strip(), ACTIONS.get(action)
        actor = profile.username
        try:
            if kind == "clear":
                self.board.clear_review(submission_id, actor)
            elif kind == "rescore":
                self.board.rescore(submission_id, actor)
            elif kind is not None:
                self.board.moderate(submission_id, kind, reason, actor)
            else:
                raise ReviewError(f"choose an action, not {action!r}")
        except (ReviewError, SubmissionError) as error:
            raise toasts.error(error, "Not done") from None
        return f"Done: {html.escape(action)} for `{html.escape(submission_id)}`."


def build_moderation_tab(board: Leaderboard) -> ModerationViews:
    """Lay out the tab (inside an open, hidden `gr.Tab`); returns its handlers (the page's load shows it)."""
    views = ModerationViews(board)
    gr.Markdown("Moderation: the reason you give is public (the board, the status and the results mirror "
                "show it). A rescore keeps the previous result.")
    submission = gr.Textbox(label="Submission id", placeholder="sub-…")
    action = gr.Radio(list(ACTIONS), label="Action", value=next(iter(ACTIONS)))
    reason = gr.Textbox(label="Public reason", max_length=300)
    outcome = gr.Markdown()
    gr.Button("Apply", variant="stop").click(views.act, inputs=[submission, action, reason], outputs=outcome,
                                             **PRIVATE)
    return views
