"""Benchmark the judge: MCQ scoring CPU time, open-answer judging throughput, rerun call count.

    .venv/bin/python bench/bench_judge.py [--mcq 16655] [--open 3999] [--latency 0.1] [--concurrency 32]

1. 16,655 synthetic MCQ predictions in realistic output styles (bare letters, "Answer: X",
   reasoning traces, markdown, option text, refusals) are scored: CPU seconds (target < 1 s).
2. 3,999 open answers are judged against fakes/server.py with a set latency: throughput
   next to the ideal `concurrency / latency` (target >= 80%) and to the bare openai client's rate
   with the same prompts on this machine (what the hardware allows), and peak RSS.
3. The same submission again with the same cache: the judge calls it made (target 0).
The server runs in its own process, as a real endpoint would, so it does not share our GIL;
on a shared machine, read the throughput next to the load average printed with it.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import medcmr  # noqa: E402,F401  (imported up front, as by every caller: its import time is not scoring)
from judge import Endpoint, score_submission  # noqa: E402
from judge.llm import build_messages  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DIMENSION_SIZES = {"small_object": 1024, "fine_detail": 711, "spatial": 371, "temporal": 336, "causal": 1922,
                   "long_tail": 11582, "multi_source": 709}
OPTIONS = ["Pneumonia", "Pleural effusion", "Pneumothorax", "Normal study", "Pulmonary edema"]
STYLES = [
    "{letter}",
    "Answer: {letter}",
    "The correct answer is ({letter}).",
    "<think>The opacity is in the lower zone; the costophrenic angle is blunted, so effusion is likely, "
    "but let me consider consolidation and edema before deciding.</think>\n{letter}",
    "**{letter}. {text}**",
    "Reasoning: the image shows findings that, taken together with the clinical context, are most "
    "consistent with one option. Other options are less likely given the distribution.\nAnswer: {letter}) {text}",
    "{text}",
    "I'm sorry, but I cannot determine the diagnosis from this image.",
    "Based on the findings I pick {letter}",
]
SERVER = """
import sys
from fakes.server import OpenAIServer
from fakes.judge import fake_judge
with OpenAIServer(fake_judge, latency=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    for line in sys.stdin:
        print(server.calls, flush=True)
"""


@contextlib.contextmanager
def serve(latency: float) -> Iterator[tuple[str, subprocess.Popen]]:
    """fakes/server.py with the fake judge in a child process; yields (base URL, process)."""
    child = subprocess.Popen([sys.executable, "-c", SERVER, str(latency)], cwd=ROOT,
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


def bench_mcq(n: int) -> None:
    questions = mcq_questions(n)
    predictions = []
    for i, question in enumerate(questions):
        letter = question["answer"] if i % 4 else "ABCDE"[(i + 1) % 5]
        text = OPTIONS["ABCDE".index(letter)]
        predictions.append({"id": question["id"], "prediction": STYLES[i % len(STYLES)].format(letter=letter, text=text)})
    start = time.process_time()
    results = score_submission(predictions, questions, mcq_only=True)
    cpu = time.process_time() - start
    mcq = results.mcq
    print(f"MCQ   {n:,} predictions scored in {cpu:.3f} s CPU ({n / cpu:,.0f}/s; target < 1 s)  "
          f"accuracy {mcq.accuracy:.2f}%  unparsed {mcq.unparsed_rate:.1f}%")


def bare_client_rate(base_url: str, question: dict, n: int, concurrency: int) -> float:
    """Calls/s of the bare openai client with the same prompts: what this machine allows at all."""
    async def main() -> float:
        client = Endpoint(base_url=base_url, model="bench-judge", api_key="sk-bench").client()
        gate = asyncio.Semaphore(concurrency)

        async def one(number: int) -> None:
            async with gate:
                await client.chat.completions.create(
                    model="bench-judge", temperature=0, response_format={"type": "json_object"},
                    messages=build_messages(question, f"Answer: left pleural effusion ({number})", "0" * 16))

        start = time.perf_counter()
        await asyncio.gather(*(one(number) for number in range(n)))
        rate = n / (time.perf_counter() - start)
        await client.close()
        return rate

    return asyncio.run(main())


def bench_open(n: int, latency: float, concurrency: int) -> None:
    questions = open_questions(n)
    predictions = [{"id": q["id"], "prediction": f"Reasoning: fluid in the left pleural space with a meniscus.\n"
                                                 f"Answer: left pleural effusion (case {i})"}
                   for i, q in enumerate(questions)]
    with tempfile.TemporaryDirectory() as workdir, serve(latency) as (base_url, child):
        bare = bare_client_rate(base_url, questions[0], min(n, 1000), concurrency)
        before = server_calls(child)
        endpoint = Endpoint(base_url=base_url, model="bench-judge", api_key="sk-bench")
        cache = Path(workdir) / "cache.sqlite"
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start, cpu_start = time.perf_counter(), time.process_time()
        results = score_submission(predictions, questions, endpoint=endpoint, cache_path=cache, concurrency=concurrency)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        first_calls = server_calls(child) - before
        again = score_submission(predictions, questions, endpoint=endpoint, cache_path=cache, concurrency=concurrency)
        rerun_calls = server_calls(child) - before - first_calls
    ideal = concurrency / latency
    print(f"Open  {n:,} answers judged in {wall:.2f} s: {n / wall:,.1f}/s vs ideal {ideal:,.0f}/s "
          f"(concurrency {concurrency} / latency {latency} s) = {100 * n / wall / ideal:.1f}% (target >= 80%)  "
          f"judged {results.open.judged:,} failed {results.open.failed:,}")
    print(f"      the bare openai client on this machine, same prompts and server: {bare:,.1f}/s "
          f"({100 * bare / ideal:.1f}% of ideal); the judge reaches {100 * n / wall / bare:.1f}% of that")
    print(f"      judge-side CPU {1000 * cpu / n:.2f} ms per answer (one core alone caps at {n / cpu:,.0f}/s)  "
          f"peak RSS {rss_after:,.0f} MiB (before judging {rss_before:,.0f} MiB)  server calls {first_calls:,}")
    print(f"Rerun {again.judge.cached:,} verdicts from the cache, judge calls: {rerun_calls} (target 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcq", type=int, default=16655)
    parser.add_argument("--open", type=int, default=3999)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    bench_mcq(args.mcq)
    bench_open(args.open, args.latency, args.concurrency)


if __name__ == "__main__":
    main()
