"""Write a leaderboard home with the kit at its current commit, and what its board, statuses and results read.

Run with a checkout's own environment: `.venv/bin/python write_home.py OUT` (OUT/home, OUT/expected.json).
"""
import json, shutil, sys
from pathlib import Path

root = Path.cwd()
sys.path.insert(0, str(root))
import medcmr
from judge.endpoint import Endpoint
from leaderboard.intake import SubmissionMeta
from leaderboard.service import Leaderboard
from tests.answers import write_predictions
from tests.judge_responders import fake_judge
from tests.openai_server import OpenAIServer

out = Path(sys.argv[1]).resolve()
shutil.rmtree(out, ignore_errors=True)
home = out / "home"
medcmr.build(medcmr.write_sample_release(out / "release.zip"), home / "medcmr")
questions = medcmr.load_questions(home / "medcmr")
mcqs = len([q for q in questions if q["question_type"] == "mcq"])
ids = {}
with OpenAIServer(fake_judge) as server:
    board = Leaderboard(home, home / "medcmr", endpoint=Endpoint(base_url=server.base_url, model="test-judge",
                                                                  api_key="local", max_retries=0))
    for name, right in (("Old-Model-A", mcqs - 2), ("Old-Model-B", mcqs // 3)):
        path = out / f"{name}.jsonl"
        write_predictions(path, questions, right=right, tag=name)
        ids[name] = board.submit(path, SubmissionMeta(model=name, link="https://example.org/" + name, params_b=7),
                                 "alice")["id"]
    board.start()
    assert board.wait_idle(300)
    board.moderate(ids["Old-Model-B"], "flagged", "flagged before the upgrade", "operator")
    board.stop()
board = Leaderboard(home, home / "medcmr")  # no judge: the next one waits for it
path = out / "Old-Model-C.jsonl"
write_predictions(path, questions, right=mcqs // 2, tag="C")
ids["Old-Model-C"] = board.submit(path, SubmissionMeta(model="Old-Model-C"), "bob")["id"]
board.start()
assert board.wait_idle(300)
frame = board.board()
expected = {"ids": ids, "board": json.loads(frame.to_json(orient="records")),
            "status": board.status(), "results": {n: board.scores(i).to_dict() for n, i in ids.items()}}
board.stop()
board.store.close()
shutil.rmtree(home / "medcmr")
(out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True, default=str) + "\n")
for name in ("release.zip", *(f"{n}.jsonl" for n in ids)):
    (out / name).unlink()
print(sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
