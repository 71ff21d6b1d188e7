"""Benchmark `predict`: questions/s against a local OpenAI-compatible server with a set latency,
next to the ideal `concurrency / latency`, and the image-encoding cost per question.

    .venv/bin/python bench/bench_predict.py [--questions 960] [--latency 0.1] [--data medcmr]
    .venv/bin/python bench/bench_predict.py --release-rows 1000    # also: the command end to end

The questions are the built dataset's rows (the sample release unless --data is given), cycled
under fresh ids to reach --questions, so the images and prompts are real ones. With
--release-rows, a synthetic release of that many rows with ~300 KB images (bench_build.py) is
built and the real command runs over it: questions/s and the command's peak memory.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow.parquet as pq  # noqa: E402
from PIL import Image  # noqa: E402

import medcmr  # noqa: E402
import predict  # noqa: E402
from judge import ask  # noqa: E402
from judge.endpoint import Endpoint  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The server runs in its own process, as a model server would, so it does not share our GIL.
SERVER = """
import sys
if sys.argv[2] == "tuned":  # what production servers (uvicorn, vLLM) do: no Nagle delay on replies
    import http.server
    http.server.BaseHTTPRequestHandler.disable_nagle_algorithm = True
from fakes.server import OpenAIServer, Reply
with OpenAIServer(lambda request: Reply(content="Answer: A"), latency=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def serve(latency: float, server: str) -> Iterator[str]:
    """fakes/server.py in a child process ("as-is" or "tuned"); yields its base URL."""
    child = subprocess.Popen([sys.executable, "-c", SERVER, str(latency), server], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def dataset_rows(data: Path | None, workdir: Path) -> list[dict]:
    if data is None:
        data = workdir / "medcmr"
        medcmr.build(medcmr.write_sample_release(workdir / "dataset.zip"), data)
    return [row for shard in sorted(data.glob("data/*/*.parquet")) for row in pq.read_table(shard).to_pylist()]


def predict_rate(rows: list[dict], n: int, concurrency: int, base_url: str, workdir: Path) -> float:
    """Questions/s of `predict.predict` over `n` questions (fresh ids, real images)."""
    questions = ({**row, "id": f"bench-{k}"} for k, row in enumerate(itertools.islice(itertools.cycle(rows), n)))
    out = workdir / f"preds-{time.monotonic_ns()}.jsonl"
    endpoint = Endpoint(base_url=base_url, model="bench-vlm", api_key=None, timeout=60, max_retries=4)
    summary = asyncio.run(predict.predict(questions, endpoint, out, ask.AskSettings(concurrency=concurrency)))
    assert summary.answered == n and summary.failed == 0, summary
    return n / summary.elapsed_s


def bare_client_rate(rows: list[dict], n: int, concurrency: int, base_url: str) -> float:
    """Questions/s of the bare openai client sending the same messages, encoded beforehand: the
    ceiling any tool built on this client reaches on this machine."""
    messages = [ask.build_messages(row, predict.DEFAULT_IMAGE_MAX_SIDE) for row in rows]

    async def run() -> float:
        endpoint = Endpoint(base_url=base_url, model="bench-vlm", api_key=None, timeout=60, max_retries=4)
        slots = asyncio.Semaphore(concurrency)
        async with endpoint.client() as client:
            async def one(k: int) -> None:
                async with slots:
                    await client.chat.completions.create(model="bench-vlm", messages=messages[k % len(messages)],
                                                         max_tokens=1024, temperature=0)
            started = time.perf_counter()
            await asyncio.gather(*(one(k) for k in range(n)))
            return n / (time.perf_counter() - started)

    return asyncio.run(run())


def command_run(data: Path, concurrency: int, latency: float, out: Path) -> tuple[int, float, float]:
    """The real command over a built folder: (questions answered, questions/s, its peak RSS in MB)."""
    child = ("import argparse, resource, sys, predict\n"
             "parser = argparse.ArgumentParser(); predict.add_arguments(parser)\n"
             "code = predict.run(parser.parse_args())\n"
             "print('peak_rss_mb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
             "sys.exit(code)")
    with serve(latency, "tuned") as base_url:
        done = subprocess.run([sys.executable, "-c", child, "--model", "bench-vlm", "--base-url", base_url,
                               "--data", str(data), "--out", str(out), "--concurrency", str(concurrency)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
    answered, seconds = re.search(r"answered (\d+) in ([\d.]+) s", done.stdout).groups()
    peak = float(re.search(r"peak_rss_mb ([\d.]+)", done.stdout).group(1))
    return int(answered), int(answered) / float(seconds), peak


def synthetic_build(rows: int, workdir: Path) -> Path:
    """A built folder from bench_build.py's synthetic release (scan-like PNGs of ~300 KB)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_build import write_release

    write_release(workdir / "synthetic.zip", rows, 300)
    medcmr.build(workdir / "synthetic.zip", workdir / "synthetic")
    return workdir / "synthetic"


def png(mode: str, size: tuple[int, int]) -> bytes:
    """A synthetic scan-like image (smooth gradient plus noise, so it compresses like a real one)."""
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    image = Image.blend(gradient, noise, 0.3)
    if mode == "RGB":
        image = Image.merge("RGB", (image, image.rotate(90).resize(size), noise))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def encoding_ms(images: list[bytes], max_side: int, repeat: int = 3) -> tuple[float, float]:
    """Mean milliseconds and kilobytes of data URL per image."""
    started = time.perf_counter()
    for _ in range(repeat):
        sizes = [len(ask.image_data_url(image, max_side)) for image in images]
    return 1000 * (time.perf_counter() - started) / (repeat * len(images)), sum(sizes) / len(sizes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=960)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--data", type=Path, help="a built dataset folder (default: build the sample)")
    parser.add_argument("--release-rows", type=int, default=0,
                        help="also run the command end to end over a synthetic release of this many rows")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = dataset_rows(args.data, workdir)
        print(f"{len(rows)} dataset rows cycled to {args.questions} questions, server latency {args.latency} s")
        print(f"{'test server':>11} {'concurrency':>11} {'predict q/s':>12} {'ideal':>6} {'of ideal':>9}"
              f" {'client CPU':>11} {'bare client q/s':>16}")
        for server in ("as-is", "tuned"):
            for concurrency in (16, 32):
                with serve(args.latency, server) as base_url:
                    started = time.process_time()
                    rate = predict_rate(rows, args.questions, concurrency, base_url, workdir)
                    cpu_ms = 1000 * (time.process_time() - started) / args.questions
                    bare = bare_client_rate(rows, args.questions, concurrency, base_url)
                ideal = concurrency / args.latency
                print(f"{server:>11} {concurrency:>11} {rate:>12.1f} {ideal:>6.0f} {rate / ideal:>9.0%}"
                      f" {cpu_ms:>8.1f} ms {bare:>16.1f}")
        print("tuned = the test server with TCP_NODELAY (no Nagle delay on its replies), as uvicorn/vLLM have")

        if args.release_rows:
            built = synthetic_build(args.release_rows, workdir)
            for concurrency in (16, 32):
                answered, rate, peak = command_run(built, concurrency, args.latency, workdir / f"cmd-{concurrency}.jsonl")
                print(f"command end to end, {answered} questions with ~300 KB images, concurrency {concurrency}: "
                      f"{rate:.1f} q/s ({rate / (concurrency / args.latency):.0%} of ideal), peak RSS {peak:.0f} MB")

        stored = [row["image"]["bytes"] for row in rows]
        sides = sorted(max(Image.open(io.BytesIO(b)).size) for b in stored)
        print(f"\nimage encoding per question (dataset images: longest side {sides[0]}-{sides[-1]} px)")
        cases = [
            ("dataset images, within bound (sent as stored)", stored, predict.DEFAULT_IMAGE_MAX_SIDE),
            ("dataset images, downscaled to 128 px", stored, 128),
            ("1024x1024 grayscale PNG, within bound", [png("L", (1024, 1024))], predict.DEFAULT_IMAGE_MAX_SIDE),
            ("3000x2400 grayscale PNG -> 2048 PNG", [png("L", (3000, 2400))], predict.DEFAULT_IMAGE_MAX_SIDE),
            ("3000x2400 RGB PNG -> 2048 JPEG", [png("RGB", (3000, 2400))], predict.DEFAULT_IMAGE_MAX_SIDE),
            ("3000x2400 RGB PNG -> 1024 JPEG", [png("RGB", (3000, 2400))], 1024),
        ]
        for label, images, bound in cases:
            ms, kb = encoding_ms(images, bound)
            print(f"  {label:<48} {ms:8.2f} ms  {kb:8.0f} KB data URL")


if __name__ == "__main__":
    main()
