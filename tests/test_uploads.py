"""Uploads and file checks under load: every upload leaves Gradio's upload folder once handled
(accepted or refused), one never submitted is swept by age, an over-limit upload is refused while
it streams, at most `check_concurrency` files are checked at once (the next are kept and checked in
turn), and a submitter's refusals are limited. The Space runs as `python -m space` with
GRADIO_TEMP_DIR set to a test folder; the check limit is tested on the facade, where a gate in
front of the real reader holds checks open deterministically. Waits poll with a deadline.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
import threading
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import judge
from core.settings import Settings
from leaderboard.intake import SubmissionError, SubmissionMeta
from tests.answers import write_predictions
from tests.polling import until
from tests.test_leaderboard import make_board  # noqa: F401 - fixture
from tests.space_app import SpaceProcess, make_home, status, submit, wait_for_status


def upload(space: SpaceProcess, path: Path) -> httpx.Response:
    """POST a file to Gradio's upload route, as a browser or gradio_client does before a submit."""
    with path.open("rb") as data:
        return httpx.post(space.url + "gradio_api/upload", files={"files": (path.name, data)}, timeout=60)


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


@pytest.fixture(scope="module")
def uploads_space(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    """A Space with a 1 MiB file limit and its upload folder in a test folder (the sweep at its default)."""
    home = make_home(built_dataset, tmp_path_factory, "uploads")
    folder = home.parent / "gradio-uploads"
    app = SpaceProcess(home, {"GRADIO_TEMP_DIR": str(folder), "MEDCMR_MAX_FILE_MB": "1",
                              "MEDCMR_UPLOAD_GRACE_S": "1"})
    app.upload_folder = folder
    yield app
    app.kill()


def test_accepted_and_refused_uploads_leave_the_upload_folder(uploads_space: SpaceProcess, questions: list[dict],
                                                              tmp_path: Path) -> None:
    client = Client(uploads_space.url, verbose=False)
    good = tmp_path / "accepted-upload.jsonl"
    write_predictions(good, questions, tag="accepted")
    bad = tmp_path / "refused-upload.jsonl"
    bad.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n", encoding="utf-8")

    for sent in (good, bad):
        [stored] = upload(uploads_space, sent).json()  # where the server keeps this content and name
        stored = Path(stored)
        assert stored.is_file() and stored.is_relative_to(uploads_space.upload_folder)
        if sent is good:
            receipt = submit(client, sent, "Upload-Accepted")  # the client uploads the same bytes again
            assert receipt["status"] == "queued"
        else:
            with pytest.raises(AppError, match="mcq-99999999"):
                submit(client, sent, "Upload-Refused")
        until(lambda: not stored.parent.exists(), 30,  # the file, then its per-upload folder
              f"{sent.name} deleted from the upload folder after its submit, with its folder")

    assert [p.name for p in files_in(uploads_space.upload_folder) if p.suffix == ".jsonl"] == []
    # the accepted file lives on in the store, and is scored from there
    [row] = status(client, receipt["id"])
    assert row["model"] == "Upload-Accepted"
    stored_copies = list((uploads_space.upload_folder.parent / "home" / "files").iterdir())
    assert any(p.read_bytes() == good.read_bytes() for p in stored_copies)


def test_a_second_submit_of_a_used_upload_says_to_choose_the_file_again(uploads_space: SpaceProcess,
                                                                         questions: list[dict], tmp_path: Path) -> None:
    bad = tmp_path / "once.jsonl"
    bad.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n", encoding="utf-8")
    [stored] = upload(uploads_space, bad).json()
    body = {"data": [{"path": stored, "meta": {"_type": "gradio.FileData"}}, "Used-Twice", "", "open", "general",
                     None, "", True, None, None, None, "", ""]}
    for expected in ("mcq-99999999", "choose the file again"):  # the page sends the same path again
        event = httpx.post(uploads_space.url + "gradio_api/call/submit", json=body, timeout=30).json()["event_id"]
        answer = httpx.get(uploads_space.url + f"gradio_api/call/submit/{event}", timeout=60).text
        assert "event: error" in answer and expected in answer, answer
        until(lambda: not Path(stored).exists(), 30, "the used upload deleted after its grace period")


def call(space: SpaceProcess, api: str, data: list) -> str:
    """One event through Gradio's HTTP API, as any script can send it; the raw event stream back."""
    event = httpx.post(space.url + f"gradio_api/call/{api}", json={"data": data}, timeout=30).json()["event_id"]
    return httpx.get(space.url + f"gradio_api/call/{api}/{event}", timeout=60).text


def test_a_submit_naming_a_served_download_never_deletes_it(uploads_space: SpaceProcess, questions: list[dict],
                                                           tmp_path: Path) -> None:
    client = Client(uploads_space.url, verbose=False)
    scored = tmp_path / "scored.jsonl"
    write_predictions(scored, questions, tag="served")
    receipt = submit(client, scored, "Served-Details")
    wait_for_status(client, receipt["id"], ("awaiting judge",))
    answer = call(uploads_space, "explore_details", [receipt["id"]])
    served = json.loads(answer.split("data: ", 1)[1].splitlines()[0])[0]
    path, url = Path(served["path"]), served["url"]
    assert path.is_file() and path.is_relative_to(uploads_space.upload_folder)  # beside the uploads
    handled = call(uploads_space, "submit", [{"path": str(path), "meta": {"_type": "gradio.FileData"}},
                                             "Download-As-Upload", "", "open", "general", None, "", True, None, None, None, "", ""])
    receipt = json.loads(handled.split("event: complete\ndata: ", 1)[1].splitlines()[0])[0]
    assert (receipt["model"], receipt["status"]) == ("Download-As-Upload", "queued")  # a details file is predictions
    # An upload handled after it is deleted after the same grace period, by the same janitor: once it is gone,
    # the download's grace period is over too, and the download must still be there for every visitor.
    control = tmp_path / "control.jsonl"
    write_predictions(control, questions, tag="control")
    [stored] = upload(uploads_space, control).json()
    submit(client, control, "Control-Upload")
    until(lambda: not Path(stored).exists(), 30, "the upload handled after it deleted after its grace period")
    assert path.is_file() and httpx.get(url, timeout=30).status_code == 200


def test_equal_uploads_submitted_at_once_are_each_handled(uploads_space: SpaceProcess, questions: list[dict],
                                                          tmp_path: Path) -> None:
    same = tmp_path / "same.jsonl"
    write_predictions(same, questions, tag="twins")
    paths = [upload(uploads_space, same).json()[0] for _ in range(3)]
    assert len(set(paths)) == 1  # Gradio keeps equal content at one path

    def send(number: int) -> str:
        body = {"data": [{"path": paths[number], "meta": {"_type": "gradio.FileData"}}, f"Twin-{number}", "",
                         "open", "general", None, "", True, None, None, None, "", ""]}
        event = httpx.post(uploads_space.url + "gradio_api/call/submit", json=body, timeout=30).json()["event_id"]
        return httpx.get(uploads_space.url + f"gradio_api/call/submit/{event}", timeout=60).text

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(send, range(3)))
    accepted = [a for a in answers if "event: complete" in a]
    assert len(accepted) == 1, answers  # the first queued; the others are the same file: duplicates, said so
    for answer in answers:
        assert "no file was uploaded" not in answer and str(uploads_space.upload_folder) not in answer
        assert "event: complete" in answer or "already submitted this predictions file" in answer, answer
    assert "Traceback" not in uploads_space.log()


def test_an_over_limit_upload_is_refused_while_it_streams(uploads_space: SpaceProcess, tmp_path: Path) -> None:
    big = tmp_path / "too-big.jsonl"
    big.write_bytes(b"x" * (2 * 2**20))  # twice MEDCMR_MAX_FILE_MB
    before = files_in(uploads_space.upload_folder)
    answer = upload(uploads_space, big)
    assert answer.status_code == 413 and "maximum allowed size" in answer.text
    assert files_in(uploads_space.upload_folder) == before  # no stored copy, no partial temporary file


def test_an_upload_never_submitted_is_swept(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory,
                                            tmp_path: Path) -> None:
    home = make_home(built_dataset, tmp_path_factory, "sweep")
    folder = home.parent / "gradio-uploads"
    app = SpaceProcess(home, {"GRADIO_TEMP_DIR": str(folder), "MEDCMR_UPLOAD_SWEEP_S": "1",
                              "MEDCMR_UPLOAD_MAX_AGE_S": "2"})
    try:
        orphan = tmp_path / "orphan.jsonl"
        orphan.write_text('{"id": "mcq-0", "prediction": "A"}\n', encoding="utf-8")
        [stored] = upload(app, orphan).json()
        assert Path(stored).is_file()
        until(lambda: not Path(stored).exists(), 30, "the orphan upload is swept")
        # a submit leaves nothing behind either: its upload is deleted, Gradio's stray temporary file
        # and the emptied per-upload folders are swept
        submit(Client(app.url, verbose=False), orphan, "Swept-After")
        until(lambda: not files_in(folder) and not [d for d in folder.iterdir() if len(d.name) == 64], 30,
              "no file and no per-upload folder is left in the upload folder")
    finally:
        app.kill()


@pytest.fixture
def gated_reader(monkeypatch: pytest.MonkeyPatch):
    """The real predictions reader behind a gate: each check says it started, then waits for `open`."""
    real = judge.read_predictions
    started = threading.Semaphore(0)
    gate = threading.Event()

    def read(*args, **kwargs):
        if threading.current_thread().name.startswith("submitter-"):
            started.release()
            assert gate.wait(60), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(judge, "read_predictions", read)
    return started, gate


def test_at_most_n_files_are_checked_at_once_and_the_next_are_kept_and_checked_in_turn(
        tmp_path: Path, make_board, questions: list[dict], gated_reader) -> None:
    started, gate = gated_reader
    board = make_board(settings=Settings(check_concurrency=2, refusal_limit=(1, 3600.0)))
    board.start()
    outcomes: dict[str, object] = {}

    def send(name: str, path: Path | None = None, who: str | None = None) -> None:
        if path is None:
            path = tmp_path / f"{name}.jsonl"
            write_predictions(path, questions, tag=name)
        try:
            outcomes[name] = board.submit(path, SubmissionMeta(model=name), who or name)
        except SubmissionError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=send, args=(f"checked-{n}",), name=f"submitter-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert started.acquire(timeout=30), "a check never started"
    send("third")  # both checks are held open: the upload is kept, not refused
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n", encoding="utf-8")
    send("bad", bad, who="mallory")
    assert (outcomes["third"]["status"], outcomes["bad"]["status"]) == ("checking", "checking")
    assert "checking (next)" in outcomes["third"]["message"] and "checking (1 ahead)" in outcomes["bad"]["message"]
    waiting = {row["id"]: row.get("ahead") for row in board.status() if row["status"] == "checking"}
    assert waiting == {outcomes["third"]["id"]: 0, outcomes["bad"]["id"]: 1}
    gate.set()
    for thread in threads:
        thread.join(30)
    assert [outcomes[f"checked-{n}"]["status"] for n in range(2)] == ["queued", "queued"]
    assert board.wait_idle(60)
    rows = {row["id"]: row for row in board.status()}
    assert rows[outcomes["third"]["id"]]["status"] == "awaiting_judge"  # checked in turn, then MCQ scored
    refused = rows[outcomes["bad"]["id"]]
    assert refused["status"] == "refused" and "mcq-99999999" in refused["error"]  # the reason, for its sender
    assert not board.store.file_path(judge_sha(bad)).exists()  # a refused upload's bytes are not kept
    with pytest.raises(SubmissionError, match="Too many refused submissions"):  # the refusal counted
        board.submit(tmp_path / "third.jsonl", SubmissionMeta(model="Again"), "mallory")


def judge_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_flood_of_refusals_is_refused_without_reading_the_file(tmp_path: Path, make_board,
                                                                  questions: list[dict]) -> None:
    board = make_board(settings=Settings(refusal_limit=(3, 3600.0)))
    bad = tmp_path / "flood.jsonl"
    bad.write_text(json.dumps({"id": "mcq-99999999", "prediction": "A"}) + "\n", encoding="utf-8")
    for number in range(3):
        with pytest.raises(SubmissionError, match="mcq-99999999"):
            board.submit(bad, SubmissionMeta(model=f"Flood-{number}"), "flooder")
    good = tmp_path / "good.jsonl"
    write_predictions(good, questions)
    with pytest.raises(SubmissionError, match=r"Too many refused submissions: at most 3 per 1 h per submitter"):
        board.submit(good, SubmissionMeta(model="Flood-Good"), "flooder")
    assert board.submit(good, SubmissionMeta(model="Someone-Else"), "other")["status"] == "queued"
    assert [row["submitter"] for row in board.status()] == ["other"]


def test_a_kept_upload_survives_a_restart_and_is_checked_on_the_next_start(
        tmp_path: Path, make_board, questions: list[dict], gated_reader) -> None:
    started, gate = gated_reader
    home = tmp_path / "restart-home"
    board = make_board(home, settings=Settings(check_concurrency=1))  # never started: nothing checks kept uploads
    held = tmp_path / "held.jsonl"
    write_predictions(held, questions, tag="held")
    holder = threading.Thread(target=board.submit, args=(held, SubmissionMeta(model="Held"), "holder"),
                              name="submitter-held")
    holder.start()
    assert started.acquire(timeout=30), "the check never started"
    kept_path = tmp_path / "kept.jsonl"
    write_predictions(kept_path, questions, tag="kept")
    receipt = board.submit(kept_path, SubmissionMeta(model="Kept"), "keeper")
    assert receipt["status"] == "checking"
    gate.set()
    holder.join(30)
    board.stop()  # the process goes away with the upload still waiting
    kept_path.unlink()  # and Gradio's copy of the upload is gone too: only the store has its bytes

    again = make_board(home)
    assert [row["status"] for row in again.status(receipt["id"])] == ["checking"]
    again.start()
    assert again.wait_idle(60)
    row = again.status(receipt["id"])[0]
    assert row["status"] == "awaiting_judge" and again.scores(receipt["id"]).mcq.n == sum(
        q["question_type"] == "mcq" for q in questions)
