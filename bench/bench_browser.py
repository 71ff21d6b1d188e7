"""How fast the board reads in a real browser: a warm local Space, headless Chromium, median of N loads.

    .venv/bin/python bench/bench_browser.py [--runs 3] [--width 1400] [--home DIR]

Times, from navigation start: the first table row on screen (target <= 1.0 s) and both plots drawn
(target <= 1.5 s). One load warms the server and the browser cache first. Prints the load average
beside the figures, since the machine is shared. Runs offline on the sample release.
"""
from __future__ import annotations

import argparse
import os
import shutil
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
FIRST_ROW = "#board .virtual-row[data-index='0'] [data-col='1']"
PLOTS = ("#radar-plot .main-svg", "#size-plot .main-svg")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_space(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    log = open(home.parent / "space.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "space", "--home", str(home), "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Space exited; see {home.parent / 'space.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the Space did not start within 300 s")


def one_load(browser, url: str, width: int) -> tuple[float, float]:
    """(first row, plots) in seconds after navigation starts, in a fresh page of a warm browser."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.locator(FIRST_ROW).first.wait_for(state="visible", timeout=60_000)
    first_row = time.perf_counter() - start
    for selector in PLOTS:
        page.locator(selector).first.wait_for(state="visible", timeout=60_000)
    plots = time.perf_counter() - start
    page.close()
    return first_row, plots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--home", type=Path, help="an existing Space home (default: a fresh sample build)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="medcmr-bench-browser-"))
    home = args.home or scratch / "home"
    port = free_port()
    space = start_space(home, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            one_load(browser, url, args.width)  # warm: server caches, browser cache, Python imports
            results = [one_load(browser, url, args.width) for _ in range(args.runs)]
            browser.close()
    finally:
        space.kill()
        space.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)
    rows, plots = statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"width {args.width}px, {args.runs} loads, load average {load} ({os.cpu_count()} cores)")
    print(f"first row visible: median {rows:.2f} s (runs {', '.join(f'{r[0]:.2f}' for r in results)}; "
          f"target 1.00 s: {'met' if rows <= 1.0 else 'missed'})")
    print(f"plots drawn:       median {plots:.2f} s (runs {', '.join(f'{r[1]:.2f}' for r in results)}; "
          f"target 1.50 s: {'met' if plots <= 1.5 else 'missed'})")


if __name__ == "__main__":
    main()
