"""The Explore tab through gradio_client against a real Space (sample build, real scored
submissions), the consent gate everywhere outputs could leak (explorer, API, download, mirror),
the compare view against a McNemar p computed by hand, and one real Chromium session.

Expected ids are always derived from the build and the submitted files, never written down.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from core.vocabulary import LETTERS
from leaderboard.explore import PUBLIC_ITEM_FIELDS, THUMBNAIL_PX, details_file
from space.render import escape_md
from tests.hub_fakes import RecordingHfApi
from tests.space_app import SpaceProcess, make_home, rows, submit, wait_for_status

SECRET_A = "zebramarkerofmodelA"  # in every output of A (no punctuation: Markdown escaping leaves it whole)
SECRET_B = "okapimarkerofmodelB"  # B opts out: this must never appear anywhere


def write_answers(path: Path, questions: list[dict], right: set[str], marker: str) -> dict[str, str]:
    """MCQs in `right` answered correctly, the others wrong; every output carries `marker`."""
    outputs = {}
    for q in questions:
        if q["question_type"] == "mcq":
            letter = q["answer"] if q["id"] in right else LETTERS[(LETTERS.index(q["answer"]) + 1) % 5]
            outputs[q["id"]] = f"I looked closely ({marker}).\nAnswer: {letter}"
        else:
            outputs[q["id"]] = f"Reasoning: {marker}.\nAnswer: a finding"
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in outputs.items()))
    return outputs


@pytest.fixture(scope="module")
def mcq_ids(questions: list[dict]) -> list[str]:
    return [q["id"] for q in questions if q["question_type"] == "mcq"]


@pytest.fixture(scope="module")
def home(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(built_dataset, tmp_path_factory, "explore")


@pytest.fixture(scope="module")
def space(home: Path):
    app = SpaceProcess(home)
    yield app
    app.kill()


@pytest.fixture(scope="module")
def client(space: SpaceProcess) -> Client:
    return Client(space.url, verbose=False)


@pytest.fixture(scope="module")
def scored(client: Client, home: Path, questions: list[dict], mcq_ids: list[str],
           tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A: all MCQs right but the last two; B: the first three and the last two right. B opts out."""
    folder = tmp_path_factory.mktemp("explore-files")
    right = {"A": set(mcq_ids[:-2]), "B": set(mcq_ids[:3] + mcq_ids[-2:])}
    found = {}
    for name, marker in (("A", SECRET_A), ("B", SECRET_B)):
        outputs = write_answers(folder / f"{name}.jsonl", questions, right[name], marker)
        receipt = submit(client, folder / f"{name}.jsonl", f"Explore-{name}", public_details=name == "A")
        wait_for_status(client, receipt["id"], ("awaiting judge",))
        found[name] = {"id": receipt["id"], "right": right[name], "outputs": outputs}
    return found


def explore(client: Client, submission_id: str, **filters) -> tuple[list[dict], str, int]:
    table, info, page = client.predict(
        submission_id=submission_id, dimension=filters.get("dimension", []),
        medical_intelligence=filters.get("medical_intelligence", []), modality=filters.get("modality", []),
        organ_system=filters.get("organ_system", []), status=filters.get("status", []),
        search=filters.get("search", ""), disagree_with=filters.get("disagree_with"),
        page=filters.get("page", 1), api_name="/explore")
    return rows(table), info, page


def ids(client: Client, submission_id: str, **filters) -> set[str]:
    return {row["id"] for row in explore(client, submission_id, **filters)[0]}


def test_explore_api_is_listed(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/explore", "/explore_item", "/explore_image", "/explore_details", "/explore_compare"} <= set(endpoints)


def test_filters_and_search_return_the_right_items(client: Client, scored: dict, questions: list[dict],
                                                   mcq_ids: list[str]) -> None:
    a = scored["A"]["id"]
    every = {q["id"] for q in questions}
    assert len(every) < 50 and ids(client, a) == every  # the sample fits one page
    for field in ("dimension", "medical_intelligence", "modality", "organ_system"):
        for value in sorted({q[field] for q in questions}):
            assert ids(client, a, **{field: [value]}) == {q["id"] for q in questions if q[field] == value}, field
    first, second = sorted({q["modality"] for q in questions})[:2]
    assert ids(client, a, modality=[first, second], dimension=[questions[0]["dimension"]]) == {
        q["id"] for q in questions if q["modality"] in (first, second) and q["dimension"] == questions[0]["dimension"]}
    assert ids(client, a, status=["correct"]) == scored["A"]["right"]
    assert ids(client, a, status=["awaiting"]) == every - set(mcq_ids)  # no judge: open answers wait
    assert ids(client, scored["B"]["id"], status=["wrong"]) == set(mcq_ids) - scored["B"]["right"]
    assert ids(client, a, status=["wrong", "unparsed"]) == set(mcq_ids) - scored["A"]["right"]
    assert ids(client, a, status=["unparsed"]) == set()

    word = max(questions[5]["question"].lower().split(), key=len)
    expected = {q["id"] for q in questions if word in " ".join(
        [q["id"], q["question"], *q["options"], q["answer"], q["visual_description"], scored["A"]["outputs"][q["id"]]]
    ).lower()}
    assert questions[5]["id"] in ids(client, a, search=word) == expected
    assert ids(client, a, search=f"{SECRET_A} {word}") == expected  # every word must occur
    _, info, page = explore(client, a, page=7)
    assert page == 1 and f"**{len(every)}** questions match" in info  # a page past the end shows the last


def test_a_search_past_its_bounds_is_refused_at_once(client: Client, scored: dict) -> None:
    a = scored["A"]["id"]
    for search, bound in (("- " * 100_000, "at most 200 characters"), (" ".join(f"w{n}" for n in range(9)),
                                                                        "at most 8 words")):
        with pytest.raises(AppError, match=bound):
            explore(client, a, search=search)
    assert ids(client, a, search="the the the")  # repeated words count once


def test_an_item_shows_its_question_output_and_image(client: Client, scored: dict, questions: list[dict],
                                                     built_dataset: Path) -> None:
    a = scored["A"]
    question = next(q for q in questions if q["question_type"] == "mcq")
    thumbnail, view, record = client.predict(submission_id=a["id"], item_id=question["id"], api_name="/explore_item")
    assert record["question"] == question["question"] and record["answer"] == question["answer"]
    assert list(record["options"].values()) == question["options"]
    assert record["result"]["prediction"] == a["outputs"][question["id"]]
    assert record["result"]["extracted"] == question["answer"] and record["outcome"] == "correct"
    assert SECRET_A in view and "reference · model" in view

    stored = next(row["image"] for shard in built_dataset.glob("data/*/test-*.parquet")
                  for row in pq.read_table(shard, columns=["id", "image"]).to_pylist() if row["id"] == question["id"])
    original = Image.open(io.BytesIO(stored["bytes"]))
    with Image.open(thumbnail) as small:
        small.load()
        assert max(small.size) <= THUMBNAIL_PX
        assert abs(small.size[0] / small.size[1] - original.size[0] / original.size[1]) < 0.05
    full = client.predict(item_id=question["id"], api_name="/explore_image")
    with Image.open(full) as picture:
        picture.load()
        assert picture.size == original.size

    open_question = next(q for q in questions if q["question_type"] == "open")
    _, view, record = client.predict(submission_id=a["id"], item_id=open_question["id"], api_name="/explore_item")
    assert record["visual_description"] == open_question["visual_description"] and record["outcome"] == "awaiting"
    assert record["result"]["prediction"] == a["outputs"][open_question["id"]]


def test_an_opted_out_submission_never_shows_its_outputs(client: Client, scored: dict, questions: list[dict],
                                                         mcq_ids: list[str]) -> None:
    b = scored["B"]["id"]
    table, info, _ = explore(client, b)
    assert len(table) == len(questions) and all(row["model"] in ("", None) for row in table)
    assert "did not publish" in info
    assert ids(client, b, search=SECRET_B) == set()  # the output is not even searchable
    assert {row["id"]: row["outcome"] for row in table if row["format"] == "mcq"} == {
        i: "correct" if i in scored["B"]["right"] else "wrong" for i in mcq_ids}
    for question in questions:
        _, view, record = client.predict(submission_id=b, item_id=question["id"], api_name="/explore_item")
        assert SECRET_B not in json.dumps(record) + view
        assert set(record["result"]) <= set(PUBLIC_ITEM_FIELDS) and "prediction" not in record["result"]
    download = Path(client.predict(submission_id=b, api_name="/explore_details"))
    lines = [json.loads(line) for line in download.read_text().splitlines()]
    assert download.name == f"{b}.jsonl" and {line["id"] for line in lines} == {q["id"] for q in questions}
    assert SECRET_B not in download.read_text() and all(set(line) <= set(PUBLIC_ITEM_FIELDS) for line in lines)
    assert {line["id"] for line in lines if line.get("correct")} == scored["B"]["right"]

    consenting = Path(client.predict(submission_id=scored["A"]["id"], api_name="/explore_details")).read_text()
    assert consenting.count(SECRET_A) == len(questions)  # with consent the download carries every output


def test_compare_matches_a_hand_computed_mcnemar(client: Client, scored: dict, mcq_ids: list[str]) -> None:
    a, b = scored["A"], scored["B"]
    only_a = len(a["right"] - b["right"])
    only_b = len(b["right"] - a["right"])
    n = only_a + only_b
    by_hand = min(1.0, 2 * sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2 ** n)
    view, table, summary = client.predict(submission_a=a["id"], submission_b=b["id"], api_name="/explore_compare")
    mcq = summary["mcq"]
    assert (mcq["both_right"], mcq["only_a"], mcq["only_b"], mcq["both_wrong"]) == (
        len(a["right"] & b["right"]), only_a, only_b, len(mcq_ids) - len(a["right"] | b["right"]))
    assert mcq["p"] == pytest.approx(by_hand, rel=1e-12)
    assert mcq["significant"] is (by_hand < 0.05) and "significant at 95%" in mcq["sentence"]
    assert ("not significant" in mcq["sentence"]) is (by_hand >= 0.05)
    overall = rows(table)[0]
    assert overall["dimension"] == "all MCQ" and overall["McNemar p"] == f"{by_hand:.3g}"
    assert overall["only Explore-A right"] == only_a and overall["Explore-B (%)"] == f"{mcq['accuracy_b']:.2f}"
    assert sum(row["n"] for row in rows(table)[1:]) == len(mcq_ids)
    assert escape_md("Explore-A") in view and escape_md("Explore-B") in view
    # jump to the questions where they disagree: the MCQs exactly one got right (open answers are unscored)
    assert ids(client, a["id"], disagree_with=b["id"]) == a["right"] ^ b["right"]


def test_the_mirror_publishes_details_and_respects_consent(built_dataset: Path, questions: list[dict],
                                                           tmp_path: Path) -> None:
    from leaderboard.intake import SubmissionMeta
    from leaderboard.mirror import HubMirror
    from leaderboard.service import Leaderboard

    home = tmp_path / "home"
    api = RecordingHfApi()
    mirror = HubMirror("org/results", "hf_fake_token_for_tests", home / "mirror", hf_api=api, every_min=60)
    board = Leaderboard(home, built_dataset, mirror=mirror)
    write_answers(tmp_path / "a.jsonl", questions, set(), SECRET_A)
    write_answers(tmp_path / "b.jsonl", questions, set(), SECRET_B)
    shared = board.submit(tmp_path / "a.jsonl", SubmissionMeta(model="Mirror-Shared"), "ann")["id"]
    private = board.submit(tmp_path / "b.jsonl", SubmissionMeta(model="Mirror-Private", public_details=False),
                           "bob")["id"]
    try:
        board.start()
        assert board.wait_idle(60)
        mirror.push().result(10)
    finally:
        board.stop()
    uploaded = {path: data.decode() for path, data in api.uploaded.items()}
    assert {f"details/{shared}.jsonl", f"details/{private}.jsonl"} <= set(uploaded)
    assert uploaded[f"details/{shared}.jsonl"].count(SECRET_A) == len(questions)
    on_disk = (home / "mirror" / "details" / f"{private}.jsonl").read_text()
    for text in (uploaded[f"details/{private}.jsonl"], on_disk, *(v for k, v in uploaded.items() if private in k)):
        assert SECRET_B not in text
    lines = [json.loads(line) for line in on_disk.splitlines()]
    assert len(lines) == len(questions) and all(set(line) <= set(PUBLIC_ITEM_FIELDS) for line in lines)
    card_download = Path(details_file(board, private, tmp_path / "card")).read_text()  # the result card's button
    assert card_download == on_disk and SECRET_A in Path(details_file(board, shared, tmp_path / "card")).read_text()


def test_a_broken_details_file_is_named_with_its_line(tmp_path: Path) -> None:
    from leaderboard.details import DetailsError, read_details

    path = tmp_path / "sub-x.jsonl"
    path.write_text('{"id": "mcq-0", "correct": true}\n\n{"id": "mcq-1"\n')
    with pytest.raises(DetailsError, match=r"sub-x\.jsonl: line 3 is not JSON"):
        read_details(path)
    path.write_text('{"id": "mcq-0"}\n{"correct": false}\n')
    with pytest.raises(DetailsError, match=r"sub-x\.jsonl: line 2: field 'id'"):
        read_details(path)


playwright = pytest.importorskip("playwright.sync_api")


@pytest.mark.browser
def test_a_reader_filters_opens_a_question_and_sees_its_image(space: SpaceProcess, scored: dict,
                                                             questions: list[dict], tmp_path_factory) -> None:
    from tests.test_space_browser import CHROMIUM, CHROMIUM_ARGS, visible_row

    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    expect = playwright.expect
    a = scored["A"]
    wrong_open = next(q for q in questions if q["question_type"] == "open")
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-explore")), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            page.goto(space.url)
            page.get_by_role("tab", name="Explore").click()
            chooser = page.locator("#explore-submission input")
            chooser.click()
            page.get_by_role("option", name=f"Explore-A · {a['id']}").click()
            table = page.locator("#explore-table")
            expect(page.locator("#explore-info")).to_contain_text(f"{len(questions)} questions match")
            page.locator("#explore-search textarea, #explore-search input").first.fill(SECRET_A)
            page.locator("#explore-search textarea, #explore-search input").first.press("Enter")
            expect(page.locator("#explore-info")).to_contain_text(f"{len(questions)} questions match")
            visible_row(table, wrong_open["id"]).get_by_role("gridcell").first.click()
            item = page.locator("#explore-item")
            expect(item).to_contain_text(wrong_open["visual_description"][:30])
            expect(item).to_contain_text(SECRET_A)
            thumbnail = page.locator("#explore-thumbnail img")
            expect(thumbnail).to_be_visible()
            assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
            page.locator("#explore-full").click()
            expect(page.locator("#explore-full-image img")).to_be_visible()
            page.screenshot(path="/tmp/medcmr_space_explore.png", full_page=True)
        finally:
            context.close()


def test_the_item_analysis_downloads_every_mcq_with_its_statistics(client: Client, scored: dict,
                                                                  mcq_ids: list[str]) -> None:
    path, summary = client.predict(api_name="/item_analysis")
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,n,difficulty,discrimination,suspect,rule,answer,question"
    assert {line.split(",")[0] for line in lines[1:]} == set(mcq_ids)
    assert "**0** of" in summary  # two submissions are too few to call any question suspect
