"""The Space as a script sees it: `python -m space` in a subprocess, driven through gradio_client.

One app serves most tests of this module; the restart test runs its own app (with a judge
endpoint on tests/openai_server.py) and kills it with SIGKILL halfway through judging.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from core.vocabulary import CRITERION_KEYS, LETTERS
from tests.answers import write_predictions
from tests.hub_fakes import COMMIT, RecordingHfApi
from tests.space_app import (ROOT, SpaceProcess, board, make_home, status, submit,
                             wait_for_status)
from tests.judge_responders import fixed_judge, read_request
from tests.openai_server import OpenAIServer, Reply

JUDGE_GRADE = 8  # every criterion 8/10 -> open score 80


@pytest.fixture(scope="module")
def space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    app = SpaceProcess(make_home(built_dataset, tmp_path_factory, "space"))
    yield app
    app.kill()


@pytest.fixture(scope="module")
def client(space: SpaceProcess) -> Client:
    return Client(space.url, verbose=False)


def test_api_names_are_listed(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/submit", "/status", "/leaderboard"} <= set(endpoints)
    submit_params = [p["parameter_name"] for p in endpoints["/submit"]["parameters"]]
    assert submit_params == ["predictions", "model", "link", "weights", "domain", "params_b", "description",
                             "public_details", "blind_run", "circular_run", "runner_model", "related_to", "relation"]
    optional = [p["parameter_name"] for p in endpoints["/submit"]["parameters"] if p["parameter_has_default"]]
    assert {"blind_run", "circular_run", "runner_model", "related_to", "relation"} <= set(optional)  # old scripts work


def test_a_hidden_submission_leaves_the_board_and_its_status_says_why(space: SpaceProcess, client: Client,
                                                                     questions: list[dict], tmp_path: Path) -> None:
    assert not any("moder" in name for name in client.view_api(return_format="dict", print_info=False)[
        "named_endpoints"])  # moderation is no public API
    write_predictions(tmp_path / "copied.jsonl", questions, tag="copied")
    submission = submit(client, tmp_path / "copied.jsonl", "Copied-VL")["id"]
    wait_for_status(client, submission, ("finished", "awaiting judge"))
    assert "Copied-VL" in {row["Model"] for row in board(client)}
    done = subprocess.run([sys.executable, "-m", "space.moderate", "--home", str(space.home), "hide", submission,
                           "--reason", "copied from another submission"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    [row] = status(client, submission)
    assert row["review"] == "hidden by the operator: copied from another submission"
    assert "Copied-VL" not in {row["Model"] for row in board(client)}


def test_board_shows_paper_rows_with_their_notes(client: Client) -> None:
    paper = board(client, sources=["paper"])
    assert len(paper) == 18
    by_model = {row["Model"]: row for row in paper}
    assert by_model["GPT-5"]["MCQ"] == pytest.approx(57.81)
    assert all(row["Source"] == "paper" for row in paper)
    assert "45.88" in by_model["Gemini-2.5-Pro"]["Note"]  # the published Open total that disagrees
    assert not any("SU = 709" in row["Note"] for row in paper)  # said once, in the banner
    closed = board(client, sources=["paper"], weights=["closed"])
    assert closed and all(row["Weights"] == "closed" for row in closed)
    narrow = board(client, search="gpt", column_groups=["Dimensions"])
    assert [row["Model"] for row in narrow] == ["GPT-5"]
    assert list(narrow[0]) == ["Rank", "Model", "SOD", "FDD", "SU", "TP", "CR", "LTG", "MSI"]
    assert narrow[0]["Rank"] == 1


def test_script_submits_then_sees_status_and_its_row(client: Client, questions: list[dict], tmp_path: Path) -> None:
    mcq_count = sum(q["question_type"] == "mcq" for q in questions)
    expected = write_predictions(tmp_path / "half.jsonl", questions, right=mcq_count // 2, open_answer="pneumonia")
    receipt = submit(client, tmp_path / "half.jsonl", "Half-Right-VL", params_b=7, domain="medical",
                     link="https://example.org/model")
    assert re.fullmatch(r"sub-[0-9a-f]+", receipt["id"]) and receipt["status"] == "queued"
    assert receipt["coverage"]["given"] == len(questions)

    done = wait_for_status(client, receipt["id"], ("awaiting judge", "finished", "failed"))
    assert done["status"] == "awaiting judge"  # no judge configured: MCQ scored, open answers wait
    assert done["model"] == "Half-Right-VL" and done["submitter"] == "local"

    [row] = board(client, search="Half-Right-VL")
    assert row["Source"] == "scored here"
    assert row["MCQ"] == pytest.approx(expected, abs=0.01)
    assert row["Open"] is None and row["Judge"] == "awaiting judge"
    assert row["Params (B)"] == 7 and row["Domain"] == "medical" and row["Link"] == "https://example.org/model"
    assert any(r["Model"] == "Half-Right-VL" for r in board(client, sizes=["<10B"], domains=["medical"]))
    assert not any(r["Model"] == "Half-Right-VL" for r in board(client, sources=["paper"]))
    by_mcq = board(client, sort="MCQ:desc")  # a script sorts as the page does: unranked rows below every rank
    ranked = [r["Rank"] is not None for r in by_mcq]
    assert ranked == sorted(ranked, reverse=True) and by_mcq[0]["Model"] == "GPT-5"
    assert [r["Model"] for r in board(client, sort="Model:asc", sources=["paper"])][:3] == [
        "Gemini-2.5-Pro", "Gemma3-4B", "Gemma3-27B"]  # names sort naturally


def test_a_script_sends_blind_and_circular_runs_with_its_predictions(space: SpaceProcess, client: Client,
                                                                     questions: list[dict], tmp_path: Path) -> None:
    import httpx

    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    write_predictions(tmp_path / "with.jsonl", questions, right=len(mcqs))  # every MCQ right with the image
    write_predictions(tmp_path / "blind.jsonl", questions, right=len(mcqs) // 3, open_answers=False)
    with (tmp_path / "circular.jsonl").open("w") as out:  # right in the published order only; else "A"
        for q in mcqs:
            key = LETTERS.index(q["answer"].strip().upper())
            for rotation in range(len(LETTERS)):
                letter = LETTERS[(key + rotation) % len(LETTERS)] if rotation == 0 else "A"
                out.write(json.dumps({"id": q["id"], "rotation": rotation, "prediction": f"Answer: {letter}"}) + "\n")
    receipt = submit(client, tmp_path / "with.jsonl", "Looks-At-Images", blind_run=tmp_path / "blind.jsonl",
                     circular_run=tmp_path / "circular.jsonl")
    assert "With its blind run" in receipt["message"] and "With its circular run" in receipt["message"]
    wait_for_status(client, receipt["id"], ("awaiting judge",))
    row = next(r for r in httpx.get(space.url + "board.json", timeout=30).json() if r["Model"] == "Looks-At-Images")
    blind = round(100 * (len(mcqs) // 3) / len(mcqs), 2)
    assert (row["MCQ"], row["Blind MCQ"]) == (100.0, blind) and row["Image gain"] == pytest.approx(100 - blind, abs=0.01)
    assert row["MCQ circular"] == 0.0  # "A" in every turned order is right in at most one of them


def test_bad_file_gets_a_clear_error_and_nothing_is_queued(client: Client, questions: list[dict],
                                                           tmp_path: Path) -> None:
    before = len(status(client))
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n")
    with pytest.raises(AppError, match="mcq-99999999"):
        submit(client, unknown, "Unknown-Ids")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": questions[0]["id"], "prediction": "A"}) + "\n{not json\n")
    with pytest.raises(AppError, match=r"broken\.jsonl.*line 2|line 2.*broken\.jsonl"):
        submit(client, broken, "Broken-Line")
    good = tmp_path / "good.jsonl"
    write_predictions(good, questions, right=1, open_answer="x")
    with pytest.raises(AppError, match="(?i)model"):
        submit(client, good, "")
    assert len(status(client)) == before


def test_concurrent_submissions_are_all_recorded(space: SpaceProcess, questions: list[dict], tmp_path: Path) -> None:
    def one(number: int) -> str:
        path = tmp_path / f"thread-{number}.jsonl"
        write_predictions(path, questions, right=number, open_answer=f"answer {number}")
        return submit(Client(space.url, verbose=False), path, f"Thread-Model-{number}")["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(one, range(6)))
    assert len(set(ids)) == 6
    client = Client(space.url, verbose=False)
    recorded = {row["id"]: row["model"] for row in status(client)}
    assert {recorded[i] for i in ids} == {f"Thread-Model-{n}" for n in range(6)}
    for submission_id in ids:
        wait_for_status(client, submission_id, ("awaiting judge",))
    assert {f"Thread-Model-{n}" for n in range(6)} <= {row["Model"] for row in board(client, search="Thread-Model")}


class SwitchableJudge:
    """Grades every answer 8/10; answers containing "SLOW" hang while `slow` is set."""

    def __init__(self) -> None:
        self.slow = threading.Event()
        self.slow.set()

    grade = staticmethod(fixed_judge({name: JUDGE_GRADE for name in CRITERION_KEYS}))

    def __call__(self, request: dict) -> Reply:
        _, payload = read_request(request)
        if "SLOW" in payload["model_answer"] and self.slow.is_set():
            return Reply(content="", delay=20.0)
        return self.grade(request)


def test_restart_after_sigkill_keeps_submissions_and_resumes_judging(
        built_dataset: Path, questions: list[dict], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    home = make_home(built_dataset, tmp_path_factory, "restart")
    responder = SwitchableJudge()
    with OpenAIServer(responder) as server:
        judge_env = {"MEDCMR_JUDGE_BASE_URL": server.base_url, "MEDCMR_JUDGE_MODEL": "test-judge",
                     "MEDCMR_JUDGE_API_KEY": "sk-test-secret-never-shown"}
        first = SpaceProcess(home, judge_env)
        try:
            client = Client(first.url, verbose=False)
            fast_expected = write_predictions(tmp_path / "fast.jsonl", questions, right=3, open_answer="fast")
            fast = submit(client, tmp_path / "fast.jsonl", "Judged-Fast")
            assert wait_for_status(client, fast["id"], ("finished", "failed"))["status"] == "finished"
            slow_expected = write_predictions(tmp_path / "slow.jsonl", questions, right=5, open_answer="SLOW")
            slow = submit(client, tmp_path / "slow.jsonl", "Judged-Slow")
            wait_for_status(client, slow["id"], ("running",))
        finally:
            first.kill()  # SIGKILL while the slow submission is being judged
        assert "sk-test-secret-never-shown" not in first.log()

        responder.slow.clear()
        second = SpaceProcess(home, judge_env)
        try:
            client = Client(second.url, verbose=False)
            by_id = {row["id"]: row for row in status(client)}
            assert by_id[fast["id"]]["status"] == "finished"
            assert by_id[slow["id"]]["status"] in ("queued", "running", "finished")
            assert wait_for_status(client, slow["id"], ("finished", "failed"))["status"] == "finished"
            scored = {row["Model"]: row for row in board(client, search="Judged-")}
            assert scored["Judged-Fast"]["MCQ"] == pytest.approx(fast_expected, abs=0.01)
            assert scored["Judged-Slow"]["MCQ"] == pytest.approx(slow_expected, abs=0.01)
            for model in ("Judged-Fast", "Judged-Slow"):
                assert scored[model]["Open"] == pytest.approx(10 * JUDGE_GRADE)
                assert scored[model]["Judge"] == "test-judge"
            with urllib.request.urlopen(second.url + "config", timeout=10) as response:
                page_config = response.read().decode()
            assert "`test-judge`" in page_config  # the About tab names the judge
            assert "sk-test-secret-never-shown" not in page_config
        finally:
            second.kill()
        assert "sk-test-secret-never-shown" not in second.log()


def test_typed_text_is_escaped_for_markdown_and_html() -> None:
    from space.render import code, escape_md

    hostile = '<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1)) $$x$$'
    escaped = escape_md(hostile)
    assert "<" not in escaped and "&lt;img" in escaped
    assert "\\*\\*bold\\*\\*" in escaped and "\\[link\\]\\(javascript\\:alert\\(1\\)\\)" in escaped
    assert "http:" not in escape_md("see http://2130706433/claim") and "www." not in escape_md("www.example.org")
    assert "a@b" not in escape_md("mail a@b.org")  # GFM would make an e-mail address a mailto: link
    assert "\\$\\$x\\$\\$" in escaped
    assert escape_md("two\nlines") == "two lines"  # a newline would break a Markdown table row
    assert code("a`b") == "`a'b`"


def test_submitter_is_local_off_a_space_and_signed_in_on_one() -> None:
    import gradio as gr

    from core.settings import Settings
    from leaderboard.intake import SubmissionError
    from space.submit_tab import submitter as _submitter

    off_space = Settings.from_env({}).on_space
    assert _submitter(None, None, off_space) == "local"
    profile = gr.OAuthProfile({"name": "Ada", "preferred_username": "ada", "profile": "", "picture": ""})
    assert _submitter(profile, None, off_space) == "ada"
    on_space = Settings.from_env({"SPACE_ID": "org/medcmr-leaderboard", "SYSTEM": "spaces"}).on_space
    assert _submitter(profile, None, on_space) == "ada"
    with pytest.raises(SubmissionError, match="Sign in"):
        _submitter(None, None, on_space)


def test_the_spaces_requirements_cover_every_runtime_package() -> None:
    """The Space installs space/requirements.txt, not the root file: a package the app needs must be in both."""
    def names(path: Path) -> set[str]:
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return {re.split(r"[\[<>=!~ ]", line, maxsplit=1)[0].lower() for line in lines if line}

    assert names(ROOT / "requirements.txt") <= names(ROOT / "space" / "requirements.txt")


def test_deployed_tree_runs_as_a_space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory,
                                       tmp_path: Path) -> None:
    from space.deploy import deploy, space_files

    api = RecordingHfApi()
    assert deploy("org/board", None, hf_api=api).endswith(f"/commit/{COMMIT}")
    (name, kwargs), (_, commit) = api.calls
    assert name == "create_repo" and kwargs["repo_type"] == "space" and kwargs["space_sdk"] == "gradio"
    pushed = set(commit["paths"])
    assert {"README.md", "requirements.txt", "space/app.py", "medcmr.py", "leaderboard/paper_results.csv",
            "judge/__init__.py", "release/sample.py"} <= set(pushed)
    front_matter = (ROOT / "space" / "README.md").read_text().split("---")[1]
    assert "app_file: space/app.py" in front_matter and "sdk_version: 6.31.0" in front_matter

    tree = tmp_path / "space-repo"
    for target, local in space_files().items():
        (tree / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local, tree / target)
    home = make_home(built_dataset, tmp_path_factory, "deployed")
    app = SpaceProcess(home, {"MEDCMR_HOME": str(home)}, command=[sys.executable, "space/app.py"], cwd=tree)
    try:
        client = Client(app.url, verbose=False)
        assert {"/submit", "/status", "/leaderboard"} <= set(
            client.view_api(return_format="dict", print_info=False)["named_endpoints"])
        assert len(board(client, sources=["paper"])) == 18
    finally:
        app.kill()


def test_sign_in_button_only_on_a_space(built_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    from core.settings import Settings
    from leaderboard.service import Leaderboard
    from space.ui import build_app

    board_ = Leaderboard(tmp_path / "home", built_dataset)
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("SYSTEM", raising=False)
    local = build_app(board_)
    assert not any(isinstance(block, gr.LoginButton) for block in local.blocks.values())
    monkeypatch.setenv("SPACE_ID", "org/medcmr-leaderboard")
    monkeypatch.setenv("SYSTEM", "spaces")
    for name, value in {"OAUTH_CLIENT_ID": "client", "OAUTH_CLIENT_SECRET": "secret", "OAUTH_SCOPES": "openid",
                        "OPENID_PROVIDER_URL": "https://huggingface.co"}.items():
        monkeypatch.setattr(gr.oauth, name, value)  # what `hf_oauth: true` provides on a Space
    on_space = build_app(Leaderboard(tmp_path / "space-home", built_dataset, Settings.from_env()))  # as serve.py does
    assert any(isinstance(block, gr.LoginButton) for block in on_space.blocks.values())


def test_the_board_is_served_on_plain_get_routes_with_etag_and_gzip(space: SpaceProcess, client: Client) -> None:
    import csv
    import io

    import httpx

    plain = httpx.get(space.url + "board.json", headers={"Accept-Encoding": "identity"}, timeout=30)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
    rows = plain.json()
    etag = plain.headers["etag"]
    assert httpx.get(space.url + "board.json", headers={"If-None-Match": etag}, timeout=30).status_code == 304
    packed = httpx.get(space.url + "board.json", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert packed.headers.get("content-encoding") == "gzip" and packed.json() == rows
    table = list(csv.DictReader(io.StringIO(httpx.get(space.url + "board.csv", timeout=30).text)))
    assert [row["Model"] for row in table] == [row["Model"] for row in rows]  # one board, two formats
    page = json.dumps(board(client), ensure_ascii=False)  # what the page's table shows, through Gradio's API
    assert all(row["Model"] in page for row in table if row["Source"] == "paper")
    gpt = next(row for row in table if row["Model"] == "GPT-5")
    assert gpt["Rank"] == "1"
    assert all(row["Rank"] != "" for row in table)  # a band or "—", never a float like 3.0
    assert not any(row["Rank"].endswith(".0") for row in table)


def test_a_returning_browser_keeps_gradios_hashed_chunks_and_asks_again_for_the_rest(space: SpaceProcess) -> None:
    import re

    import httpx

    html = httpx.get(space.url, timeout=30)
    chunks = re.findall(r'(?:src|href)="[./]*(assets/[\w.-]+-[\w-]{8}\.(?:js|css))"', html.text)
    assert chunks, "the page names no built chunk"
    for chunk in chunks:
        served = httpx.get(space.url + chunk, timeout=30)
        assert served.status_code == 200 and "immutable" in served.headers["cache-control"], chunk
    assert "immutable" not in html.headers.get("cache-control", "")  # the page itself may change
    assert httpx.get(space.url + "board.json", timeout=30).headers["cache-control"] == "no-cache"
    missing = httpx.get(space.url + "assets/Index-00000000.js", timeout=30)
    assert missing.status_code == 404 and "immutable" not in missing.headers.get("cache-control", "")


def test_the_page_brings_the_first_ranked_rows_in_its_html_and_only_for_the_plain_board(space: SpaceProcess) -> None:
    import gzip
    import re

    import httpx

    page = httpx.get(space.url, headers={"Accept-Encoding": "identity"}, timeout=30)
    start = page.text.find('<div id="board-preview"')
    assert 0 <= start < page.text.index("<gradio-app")
    preview = page.text[start:page.text.index("<gradio-app")]
    rows = re.findall(r'<tr class="(\w+)[^"]*" data-row-id="[^"]*"><td[^>]*>(.*?)</td><th[^>]*>(.*?)</th>', preview)
    assert rows[0][1] == "1" and ">GPT-5</a>" in rows[0][2]
    assert [kind for kind, *_ in rows[:18]] == ["ranked"] * 18 and "<sup>" not in preview  # no stray note mark
    assert "% of the multiple-choice questions" in preview and "Long-tail Generalization" in preview
    assert 'role="img" aria-label="MCQ accuracy with its 95% interval' in preview  # the chart comes with it
    assert int(page.headers["content-length"]) == len(page.content)
    for other in ("?search=gemma", "?tab=submit", "?weights=closed", "?tab=leaderboard&sort=Model:asc"):
        assert 'id="board-preview"' not in httpx.get(space.url + other, timeout=30).text, other
    packed = httpx.get(space.url, headers={"Accept-Encoding": "gzip"}, timeout=30)  # the 300 KB page, compressed
    assert packed.headers["content-encoding"] == "gzip" and 'id="board-preview"' in packed.text
    with httpx.stream("GET", space.url, headers={"Accept-Encoding": "gzip"}, timeout=30) as raw:
        sent = b"".join(raw.iter_raw())
    assert len(sent) < len(page.content) / 3 and 'id="board-preview"' in gzip.decompress(sent).decode()


def test_a_very_long_address_is_refused_with_414_and_no_traceback(space: SpaceProcess) -> None:
    import http.client

    def get(target: str) -> tuple[int, str]:  # a plain client: httpx itself refuses URLs over 64 KB
        connection = http.client.HTTPConnection("127.0.0.1", space.port, timeout=30)
        try:
            connection.request("GET", target)
            answer = connection.getresponse()
            return answer.status, answer.read().decode(errors="replace")
        finally:
            connection.close()

    for path in ("/", "/board.json", "/gradio_api/info"):
        status, text = get(path + "?search=" + "a" * 70_000)
        assert status == 414 and "URI too long" in text, path
    assert get("/?search=" + "a" * 2_000)[0] == 200  # a long one is fine
    assert "Traceback" not in space.log() and "URL too long" not in space.log()
