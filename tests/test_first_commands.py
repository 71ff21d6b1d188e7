"""First steps that go wrong say so in one line, before any work, naming what to change."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_a_port_in_use_is_one_line_before_anything_is_built(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("-m", "space", "--home", str(tmp_path / "home"), "--port", str(port))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "home" / "medcmr").exists()  # no sample was built first


def test_deploy_checks_its_token_and_repo_name_first() -> None:
    no_token = run("-m", "space.deploy", "--repo", "org/medcmr-leaderboard", env={"HF_TOKEN": ""})
    assert no_token.returncode != 0 and "HF_TOKEN is not set" in no_token.stderr
    assert len(no_token.stderr.strip().splitlines()) == 1
    bad_name = run("-m", "space.deploy", "--repo", "not a repo", env={"HF_TOKEN": "hf_x"})
    assert bad_name.returncode != 0 and "expected ORG/NAME" in bad_name.stderr and "Traceback" not in bad_name.stderr


def test_help_writes_nothing(tmp_path: Path) -> None:
    folder = ROOT / "bridges" / "lmms_eval"
    before = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    done = run("-m", "bridges.lmms_tasks", "--help")
    assert done.returncode == 0 and "usage:" in done.stdout
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_each_range_error_names_its_flag(built_dataset: Path, tmp_path: Path) -> None:
    for flag, value in (("--limit", "-3"), ("--concurrency", "0"), ("--timeout", "0")):
        done = run("medcmr.py", "predict", "--model", "baseline:random", "--data", str(built_dataset), "--out",
                   str(tmp_path / "p.jsonl"), flag, value)
        assert done.returncode == 2, done.stderr
        message = done.stderr.strip().splitlines()[-1]
        assert flag in message and value.lstrip("-") in message
        others = {"--limit", "--concurrency", "--timeout", "--retries", "--max-tokens", "--image-max-side"} - {flag}
        assert not any(other in message for other in others), message


def test_advice_names_the_command_the_user_ran(tmp_path: Path) -> None:
    done = run("-m", "judge", "score", "--predictions", str(tmp_path / "p.jsonl"), "--data", str(tmp_path),
               "--out", str(tmp_path / "r.json"))
    assert "python medcmr.py build" in done.stderr
    installed = Path(sys.executable).with_name("medcmr-judge")  # the README's set-up installs the commands
    done = subprocess.run([str(installed), "score", "--predictions", str(tmp_path / "p.jsonl"), "--data",
                           str(tmp_path), "--out", str(tmp_path / "r.json")], capture_output=True, text=True,
                          timeout=120)
    assert "`medcmr build`" in done.stderr and "python medcmr.py" not in done.stderr


HEAVY = {"gradio", "datasets", "openai", "pandas", "pyarrow", "huggingface_hub", "scipy", "PIL", "httpx"}
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command", [
    ["medcmr", "--help"], ["medcmr", "fake-model", "--help"], ["medcmr-judge", "--help"],
    ["medcmr-judge", "score", "--help"], ["medcmr-space", "--help"], ["-m", "space.moderate", "--help"],
    ["-m", "bridges", "--help"], ["-m", "bridges", "merge", "--help"], ["-m", "space.deploy", "--help"],
], ids=" ".join)
def test_help_loads_no_heavy_library(command: list[str]) -> None:
    """--help answers before Gradio, datasets, the OpenAI client or pandas are imported: it costs an
    interpreter's start, not the kit's (bench/bench_help.py times it against a bare start)."""
    import os

    executable = [sys.executable] if command[0] == "-m" else [str(BIN / command[0])]
    done = subprocess.run([*executable, *command[1 if command[0] != "-m" else 0:]], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("usage: "), done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "argparse" in imported and not imported & HEAVY, sorted(imported & HEAVY)
