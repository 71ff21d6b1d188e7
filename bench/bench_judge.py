"""Benchmark the judge: MCQ scoring on the realistic mix beside can_infer, open judging beside a plain
openai client, rerun call count.

    .venv/bin/pip install --no-deps ms-vlmeval   # VLMEvalKit's can_infer, for this bench only
    .venv/bin/python bench/bench_judge.py [--mcq 16655 (0: skip)] [--open 3999 (0: skip)] [--latency 0.1] [--concurrency 32]
                                          [--rounds 3] [--server-status 200]

1. MCQ: `score_submission(mcq_only=True)` over the realistic mix of 16,655 labelled outputs
   (tests/mcq_mix.py) against VLMEvalKit's `can_infer` over the same outputs, alternated for
   `--rounds` rounds: min and median of each (target: score_submission <= 0.5 s).
2. Open: the same N open answers judged by `score_submission` (fresh cache each round) and sent
   as N requests by a plain `openai.AsyncOpenAI` with the same prompts and concurrency, against
   fakes/server.py (in its own process) with a set latency, alternated: min/median seconds,
   the judge's throughput as a share of the plain client's and of `concurrency / latency`, the
   server's call count for each side (equal), peak RSS.
3. The same submission again with a warm cache: the judge calls it made (target 0).
Any failed call (an error reply, a judged item marked failed) stops the bench with a non-zero exit.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import medcmr  # noqa: E402,F401  (imported up front, as by every caller: its import time is not scoring)
import openai  # noqa: E402
from bench import peers  # noqa: E402
from judge import Endpoint, score_submission  # noqa: E402
from judge.llm import build_messages  # noqa: E402
from tests.mcq_mix import realistic_mix  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DIMENSION_SIZES = {"small_object": 1024, "fine_detail": 711, "spatial": 371, "temporal": 336, "causal": 1922,
                   "long_tail": 11582, "multi_source": 709}
OPTIONS = ["Pneumonia", "Pleural effusion", "Pneumothorax", "Normal study", "Pulmonary edema"]
SERVER = """
import sys
from fakes.server import OpenAIServer, Reply
from fakes.judge import fake_judge
status = int(sys.argv[2])
responder = fake_judge if status == 200 else (lambda request: Reply(status=status))
with OpenAIServer(responder, latency=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    for line in sys.stdin:
        print(server.calls, flush=True)
"""


@contextlib.contextmanager
def serve(latency: float, status: int = 200) -> Iterator[tuple[str, subprocess.Popen]]:
    """fakes/server.py with the fake judge (or every call answered with `status`) in a child
    process; yields (base URL, process)."""
    child = subprocess.Popen([sys.executable, "-c", SERVER, str(latency), str(status)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield child.stdout.readline().strip(), child
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def server_calls(child: subprocess.Popen) -> int:
    child.stdin.write("calls\n")
    child.stdin.flush()
    return int(child.stdout.readline())


def mcq_questions(n: int) -> list[dict]:
    sizes = {slug: round(size * n / sum(DIMENSION_SIZES.values())) for slug, size in DIMENSION_SIZES.items()}
    slugs = [slug for slug, size in sizes.items() for _ in range(size)][:n]
    slugs += ["long_tail"] * (n - len(slugs))
    return [{"id": f"mcq-{i}", "index": i, "question_type": "mcq", "question": "Most likely finding?",
             "options": OPTIONS, "answer": "ABCDE"[i * 7 % 5], "visual_description": "", "dimension": slug,
             "subtype": "s", "medical_intelligence": ["DX", "CDS", "PA", "PRA", "SEE", "TRE"][i % 6],
             "modality": ["CT", "MRI", "X-ray"][i % 3], "organ_system": ["Chest", "Brain"][i % 2], "image_path": ""}
            for i, slug in enumerate(slugs)]


def open_questions(n: int) -> list[dict]:
    return [{"id": f"open-{i}", "index": i, "question_type": "open", "question": f"What is the main finding ({i})?",
             "options": [], "answer": "left pleural effusion",
             "visual_description": "Fluid layering in the left pleural space with a meniscus sign",
             "dimension": "long_tail", "subtype": "s", "medical_intelligence": "DX", "modality": "X-ray",
             "organ_system": "Chest", "image_path": ""} for i in range(n)]


def bench_mcq(n: int, rounds: int) -> None:
    mix = realistic_mix(n)
    questions = [{**question, "options": case.options, "answer": case.expected or "A"}
                 for question, case in zip(mcq_questions(n), mix)]
    predictions = [{"id": q["id"], "prediction": case.output} for q, case in zip(questions, mix)]
    can_infer = peers.vlmevalkit_can_infer()
    ours, peer = [], []
    for round_ in range(rounds):
        for side in ("ours", "peer") if round_ % 2 == 0 else ("peer", "ours"):
            start = time.perf_counter()
            if side == "ours":
                results = score_submission(predictions, questions, mcq_only=True)
                ours.append(time.perf_counter() - start)
            else:
                for case in mix:
                    peers.vlmevalkit_letter(can_infer, case.output, case.options)
                peer.append(time.perf_counter() - start)
    mcq = results.mcq
    print(f"MCQ   score_submission over {n:,} realistic outputs: min {min(ours):.3f} s, "
          f"median {statistics.median(ours):.3f} s (first, cold caches: {ours[0]:.3f} s; target <= 0.5 s); "
          f"can_infer over the same outputs: min {min(peer):.3f} s, median {statistics.median(peer):.3f} s; "
          f"{rounds} alternated rounds; unparsed {mcq.unparsed_rate:.1f}%; load {os.getloadavg()[0]:.2f}")


def plain_client_run(base_url: str, question: dict, n: int, concurrency: int) -> float:
    """Seconds for a plain openai.AsyncOpenAI to send n judge requests with the judge's prompts."""
    async def main() -> float:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(number: int) -> None:
            async with gate:
                await client.chat.completions.create(
                    model="bench-judge", temperature=0, response_format={"type": "json_object"},
                    messages=build_messages(question, f"Answer: left pleural effusion ({number})", "0" * 16))

        start = time.perf_counter()
        try:
            await asyncio.gather(*(one(number) for number in range(n)))
        finally:
            await client.close()
        return time.perf_counter() - start

    return asyncio.run(main())


def judge_run(base_url: str, predictions: list[dict], questions: list[dict], cache: Path, concurrency: int):
    endpoint = Endpoint(base_url=base_url, model="bench-judge", api_key="sk-bench", max_retries=0)
    start = time.perf_counter()
    results = score_submission(predictions, questions, endpoint=endpoint, cache_path=cache, concurrency=concurrency)
    if results.open.failed:
        raise SystemExit(f"{results.open.failed} of {results.open.n} judge calls failed")
    return time.perf_counter() - start, results


def bench_open(n: int, latency: float, concurrency: int, rounds: int, status: int = 200) -> None:
    questions = open_questions(n)
    predictions = [{"id": q["id"], "prediction": f"Reasoning: fluid in the left pleural space with a meniscus.\n"
                                                 f"Answer: left pleural effusion (case {i})"}
                   for i, q in enumerate(questions)]
    judged, plain, calls = [], [], {"judge": [], "plain": []}
    with tempfile.TemporaryDirectory() as workdir, serve(latency, status) as (base_url, child):
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for round_ in range(rounds):
            for side in ("judge", "plain") if round_ % 2 == 0 else ("plain", "judge"):
                before = server_calls(child)
                if side == "judge":
                    cache = Path(workdir) / f"cache-{round_}.sqlite"
                    seconds, results = judge_run(base_url, predictions, questions, cache, concurrency)
                    judged.append(seconds)
                else:
                    plain.append(plain_client_run(base_url, questions[0], n, concurrency))
                calls[side].append(server_calls(child) - before)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        before = server_calls(child)
        again = judge_run(base_url, predictions, questions, cache, concurrency)[1]
        rerun_calls = server_calls(child) - before
    ideal = concurrency / latency
    print(f"Open  {n:,} answers, {rounds} alternated rounds, concurrency {concurrency}, latency {latency} s: "
          f"the judge min {min(judged):.2f} s, median {statistics.median(judged):.2f} s; a plain openai.AsyncOpenAI "
          f"min {min(plain):.2f} s, median {statistics.median(plain):.2f} s; the judge reaches "
          f"{100 * statistics.median(plain) / statistics.median(judged):.1f}% of the plain client's rate and "
          f"{100 * n / statistics.median(judged) / ideal:.1f}% of the ideal {ideal:,.0f}/s (target >= 80%)")
    print(f"      server calls per round: judge {calls['judge']}, plain {calls['plain']}; judged "
          f"{results.open.judged:,}; peak RSS {rss_after:,.0f} MiB (before judging {rss_before:,.0f} MiB); "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"Rerun {again.judge.cached:,} verdicts from the cache, judge calls: {rerun_calls} (target 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcq", type=int, default=16655)
    parser.add_argument("--open", type=int, default=3999)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-status", type=int, default=200,
                        help="the fake server answers every call with this status (the bench's check that it stops)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.mcq:
        bench_mcq(args.mcq, args.rounds)
    if args.open:
        bench_open(args.open, args.latency, args.concurrency, args.rounds, args.server_status)


if __name__ == "__main__":
    main()
