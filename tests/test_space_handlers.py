"""The Submit and Moderate tabs' handlers called as plain methods, with no page and no server: a real
`Leaderboard` on a real SQLite store, its settings (never the environment) deciding who may moderate and
whether a visitor must sign in.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import gradio as gr
import pytest

from core.settings import Settings
from leaderboard.service import Leaderboard
from space.moderation_tab import ACTIONS, ModerationViews
from space.submit_tab import SubmitViews
from tests.answers import write_predictions
from tests.space_app import ROOT

HIDE = next(action for action, state in ACTIONS.items() if state == "hidden")


def profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile({"name": username, "preferred_username": username, "profile": "", "picture": ""})


@pytest.fixture
def make_views(tmp_path: Path, built_dataset: Path):
    """The tabs' handlers over a fresh board with the given settings (stopped at the end)."""
    boards: list[Leaderboard] = []

    def make(settings: Settings | None = None) -> tuple[SubmitViews, ModerationViews]:
        board = Leaderboard(tmp_path / f"home-{len(boards)}", built_dataset, settings)
        boards.append(board)
        return SubmitViews(board, tmp_path / "details"), ModerationViews(board)

    yield make
    for board in boards:
        board.stop()


def send(views: SubmitViews, path: Path | None, model: str = "Handler-VL", **given) -> dict:
    """The `submit` handler as the form calls it (the files as paths, the rest as the form holds them)."""
    return views.submit(str(path) if path else None, model, "", "open", "general", None, "", True, **given)


def test_a_submit_without_a_file_or_with_a_broken_one_is_refused_with_the_reason(make_views, tmp_path: Path) -> None:
    views, _ = make_views()
    with pytest.raises(gr.Error, match="Choose a predictions file"):
        send(views, None)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": "mcq-0", "prediction": "B"}) + "\n{not json\n")
    with pytest.raises(gr.Error) as refused:
        send(views, broken)
    assert "broken.jsonl" in refused.value.message and "line 2" in refused.value.message
    assert views.status("", None).empty  # nothing was queued


def test_an_accepted_submit_is_in_the_status_and_its_card(make_views, questions: list[dict], tmp_path: Path) -> None:
    views, _ = make_views()
    write_predictions(tmp_path / "answers.jsonl", questions)
    receipt = send(views, tmp_path / "answers.jsonl")
    [row] = views.status(receipt["id"], None).to_dict("records")
    assert (row["id"], row["model"], row["submitter"]) == (receipt["id"], "Handler-VL", "local")
    queue, choices, card = views.tick("", receipt["id"], None)
    assert list(queue["Model"]) == ["Handler-VL"]
    assert receipt["id"] in {value for _, value in choices.choices}
    assert card.startswith("### Handler\\-VL\n") and f"`{receipt['id']}` · status **queued**" in card


def test_on_a_space_the_settings_ask_a_submitter_to_sign_in(make_views, questions: list[dict],
                                                            tmp_path: Path) -> None:
    views, _ = make_views(Settings(on_space=True))
    write_predictions(tmp_path / "answers.jsonl", questions)
    with pytest.raises(gr.Error, match="Sign in with Hugging Face"):
        send(views, tmp_path / "answers.jsonl")
    receipt = send(views, tmp_path / "answers.jsonl", profile=profile("ada"))
    assert views.status(receipt["id"], None).loc[0, "submitter"] == ""  # a signed-out reader sees no one
    assert views.status(receipt["id"], profile("ada")).loc[0, "submitter"] == "ada"


def test_the_owners_in_the_settings_decide_who_moderates_not_the_environment(
        make_views, questions: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCMR_OWNERS", "mallory")  # read at start by space/__main__.py only
    submit, moderation = make_views(Settings(owners=("alice",)))
    write_predictions(tmp_path / "answers.jsonl", questions)
    submission = send(submit, tmp_path / "answers.jsonl")["id"]
    assert moderation.visible(profile("Alice"))["visible"] is True
    assert moderation.visible(profile("mallory"))["visible"] is False
    assert moderation.visible(None)["visible"] is False
    for visitor in (profile("mallory"), None):
        with pytest.raises(gr.Error, match="Only the Space's owner"):
            moderation.act(submission, HIDE, "copied", visitor)
    assert submit.status(submission, None).loc[0, "review"] == ""  # the refusals changed nothing
    assert moderation.act(submission, HIDE, "copied from another row", profile("alice")).startswith("Done: hide")
    assert submit.status(submission, None).loc[0, "review"] == "hidden by the operator: copied from another row"


def test_a_moderation_of_an_unknown_submission_says_so(make_views) -> None:
    _, moderation = make_views(Settings(owners=("alice",)))
    with pytest.raises(gr.Error, match="sub-nope"):
        moderation.act("sub-nope", HIDE, "copied", profile("alice"))


def test_only_the_commands_read_the_settings_from_the_environment() -> None:
    """`python -m space` and `python -m space.moderate` read the environment once; the page below them takes
    the Settings handed down (a second read could disagree with the first, e.g. on who may moderate)."""
    readers = {path.name for path in (ROOT / "space").glob("*.py")
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Attribute) and node.attr == "from_env"
               and isinstance(node.value, ast.Name) and node.value.id == "Settings"}
    assert readers == {"__main__.py", "moderate.py"}
