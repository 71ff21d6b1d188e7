"""Reproduced rows through the real Space: `python -m space` with two runners, driven by gradio_client.

Runner `local` serves test-vlm (the checking vision model over real HTTP); runner `broken` serves broken-*
and answers HTTP 500. With a budget of 100 runner calls a day and 35 questions per sample, one Space takes
rows to every state in turn: reproduction failed, reproduced, not reproduced, self-reported, over budget.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client

from tests.openai_server import OpenAIServer, Reply
from tests.polling import until
from tests.predict_responders import VisionModel, model_answer, read_built
from tests.space_app import ALL_GROUPS, SpaceProcess, board, make_home, status, submit

KEY = "sk-space-runner-NEVER-SHOWN-5d1e"
BUDGET = 100


def write_file(path: Path, rows: list[dict], edited: int = 0) -> Path:
    """The vision model's own answers, `edited` of its wrong MCQ letters changed to the key."""
    wrong = [row["id"] for row in rows if row["question_type"] == "mcq" and row["index"] % 2 == 1][:edited]
    path.write_text("".join(json.dumps({"id": row["id"], "prediction": f"Answer: {row['answer']}" if row["id"] in wrong
                                        else model_answer(row)}) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    """A Space with two runners and the five submissions, each waited for in turn: model name -> status row."""
    rows = read_built(built_dataset)
    files = tmp_path_factory.mktemp("reproduce-files")
    with OpenAIServer(VisionModel(rows, max_side=2048)) as runner, OpenAIServer(lambda r: Reply(status=500)) as broken:
        runners = [{"name": "local", "base_url": runner.base_url, "models": ["test-vlm"], "api_key_env": "RUNNER_KEY",
                    "max_retries": 0},
                   {"name": "broken", "base_url": broken.base_url, "models": ["broken-*"], "api_key_env": "RUNNER_KEY",
                    "timeout": 2, "max_retries": 0}]
        space = SpaceProcess(make_home(built_dataset, tmp_path_factory, "reproduce-space"), {
            "MEDCMR_RUNNERS": json.dumps(runners), "RUNNER_KEY": KEY, "MEDCMR_RUNNERS_ALLOW_PRIVATE": "1",
            "MEDCMR_REPRODUCE_BUDGET": str(BUDGET), "MEDCMR_RETRY_FAILED_AFTER_S": "3600"})
        try:
            client = Client(space.url, verbose=False)
            found = {}
            for model, runner_model, edited, wanted in (
                    ("Broken-Runner-VLM", "broken-vlm", 3, "reproduction failed"),
                    ("Honest-VLM", "test-vlm", 0, "reproduced"), ("Edited-VLM", "test-vlm", 6, "not reproduced"),
                    ("Unnamed-VLM", None, 2, "self-reported"), ("Late-VLM", "test-vlm", 1, "over budget")):
                meta = {} if runner_model is None else {"runner_model": runner_model}
                receipt = submit(client, write_file(files / f"{model}.jsonl", rows, edited), model, **meta)
                found[model] = until(lambda: next((row for row in status(client, receipt["id"])
                                                   if row["reproduction"] == wanted), None), 90,
                                     f"{model} {wanted}")
                found[model]["receipt"] = receipt
            yield space, client, found, runner
        finally:
            space.kill()


def test_each_state_is_reached_and_said_in_the_status(runs) -> None:
    _, _, found, runner = runs
    assert "500" in found["Broken-Runner-VLM"]["reproduction_reason"]
    assert found["Honest-VLM"]["reproduction_reason"].startswith("reproduced by runner local (test-vlm): 21 of 21")
    assert found["Edited-VLM"]["reproduction_reason"].startswith("not reproduced by runner local (test-vlm): 15 of 21")
    assert found["Unnamed-VLM"]["reproduction_reason"] == "no runner named with the upload"
    assert f"budget of {BUDGET} runner calls is spent" in found["Late-VLM"]["reproduction_reason"]
    assert "Runner local will re-ask a random sample" in found["Honest-VLM"]["receipt"]["message"]
    assert set(runner.authorizations) == {f"Bearer {KEY}"}


def test_the_board_has_the_column_the_agreement_and_the_filter(runs) -> None:
    _, client, found, _ = runs
    shown = {row["Model"]: row for row in board(client, sources=["scored here"], column_groups=ALL_GROUPS
                                                + ["Reproduction", "Ranking details"])}
    assert {model: shown[model]["Reproduced"] for model in found} == {
        "Broken-Runner-VLM": "reproduction failed", "Honest-VLM": "reproduced", "Edited-VLM": "not reproduced",
        "Unnamed-VLM": "self-reported", "Late-VLM": "over budget"}
    assert shown["Honest-VLM"]["Agreement (%)"] == 100.0
    assert shown["Edited-VLM"]["Agreement (%)"] == pytest.approx(100 * 15 / 21, abs=0.01)
    assert "not reproduced by runner local" in shown["Edited-VLM"]["Unranked"]
    reproduced = board(client, reproduced=["reproduced"])
    assert [row["Model"] for row in reproduced if row["Source"] == "scored here"] == ["Honest-VLM"]
    assert all(row["Source"] in ("scored here", "reference") for row in reproduced)  # paper rows: not files
    assert board(client, reproduced=["reproduced", "not reproduced"], sources=["scored here"])


def test_explore_shows_the_file_beside_the_runner(runs) -> None:
    _, client, found, _ = runs
    summary, table, dimensions, record = client.predict(found["Edited-VLM"]["id"], api_name="/explore_reproduction")
    rows = [dict(zip(table["headers"], values)) for values in table["data"]]
    assert len(rows) == 35 and sum(row["agree"] == "no" for row in rows) == 6
    assert all(row["file"] != row["runner"] for row in rows if row["agree"] == "no")
    assert record["state"] == "not_reproduced" and "Not reproduced" in summary
    assert sum(cell[1] for cell in dimensions["data"]) == 21  # every re-asked MCQ, per dimension


def test_the_key_is_in_no_page_log_or_file(runs) -> None:
    space, client, found, _ = runs
    pages = [urllib.request.urlopen(space.url + path, timeout=30).read().decode() for path in ("", "board.json",
                                                                                               "gradio_api/info")]
    shown = json.dumps(status(client)) + "".join(pages) + space.log()
    assert KEY not in shown and "RUNNER_KEY" in space.log()  # the start-up line names the variable, not the key
    for path in space.home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert "Reproduced rows" in pages[0] and "broken-*" in pages[0]  # About explains, naming what runners serve
