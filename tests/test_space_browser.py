"""The Space in a real headless Chromium: see the paper's models, submit through the form, see the row."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import medcmr
from core.vocabulary import DIMENSIONS
from leaderboard.plots import MAX_MODELS, RADAR_LIMIT
from space.toasts import TOAST_SECONDS
from tests.polling import until
from tests.space_app import SpaceProcess, make_home, submit, wait_for_status

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


def choose_file(page, path: Path, within_s: float = 120) -> None:
    """Choose `path` in the predictions box and wait until it is uploaded; chosen again, as a visitor would, when
    the box was re-drawn just as it was chosen (a cleared box mounts a new file input: under load the file can
    go to the old one)."""
    shown = page.locator("#predictions").get_by_text(path.name)
    deadline = time.monotonic() + within_s
    while True:
        page.locator("#predictions input[type=file]").set_input_files(str(path))
        try:
            playwright.expect(shown).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.fixture(scope="module")
def space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "browser"))
    yield app
    app.kill()


@pytest.fixture(scope="module")
def driver():
    with playwright.sync_playwright() as running:
        yield running


def open_page(driver, profile: Path, width: int, timezone_id: str | None = None, height: int = 1000):
    context = driver.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        viewport={"width": width, "height": height}, timezone_id=timezone_id)
    page = context.new_page()
    page.set_default_timeout(30_000)
    playwright.expect.set_options(timeout=30_000)  # two shared cores: the first render can be slow
    return context, page


@pytest.fixture(scope="module")
def page(driver, tmp_path_factory: pytest.TempPathFactory):
    context, page = open_page(driver, tmp_path_factory.mktemp("chromium-profile"), 1400)
    yield page
    context.close()


@pytest.fixture(scope="module")
def phone(driver, tmp_path_factory: pytest.TempPathFactory):
    context, page = open_page(driver, tmp_path_factory.mktemp("chromium-phone"), 390, height=844)
    yield page
    context.close()


def cell(page, row: int, column: int):
    """The board's cell shown in place `row` (0 = top) and column `column` (0 = Rank)."""
    return page.locator(f"#board tbody tr:nth-child({row + 1}) > :nth-child({column + 1})")


def header(page, column: str):
    """The sort button of one of the board's column headers."""
    return page.locator(f"#board button[data-sort='{column}']")


def in_view(page, locator) -> bool:
    """Whether the element's box is wholly inside the window (what a visitor sees without scrolling)."""
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.left >= 0 && "
                            "r.bottom <= window.innerHeight && r.right <= window.innerWidth; }")


def box(locator) -> dict:
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); "
                            "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }")


def poll(check, timeout: float = 30.0, what: str = "the condition"):
    """Wait for `check()` to be truthy (a page state, never a fixed sleep)."""
    return until(check, timeout, what, every=0.2)


def test_page_shows_paper_models_and_a_form_submission_lands_on_the_board(
        space: SpaceProcess, page, built_dataset: Path, tmp_path: Path) -> None:
    expect = playwright.expect
    page.goto(space.url)
    board = page.locator("#board")
    expect(visible_row(board, "GPT-5")).to_contain_text("paper")
    expect(page.locator("#board-notes")).to_contain_text("SU = 709")  # the caveat, in the footnotes

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
    # every MCQ answered correctly, but on the sample build: 100% and no rank among the paper's rows
    expect(visible_row(board, MODEL)).to_contain_text("100")
    expect(visible_row(board, MODEL)).to_contain_text("sample build")
    expect(visible_row(board, MODEL)).to_contain_text("awaiting")
    expect(visible_row(board, "GPT-5")).to_contain_text("1")
    page.screenshot(path=str(SCREENSHOTS / "medcmr_space_board.png"), full_page=True)

    page.locator("#board-filters").get_by_text("Filters").click()  # folded away by default
    page.get_by_label("scored here").check()
    expect(visible_row(board, "GPT-5")).to_have_count(0)
    expect(visible_row(board, MODEL)).to_be_visible()
    def filtered_export() -> str | None:  # the download buttons follow the table: poll the exported file itself
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV (filtered view)").click()
        text = Path(download.value.path()).read_text()
        return text if "GPT-5" not in text else None

    exported = poll(filtered_export, 30, "the CSV download of the filtered view")
    assert "Browser <b>Bold</b> VL" in exported and "GPT-5" not in exported

    # the receipt links to the submission's own row: the whole board, scrolled to that row, which is marked
    page.get_by_role("tab", name="Submit").click()
    link = page.locator("#receipt").get_by_role("link", name="see its row on the board")
    with page.context.expect_page() as opened:  # Gradio opens Markdown links in a new tab
        link.click()
    mine = opened.value
    marked = mine.locator("#board tr.target")
    playwright.expect(marked).to_contain_text(MODEL)
    playwright.expect(visible_row(mine.locator("#board"), "GPT-5")).to_be_visible()  # nothing filtered away
    poll(lambda: in_view(mine, marked), what="the linked row scrolled into view")
    mine.close()


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
    playwright.expect(page.locator("#judge-agreement")).to_contain_text("How far the Open column can be trusted")


def test_a_visitor_sees_no_moderation_control(space: SpaceProcess, page) -> None:
    page.goto(space.url)
    playwright.expect(page.get_by_role("tab", name="About")).to_be_visible()
    tabs = [tab.inner_text().strip() for tab in page.get_by_role("tab").all()]
    assert tabs[:4] == ["Leaderboard", "Submit", "Explore", "About"] and "Moderate" not in tabs
    assert page.get_by_text("Public reason").count() == 0


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
    # ...and the radar's picker offers it (by "name · source"), with no reload
    page.locator("#radar-models input").click()
    playwright.expect(page.get_by_role("option", name="Scripted Refresh VL · scored here")).to_be_visible()
    page.keyboard.press("Escape")


def test_the_pages_first_rows_give_way_to_the_board_and_to_another_tab(space: SpaceProcess, page) -> None:
    opened = page.goto(space.url, wait_until="commit")
    first_bytes = opened.text()
    assert 'id="board-preview"' in first_bytes and "GPT-5" in first_bytes  # the rows came with the page's HTML
    assert "MCQ accuracy with its 95% interval" in first_bytes  # and the interval chart
    playwright.expect(visible_row(page.locator("#board"), "GPT-5")).to_be_visible()
    playwright.expect(page.locator("#board-preview")).to_be_hidden()  # and went once the board was drawn
    playwright.expect(page.locator("#board-preview")).to_have_count(0)  # removed, also where CSS has no :has()
    page.goto("about:blank")
    page.goto(space.url + "#submit")  # a fresh load: the server cannot see the anchor, so the rows come too
    playwright.expect(page.locator("#predictions")).to_be_visible()
    playwright.expect(page.locator("#board-preview")).to_be_hidden()  # the board is never drawn on this tab


def test_search_filters_as_you_type_and_clearing_it_brings_every_row_back(space: SpaceProcess, page) -> None:
    page.goto(space.url)
    board = page.locator("#board")
    playwright.expect(visible_row(board, "GPT-5")).to_be_visible()
    playwright.expect(page.locator("#board-notes")).to_contain_text("scored here")  # how fresh the board is
    intervals = page.locator("#interval-plot")  # the ranked rows only: the submissions here are on a sample build
    playwright.expect(intervals).to_contain_text("GPT-5")
    playwright.expect(intervals).to_contain_text("unranked or reference rows not drawn")
    search = page.get_by_label("Search models")
    search.press_sequentially("gemma", delay=30)  # typed, no Enter
    playwright.expect(visible_row(board, "MedGemma-4B")).to_be_visible()
    playwright.expect(board.get_by_role("row").filter(has_text="GPT-5").filter(visible=True)).to_have_count(0)
    playwright.expect(intervals).not_to_contain_text("GPT-5")  # the plot follows the filters
    playwright.expect(intervals).to_contain_text("MedGemma-4B")
    search.fill("")
    playwright.expect(visible_row(board, "GPT-5")).to_be_visible()
    playwright.expect(intervals).to_contain_text("GPT-5")


def test_laptop_board_fits_keeps_rank_and_model_in_view_and_sorts_on_a_header_click(space: SpaceProcess,
                                                                                      page) -> None:
    expect = playwright.expect
    page.goto(space.url)
    expect(page.locator("#build-banner")).to_contain_text("Sample build")
    expect(page.locator("#build-banner")).to_contain_text("not comparable with the paper")
    expect(cell(page, 0, 1)).to_contain_text("GPT-5")
    viewport = page.locator("#board .board-scroll")
    # the default view (Overview + dimensions) fits a laptop: nothing to scroll sideways
    assert viewport.evaluate("v => v.scrollWidth <= v.clientWidth + 1")
    expect(cell(page, 0, 0)).to_have_text("1")
    expect(cell(page, 0, 2)).to_contain_text("57.81")
    expect(cell(page, 0, 2)).to_contain_text("±0.8")
    sod = header(page, "SOD")
    expect(sod).to_have_attribute("title", f"{DIMENSIONS[0].release_name} (MCQ accuracy %, perception)")
    expect(cell(page, 0, 1).locator("a")).to_have_attribute("rel", "noopener nofollow")
    assert cell(page, 0, 2).evaluate("e => getComputedStyle(e).fontVariantNumeric") == "tabular-nums"
    assert "mono" not in cell(page, 0, 2).evaluate("e => getComputedStyle(e).fontFamily").lower()

    for group in ("Open criteria", "Medical intelligence", "Model info"):
        page.get_by_label(group).check()
    poll(lambda: viewport.evaluate("v => v.scrollWidth > v.clientWidth + 300"), what="a wide table")
    viewport.evaluate("v => { v.scrollLeft = v.scrollWidth; }")
    poll(lambda: viewport.evaluate("v => v.scrollLeft > 300"), what="the table to scroll right")
    seen = box(viewport)
    for column in (0, 1):  # Rank and Model of row 1 stay in view at the left edge
        where = box(cell(page, 0, column))
        assert seen["left"] - 1 <= where["left"] and where["right"] <= seen["left"] + 400, (column, where, seen)
    expect(cell(page, 0, 1)).to_contain_text("GPT-5")

    viewport.evaluate("v => { v.scrollLeft = 0; }")

    def first_names() -> list[str]:
        return [cell(page, row, 1).inner_text().split("\n")[0].strip() for row in range(5)]

    header(page, "Model").click()  # Model: A to Z
    def initials() -> list[str]:
        return [name[0].lower() for name in first_names()]

    poll(lambda: first_names()[0] != "GPT-5" and initials() == sorted(initials()), what="rows sorted by model name")
    expect(page.locator("#board th[aria-sort='ascending']")).to_contain_text("Model")

    def ranks() -> list[str]:
        count = page.locator("#board tbody tr").count()
        return [cell(page, row, 0).inner_text().strip() for row in range(count)]

    header(page, "MCQ").click()  # MCQ: best first, among the ranked rows
    # the sample build's 100% rows are unranked: never above rank 1, whatever the key
    poll(lambda: first_names()[0] == "GPT-5" and cell(page, 0, 0).inner_text().strip() == "1",
         what="rows sorted by MCQ, the best ranked row first")
    expect(page.locator("#board th[aria-sort='descending']")).to_contain_text("MCQ")
    header(page, "MCQ").click()  # again: reversed, still ranked rows first
    poll(lambda: first_names()[0] == "MedGemma-4B", what="rows sorted by MCQ, worst ranked first")
    header(page, "Rank").click()  # Rank: the "—" rows stay below the ranked ones
    poll(lambda: first_names()[0] == "GPT-5", what="rows sorted by rank")
    shown = ranks()
    assert "—" in shown and shown.index("—") > 0 and set(shown[shown.index("—"):]) == {"—"}, shown
    rank, mcq = (header(page, name).evaluate("e => e.getBoundingClientRect().height") for name in ("Rank", "MCQ"))
    assert rank < 1.5 * mcq  # "Rank ▲" stays on one line

    page.get_by_label("Search models").fill("no such model")
    page.get_by_label("Search models").press("Enter")
    expect(page.locator("#board-notes")).to_contain_text("No models match these filters")


def ensure_a_submission(space: SpaceProcess, built_dataset: Path, tmp_path: Path) -> None:
    """At least one submission in the shared Space's queue (tests may run alone)."""
    from gradio_client import Client

    from tests.space_app import status

    client = Client(space.url, verbose=False)
    if not status(client):
        path = tmp_path / "one.jsonl"
        question = next(q for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq")
        path.write_text(json.dumps({"id": question["id"], "prediction": question["answer"]}) + "\n")
        submit(client, path, "Time Zone VL")


def test_phone_shows_a_row_on_the_first_screen_and_scrolls_sideways_with_rank_and_model_pinned(
        space: SpaceProcess, phone, built_dataset: Path, tmp_path: Path) -> None:
    expect = playwright.expect
    phone.goto(space.url)
    expect(cell(phone, 0, 1)).to_contain_text("GPT-5")
    expect(phone.locator("#build-banner")).to_be_visible()
    width, height = phone.evaluate("[window.innerWidth, window.innerHeight]")
    assert box(cell(phone, 0, 1))["bottom"] <= height  # the first row is on the first screen
    for column, text in ((0, "1"), (1, "GPT-5"), (2, "57.81"), (3, "48.70")):
        where = box(cell(phone, 0, column))
        assert 0 <= where["left"] and where["right"] <= width, (column, where)
        expect(cell(phone, 0, column)).to_contain_text(text)
    expect(phone.get_by_label("Search models")).to_be_hidden()  # the controls wait behind one button
    phone.get_by_role("button", name="Search, filters and columns").click()
    expect(phone.get_by_label("Search models")).to_be_visible()
    search_box, panel = box(phone.get_by_label("Search models")), box(phone.locator("#board-controls"))
    assert search_box["right"] - search_box["left"] > 0.8 * (panel["right"] - panel["left"])  # its full width
    phone.get_by_label("Model info").check()  # a column choice takes effect on a phone too
    expect(phone.locator("#board thead th").filter(has_text="Weights")).to_have_count(1)
    viewport = phone.locator("#board .board-scroll")
    poll(lambda: viewport.evaluate("v => v.scrollWidth > v.clientWidth + 300"), what="a table wider than the phone")
    viewport.evaluate("v => { v.scrollLeft = v.scrollWidth; }")
    poll(lambda: viewport.evaluate("v => v.scrollLeft > 300"), what="the table to scroll sideways")
    seen = box(viewport)
    for column in (0, 1):  # Rank and Model stay at the left edge while the rest scrolls under them
        where = box(cell(phone, 0, column))
        assert seen["left"] - 1 <= where["left"] and where["right"] <= seen["left"] + 200, (column, where, seen)
    phone.get_by_label("Model info").uncheck()
    expect(phone.locator("#board thead th").filter(has_text="Weights")).to_have_count(0)
    viewport.evaluate("v => { v.scrollLeft = 0; }")
    header(phone, "Open").click()  # a sort keeps MCQ in view beside the pinned columns: its header and its score
    expect(phone.locator("#board th[aria-sort]")).to_contain_text("Open")
    for column, text in ((2, "MCQ"), (3, "Open")):
        shown = phone.locator(f"#board thead th:nth-child({column + 1})")
        assert box(shown)["right"] <= width and box(shown)["left"] >= box(cell(phone, 0, 1))["right"] - 1, column
        assert text in shown.inner_text()
    mcq = cell(phone, 0, 2)
    assert mcq.evaluate("e => { const r = e.getBoundingClientRect(); "
                        "return e.contains(document.elementFromPoint(r.left + 4, r.top + r.height / 2)); }")
    ensure_a_submission(space, built_dataset, tmp_path)  # an empty queue shows no table
    phone.goto(space.url + "?tab=submit")  # the queue: each model's status without scrolling sideways
    status = phone.locator("#status th").filter(has_text="Status").filter(visible=True).first
    expect(status).to_be_visible()
    assert box(status)["right"] <= width, box(status)


def test_a_refusal_stays_beside_the_button_after_the_toast_and_clears_the_old_receipt(
        space: SpaceProcess, page, built_dataset: Path, tmp_path: Path) -> None:
    expect = playwright.expect
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"id": q["id"], "prediction": f"Answer: {q['answer']}"}) + "\n"
                            for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n")
    page.goto(space.url)
    page.get_by_role("tab", name="Submit").click()
    expect(visible_row(page.locator("#status"), "Scripted Refresh VL")).to_be_visible()  # current on opening
    expect(page.locator("#status")).to_contain_text("Submitted by")
    page.locator("#predictions input[type=file]").set_input_files(str(good))
    page.get_by_label("Model name").fill("Receipt Then Refusal VL")
    page.locator("#submit-button").click()
    expect(page.locator("#receipt")).to_contain_text("Accepted as sub-")

    page.locator("#predictions button[aria-label='Clear']").first.click()
    expect(page.locator("#predictions").get_by_text("good.jsonl")).to_have_count(0)  # cleared before the next file
    page.locator("#predictions input[type=file]").set_input_files(str(bad))
    page.get_by_label("Model name").fill("Refused VL")
    page.locator("#submit-button").click()
    refusal = page.locator("#submit-refusal")
    expect(refusal).to_contain_text("Submission refused")
    expect(refusal).to_contain_text("mcq-99999999")
    expect(page.locator("#receipt")).not_to_contain_text("Accepted")
    expect(page.locator(".toast-body")).to_have_count(0, timeout=40_000)  # the toast goes...
    expect(refusal).to_be_visible()  # ...the reason stays
    expect(refusal).to_contain_text("mcq-99999999")


def test_refusals_in_a_row_show_one_toast_the_last_one_which_leaves_on_its_own(
        space: SpaceProcess, page, tmp_path: Path) -> None:
    """Gradio groups the toasts still on screen ("Error (3)"): each press replaces the last refusal's toast."""
    expect = playwright.expect
    page.goto(space.url)
    page.get_by_role("tab", name="Submit").click()
    page.get_by_label("Model name").fill("Refused Thrice VL")
    toast = page.locator(".toast-body")
    for attempt in range(3):
        unknown = f"mcq-9000000{attempt}"
        bad = tmp_path / f"bad-{attempt}.jsonl"
        bad.write_text(json.dumps({"id": unknown, "prediction": "A"}) + "\n")
        if attempt:
            page.locator("#predictions button[aria-label='Clear']").first.click()
            expect(page.locator("#predictions").get_by_text(f"bad-{attempt - 1}")).to_have_count(0)  # cleared
        choose_file(page, bad)
        page.locator("#submit-button").click()
        expect(page.locator("#submit-refusal")).to_contain_text(unknown)
        expect(toast).to_have_count(1)
        expect(toast.locator(".toast-message-text")).to_have_count(1)
        expect(toast.locator(".toast-message-text")).to_contain_text(unknown)
    expect(toast.locator(".toast-count")).to_have_count(0)  # no "(3)"
    expect(toast).to_have_count(0, timeout=(TOAST_SECONDS + 30) * 1000)  # it goes on its own...
    expect(page.locator("#submit-refusal")).to_contain_text("mcq-90000002")  # ...the last reason stays


def test_a_filter_set_before_a_submission_is_chosen_is_no_error(space: SpaceProcess, page, built_dataset: Path,
                                                                tmp_path: Path) -> None:
    from gradio_client import Client

    mcqs = [q for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq"]
    predictions = tmp_path / "filtered.jsonl"
    predictions.write_text("".join(json.dumps({"id": q["id"], "prediction": f"({q['answer']})"}) + "\n" for q in mcqs))
    client = Client(space.url, verbose=False)
    receipt = submit(client, predictions, "Filtered Later VL")
    wait_for_status(client, receipt["id"], ("finished",))
    page.add_init_script("window.errorToasts = 0; new MutationObserver((changes) => { window.errorToasts += "
                         "changes.flatMap((c) => [...c.addedNodes]).filter((n) => n.nodeType === 1 && "
                         "n.matches('.toast-body.error')).length; }).observe(document, {childList: true, subtree: true});")
    page.goto(space.url)
    page.get_by_role("tab", name="Explore").click()
    page.get_by_label("Only suspect questions (item analysis)").check()  # nothing chosen yet: nothing to filter
    playwright.expect(page.locator("#explore-info")).to_contain_text("Choose a submission above.")
    chosen = page.locator("#explore-submission input")
    chosen.fill(receipt["id"])  # then a submission: its suspect questions, the filter kept
    chosen.press("Enter")
    playwright.expect(page.locator("#explore-info")).to_contain_text("match")
    playwright.expect(page.locator("#explore-info")).to_contain_text("needs 20 submissions")  # why none is suspect
    assert page.evaluate("window.errorToasts") == 0  # at no moment an error toast


def test_explore_errors_in_a_row_show_one_toast_the_last_one(space: SpaceProcess, page) -> None:
    expect = playwright.expect
    page.goto(space.url)
    page.get_by_role("tab", name="Explore").click()
    chosen = page.locator("#explore-submission input")  # a typed id, as a link may carry
    toast = page.locator(".toast-body")
    for attempt in range(3):
        chosen.fill(f"sub-missing-{attempt}")
        chosen.press("Enter")
        expect(toast.locator(".toast-message-text")).to_contain_text(f"No submission with id sub-missing-{attempt}")
        expect(toast).to_have_count(1)
        expect(toast.locator(".toast-message-text")).to_have_count(1)  # the table's error, not the download's too
    expect(toast).to_have_count(0, timeout=(TOAST_SECONDS + 30) * 1000)


def test_a_sixth_radar_pick_is_undone_and_the_visitor_told_why(space: SpaceProcess, page) -> None:
    expect = playwright.expect
    page.goto(space.url)
    picker, radar = page.locator("#radar-models"), page.locator("#radar-plot")
    expect(picker).to_contain_text(f"At most {MAX_MODELS} at once")
    expect(picker.locator(".token")).to_have_count(3)
    picker.locator("input").click()
    for name in ("Gemma3-4B", "Lingshu-7B"):
        page.get_by_role("option", name=f"{name} · paper").click()
        expect(radar).to_contain_text(f"{name} · paper")  # drawn: the next pick is a new event
    expect(picker.locator(".token")).to_have_count(MAX_MODELS)
    page.get_by_role("option", name="MedGemma-4B · paper").click()
    expect(page.locator(".toast-body.warning")).to_contain_text(RADAR_LIMIT)
    expect(picker.locator(".token")).to_have_count(MAX_MODELS)  # the sixth pick is undone
    expect(picker.locator(".token").filter(has_text="MedGemma-4B")).to_have_count(0)
    expect(picker.locator(".token").last).to_contain_text("Lingshu-7B")
    expect(radar).not_to_contain_text("MedGemma-4B")
    page.keyboard.press("Escape")
    expect(page.locator(".toast-body")).to_have_count(0, timeout=(TOAST_SECONDS + 30) * 1000)


def test_the_queue_shows_times_in_the_visitors_own_zone(space: SpaceProcess, driver, built_dataset: Path,
                                                        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from gradio_client import Client

    from tests.space_app import status

    client = Client(space.url, verbose=False)
    ensure_a_submission(space, built_dataset, tmp_path)
    created = status(client)[0]["created_at"]  # the API keeps ISO UTC for scripts
    when = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    tokyo = when.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    context, page = open_page(driver, tmp_path_factory.mktemp("chromium-tokyo"), 1400, timezone_id="Asia/Tokyo")
    try:
        page.goto(space.url)
        page.get_by_role("tab", name="Submit").click()
        queue = page.locator("#status")
        playwright.expect(queue).to_contain_text(tokyo)
        playwright.expect(queue).to_contain_text("GMT+9")
        playwright.expect(queue).not_to_contain_text(" UTC")
    finally:
        context.close()



def test_after_a_restart_nothing_is_chosen_for_the_visitor(built_dataset: Path, tmp_path_factory, driver,
                                                          questions: list[dict], tmp_path: Path) -> None:
    """A restarted Space lists the scored submissions but opens none: no filter the visitor did not set."""
    from gradio_client import Client

    from tests.answers import write_predictions

    home = make_home(built_dataset, tmp_path_factory, "restart-views")
    first = SpaceProcess(home)
    client = Client(first.url, verbose=False)
    for name in ("Chosen-A", "Chosen-B"):
        write_predictions(tmp_path / f"{name}.jsonl", questions, tag=name)
        wait_for_status(client, submit(client, tmp_path / f"{name}.jsonl", name)["id"], ("awaiting judge",))
    first.kill()
    again = SpaceProcess(home)
    context, page = open_page(driver, tmp_path_factory.mktemp("chromium-restart"), 1400)
    try:
        page.goto(again.url)
        page.get_by_role("tab", name="Explore").click()
        playwright.expect(page.locator("#explore-info")).to_contain_text("Choose a submission above.")
        for field in ("#explore-submission", "#explore-disagree", "#explore-compare-b"):
            assert page.locator(f"{field} input").input_value() == "", field
        page.get_by_role("tab", name="Submit").click()
        playwright.expect(page.locator("#result-card")).to_be_visible()
        assert "Chosen-" not in page.locator("#result-card").inner_text()
    finally:
        context.close()
        again.kill()


def test_the_first_screen_says_what_the_numbers_mean_and_a_dimension_of_the_legend_sorts_the_board(
        space: SpaceProcess, page, phone) -> None:
    expect = playwright.expect
    for shown in (page, phone):
        shown.goto(space.url)
        legend = shown.locator("#board-legend")
        expect(cell(shown, 0, 1)).to_contain_text("GPT-5")
        for words in ("MCQ", "% of the multiple-choice questions", "95% interval", "Open", "0–100"):
            expect(legend.locator(".board-explainer")).to_contain_text(words)
        dimensions = legend.locator("button[data-sort]")
        expect(dimensions).to_have_count(len(DIMENSIONS))
        for dimension in DIMENSIONS:  # every abbreviation spelled out, on the first screen
            named = dimensions.filter(has_text=dimension.release_name)
            expect(named).to_contain_text(dimension.abbr)
            assert in_view(shown, named), dimension.abbr
        assert box(cell(shown, 0, 1))["bottom"] <= shown.evaluate("window.innerHeight")  # and a row too
        best = cell(shown, 0, 2)  # GPT-5's MCQ is the best ranked one: marked
        expect(best).to_have_class(re.compile(r"\bbest\b"))
        assert int(best.evaluate("e => getComputedStyle(e).fontWeight")) >= 600
        dimensions.filter(has_text="LTG").click()  # a tap on a dimension sorts by it, best first
        expect(shown.locator("#board th[aria-sort='descending']")).to_contain_text("LTG")
        expect(dimensions.filter(has_text="LTG")).to_have_attribute("aria-pressed", "true")
        poll(lambda: in_view(shown, shown.locator("#board thead th[aria-sort]")), what="the sorted column in view")
        poll(lambda: "sort=LTG%3Adesc" in shown.evaluate("location.href"), what="the sort in the address")


def test_headers_sort_by_keyboard_with_a_visible_focus_mark_and_downloads_come_before_the_rows(
        space: SpaceProcess, page) -> None:
    expect = playwright.expect
    page.goto(space.url)
    expect(cell(page, 0, 1)).to_contain_text("GPT-5")
    assert page.evaluate("""() => { const download = document.querySelector('#board-csv');
        const link = document.querySelector('#board tbody a');
        return !!(download.compareDocumentPosition(link) & Node.DOCUMENT_POSITION_FOLLOWING); }""")
    page.get_by_label("Search models").focus()
    page.keyboard.press("Tab")  # the next control: the first column group's checkbox
    focused = page.evaluate_handle("document.activeElement")
    assert focused.evaluate("e => e.type") == "checkbox"
    assert focused.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth)") >= 2  # a mark one can see
    header(page, "Open").focus()
    page.keyboard.press("Shift+Tab")  # onto MCQ's header, by keyboard
    assert page.evaluate("document.activeElement.dataset.sort") == "MCQ"
    assert page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)") >= 2
    page.keyboard.press("Enter")
    expect(page.locator("#board th[aria-sort='descending']")).to_contain_text("MCQ")
    poll(lambda: page.evaluate("document.activeElement.dataset.sort") == "MCQ", what="the focus kept on MCQ")
    page.keyboard.press("Space")  # again: reversed
    expect(page.locator("#board th[aria-sort='ascending']")).to_contain_text("MCQ")
    poll(lambda: cell(page, 0, 1).inner_text().startswith("MedGemma-4B"), what="the worst ranked row first")


def serious_violations(page, deadline_s: float = 40.0) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, run until none remain or the deadline
    passes (a control still fading in after an event is no violation; one that stays is)."""
    axe = pytest.importorskip("axe_playwright_python")
    script = Path(axe.__file__).parent / "axe.min.js"
    deadline = time.monotonic() + deadline_s
    while True:
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(script))
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{v['id']} ({v['impact']}): {node['target']} {node['html'][:120]}" for v in found["violations"]
                   if v["impact"] in ("serious", "critical") for node in v["nodes"]]
        if not serious or time.monotonic() > deadline:
            return serious
        time.sleep(2)


def test_axe_finds_nothing_serious_on_any_tab_at_either_size(space: SpaceProcess, page, phone) -> None:
    for shown in (page, phone):
        for tab, ready in (("leaderboard", "#board tbody tr"), ("submit", "#predictions"),
                           ("explore", "#explore-submission"), ("about", "#about")):
            shown.goto(space.url + f"?tab={tab}")
            playwright.expect(shown.locator(ready).first).to_be_visible()
            assert serious_violations(shown) == [], (tab, shown.viewport_size)


def test_a_submit_says_it_was_accepted_in_a_toast_and_brings_the_receipt_into_view(
        space: SpaceProcess, page, built_dataset: Path, tmp_path: Path) -> None:
    expect = playwright.expect
    predictions = tmp_path / "toast.jsonl"  # its own wording: other tests send the same answers
    predictions.write_text("".join(json.dumps({"id": q["id"], "prediction": f"My final answer: {q['answer']}"}) + "\n"
                                   for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq"))
    page.goto(space.url + "?tab=submit")
    page.locator("#predictions input[type=file]").set_input_files(str(predictions))
    expect(page.locator("#predictions").get_by_text(predictions.name)).to_be_visible()
    page.get_by_label("Model name").fill("Toasted VL")
    page.get_by_text("Beyond accuracy (optional)").click()  # the optional runs open: the form is longer
    expect(page.locator("#blind-run")).to_be_visible()
    page.locator("#submit-button").click()
    expect(page.locator(".toast-body").filter(has_text="Accepted as sub-")).to_be_visible()
    expect(page.locator("#receipt")).to_contain_text("Accepted as sub-")
    poll(lambda: in_view(page, page.locator("#receipt").get_by_text("Accepted as")), what="the receipt on screen")


# Last in the module: its submission would change what the tests above see in the shared Space.
def test_the_address_keeps_the_tab_the_search_and_the_open_question(
        space: SpaceProcess, page, phone, built_dataset: Path, tmp_path: Path) -> None:
    from gradio_client import Client

    mcqs = [q for q in medcmr.load_questions(built_dataset) if q["question_type"] == "mcq"]
    predictions = tmp_path / "linked.jsonl"  # its own wording: the module's other tests send the same answers
    predictions.write_text("".join(json.dumps({"id": q["id"], "prediction": f"The answer is {q['answer']}."}) + "\n"
                                   for q in mcqs))
    client = Client(space.url, verbose=False)
    receipt = submit(client, predictions, "Linked Address VL")
    wait_for_status(client, receipt["id"], ("finished",))

    def address() -> str:
        return page.evaluate("location.href")

    page.goto(space.url + "?tab=submit")  # a link to a tab opens it
    playwright.expect(page.locator("#predictions")).to_be_visible()
    page.goto(space.url + "#explore")  # so does the tab's anchor, which becomes ?tab=
    playwright.expect(page.locator("#explore-submission")).to_be_visible()
    poll(lambda: "tab=explore" in address(), what="#explore read as ?tab=explore")

    page.goto(space.url + "?search=gemma")  # a shared search filters the board
    board = page.locator("#board")
    playwright.expect(visible_row(board, "MedGemma-4B")).to_be_visible()
    playwright.expect(board.get_by_role("row").filter(has_text="GPT-5").filter(visible=True)).to_have_count(0)
    page.get_by_label("Search models").fill("qwen")
    poll(lambda: "search=qwen" in address(), what="the new search in the address")

    # filters, columns and the sort live in the address too; a reload restores them, with a chip per filter
    page.goto(space.url + "?weights=open&domain=medical&columns=Overview,Model%20info&sort=MCQ:asc")
    expect = playwright.expect
    expect(cell(page, 0, 1)).to_contain_text("MedGemma-4B")  # the worst open medical model first
    expect(board.get_by_role("row").filter(has_text="Lingshu-32B").filter(visible=True)).to_have_count(1)
    expect(board.get_by_role("row").filter(has_text="Qwen3-VL-8B").filter(visible=True)).to_have_count(0)
    expect(page.locator("#board thead th").filter(has_text="Weights")).to_have_count(1)
    chips = page.locator("#board-chips")
    expect(chips.get_by_label("Weights: open")).to_be_checked()
    expect(chips.get_by_label("Domain: medical")).to_be_checked()
    chips.get_by_label("Domain: medical").uncheck()  # one chip off: that filter goes, the other stays
    expect(board.get_by_role("row").filter(has_text="Qwen3-VL-8B").filter(visible=True)).to_have_count(1)
    poll(lambda: "domain=" not in address() and "weights=open" in address(), what="the chip's filter gone")
    header(page, "Model").click()
    poll(lambda: "sort=Model%3Aasc" in address(), what="the sort in the address")
    page.reload()
    expect(chips.get_by_label("Weights: open")).to_be_checked()
    expect(page.locator("#board th[aria-sort='ascending']")).to_contain_text("Model")
    expect(board.get_by_role("row").filter(has_text="GPT-5").filter(visible=True)).to_have_count(0)
    page.get_by_role("button", name="Clear all filters").click()
    expect(visible_row(board, "GPT-5")).to_be_visible()
    expect(chips).to_be_hidden()
    poll(lambda: "weights=" not in address(), what="the filters gone from the address")

    first, second = mcqs[0]["id"], mcqs[1]["id"]
    link = f"?tab=explore&submission={receipt['id']}&question={first}"
    for shown in (page, phone):  # a question's permanent link opens it, scrolled to and marked, at both sizes
        shown.goto(space.url + link)
        opened = shown.locator("#explore-item")
        playwright.expect(opened).to_contain_text(first)
        playwright.expect(opened).to_contain_text("Linked Address VL")  # whose answer it is
        playwright.expect(opened).to_have_class(re.compile(r"\btarget\b"))
        poll(lambda: shown.locator("#explore-item").evaluate(
            "e => { const r = e.getBoundingClientRect(); return r.top >= -1 && r.top < window.innerHeight / 2; }"),
            what="the question scrolled to the top of the screen")
        # the Submission box names the model, as when picked by hand
        playwright.expect(shown.locator("#explore-submission input")).to_have_value(
            f"Linked Address VL · {receipt['id']}")
        assert serious_violations(shown) == [], shown.viewport_size
    item = page.locator("#explore-item")
    playwright.expect(item.get_by_role("link", name="Link to this question")).to_have_attribute("href", link)
    page.locator("#explore-table").get_by_role("row").filter(
        has_text=re.compile(rf"\b{second}\b")).filter(visible=True).first.click()
    poll(lambda: f"question={second}" in address(), what="the clicked question in the address")
    page.reload()  # a reload opens the same question of the same submission
    playwright.expect(item).to_contain_text(second)
    order = page.locator("#explore-order input")  # Explore's order and filters live in the address too
    order.click()
    page.get_by_role("option", name="difficulty").click()
    poll(lambda: "order=difficulty" in address(), what="the order in the address")
    page.locator("#explore-table").get_by_role("row").nth(1).wait_for()
    # every MCQ right, every open question missing: the link's outcome keeps the MCQs only
    page.goto(space.url + f"?tab=explore&submission={receipt['id']}&order=difficulty&outcome=correct")
    playwright.expect(order).to_have_value("difficulty")
    playwright.expect(page.locator("#explore-info")).to_contain_text(f"{len(mcqs)} questions match")
    shown = page.locator("#explore-table .virtual-row [data-col='1']")

    def outcomes() -> set[str]:
        return {value.inner_text().strip() for value in shown.all()}

    poll(outcomes, what="the linked page's rows")
    assert outcomes() == {"correct"}, outcomes()  # the link's filter, applied to the page it shows
    page.get_by_role("tab", name="About").click()
    poll(lambda: "tab=about" in address(), what="the tab in the address")

    other = tmp_path / "other.jsonl"  # a second submission: a compare pair has its own permanent link
    other.write_text("".join(json.dumps({"id": q["id"], "prediction": "The answer is A."}) + "\n" for q in mcqs))
    pair = submit(client, other, "Linked Other VL")
    wait_for_status(client, pair["id"], ("finished",))
    link = f"?tab=explore&submission={receipt['id']}&compare={pair['id']}"
    page.goto(space.url + link)
    compared = page.locator("#explore-compare-view")
    playwright.expect(compared).to_contain_text("Linked Other VL")
    playwright.expect(compared.get_by_role("link", name="Link to this comparison")).to_have_attribute("href", link)
    playwright.expect(compared).to_have_class(re.compile(r"\btarget\b"))
    poll(lambda: in_view(page, compared.get_by_role("link", name="Link to this comparison")), what="the comparison")
    phone.goto(space.url + f"?row={pair['id']}")  # a board row's link lands on a phone too
    marked = phone.locator("#board tr.target")
    playwright.expect(marked).to_contain_text("Linked Other VL")
    poll(lambda: in_view(phone, marked.locator("th")), what="the linked row on the phone's screen")
