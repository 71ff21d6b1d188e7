"""The Space under load, as ratios against one call: a real `python -m space` on 127.0.0.1 driven
over plain HTTP (Gradio's upload route and `/gradio_api/call/<api>`), from threads released together.

    .venv/bin/python bench/bench_load.py [--reads 50] [--submits 30] [--hostile 4]

Prints, with the load average: the board's plain GET route (`/board.json`) against a bare Starlette
route serving the same bytes, N readers at once (throughput target >= 50% of the bare route's, p95
within 3x of its); `/leaderboard` p95 of N concurrent reads against one read (target
within 3x); median of N concurrent submits against one (target within 5x); N hostile 33 MB files
of 1,000,000 unknown ids at once: each refusal's time (target < 3 s) and the app's peak RSS
(VmHWM, target far below 1 GB); what is left in Gradio's upload folder afterwards. Offline, on the
sample release built in a temporary home (no judge).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parent.parent
FILTERS = ["", [], [], [], [], [], ["Overview", "Dimensions"], ""]  # search, 5 filters, columns, sort
BUSY = "The server is busy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_space(home: Path, uploads: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MEDCMR_RATE_LIMIT": "100000/3600", "MEDCMR_REFUSAL_LIMIT": "100000/3600",
           "GRADIO_TEMP_DIR": str(uploads), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    for name in ("SPACE_ID", "SYSTEM", "MEDCMR_JUDGE_BASE_URL", "MEDCMR_JUDGE_MODEL", "OPENAI_BASE_URL"):
        env.pop(name, None)
    log = open(home.parent / "space.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
    process = subprocess.Popen([sys.executable, "-m", "space", "--home", str(home), "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Space exited:\n{(home.parent / 'space.log').read_text()}")
        try:
            if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the Space did not start within 300 s")


def call(http: httpx.Client, url: str, api: str, data: list, session: str | None = None) -> tuple[bool, str]:
    """One API call the way any HTTP client makes it: POST the inputs, read the event stream. Without
    `session` Gradio opens a new session per call (a one-off script); with one, it is reused (gradio_client)."""
    body = {"data": data} if session is None else {"data": data, "session_hash": session}
    event = http.post(f"{url}gradio_api/call/{api}", json=body).json()["event_id"]
    text = http.get(f"{url}gradio_api/call/{api}/{event}").text
    return "event: complete" in text, text


def upload(http: httpx.Client, url: str, path: Path) -> str:
    with path.open("rb") as data:
        answer = http.post(url + "gradio_api/upload", files={"files": (path.name, data)})
    answer.raise_for_status()
    return answer.json()[0]


def submit(http: httpx.Client, url: str, path: Path, model: str, session: str | None = None) -> tuple[bool, str]:
    stored = upload(http, url, path)
    return call(http, url, "submit", [{"path": stored, "meta": {"_type": "gradio.FileData"}}, model, "", "open",
                                      "general", None, "", True, None, None, None], session)


def together(count: int, work: Callable[[int], object]) -> list[tuple[float, object]]:
    """Run `work(i)` in `count` threads released at once; (seconds, result) per thread."""
    barrier = threading.Barrier(count)
    out: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            result = work(index)
        except Exception as error:  # noqa: BLE001 - reported with the figures
            result = error
        out[index] = (time.perf_counter() - start, result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"


def predictions(path: Path, questions: list[dict], seed: int) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(json.dumps({"id": q["id"], "prediction": rng.choice("ABCDE")}) + "\n"
                            for q in questions))
    return path


# A bare Starlette app serving fixed bytes at /board.json: the floor any route of the Space can reach here.
BARE_ROUTE = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = open(sys.argv[1], "rb").read()
async def board(request):
    return Response(body, media_type="application/json")
uvicorn.run(Starlette(routes=[Route("/board.json", board)]), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning")
"""


def get_readers(url: str, readers: int, each: int) -> tuple[float, float, int]:
    """`readers` clients (one keep-alive connection each) each GET `url` `each` times, released together:
    (requests per second, p95 seconds, failures)."""
    def read(_: int) -> list[float]:
        times = []
        with httpx.Client(timeout=60, headers={"Accept-Encoding": "identity"}) as http:
            for _ in range(each):
                started = time.perf_counter()
                if http.get(url).status_code != 200:
                    raise RuntimeError(f"{url}: not 200")
                times.append(time.perf_counter() - started)
        return times
    started = time.perf_counter()
    done = together(readers, read)
    elapsed = time.perf_counter() - started
    times = [t for _, result in done if isinstance(result, list) for t in result]
    return len(times) / elapsed, p95(times), sum(1 for _, result in done if not isinstance(result, list))


def compare_with_bare_route(url: str, tmp: Path, readers: int, each: int = 20) -> None:
    """The Space's /board.json against a bare Starlette route serving the same bytes, in one run."""
    body = httpx.get(url + "board.json", headers={"Accept-Encoding": "identity"}, timeout=60).content
    (tmp / "board.json").write_bytes(body)
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_ROUTE, str(tmp / "board.json"), str(port)])
    try:
        bare_url = f"http://127.0.0.1:{port}/board.json"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(bare_url, timeout=2).content == body:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        figures = {}
        for name, target in (("bare Starlette route", bare_url), ("the Space's /board.json", url + "board.json")):
            get_readers(target, 4, 5)  # warm
            figures[name] = get_readers(target, readers, each)
        (space_rps, space_p95, space_failed), (bare_rps, bare_p95, _) = figures["the Space's /board.json"], \
            figures["bare Starlette route"]
        print(f"GET /board.json ({len(body) / 1024:.1f} KB), {readers} readers x {each} requests: the Space "
              f"{space_rps:.0f} req/s, p95 {1000 * space_p95:.1f} ms ({space_failed} failed); a bare Starlette route "
              f"{bare_rps:.0f} req/s, p95 {1000 * bare_p95:.1f} ms: {100 * space_rps / bare_rps:.0f}% of its "
              f"throughput (target >= 50%), p95 {space_p95 / bare_p95:.2f}x (target <= 3x); {load()}")
    finally:
        bare.terminate()
        bare.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--submits", type=int, default=30)
    parser.add_argument("--hostile", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from release.built import load_questions

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp = Path(tmp)
        home, uploads = tmp / "home", tmp / "gradio-uploads"
        process, url = start_space(home, uploads)
        questions = load_questions(home / "medcmr")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            with httpx.Client(timeout=120, limits=limits) as http:
                print(f"Space pid {process.pid} at {url}; {len(questions)} questions (sample release); {load()}")
                compare_with_bare_route(url, tmp, args.reads)
                for _ in range(3):  # warm up
                    call(http, url, "leaderboard", FILTERS)
                for mode in ("a new session per call", "one session per reader"):
                    sessions = [None] * args.reads if mode.startswith("a new") else \
                        [f"bench-reader-{i}" for i in range(args.reads)]
                    for session in sessions:  # warm the sessions (a no-op without one)
                        if session:
                            call(http, url, "leaderboard", FILTERS, session)
                    single = [together(1, lambda _: call(http, url, "leaderboard", FILTERS, sessions[0]))[0][0]
                              for _ in range(10)]
                    one = statistics.median(single)
                    cpu = cpu_s(process.pid)
                    many = together(args.reads, lambda i: call(http, url, "leaderboard", FILTERS, sessions[i]))
                    per_read = (cpu_s(process.pid) - cpu) / args.reads
                    failed = sum(1 for _, r in many if not (isinstance(r, tuple) and r[0]))
                    times = [s for s, _ in many]
                    print(f"/leaderboard, {mode}: one read median {1000 * one:.0f} ms; {args.reads} at once median "
                          f"{1000 * statistics.median(times):.0f} ms, p95 {1000 * p95(times):.0f} ms = "
                          f"{p95(times) / one:.1f}x one (target <= 3x); {failed} failed; app CPU per read "
                          f"{1000 * per_read:.1f} ms, so {args.reads} reads need >= {args.reads * per_read:.2f} s "
                          f"of one core (one GIL); {load()}")

                single = []
                for n in range(5):
                    path = predictions(tmp / f"single-{n}.jsonl", questions, n)
                    single.append(together(1, lambda _: submit(http, url, path, f"single-{n}", "bench-submitter-0"))[0][0])
                one = statistics.median(single)
                files = [predictions(tmp / f"many-{n}.jsonl", questions, 1000 + n) for n in range(args.submits)]
                cpu = cpu_s(process.pid)
                many = together(args.submits, lambda i: submit(http, url, files[i], f"many-{i}", f"bench-submitter-{i}"))
                per_submit = (cpu_s(process.pid) - cpu) / args.submits
                times = [s for s, _ in many]
                accepted = sum(1 for _, r in many if isinstance(r, tuple) and r[0])
                busy = sum(1 for _, r in many if isinstance(r, tuple) and BUSY in r[1])
                print(f"/submit: one median {1000 * one:.0f} ms; {args.submits} at once median "
                      f"{1000 * statistics.median(times):.0f} ms = {statistics.median(times) / one:.1f}x one "
                      f"(target <= 5x), p95 {1000 * p95(times):.0f} ms; {accepted} accepted, {busy} told busy; app CPU per "
                      f"submit {1000 * per_submit:.1f} ms ({args.submits} need >= {args.submits * per_submit:.2f} s of "
                      f"one core); {load()}")

                before = peak_rss_mb(process.pid)
                hostile = []
                for n in range(args.hostile):
                    path = tmp / f"hostile-{n}.jsonl"
                    with path.open("w") as out:
                        for i in range(1_000_000):
                            out.write(f'{{"id": "mcq-{10**7 + n * 10**6 + i}", "prediction": "A"}}\n')
                    hostile.append(path)
                size = hostile[0].stat().st_size / 2**20 if hostile else 0
                many = together(args.hostile, lambda i: submit(http, url, hostile[i], f"hostile-{i}"))
                refused = [s for s, r in many if isinstance(r, tuple) and not r[0] and "unknown" in r[1].lower()]
                busy = sum(1 for _, r in many if isinstance(r, tuple) and BUSY in r[1])
                print(f"{args.hostile} x {size:.0f} MB of unknown ids at once (upload + refusal): "
                      + ", ".join(f"{s:.2f} s" for s, _ in many)
                      + f" (target < 3 s each); {len(refused)} refused by content, {busy} told busy; "
                      f"app peak RSS {before:.0f} MB before, {peak_rss_mb(process.pid):.0f} MB after "
                      f"(target far below 1024 MB); {load()}")
                left = [p for p in uploads.rglob("*") if p.is_file()]
                kinds = sorted({p.suffix or p.name for p in left})
                print(f"Gradio's upload folder afterwards: {len(left)} files, "
                      f"{sum(p.stat().st_size for p in left) / 2**20:.1f} MB ({', '.join(kinds)}: the page's own "
                      "files, no uploads)" if left else "Gradio's upload folder afterwards: empty")
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
