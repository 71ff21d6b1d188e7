"""Shared fixtures: an isolated, offline Hugging Face environment and one sample build per run.

Every test run gets its own HF_HOME and HF_HUB_OFFLINE=1, so a stale cache can never pass a
broken build and no test touches the network.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_HF_HOME = tempfile.mkdtemp(prefix="medcmr-hf-home-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_DATASETS_CACHE"] = str(Path(_HF_HOME) / "datasets")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
for _secret in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_TOKEN",
                "MEDCMR_JUDGE_BASE_URL", "MEDCMR_JUDGE_MODEL", "MEDCMR_JUDGE_API_KEY",
                "MEDCMR_PREDICT_BASE_URL", "MEDCMR_PREDICT_MODEL", "MEDCMR_PREDICT_API_KEY"):
    os.environ.pop(_secret, None)


@pytest.fixture
def running():
    """`running(board)` starts a Leaderboard for this test and stops it after, whatever the test did."""
    started = []

    def start(board, *, worker: bool = True):
        started.append(board)
        if worker:
            board.start()
        return board

    yield start
    for board in started:
        board.stop()


@pytest.fixture(scope="session")
def sample_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small release archive in the official layout, made by the project itself."""
    import medcmr

    return medcmr.write_sample_release(tmp_path_factory.mktemp("release") / "dataset.zip")


@pytest.fixture(scope="session")
def built_dataset(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample release built into a Hub-ready folder named `medcmr` (read-only for tests)."""
    import medcmr

    out = tmp_path_factory.mktemp("built") / "medcmr"
    medcmr.build(sample_zip, out)
    return out


@pytest.fixture(scope="session")
def questions(built_dataset: Path) -> list[dict]:
    """Every question of the sample build, without images (what the judge and the Space score against)."""
    from release.built import load_questions

    return load_questions(built_dataset)
