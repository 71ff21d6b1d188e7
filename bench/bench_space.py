"""How the Space feels over HTTP with a busy board: `leaderboard` and `status` API calls through
gradio_client with N scored submissions, and upload -> MCQ result for one more. Prints figures.
The in-process lines separate our work from Gradio's own round trip (queue + SSE + client).

    .venv/bin/python bench/bench_space.py [--submissions 300] [--calls 20]

Runs offline on the sample release in a temporary home (no judge: open answers wait).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import medcmr  # noqa: E402
from core.settings import Settings  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from leaderboard.intake import SubmissionMeta  # noqa: E402
from leaderboard.service import Leaderboard  # noqa: E402
from space.ui import build_app  # noqa: E402

FILTERS = {"search": "", "weights": [], "domains": [], "sizes": [], "sources": [],
           "column_groups": ["Overview", "Dimensions", "Model info"]}


def write_predictions(path: Path, questions: list[dict], seed: int) -> Path:
    """Random letters for MCQs and a short open answer: a distinct file per seed."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for q in questions:
            answer = rng.choice("ABCDE") if q["question_type"] == "mcq" else f"finding {seed}"
            out.write(json.dumps({"id": q["id"], "prediction": answer}) + "\n")
    return path


def timed(call, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def report(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"{name:<38} median {1000 * statistics.median(ordered):7.1f} ms   p95 {1000 * p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-space-") as tmp:
        tmp = Path(tmp)
        home, data_dir = tmp / "home", tmp / "home" / "medcmr"
        medcmr.build(medcmr.write_sample_release(tmp / "dataset.zip"), data_dir)
        questions = medcmr.load_questions(data_dir)
        board = Leaderboard(home, data_dir, Settings(rate_limit=(10**9, 1.0)))
        board.start()
        start = time.perf_counter()
        for n in range(args.submissions):
            board.submit(write_predictions(tmp / f"p{n}.jsonl", questions, n),
                         SubmissionMeta(model=f"bench-model-{n}", params_b=1 + n % 90), submitter=f"user-{n % 40}")
        board.wait_idle(timeout=900)
        print(f"{args.submissions} submissions queued and scored in-process: {time.perf_counter() - start:.1f} s "
              f"({len(board.board())} board rows)")
        report("in-process Leaderboard.board()", timed(board.board, args.calls))
        report("in-process Leaderboard.status()", timed(board.status, args.calls))

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        demo = build_app(board).queue(default_concurrency_limit=4)
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            client = Client(url, verbose=False)
            report("leaderboard API (all rows)", timed(lambda: client.predict(**FILTERS, api_name="/leaderboard"),
                                                       args.calls))
            report("leaderboard API (search + filters)", timed(lambda: client.predict(
                **{**FILTERS, "search": "bench-model-1", "sizes": ["<10B"]}, api_name="/leaderboard"), args.calls))
            report("status API (all submissions)", timed(lambda: client.predict("", api_name="/status"), args.calls))

            path = write_predictions(tmp / "one-more.jsonl", questions, 10**6)
            start = time.perf_counter()
            receipt = client.predict(predictions=handle_file(str(path)), model="bench-one-more", link="",
                                     weights="open", domain="general", params_b=7, description="",
                                     api_name="/submit")
            accepted = time.perf_counter() - start
            while True:
                table = client.predict(receipt["id"], api_name="/status")
                if dict(zip(table["headers"], table["data"][0]))["status"] not in ("queued", "running"):
                    break
                time.sleep(0.05)
            print(f"upload -> accepted {1000 * accepted:.0f} ms; upload -> MCQ result on the board "
                  f"{1000 * (time.perf_counter() - start):.0f} ms ({len(questions)} questions, sample release)")
        finally:
            demo.close()
            board.stop()


if __name__ == "__main__":
    main()
