"""The Space in a real headless Chromium: see the paper's models, submit through the form, see the row."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import medcmr
from tests.test_space import SpaceProcess, make_home, submit, wait_for_status

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
SCREENSHOTS = Path("/tmp")
MODEL = "Browser <b>Bold</b> VL"  # typed text must show literally, never as markup

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]


def visible_row(table, text: str):
    """The on-screen row of a Gradio 6 Dataframe holding `text` (it also keeps hidden sizing rows)."""
    return table.get_by_role("row").filter(has_text=text).filter(visible=True).first


@pytest.fixture(scope="module")
def space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "browser"))
    yield app
    app.kill()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        playwright.expect.set_options(timeout=30_000)  # two shared cores: the first render can be slow
        yield page
        context.close()


def test_page_shows_paper_models_and_a_form_submission_lands_on_the_board(
        space: SpaceProcess, page, built_dataset: Path, tmp_path: Path) -> None:
    expect = playwright.expect
    page.goto(space.url)
    board = page.locator("#board")
    expect(visible_row(board, "GPT-5")).to_contain_text("reported in paper")
    expect(page.get_by_text("SU = 709").first).to_be_visible()

    predictions = tmp_path / "browser.jsonl"
    predictions.write_text("".join(  # every MCQ right; open answers wait for a judge
        json.dumps({"id": q["id"], "prediction": q["answer"] if q["question_type"] == "mcq" else "pneumonia"}) + "\n"
        for q in medcmr.load_questions(built_dataset)))
    page.get_by_role("tab", name="Submit").click()
    page.locator("#predictions input[type=file]").set_input_files(str(predictions))
    expect(page.locator("#predictions").get_by_text("browser.jsonl")).to_be_visible()
    page.get_by_label("Model name").fill(MODEL)
    page.locator("#submit-button").click()
    expect(page.locator("#receipt")).to_contain_text("Accepted as sub-")
    expect(visible_row(page.locator("#status"), MODEL)).to_contain_text("awaiting judge")
    page.screenshot(path=str(SCREENSHOTS / "medcmr_space_submit.png"), full_page=True)

    page.get_by_role("tab", name="Leaderboard").click()
    expect(visible_row(board, MODEL)).to_be_visible()
    expect(board.locator("b")).to_have_count(0)
    # every MCQ answered correctly: 100% and first place
    expect(visible_row(board, MODEL)).to_contain_text("100")
    expect(visible_row(board, MODEL)).to_contain_text("awaiting judge")
    page.screenshot(path=str(SCREENSHOTS / "medcmr_space_board.png"), full_page=True)

    page.get_by_label("scored here").check()
    expect(visible_row(board, "GPT-5")).to_have_count(0)
    expect(visible_row(board, MODEL)).to_be_visible()
    page.wait_for_timeout(1000)  # the download buttons follow the table
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV (filtered view)").click()
    exported = Path(download.value.path()).read_text()
    assert "Browser <b>Bold</b> VL" in exported and "GPT-5" not in exported


def test_about_tab_shows_the_papers_prompts_whole(space: SpaceProcess, page) -> None:
    page.goto(space.url)
    page.get_by_role("tab", name="About").click()
    about = page.locator("#about")
    playwright.expect(about).to_contain_text("S = (Con + Coh + 4·VA + 4·GT) / 10")
    prompt = about.locator("pre").filter(has_text="Think step by step")
    playwright.expect(prompt).to_contain_text("in one short sentence or a single medical term.")
    # the long line wraps inside the page instead of running past the block's right edge
    assert prompt.evaluate("block => block.scrollWidth <= block.clientWidth + 1")
    page.screenshot(path=str(SCREENSHOTS / "medcmr_space_about.png"), full_page=True)


def test_an_open_board_shows_a_new_scored_row_without_any_click(
        space: SpaceProcess, page, built_dataset: Path, tmp_path: Path) -> None:
    from gradio_client import Client

    page.goto(space.url)
    board = page.locator("#board")
    playwright.expect(visible_row(board, "GPT-5")).to_be_visible()
    predictions = tmp_path / "script.jsonl"
    predictions.write_text("".join(json.dumps({"id": q["id"], "prediction": q["answer"]}) + "\n"
                                   for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq"))
    client = Client(space.url, verbose=False)
    receipt = submit(client, predictions, "Scripted Refresh VL")
    wait_for_status(client, receipt["id"], ("finished",))  # MCQ only: nothing waits for a judge
    # the reader does nothing: the board's timer notices the new row and re-renders
    playwright.expect(visible_row(board, "Scripted Refresh VL")).to_be_visible(timeout=40_000)
