"""How fast the board reads in a real browser: a warm local Space, headless Chromium, median of N loads.

    .venv/bin/python bench/bench_browser.py [--runs 5] [--width 1400] [--home DIR] [--vs OTHER_CHECKOUT]

Times, from navigation start, in a fresh browser context each load (a first visit: nothing cached):
the first row of the board's table on screen (target <= 0.8 s; also whether it is on the first screen),
the first plot drawn (target <= 1.5 s), every plot drawn, and when a first row is readable at all (the
page's HTML brings the first rows before Gradio draws its table), and when the interval chart is readable
(the page's HTML brings it too). `--busy N` keeps N processes spinning on the CPU while it measures (each stops
by itself within 15 minutes), to see what a visitor reads first under load. One load warms the server
first. `--vs` starts a second Space from another checkout of this project (e.g. a `git worktree` of an
earlier commit) and alternates loads between the two, so both are measured under the same load; the
ratios are printed. The headline is Gradio's own table row beside the peer: a static HTML page with
the same table (the Space's /board.json) served by Python's HTTP server, loaded alternately with
the Space. Prints the load average beside the figures, since the machine is shared. Runs
offline on the sample release.
"""
from __future__ import annotations

import argparse
import html
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FIRST_ROW = "#board tbody tr:first-child th"  # the board's first row as the app draws it
PREVIEW_ROW = "#board-preview tbody tr:first-child th"  # the page's own first row, in its first bytes
PREVIEW_CHART = "#board-preview svg[role=img]"  # the interval chart, in the page's first bytes
# The board tab's charts as drawn: the server's SVG, plotly's own svg (not a placeholder icon before it loads).
PLOTS = ("#interval-plot svg[role=img]", "#radar-plot .main-svg", "#size-plot .main-svg")
# Whether each selector's element is drawn: present, with a box, not hidden by CSS.
DRAWN = "sels => sels.map(s => { const e = document.querySelector(s); if (!e) return false; " \
        "const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && " \
        "getComputedStyle(e).visibility !== 'hidden'; })"


SPIN = "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_space(home: Path, port: int, checkout: Path = ROOT, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(checkout),
           **(extra_env or {})}
    log = open(home.parent / f"space-{port}.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "space", "--home", str(home), "--port", str(port)],
                               cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # its own group: a Node server it starts (SSR) ends with it
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Space exited; see {home.parent / f'space-{port}.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the Space did not start within 300 s")


def one_load(browser, url: str, width: int, height: int,
             returning: bool = False) -> tuple[float, float, float, bool, float, float]:
    """(first row of the board's table, first plot, every plot) in seconds after navigation starts, whether
    that row is on the first screen, and when a first row was readable (the page's HTML preview or the
    table), in a fresh context of a running browser (no cache: a first visit), or with `returning` in a
    context that loaded the page once before (what its browser cache keeps)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if returning:
        first = context.new_page()
        first.goto(url)
        first.locator(FIRST_ROW).first.wait_for(state="visible", timeout=60_000)
        first.close()
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    seen: dict[str, float] = {}  # selector -> seconds until first drawn, polled from navigation on
    watched = [PREVIEW_ROW, PREVIEW_CHART, FIRST_ROW, *PLOTS]
    charts = None  # the charts this page has, known once it is up
    deadline = time.monotonic() + 60
    while charts is None or not all(selector in seen for selector in (FIRST_ROW, *charts)):
        now = time.perf_counter() - start
        for selector, drawn in zip(watched, page.evaluate(DRAWN, watched)):
            if drawn and selector not in seen:
                seen[selector] = now
        if FIRST_ROW in seen and charts is None:
            charts = [plot for plot in PLOTS if page.locator(plot.split()[0]).count()]
        if time.monotonic() > deadline:
            raise SystemExit(f"not everything was drawn within 60 s (drawn: {sorted(seen)})")
        time.sleep(0.02)
    first_row = seen[FIRST_ROW]
    readable = min(seen.get(PREVIEW_ROW, first_row), first_row)
    chart = min(seen.get(PREVIEW_CHART, math.inf), seen.get(PLOTS[0], math.inf))
    first_plot = min(seen[plot] for plot in charts)
    every_plot = max(seen[plot] for plot in charts)
    row = page.locator(FIRST_ROW).first
    on_screen = row.evaluate("e => e.getBoundingClientRect().bottom <= window.innerHeight")
    context.close()
    return first_row, first_plot, every_plot, on_screen, readable, chart


STATIC_ROW = "#board tbody tr:first-child td:nth-child(2)"
QUIET_HANDLER = """
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
"""


def static_board(space_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """The peer: a static HTML page with the same table (the Space's /board.json), served by Python's own
    HTTP server on 127.0.0.1; returns (process, its URL)."""
    with urllib.request.urlopen(space_url + "board.json", timeout=60) as answer:
        rows = json.load(answer)
    rows = rows["data"] if isinstance(rows, dict) and "data" in rows else rows
    columns = list(rows[0])
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
                    for row in rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(f"<!doctype html><meta charset=utf-8><title>board</title><table id=board>"
                                       f"<thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>",
                                       encoding="utf-8")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", QUIET_HANDLER, str(folder), str(port)],
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/index.html"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process, url
        except OSError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the static page's server did not start")


def static_load(browser, url: str, width: int, height: int) -> float:
    """Seconds from navigation until the static page's first row is drawn, in a fresh context."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    deadline = time.monotonic() + 60
    while not page.evaluate(DRAWN, [STATIC_ROW])[0]:
        if time.monotonic() > deadline:
            raise SystemExit("the static page's first row was not drawn within 60 s")
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def summary(name: str, results: list[tuple[float, float, float, bool, float]]) -> tuple[float, ...]:
    medians = tuple(statistics.median(r[i] for r in results) for i in (0, 1, 2, 4))
def summary(name: str, results: list[tuple[float, float, float, bool, float, float]]) -> tuple[float, ...]:
    medians = tuple(statistics.median(r[i] for r in results) for i in (0, 1, 2, 4, 5))
    runs = "; ".join(f"{r[0]:.2f}/{r[1]:.2f}/{r[2]:.2f}" for r in results)
    screen = sum(r[3] for r in results)
    print(f"{name}: first row {medians[0]:.2f} s (target 0.80: {'met' if medians[0] <= 0.8 else 'missed'}), "
          f"first plot {medians[1]:.2f} s (target 1.50: {'met' if medians[1] <= 1.5 else 'missed'}), "
          f"every plot {medians[2]:.2f} s; first row on the first screen in {screen}/{len(results)} loads; "
          f"first rows readable (the page's own preview, else the table) {medians[3]:.2f} s, interval chart "
          f"readable {medians[4]:.2f} s (min {min(r[5] for r in results):.2f}, max {max(r[5] for r in results):.2f})\n"
          f"    runs (row/first plot/every plot): {runs}")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--home", type=Path, help="an existing Space home (default: a fresh sample build)")
    parser.add_argument("--vs", type=Path, help="another checkout of this project to measure beside this one")
    parser.add_argument("--vs-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the --vs Space only (e.g. GRADIO_SSR_MODE=True)")
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU while measuring (load)")
    parser.add_argument("--returning", action="store_true", help="a returning visitor: the browser cache of one "
                        "earlier visit (default: a first visit, nothing cached)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="medcmr-bench-browser-"))
    home = args.home or scratch / "home"
    spaces = {"this checkout": (ROOT, home, {})}
    if args.vs:
        other = scratch / "other" / "home"
        other.parent.mkdir(parents=True)
        extra = dict(pair.split("=", 1) for pair in args.vs_env)
        spaces[" ".join([f"--vs {args.vs}", *args.vs_env])] = (args.vs.resolve(), other, extra)
    started = []
    spinning = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    try:
        urls = {}
        for name, (checkout, folder, extra) in spaces.items():
            port = free_port()
            started.append(start_space(folder, port, checkout, extra))
            urls[name] = f"http://127.0.0.1:{port}/"
        results: dict[str, list] = {name: [] for name in urls}
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for url in urls.values():
                one_load(browser, url, args.width, args.height)  # warm: server caches, Python imports
            static, static_url = static_board(urls["this checkout"], scratch / "static")
            started.append(static)
            static_load(browser, static_url, args.width, args.height)
            statics = []
            for _ in range(args.runs):
                for name, url in urls.items():  # alternated: all see the same load
                    results[name].append(one_load(browser, url, args.width, args.height, args.returning))
                statics.append(static_load(browser, static_url, args.width, args.height))
            browser.close()
    finally:
        for process in spinning:
            process.kill()
            process.wait(30)
        for process in started:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    visit = "returning visitor" if args.returning else "first visit"
    print(f"{args.width}x{args.height}, {visit}, {args.runs} loads each, {args.busy} busy processes, load average "
          f"{load} ({os.cpu_count()} cores)")
    gradio_row = statistics.median(r[0] for r in results["this checkout"])
    print(f"HEADLINE: Gradio's own table row {gradio_row:.2f} s (median) beside a static HTML page with the same "
          f"table, loaded alternately: min {min(statics):.2f} s, median {statistics.median(statics):.2f} s "
          f"= {gradio_row / statistics.median(statics):.1f}x the static page")
    medians = {name: summary(name, rows) for name, rows in results.items()}
    if len(medians) == 2:
        (_, mine), (other_name, theirs) = medians.items()
        print("ratios this / " + other_name + ": " + ", ".join(
            f"{what} {a / b:.2f}x" for what, a, b in zip(("first row", "first plot", "every plot", "first rows readable",
                                                         "interval chart readable"),
                                                         mine, theirs)))


if __name__ == "__main__":
    main()
