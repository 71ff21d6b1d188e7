"""The Space on a pushed build: only the questions artifact and build_info.json are downloaded at start,
the full benchmark is scored, and images come one shard at a time. The Hub is tests/hub_server.py on
127.0.0.1, reached by the real `huggingface_hub` client through its endpoint setting."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from gradio_client import Client

import medcmr
from core.settings import Settings
from release.hub import ShardImages, fetch_questions
from release.questions import QUESTIONS_FILE
from tests.answers import write_predictions
from tests.hub_server import COMMIT, HubServer, write_synthetic_questions
from tests.space_app import SpaceProcess, board, submit, wait_for_status

ROOT = Path(__file__).resolve().parent.parent


def hub_env(server: HubServer, revision: str | None = COMMIT) -> dict[str, str]:
    """What a maintainer sets on the Space (the repo and its commit), plus the endpoint of the test Hub."""
    return {"MEDCMR_DATASET_REPO": server.repo_id, "HF_ENDPOINT": server.url, "HF_HUB_OFFLINE": "0",
            **({"MEDCMR_DATASET_REVISION": revision} if revision else {})}


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process client may talk to 127.0.0.1 (conftest sets HF_HUB_OFFLINE=1 for everything else)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def test_a_fresh_space_scores_the_full_benchmark_from_the_questions_alone(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    questions = write_synthetic_questions(repo)
    assert len(questions) == 20_654
    with HubServer(repo) as server:
        space = SpaceProcess(tmp_path / "home", hub_env(server))  # start time: bench/bench_space_start.py
        try:
            assert server.downloaded() == {"build_info.json", QUESTIONS_FILE}
            assert f"Dataset: org/Med-CMR at commit {COMMIT[:12]}: 20,654 questions" in space.log()
            assert not (tmp_path / "home" / "medcmr").exists(), "no sample build when a dataset repo is set"

            client = Client(space.url, verbose=False)
            expected = write_predictions(tmp_path / "full.jsonl", questions, right=12_345, open_answer="finding")
            receipt = submit(client, tmp_path / "full.jsonl", "Full-Size-VL")
            assert receipt["coverage"]["given"] == 20_654
            wait_for_status(client, receipt["id"], ("awaiting judge",), timeout=180)
            [row] = board(client, search="Full-Size-VL")
            assert row["MCQ"] == pytest.approx(expected, abs=0.01) and round(expected, 2) == round(100 * 12_345 / 16_655, 2)
        finally:
            space.kill()
        assert server.downloaded() == {"build_info.json", QUESTIONS_FILE}, "no shard was ever downloaded"


def test_an_unreachable_dataset_repo_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_synthetic_questions(repo, 10, 5)
    with HubServer(repo) as server:
        env = {**os.environ, **hub_env(server, revision="f" * 40)}
        result = subprocess.run([sys.executable, "-m", "space", "--home", str(tmp_path / "home")], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"error: org/Med-CMR: cannot get build_info.json and {QUESTIONS_FILE} at revision {'f' * 40}" \
        in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "home" / "medcmr").exists()


def test_without_a_build_or_a_repo_the_sample_is_served_and_says_so(tmp_path: Path, capsys) -> None:
    from space.serve import ensure_dataset

    served = ensure_dataset(tmp_path, Settings())
    assert "building the sample release there, so this board scores the sample" in capsys.readouterr().out
    assert served.data_dir == tmp_path / "medcmr" and len(medcmr.load_questions(served.data_dir)) > 0
    again = ensure_dataset(tmp_path, Settings(dataset_repo="org/never-asked"))
    assert again.data_dir == served.data_dir, "a local build wins over a dataset repo"
    assert f"Dataset: the build at {served.data_dir}" in capsys.readouterr().out


def test_fetch_questions_gets_one_commit_and_serves_it_from_the_cache_offline(
        built_dataset: Path, tmp_path: Path, online, monkeypatch: pytest.MonkeyPatch) -> None:
    with HubServer(built_dataset) as server:
        fetched = fetch_questions(server.repo_id, None, tmp_path / "cache", endpoint=server.url)
        assert fetched.commit == COMMIT and server.downloaded() == {"build_info.json", QUESTIONS_FILE}
    assert medcmr.load_questions(fetched.folder) == medcmr.load_questions(built_dataset)
    assert medcmr.provenance(fetched.folder) == medcmr.provenance(built_dataset)
    # the Hub gone: a pinned commit already downloaded still serves
    again = fetch_questions(server.repo_id, COMMIT, tmp_path / "cache", endpoint=server.url)
    assert again == fetched


def test_image_for_fetches_one_shard_at_a_time_within_the_bound(built_dataset: Path, tmp_path: Path, online) -> None:
    by_id = {row["id"]: row for row in datasets.load_dataset(str(built_dataset), split="test")}
    questions = medcmr.load_questions(built_dataset)
    shard_of = {row["id"]: row["shard"] for row in shard_rows(built_dataset)}
    one_per_shard = list({shard_of[q["id"]]: q["id"] for q in questions}.values())[:3]
    with HubServer(built_dataset) as server:
        fetched = fetch_questions(server.repo_id, COMMIT, tmp_path / "hub", endpoint=server.url)
        largest = max((built_dataset / shard_of[i]).stat().st_size for i in one_per_shard)
        images = ShardImages(fetched.folder, server.repo_id, fetched.commit, cache_dir=tmp_path / "images",
                             max_bytes=largest, endpoint=server.url)
        for question_id in one_per_shard:
            image = images.image_for(question_id)
            assert image.tobytes() == by_id[question_id]["image"].tobytes()
            assert images.cached_bytes() <= largest
        assert server.downloaded() - {"build_info.json", QUESTIONS_FILE} == {shard_of[i] for i in one_per_shard}
        on_disk = sorted(p.relative_to(tmp_path / "images").as_posix() for p in (tmp_path / "images").glob("data/*/*"))
        assert on_disk == [shard_of[one_per_shard[-1]]], "older shards are evicted beyond the bound"
        requests = len(server.requests)
        images.image_for(one_per_shard[-1])
        assert len(server.requests) == requests, "a cached shard is not downloaded again"
        with pytest.raises(KeyError):
            images.image_for("mcq-99999999")


def test_image_for_reads_a_local_build_in_place(built_dataset: Path, tmp_path: Path) -> None:
    older = tmp_path / "older-build"  # built before the questions artifact existed
    shutil.copytree(built_dataset, older, ignore=shutil.ignore_patterns("questions"))
    row = datasets.load_dataset(str(built_dataset), "causal_open", split="test")[0]
    for folder in (built_dataset, older):
        images = ShardImages(folder, cache_dir=tmp_path / "images")
        assert images.image_for(row["id"]).tobytes() == row["image"].tobytes()
    assert not (tmp_path / "images").exists()


def shard_rows(built: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(built / QUESTIONS_FILE, columns=["id", "shard"]).to_pylist()


def test_the_explorer_of_a_questions_only_space_fetches_images_from_the_hub(built_dataset: Path, tmp_path: Path,
                                                                             online) -> None:
    """A Space on a dataset repo has no shards locally: the explorer's images come through ShardImages."""
    from PIL import Image

    from leaderboard.explore import Explorer
    from leaderboard.service import Leaderboard

    by_id = {row["id"]: row for row in datasets.load_dataset(str(built_dataset), split="test")}
    with HubServer(built_dataset) as server:
        fetched = fetch_questions(server.repo_id, COMMIT, tmp_path / "hub", endpoint=server.url)
        images = ShardImages(fetched.folder, server.repo_id, fetched.commit, cache_dir=tmp_path / "images",
                             endpoint=server.url)
        explorer = Explorer(Leaderboard(tmp_path / "home", fetched.folder, images=images), files=tmp_path / "files")
        question_id = next(iter(by_id))
        with Image.open(explorer.full_image(question_id)) as full:
            assert full.tobytes() == by_id[question_id]["image"].tobytes()
        with Image.open(explorer.thumbnail(question_id)) as thumbnail:
            assert max(thumbnail.size) <= max(by_id[question_id]["image"].size)
        assert explorer.full_image("mcq-99999999") is None
        assert any(name.startswith("data/") for name in server.downloaded()), "the image came from the Hub"
