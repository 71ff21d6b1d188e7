"""A real Space for tests: `python -m space` in a subprocess, and gradio_client helpers to drive it.

Shared by every module that tests the Space through its API or a browser.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.polling import until


ROOT = Path(__file__).resolve().parent.parent
ALL_GROUPS = ["Overview", "Dimensions", "Open criteria", "Medical intelligence", "Beyond accuracy", "Model info"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SpaceProcess:
    """`python -m space --home H --port P` with its output in a log file."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, *,
                 command: list[str] | None = None, cwd: Path = ROOT, port: int | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = home.parent / f"space-{self.port}.log"
        private = home.parent / f"tmp-{self.port}"  # its own temporary and upload folders: Spaces that tests
        private.mkdir(parents=True, exist_ok=True)  # run side by side never share /tmp or /tmp/gradio
        environment = {**os.environ, "MEDCMR_RATE_LIMIT": "1000/3600", "TMPDIR": str(private),
                       "GRADIO_TEMP_DIR": str(private / "gradio"), **(env or {})}
        environment.pop("SPACE_ID", None)
        environment.pop("SYSTEM", None)
        command = command or [sys.executable, "-m", "space", "--home", str(home), "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=cwd, env={**environment, "GRADIO_SERVER_PORT": str(self.port)},
                                            stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self, timeout: float = 120.0) -> None:
        def answering() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the Space exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        try:
            until(answering, timeout, f"the Space answering at {self.url}", every=0.3)
        except pytest.fail.Exception as failure:
            self.kill()
            pytest.fail(f"{failure}:\n{self.log()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def rows(table: dict) -> list[dict]:
    """A Dataframe value from gradio_client as a list of row dicts."""
    return [dict(zip(table["headers"], row)) for row in table["data"]]


def submit(client: Client, path: Path, model: str, **meta) -> dict:
    return client.predict(predictions=handle_file(str(path)), model=model, link=meta.get("link", ""),
                          weights=meta.get("weights", "open"), domain=meta.get("domain", "general"),
                          params_b=meta.get("params_b"), description=meta.get("description", ""),
                          public_details=meta.get("public_details", True),
                          **{run: handle_file(str(meta[run])) for run in ("blind_run", "circular_run") if meta.get(run)},
                          **({"runner_model": meta["runner_model"]} if "runner_model" in meta else {}),
                          api_name="/submit")


def status(client: Client, submission_id: str = "") -> list[dict]:
    return rows(client.predict(submission_id=submission_id, api_name="/status"))


def wait_for_status(client: Client, submission_id: str, wanted: tuple[str, ...], timeout: float = 90.0) -> dict:
    def reached() -> dict | None:
        found = status(client, submission_id)
        return found[0] if found and found[0]["status"] in wanted else None

    try:
        return until(reached, timeout, f"{submission_id} reaching {wanted}", every=0.3)
    except pytest.fail.Exception as failure:
        pytest.fail(f"{failure}; its status: {status(client, submission_id)}")


def board(client: Client, search: str = "", sources: list[str] | None = None, sort: str = "",
          **filters) -> list[dict]:
    return rows(client.predict(search=search, weights=filters.get("weights", []),
                               domains=filters.get("domains", []), sizes=filters.get("sizes", []),
                               sources=sources or [], column_groups=filters.get("column_groups", ALL_GROUPS),
                               sort=sort, **({"reproduced": filters["reproduced"]} if "reproduced" in filters else {}),
                               api_name="/leaderboard"))


def make_home(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    home = tmp_path_factory.mktemp(name) / "home"
    shutil.copytree(built_dataset, home / "medcmr")
    return home
