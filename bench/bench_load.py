"""The Space under load, as ratios against one call: a real `python -m space` on 127.0.0.1 driven
over plain HTTP (Gradio's upload route and `/gradio_api/call/<api>`), from threads released together.

    .venv/bin/python bench/bench_load.py [--reads 50] [--submits 30] [--hostile 4] [--rounds 3]

On the full-size synthetic build (tests/full_size.py; no judge). Prints, with the load average:
the board's plain GET route (`/board.json`) against a bare Starlette route serving the same bytes,
alternated for `--rounds` rounds (min/median throughput and p95); `/leaderboard` (its inputs read
from the Space's own API description, so they always match the endpoint) one read against N at
once; a burst: N full-size uploads at once against one alone, each timed to its receipt and to its
row on the board (status "awaiting judge"), how many were refused; one upload -> MCQ row through
the Space beside the same file read and scored in this process, alternated; N hostile 33 MB files of
unknown ids at once (time to each refusal, the app's peak RSS); what is left in Gradio's upload
folder, by kind. Every call must succeed (a hostile file must be refused): any other outcome stops
the bench with a non-zero exit.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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

class CallFailed(RuntimeError):
    """An API call that did not complete: the bench stops rather than time it."""


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


def call(http: httpx.Client, url: str, api: str, data: list, session: str | None = None,
         refusal_ok: bool = False) -> str:
    """One API call the way any HTTP client makes it: POST the inputs, read the event stream. Without
    `session` Gradio opens a new session per call (a one-off script); with one, it is reused (gradio_client).
    Raises CallFailed unless it completes (or, with `refusal_ok`, is refused with a message)."""
    body = {"data": data} if session is None else {"data": data, "session_hash": session}
    event = http.post(f"{url}gradio_api/call/{api}", json=body).json()["event_id"]
    text = http.get(f"{url}gradio_api/call/{api}/{event}").text
    if "event: complete" not in text and not (refusal_ok and "event: error" in text):
        raise CallFailed(f"/{api} did not complete: {text[:300]}")
    return text


def endpoint_defaults(http: httpx.Client, url: str, api: str) -> list:
    """The inputs an endpoint takes, each at its default (or Gradio's example), from the Space's API description."""
    described = http.get(url + "gradio_api/info").json()["named_endpoints"][f"/{api}"]["parameters"]
    return [p["parameter_default"] if p.get("parameter_has_default") else p.get("example_input")
            for p in described]


def result_json(text: str) -> dict:
    """The output of a completed call's event stream (the `submit` receipt)."""
    data = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    return json.loads(data[-1])[0]


def upload(http: httpx.Client, url: str, path: Path) -> str:
    with path.open("rb") as data:
        answer = http.post(url + "gradio_api/upload", files={"files": (path.name, data)})
    answer.raise_for_status()
    return answer.json()[0]


def submit(http: httpx.Client, url: str, path: Path, model: str, refusal_ok: bool = False) -> str:
    stored = upload(http, url, path)
    return call(http, url, "submit", [{"path": stored, "meta": {"_type": "gradio.FileData"}}, model, "", "open",
                                      "general", None, "", True, None, None, None, "", ""], refusal_ok=refusal_ok)


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
    errors = [result for _, result in out if isinstance(result, Exception)]
    if errors:
        raise SystemExit(f"{len(errors)} of {count} calls failed; the first: {errors[0]}")
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


def compare_with_bare_route(url: str, tmp: Path, readers: int, rounds: int, each: int = 20) -> None:
    """The Space's /board.json against a bare Starlette route serving the same bytes, alternated."""
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
        targets = {"bare": bare_url, "space": url + "board.json"}
        figures: dict[str, list] = {"bare": [], "space": []}
        for round_ in range(rounds):
            for name in ("bare", "space") if round_ % 2 == 0 else ("space", "bare"):
                rps, tail, failed = get_readers(targets[name], readers, each)
                if failed:
                    raise SystemExit(f"{failed} of {readers} readers of {targets[name]} failed")
                figures[name].append((rps, tail))
        space_rps, bare_rps = (statistics.median(r for r, _ in figures[n]) for n in ("space", "bare"))
        space_p95, bare_p95 = (statistics.median(t for _, t in figures[n]) for n in ("space", "bare"))
        print(f"GET /board.json ({len(body) / 1024:.1f} KB), {readers} readers x {each} requests, {rounds} alternated "
              f"rounds (median): the Space {space_rps:.0f} req/s, p95 {1000 * space_p95:.1f} ms; a bare Starlette "
              f"route {bare_rps:.0f} req/s, p95 {1000 * bare_p95:.1f} ms: {100 * space_rps / bare_rps:.0f}% of its "
              f"throughput (target >= 50%), p95 {space_p95 / bare_p95:.2f}x (target <= 3x); {load()}")
    finally:
        bare.terminate()
        bare.wait(30)


def on_board(http: httpx.Client, url: str, ids: set[str], timeout: float = 1800) -> float:
    """Seconds until every submission in `ids` shows "awaiting judge" in the `status` API (none refused)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        table = result_json(call(http, url, "status", [""]))
        shown = {row[0]: row[3] for row in table["data"] if row[0] in ids}
        if any(str(value).startswith("refused") for value in shown.values()):
            raise SystemExit(f"a submission was refused after its check: {shown}")
        if len(shown) == len(ids) and set(shown.values()) == {"awaiting judge"}:
            return time.perf_counter() - start
        time.sleep(0.2)
    raise SystemExit(f"not on the board within {timeout:.0f} s")


def burst(http: httpx.Client, url: str, tmp: Path, questions: list[dict], submits: int) -> None:
    """One full-size upload alone (three times), then `submits` at once: receipts and time to the board."""
    alone = []
    for n in range(3):
        path = predictions(tmp / f"single-{n}.jsonl", questions, n)
        start = time.perf_counter()
        receipt = result_json(submit(http, url, path, f"single-{n}"))
        received = time.perf_counter() - start
        alone.append((received, received + on_board(http, url, {receipt["id"]})))
    files = [predictions(tmp / f"many-{n}.jsonl", questions, 1000 + n) for n in range(submits)]
    start = time.perf_counter()
    many = together(submits, lambda i: submit(http, url, files[i], f"many-{i}", refusal_ok=True))
    refused = [text for _, text in many if "event: error" in text]
    receipts = [result_json(text) for _, text in many if "event: error" not in text]
    all_on_board = time.perf_counter() - start + on_board(http, url, {r["id"] for r in receipts}) if receipts else 0
    one_receipt, one_board = statistics.median(a for a, _ in alone), statistics.median(b for _, b in alone)
    times = [seconds for seconds, _ in many]
    print(f"burst of {submits} full-size uploads ({files[0].stat().st_size / 2**20:.1f} MiB each) at once: "
          f"{len(refused)} refused (target 0), {sum(r['status'] == 'checking' for r in receipts)} kept to be checked "
          f"in turn; receipts median {statistics.median(times):.2f} s, max {max(times):.2f} s (target <= 1 s); all on "
          f"the board in {all_on_board:.1f} s = {all_on_board / one_board:.1f}x one alone (target <= 5x). One alone "
          f"(median of 3): receipt {one_receipt:.2f} s, on the board {one_board:.2f} s; {load()}")


def upload_against_in_process(http: httpx.Client, url: str, tmp: Path, questions: list[dict], data_dir: Path,
                              rounds: int) -> None:
    """Upload -> MCQ row through the Space beside the same file read and scored in this process, alternated."""
    import judge
    known = frozenset(q["id"] for q in questions)
    space, local = [], []
    for round_ in range(rounds):
        path = predictions(tmp / f"compare-{round_}.jsonl", questions, 5000 + round_)
        for side in ("space", "local") if round_ % 2 == 0 else ("local", "space"):
            start = time.perf_counter()
            if side == "space":
                receipt = result_json(submit(http, url, path, f"compare-{round_}"))
                on_board(http, url, {receipt["id"]})
                space.append(time.perf_counter() - start)
            else:
                judge.score_submission(judge.read_predictions(path, name=path.name, known_ids=known), questions)
                local.append(time.perf_counter() - start)
    print(f"upload -> MCQ row through the Space: min {min(space):.2f} s, median {statistics.median(space):.2f} s; "
          f"the same file read + scored in-process: min {min(local):.2f} s, median {statistics.median(local):.2f} s: "
          f"{statistics.median(space) / statistics.median(local):.2f}x (target <= 1.5x); {rounds} alternated rounds; "
          f"{load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--submits", type=int, default=30)
    parser.add_argument("--hostile", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from release.built import load_questions
    from tests.full_size import full_size_dataset

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp = Path(tmp)
        home, uploads = tmp / "home", tmp / "gradio-uploads"
        shutil.copytree(full_size_dataset(ROOT / "bench" / "out" / "board"), home / "medcmr")
        process, url = start_space(home, uploads)
        questions = load_questions(home / "medcmr")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            with httpx.Client(timeout=600, limits=limits) as http:
                print(f"Space pid {process.pid} at {url}; {len(questions):,} questions (full size); {load()}")
                compare_with_bare_route(url, tmp, args.reads, args.rounds)
                inputs = endpoint_defaults(http, url, "leaderboard")
                for _ in range(3):  # warm up
                    call(http, url, "leaderboard", inputs)
                single = [together(1, lambda _: call(http, url, "leaderboard", inputs))[0][0] for _ in range(10)]
                many = together(args.reads, lambda i: call(http, url, "leaderboard", inputs))
                times = [seconds for seconds, _ in many]
                print(f"/leaderboard ({len(inputs)} inputs, from the Space's API description): one read median "
                      f"{1000 * statistics.median(single):.0f} ms; {args.reads} at once median "
                      f"{1000 * statistics.median(times):.0f} ms, p95 {1000 * p95(times):.0f} ms = "
                      f"{p95(times) / statistics.median(single):.1f}x one (target <= 3x); {load()}")
                burst(http, url, tmp, questions, args.submits)
                upload_against_in_process(http, url, tmp, questions, home / "medcmr", args.rounds)
                if args.hostile:  # 0: skip
                    hostile_burst(http, url, tmp, process.pid, args.hostile)
                left = [p for p in uploads.rglob("*") if p.is_file()]
                kinds: dict[str, int] = {}
                for path in left:
                    kind = path.suffix or ("tmp* (Gradio's empty per-submit files)" if path.name.startswith("tmp")
                                           else path.name)
                    kinds[kind] = kinds.get(kind, 0) + 1
                sent = sum(kinds.get(suffix, 0) for suffix in (".jsonl", ".json", ".csv", ".tsv", ".xlsx"))
                print(f"Gradio's upload folder afterwards: {len(left)} files, "
                      f"{sum(p.stat().st_size for p in left) / 2**20:.1f} MB by kind {kinds}; {sent} of them "
                      "predictions uploads (each is deleted 30 s after its submit)")
        finally:
            process.terminate()
            process.wait(30)


def hostile_burst(http: httpx.Client, url: str, tmp: Path, pid: int, count: int) -> None:
    before = peak_rss_mb(pid)
    hostile = []
    for n in range(count):
        path = tmp / f"hostile-{n}.jsonl"
        with path.open("w") as out:
            for i in range(1_000_000):
                out.write(f'{{"id": "mcq-{10**7 + n * 10**6 + i}", "prediction": "A"}}\n')
        hostile.append(path)
    many = together(count, lambda i: submit(http, url, hostile[i], f"hostile-{i}", refusal_ok=True))
    refused = sum("event: error" in text and "unknown" in text.lower() for _, text in many)
    kept = sum("event: error" not in text for _, text in many)
    print(f"{count} x {hostile[0].stat().st_size / 2**20:.0f} MB of unknown ids at once (upload + answer): "
          + ", ".join(f"{seconds:.2f} s" for seconds, _ in many)
          + f" (target < 3 s each); {refused} refused at once by content, {kept} kept and refused after their "
          f"check; app peak RSS {before:.0f} MB before, {peak_rss_mb(pid):.0f} MB after (target far below 1024 MB); "
          f"{load()}")


if __name__ == "__main__":
    main()
