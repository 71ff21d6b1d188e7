"""Explore benchmark: browsing and comparing two full-size submissions.

    .venv/bin/python bench/bench_explore.py [--out bench/out/board] [--image-kb 0]

The full-size synthetic release of bench_board.py (16,655 MCQ + 3,999 open questions, the
paper's per-dimension counts, varied taxonomy) is built once and reused; `--image-kb N` rebuilds
it with N-KB images instead of tiny ones, so reading a row group of images costs what it would
(100 rows a group: N = 300 reads 30 MB per question opened cold). Two submissions are scored
through the real worker (no judge: open answers await), then timed through `Explorer`:
opening a question with its thumbnail cold (target <= 200 ms), a filtered page of 50 rows
(target <= 300 ms) and the compare view of the two (target <= 1 s). On a shared machine, read
each figure next to the load average printed beside it.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import medcmr  # noqa: E402
from bench_board import full_size_dataset, write_full_size_release, write_predictions  # noqa: E402
from leaderboard.explore import Explorer  # noqa: E402
from leaderboard.intake import SubmissionMeta  # noqa: E402
from leaderboard.service import Leaderboard  # noqa: E402


def noisy_png(seed: int, kilobytes: int) -> bytes:
    """A grey-scale PNG of about `kilobytes` (noise compresses poorly, so the size holds)."""
    side = max(8, int((kilobytes * 1024) ** 0.5))
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def dataset(out: Path, image_kb: int) -> Path:
    """bench_board's full-size build; with `image_kb`, its eight images swapped for larger ones."""
    if not image_kb:
        return full_size_dataset(out)
    folder = out / f"images-{image_kb}kb"
    data_dir = folder / "medcmr"
    if not (data_dir / "build_info.json").exists():
        release = write_full_size_release(folder / "dataset.zip")
        bigger = folder / "dataset-big.zip"
        with zipfile.ZipFile(release) as source, zipfile.ZipFile(bigger, "w") as target:
            for number, info in enumerate(source.infolist()):
                data = source.read(info)
                if info.filename.endswith(".png"):
                    data = noisy_png(number, image_kb)
                target.writestr(info, data)
        started = time.perf_counter()
        medcmr.build(bigger, data_dir)
        print(f"built the full-size dataset with {image_kb} KB images in {time.perf_counter() - started:.1f} s")
    return data_dir


def resident_mb() -> float:
    """This process's resident memory now (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(label: str, seconds: list[float], target_ms: float) -> None:
    median, worst = statistics.median(seconds) * 1000, max(seconds) * 1000
    verdict = "ok" if median <= target_ms else "OVER"
    print(f"{label:<52} median {median:7.1f} ms  max {worst:7.1f} ms  (target {target_ms:.0f} ms: {verdict}; {load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "board")
    parser.add_argument("--image-kb", type=int, default=0, help="image size in KB (0: bench_board's tiny images)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    data_dir = dataset(args.out, args.image_kb)
    questions = medcmr.load_questions(data_dir)
    n_mcq = sum(q["question_type"] == "mcq" for q in questions)
    print(f"dataset: {n_mcq:,} MCQ + {len(questions) - n_mcq:,} open questions in {data_dir}")

    home = args.out / "home-explore"
    shutil.rmtree(home, ignore_errors=True)
    board = Leaderboard(home, data_dir)
    ids = []
    for seed in (1, 2):
        path = write_predictions(args.out / f"explore-{seed}.jsonl", questions, random.Random(seed))
        ids.append(board.submit(path, SubmissionMeta(model=f"Explore-bench-{seed}"), f"bench-{seed}")["id"])
    board.start()
    try:
        assert board.wait_idle(600), "the worker did not score both submissions"
    finally:
        board.stop()
    first, second = ids

    seconds, explorer = timed(Explorer, board)
    print(f"{'explorer start (question map + image index)':<52} {seconds * 1000:7.1f} ms for "
          f"{len(explorer.images):,} images; {load()}")
    seconds, _ = timed(explorer.page, first)
    print(f"{'first page of a submission (parse its details once)':<52} {seconds * 1000:7.1f} ms; {load()}")

    rng = random.Random(3)
    facets = explorer.facet_values()
    filtered = []
    for _ in range(args.runs):
        filters = {"dimension": [rng.choice(facets["dimension"])], "modality": rng.sample(facets["modality"], 2),
                   "status": [rng.choice(["correct", "wrong", "awaiting"])], "page": rng.randint(1, 5)}
        filtered.append(timed(explorer.page, first, **filters)[0])
    report("filtered page of 50 (dimension + modality + status)", filtered, 300)
    searched = [timed(explorer.page, first, search=rng.choice(["question 1", "option c", "diagnosis", "finding"]),
                      page=rng.randint(1, 3))[0] for _ in range(args.runs)]
    report("text search, page of 50", searched, 300)

    sample = rng.sample([q["id"] for q in questions], args.runs)
    opened = []
    for item_id in sample:  # distinct ids: every thumbnail is made cold, its row group read
        started = time.perf_counter()
        explorer.item(first, item_id)
        explorer.thumbnail(item_id)
        opened.append(time.perf_counter() - started)
    report("open a question + thumbnail (cold)", opened, 200)
    full = [timed(explorer.full_image, item_id)[0] for item_id in sample]
    report("full-size image of a question", full, 200)

    cold, result = timed(explorer.compare, first, second)
    print(f"{'compare view, two full submissions (cold)':<52} {cold * 1000:7.1f} ms  (target 1000 ms: "
          f"{'ok' if cold <= 1 else 'OVER'}; {load()})")
    print(f"  {result.mcq.sentence}")
    disagree = [timed(explorer.page, first, disagree_with=second, page=rng.randint(1, 20))[0]
                for _ in range(args.runs)]
    report("page of questions where they disagree (warm)", disagree, 300)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS now {resident_mb():,.0f} MB (peak {peak:,.0f} MB, with any build made in this run); details "
          f"parsed for {len(explorer._views)} submission(s), {explorer.images.thumbnail.cache_info().currsize} "
          "thumbnails kept")


if __name__ == "__main__":
    main()
