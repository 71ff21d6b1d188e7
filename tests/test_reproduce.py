"""Reproduced rows: runners the operator trusts re-ask a seeded sample; a real store, real HTTP runners.

Each runner is tests/openai_server.py with the vision model of tests/predict_responders.py, which checks
every request is exactly what `predict` sends (the paper's prompt, the stored image bytes, the model
name) and answers like the model the honest files come from. Files are "edited" by changing letters;
runners are "not bit-exact" by answering a different letter on a few questions, "hanging" by answering
after the client's timeout, and "failing" with HTTP 500.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from core.results import Reproduction, Results, ReproductionState
from core.settings import PREDICT_IMAGE_MAX_SIDE, RunnerSettings, Settings, SettingsError
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionError, SubmissionMeta
from leaderboard.reproduce import SECRET_FILE, utc_day
from leaderboard.service import Leaderboard
from tests.judge_responders import fake_judge
from tests.openai_server import OpenAIServer, Reply
from tests.polling import until
from tests.predict_responders import LETTERS, VisionModel, model_answer, read_built

MODEL = "test-vlm"
KEY = "sk-runner-KEEP-SECRET-93c1"
State = ReproductionState


@pytest.fixture(scope="module")
def rows(built_dataset: Path) -> list[dict]:
    return read_built(built_dataset)


def honest_file(path: Path, rows: list[dict], edited: int = 0, open_answer: str | None = None) -> Path:
    """What `predict` wrote for the model: every answer as the vision model gives it; `edited` MCQs the model
    got wrong changed to the key (a submitter fixing answers), `open_answer` replacing every open answer."""
    wrong = [row["id"] for row in rows if row["question_type"] == "mcq" and row["index"] % 2 == 1][:edited]
    lines = []
    for row in rows:
        text = f"Answer: {row['answer']}" if row["id"] in wrong else model_answer(row)
        if row["question_type"] == "open" and open_answer is not None:
            text = open_answer
        lines.append(json.dumps({"id": row["id"], "prediction": text, "model": MODEL}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def runner_settings(server: OpenAIServer, name: str = "local", models: tuple[str, ...] = (MODEL,),
                    **extra) -> RunnerSettings:
    return RunnerSettings(name=name, base_url=server.base_url, models=models, api_key=KEY, api_key_env="RUNNER_KEY",
                          **{"timeout": 5.0, "max_retries": 0, "concurrency": 4, **extra})


def settings(*runners: RunnerSettings, **extra) -> Settings:
    return Settings(runners=runners, runners_allow_private=True, **{"retry_failed_after_s": 3600.0, **extra})


@pytest.fixture
def boards(tmp_path: Path, built_dataset: Path, running):
    def make(chosen: Settings, home: Path | None = None, **kwargs) -> Leaderboard:
        return running(Leaderboard(home or tmp_path / "home", built_dataset, chosen, **kwargs))

    return make


def submit(board: Leaderboard, path: Path, model: str, runner_model: str = MODEL) -> str:
    return board.submit(path, SubmissionMeta(model=model, params_b=7, runner_model=runner_model), "alice")["id"]


def reproduction(board: Leaderboard, submission_id: str) -> dict:
    [row] = board.status(submission_id)
    return row


def settled(board: Leaderboard, submission_id: str, timeout: float = 60) -> Reproduction:
    """Wait until the reproduction leaves pending and running; its typed form from the results."""
    until(lambda: reproduction(board, submission_id)["reproduction"] not in ("pending", "running"), timeout,
          f"the reproduction of {submission_id} settled")
    return board.scores(submission_id).reproduction


def test_an_honest_file_is_reproduced_with_exactly_what_predict_sends(tmp_path, boards, rows) -> None:
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        board = boards(settings(runner_settings(server)))
        submission = submit(board, honest_file(tmp_path / "honest.jsonl", rows), "Honest-VLM")
        found = settled(board, submission)
        assert set(server.authorizations) == {f"Bearer {KEY}"}  # the operator's key reaches its runner
    assert model.problems == []  # the paper's prompt, the stored image bytes, the model name: as predict sends
    assert found.state == State.REPRODUCED and found.agreement == 100.0 and found.p_value == 1.0
    mcqs = sum(row["question_type"] == "mcq" for row in rows)
    assert found.mcq_n == found.mcq_agree == mcqs and len(found.sample) == len(rows)  # max(50, 1%) > 35: all
    assert dict(model.asked_ids()) == dict.fromkeys(found.sample, 1) and found.calls == len(rows)
    assert not found.open_compared and "no judge is configured" in found.reason
    assert found.runner == "local" and found.model == MODEL and found.by_dimension
    row = board.board().set_index("Id").loc[submission]
    assert row["Reproduced"] == "reproduced" and row["Agreement (%)"] == 100.0
    assert "reproduced" not in row["Unranked"]
    assert reproduction(board, submission)["reproduction"] == "reproduced"
    from space.leaderboard_tab import table_value

    frame = board.board()
    shown = dict(zip(frame["Id"], table_value(frame, ["Overview"])["metadata"]["display_value"]))
    assert "✓ reproduced" in shown[submission][1] and "100.0% of the re-asked MCQs agree" in shown[submission][1]
    assert all("✓ reproduced" not in cells[1] for row_id, cells in shown.items() if row_id != submission)


def test_an_edited_file_is_not_reproduced_and_is_held(tmp_path, boards, rows) -> None:
    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        board = boards(settings(runner_settings(server)))
        submission = submit(board, honest_file(tmp_path / "edited.jsonl", rows, edited=6), "Edited-VLM")
        found = settled(board, submission)
    mcqs = sum(row["question_type"] == "mcq" for row in rows)
    assert found.state == State.NOT_REPRODUCED and found.mcq_agree == mcqs - 6 and found.p_value < 0.005
    assert found.reason.startswith("not reproduced by runner local (test-vlm)")
    row = board.board().set_index("Id").loc[submission]
    assert row["Reproduced"] == "not reproduced" and row["Unranked"].count("not reproduced") == 1
    assert row["Agreement (%)"] == pytest.approx(100 * (mcqs - 6) / mcqs, abs=0.01)


def test_a_server_that_is_not_bit_exact_still_reproduces(tmp_path, boards, rows) -> None:
    """One letter of 21 differs at temperature 0, as batching on a real server does: within the tolerance."""
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    first = next(row for row in rows if row["question_type"] == "mcq")
    other = LETTERS[(LETTERS.index(model_answer(first)[-1]) + 1) % 5]
    model.script[first["id"]] = [Reply(content=f"Answer: {other}")]
    with OpenAIServer(model) as server:
        board = boards(settings(runner_settings(server)))
        submission = submit(board, honest_file(tmp_path / "honest.jsonl", rows), "Noisy-Server-VLM")
        found = settled(board, submission)
    mcqs = sum(row["question_type"] == "mcq" for row in rows)
    assert found.state == State.REPRODUCED and found.mcq_agree == mcqs - 1


@pytest.mark.parametrize("kind", ["hangs", "fails"])
def test_a_hanging_or_failing_runner_fails_the_reproduction_and_blocks_no_lane(tmp_path, boards, rows, kind) -> None:
    responder = (lambda request: Reply(content="Answer: A", delay=3.0)) if kind == "hangs" else \
        (lambda request: Reply(status=500))
    with OpenAIServer(responder) as server:
        board = boards(settings(runner_settings(server, timeout=0.3)))
        submission = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Model-A")
        found = settled(board, submission)
        other = submit(board, honest_file(tmp_path / "b.jsonl", rows, edited=1), "Model-B", runner_model="")
        until(lambda: board.scores(other) is not None, 30, "the next submission scored meanwhile")
        calls = server.calls
    assert found.state == State.FAILED
    assert ("timed out" if kind == "hangs" else "InternalServerError") in found.reason
    assert "tried again in 1 h" in found.reason and calls <= 8 + 4  # stops after the first failures
    assert calls <= board.store.reproduction_charged(submission) <= 8 + 4  # every call made is counted, no more
    assert board.board().set_index("Id").loc[submission, "Reproduced"] == "reproduction failed"
    assert reproduction(board, submission)["status"] in ("awaiting_judge", "finished")  # the scores stand


def test_a_failed_reproduction_is_retried_and_asks_only_what_it_lacks(tmp_path, boards, rows) -> None:
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    broken = [row["id"] for row in rows[:2]]
    model.broken.update(broken)
    with OpenAIServer(model) as server:
        board = boards(settings(runner_settings(server), retry_failed_after_s=0.5))
        submission = submit(board, honest_file(tmp_path / "honest.jsonl", rows), "Retried-VLM")
        until(lambda: reproduction(board, submission)["reproduction"] == "reproduction failed", 60, "failed once")
        assert "InternalServerError" in reproduction(board, submission)["reproduction_reason"]
        model.broken.clear()
        until(lambda: reproduction(board, submission)["reproduction"] == "reproduced", 60, "reproduced on a retry")
        found = board.scores(submission).reproduction
    asked = model.asked_ids()
    assert all(asked[i] >= 2 for i in broken) and all(asked[i] == 1 for i in asked if i not in broken)
    assert found.calls == sum(asked.values())  # every call made, every attempt, counted once


def test_no_runner_named_or_none_serving_it_is_self_reported(tmp_path, boards, rows) -> None:
    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        board = boards(settings(runner_settings(server)))
        unnamed = board.submit(honest_file(tmp_path / "a.jsonl", rows), SubmissionMeta(model="Unnamed"), "alice")
        unserved = board.submit(honest_file(tmp_path / "b.jsonl", rows, edited=1),
                                SubmissionMeta(model="Unserved", runner_model="vendor/other-model"), "alice")
        until(lambda: all(board.scores(r["id"]) is not None for r in (unnamed, unserved)), 30, "both scored")
        assert server.calls == 0
    assert "No runner was named: the row is self-reported." in unnamed["message"]
    assert "No runner this Space trusts serves vendor/other-model" in unserved["message"]
    frame = board.board().set_index("Id")
    for receipt in (unnamed, unserved):
        assert frame.loc[receipt["id"], "Reproduced"] == "self-reported"
        assert board.scores(receipt["id"]).reproduction.state == State.SELF_REPORTED
    assert "vendor/other-model" in reproduction(board, unserved["id"])["reproduction_reason"]


def test_the_operator_can_rank_only_reproduced_rows(tmp_path, boards, rows) -> None:
    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        board = boards(settings(runner_settings(server), rank_reproduced_only=True))
        reproduced = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Reproduced-VLM")
        unnamed = submit(board, honest_file(tmp_path / "b.jsonl", rows, edited=1), "Unnamed-VLM", runner_model="")
        settled(board, reproduced)
        until(lambda: board.scores(unnamed) is not None, 30, "scored")
    frame = board.board().set_index("Id")
    assert "this board ranks only reproduced rows" in frame.loc[unnamed, "Unranked"]
    assert "self-reported" in frame.loc[unnamed, "Unranked"]
    assert "reproduced" not in frame.loc[reproduced, "Unranked"]


def test_the_daily_budget_is_honoured(tmp_path, boards, rows) -> None:
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as server:
        board = boards(settings(runner_settings(server), reproduce_budget=len(rows) + 10))
        first = submit(board, honest_file(tmp_path / "a.jsonl", rows), "First-VLM")
        assert settled(board, first).state == State.REPRODUCED
        second = submit(board, honest_file(tmp_path / "b.jsonl", rows, edited=1), "Second-VLM")
        found = settled(board, second)
        calls = server.calls
    assert found.state == State.OVER_BUDGET and calls == len(rows)  # nothing asked past the budget
    assert f"budget of {len(rows) + 10:,} runner calls is spent ({len(rows):,} used; this needs {len(rows)})" \
        in found.reason and "next day" in found.reason
    assert board.store.reproduction_calls(utc_day()) == len(rows)
    assert board.board().set_index("Id").loc[second, "Reproduced"] == "over budget"
    board.stop()
    with OpenAIServer(model) as server:  # the operator raises the budget and restarts: it is due at once
        raised = boards(settings(runner_settings(server), reproduce_budget=3 * len(rows)))
        until(lambda: reproduction(raised, second)["reproduction"] == "reproduced", 60, "reproduced after the raise")


def test_a_restart_resumes_the_reproduction_counted_once(tmp_path, boards, rows, built_dataset) -> None:
    """Stopped mid-way, the next process asks only what is missing, under the same charge against the budget."""
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    with OpenAIServer(model, latency=0.1) as server:
        chosen = settings(runner_settings(server, concurrency=1))
        board = boards(chosen)
        submission = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Restarted-VLM")
        until(lambda: len(board.store.reproduction_answers(submission)) >= 5, 60, "a few answers in")
        board.stop()
        kept = len(board.store.reproduction_answers(submission))
        again = boards(chosen)
        found = settled(again, submission)
        asked = model.asked_ids()
    assert found.state == State.REPRODUCED and kept < len(rows)
    assert sum(asked.values()) <= len(rows) + 1  # at most the one in flight at the stop asked twice
    assert again.store.reproduction_calls(utc_day()) == len(rows) == found.calls  # charged once


def test_open_answers_are_compared_through_the_spaces_judge(tmp_path, boards, rows) -> None:
    """The runner's open answers are judged by the same judge (cached verdicts shared); a file whose open
    answers beat the model's own by more than the tolerance is not reproduced."""
    model = VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)
    with OpenAIServer(model) as runner, OpenAIServer(fake_judge) as judging:
        judge = Endpoint(base_url=judging.base_url, model="test-judge", api_key="sk-judge", timeout=10)
        board = boards(settings(runner_settings(runner)), endpoint=judge)
        honest = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Honest-VLM")
        found = settled(board, honest, timeout=120)
        calls_before = judging.calls
        for row in (r for r in rows if r["question_type"] == "open"):
            model.script[row["id"]] = [Reply(content="Reasoning: unsure.\nAnswer: unclear")]
        # the file keeps the model's perfect open answers; the model itself now answers them "unclear"
        flattered = submit(board, honest_file(tmp_path / "b.jsonl", rows, edited=1), "Flattered-VLM")
        held = settled(board, flattered, timeout=120)
    opens = sum(row["question_type"] == "open" for row in rows)
    assert found.state == State.REPRODUCED and found.open_compared and found.open_n == opens
    assert found.open_diff == 0.0  # the same answers: the cache gave the same verdicts
    assert held.state == State.NOT_REPRODUCED and held.open_compared and held.open_ci95[0] > 10
    assert calls_before >= opens


@pytest.mark.parametrize("base_url, allow_private, words", [
    ("https://127.0.0.1:{port}/v1", False, "loopback"),      # refused before any connection
    ("https://runner.test:{port}/v1", False, "private"),     # refused when its name resolves
    ("http://metadata.test:{port}/v1", True, "metadata"),    # refused even with the allowance
])
def test_a_runner_at_a_refused_address_is_never_called(tmp_path, boards, rows, base_url, allow_private, words) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"runner.test": ["10.1.2.3"], "metadata.test": ["169.254.169.254"]}[host]

    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        port = server.base_url.rsplit(":", 1)[1].split("/")[0]
        runner = replace(runner_settings(server), base_url=base_url.format(port=port))
        board = boards(replace(settings(runner), runners_allow_private=allow_private), resolve=resolve)
        submission = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Refused-VLM")
        found = settled(board, submission)
        assert server.calls == 0
    assert found.state == State.FAILED and words in found.reason and "refused" in found.reason


def test_the_key_is_never_written_logged_or_shown(tmp_path, boards, rows, caplog) -> None:
    """A runner that echoes the key in its error: the reason is scrubbed; no file, log line, status or board
    cell of the home holds the key."""
    caplog.set_level(logging.DEBUG)
    def echo(request: dict) -> Reply:
        return Reply(status=401, body={"error": {"message": f"bad key Bearer {KEY}", "type": "auth"}})

    with OpenAIServer(echo) as failing, OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as good:
        board = boards(settings(runner_settings(failing, name="echoing", models=("echo-vlm",)),
                                runner_settings(good)))
        refused = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Echo-VLM", runner_model="echo-vlm")
        honest = submit(board, honest_file(tmp_path / "b.jsonl", rows, edited=1), "Honest-VLM")
        assert settled(board, refused).state == State.FAILED and settled(board, honest).state == State.REPRODUCED
    reason = reproduction(board, refused)["reproduction_reason"]
    assert "***" in reason and KEY not in reason
    shown = json.dumps(board.status(), default=str) + board.board().to_csv()
    shown += json.dumps([board.scores(i).to_dict() for i in (refused, honest)])
    assert KEY not in shown and KEY not in caplog.text and KEY not in repr(board.settings)
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_the_sample_is_seeded_by_a_secret_of_the_home(tmp_path, boards, rows) -> None:
    """The sample depends on the submission and on a secret the submitter never sees (made once, owner-only)."""
    from judge.reproduce import sample_ids
    from leaderboard.reproduce import home_secret, sample_seed
    from core.results import ItemResult, ItemStatus

    items = [ItemResult(id=f"mcq-{n}", question_type="mcq", status=ItemStatus.ANSWERED) for n in range(4000)]
    items += [ItemResult(id=f"open-{n}", question_type="open", status=ItemStatus.JUDGED) for n in range(1000)]
    secret = home_secret(tmp_path)
    assert home_secret(tmp_path) == secret and len(secret) == 32
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    first = sample_ids(items, 5000, sample_seed(secret, "sub-1"), 50, 0.01)
    assert len(first) == 50 and sum(i.startswith("mcq-") for i in first) == 40  # MCQ and open in proportion
    assert first == sample_ids(items, 5000, sample_seed(secret, "sub-1"), 50, 0.01)
    assert first != sample_ids(items, 5000, sample_seed(secret, "sub-2"), 50, 0.01)
    assert first != sample_ids(items, 5000, sample_seed(b"x" * 32, "sub-1"), 50, 0.01)
    assert len(sample_ids(items, 20654, "seed", 50, 0.01)) == 207  # max(50, 1%) of the release


def test_runner_settings_are_checked_and_the_key_comes_from_its_variable(tmp_path) -> None:
    runners = [{"name": "hf", "base_url": "https://router.example/v1", "models": ["Qwen/*", "gpt-4o"],
                "api_key_env": "HF_ROUTER_KEY", "concurrency": 8}]
    path = tmp_path / "runners.json"
    path.write_text(json.dumps(runners))
    read = Settings.from_env({"MEDCMR_RUNNERS": str(path), "HF_ROUTER_KEY": KEY}).runners
    assert read[0].api_key == KEY and read[0].concurrency == 8 and KEY not in repr(read)
    assert read[0].serves("Qwen/Qwen2.5-VL-7B-Instruct") and read[0].serves("gpt-4o") and not read[0].serves("qwen/x")
    assert Settings.from_env({"MEDCMR_RUNNERS": json.dumps(runners), "HF_ROUTER_KEY": "k"}).runners[0].name == "hf"
    bad = {"plain http": ({**runners[0], "base_url": "http://127.0.0.1:8000/v1"}, "MEDCMR_RUNNERS_ALLOW_PRIVATE"),
           "key written": ({**runners[0], "api_key": KEY}, "api_key_env"),
           "key unset": ({**runners[0], "api_key_env": "UNSET_KEY"}, "UNSET_KEY"),
           "no models": ({**runners[0], "models": []}, "'models'")}
    for case, (entry, named) in bad.items():
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({"MEDCMR_RUNNERS": json.dumps([entry]), "HF_ROUTER_KEY": KEY})
        assert named in str(raised.value) and KEY not in str(raised.value), case
    allowed = Settings.from_env({"MEDCMR_RUNNERS": json.dumps([{**runners[0], "base_url": "http://127.0.0.1/v1"}]),
                                 "MEDCMR_RUNNERS_ALLOW_PRIVATE": "1", "HF_ROUTER_KEY": KEY})
    assert allowed.runners_allow_private and allowed.runners[0].base_url.startswith("http://")


def test_a_runner_model_name_is_checked_at_the_form() -> None:
    from leaderboard.intake import _checked_meta

    assert _checked_meta(SubmissionMeta(model="M", runner_model=" Qwen/Qwen2.5-VL-7B-Instruct "))["runner_model"] \
        == "Qwen/Qwen2.5-VL-7B-Instruct"
    for bad in ("http://evil/x y", "a\nb", "x" * 201, "<script>"):
        with pytest.raises(SubmissionError, match="runner serves it"):
            _checked_meta(SubmissionMeta(model="M", runner_model=bad))


def test_results_and_the_mirror_carry_the_reproduction(tmp_path, boards, rows) -> None:
    from leaderboard.mirror import HubMirror
    from tests.hub_fakes import RecordingHfApi

    home = tmp_path / "home"
    mirror = HubMirror("org/results", "hf_test", home / "mirror", every_min=60, hf_api=RecordingHfApi())
    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        board = boards(settings(runner_settings(server)), home=home, mirror=mirror)
        submission = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Mirrored-VLM")
        settled(board, submission)
        until(lambda: json.loads((home / "mirror" / "results" / f"{submission}.json").read_text())["results"]
              .get("reproduction", {}).get("state") == "reproduced", 30, "the mirror's copy updated")
    mirrored = json.loads((home / "mirror" / "results" / f"{submission}.json").read_text())["results"]
    typed = Results.from_dict(mirrored)
    assert typed.results_version == 4 and typed.reproduction.state == State.REPRODUCED
    assert typed.reproduction.by_dimension and all(g.n >= g.agree for g in typed.reproduction.by_dimension.values())
    older = {**mirrored, "results_version": 3}
    older.pop("reproduction")
    assert Results.from_dict(older).reproduction is None  # a version-3 document still reads
    assert "board.csv" in {p.name for p in (home / "mirror").iterdir()}
    assert "Reproduced" in (home / "mirror" / "board.csv").read_text().splitlines()[0]


def test_a_home_of_the_previous_schema_opens_unchanged(tmp_path, built_dataset, rows) -> None:
    """A version-3 home (no reproduction tables): its rows read the same, self-reported, and it is migrated."""
    home = tmp_path / "home"
    board = Leaderboard(home, built_dataset)
    board.start()
    submission = submit(board, honest_file(tmp_path / "a.jsonl", rows), "Old-VLM", runner_model="")
    assert board.wait_idle(60)  # scored, and its integrity checked (which may hold the row) before the snapshot
    before = board.board().drop(columns=["Reproduced", "Agreement (%)"])
    board.stop()
    with sqlite3.connect(home / "leaderboard.sqlite") as db:  # as the previous version left it
        for table in ("reproductions", "reproduction_answers", "reproduction_calls"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    reopened = Leaderboard(home, built_dataset)
    after = reopened.board()
    assert after.drop(columns=["Reproduced", "Agreement (%)"]).equals(before)
    assert after.set_index("Id").loc[submission, "Reproduced"] == "self-reported"
    with sqlite3.connect(home / "leaderboard.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "4"
    reopened.store.close()



def test_explore_shows_the_evidence_and_withholds_answers_without_consent(tmp_path, boards, rows) -> None:
    from leaderboard.explore import Explorer

    with OpenAIServer(VisionModel(rows, max_side=PREDICT_IMAGE_MAX_SIDE)) as server:
        board = boards(settings(runner_settings(server)))
        public = submit(board, honest_file(tmp_path / "a.jsonl", rows, edited=2), "Public-VLM")
        private = board.submit(honest_file(tmp_path / "b.jsonl", rows, edited=3),
                               SubmissionMeta(model="Private-VLM", runner_model=MODEL, public_details=False),
                               "alice")["id"]
        unnamed = submit(board, honest_file(tmp_path / "c.jsonl", rows, edited=4), "Unnamed-VLM", runner_model="")
        for submission in (public, private):
            settled(board, submission)
        until(lambda: board.scores(unnamed) is not None, 30, "scored")
    explorer = Explorer(board, tmp_path / "explore")
    shown = explorer.reproduction(public)
    disagree = [row for row in shown["rows"] if row["agree"] == "no"]
    assert shown["label"] == "reproduced" and len(shown["rows"]) == len(rows) and len(disagree) == 2
    assert all(row["file"] != row["runner"] and row["file"] in LETTERS for row in disagree)
    assert sum(cell["n"] for cell in shown["by_dimension"]) == shown["mcq_n"]
    withheld = explorer.reproduction(private)
    assert not withheld["public"] and sum(row["agree"] == "no" for row in withheld["rows"]) == 3
    assert all(row["file"] == row["runner"] == "" for row in withheld["rows"])
    assert explorer.reproduction(unnamed)["rows"] == [] and explorer.reproduction(unnamed)["label"] == "self-reported"


def test_about_says_how_rows_are_reproduced_and_what_this_board_ranks() -> None:
    from space.reproduction_view import about_markdown

    runner = RunnerSettings("hf", "https://router.example/v1", ("Qwen/*",), api_key=KEY)
    text = about_markdown(Settings(runners=(runner,), rank_reproduced_only=True))
    assert "Reproduced rows" in text and "`hf` serves `Qwen/*`" in text and "97.5%" in text
    assert "ranks only reproduced rows" in text and KEY not in text and "router.example" not in text
    assert "every row is self-reported" in about_markdown(Settings())
