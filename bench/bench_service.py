"""Service benchmark: bytes written to storage while scoring one large upload, and when its MCQ
and full results appear.

    .venv/bin/python bench/bench_service.py [--mib 20] [--work DIR]

The sample release is built into a disk-backed work folder; one predictions file of about
`--mib` MiB (long open answers) is written there first, then the counter starts: `submit`, the
MCQ lane and the judge lane (a real HTTP judge, fakes/server.py) run in this process, and
`write_bytes` from /proc/self/io (what this process sent to the storage layer) is read before and
after. Twice: as the Space submits a Gradio upload (given up, so the store links it when the
home is on the same file system) and as a caller who keeps its file (copied). Target: at most 2x
the upload's size. The load average is printed beside the numbers because the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from judge.endpoint import Endpoint  # noqa: E402
from leaderboard.intake import SubmissionMeta  # noqa: E402
from leaderboard.service import Leaderboard  # noqa: E402
from release.build import build  # noqa: E402
from release.built import load_questions  # noqa: E402
from release.sample import write_sample_release  # noqa: E402
from fakes.judge import fake_judge  # noqa: E402
from fakes.server import OpenAIServer  # noqa: E402

TARGET_RATIO = 2.0


def write_bytes() -> int:
    """Bytes this process has caused to be written to storage so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes")


WORDS = ("the", "left", "right", "lower", "upper", "lobe", "opacity", "effusion", "nodule", "mass", "margin",
         "contrast", "enhancement", "lesion", "cortex", "signal", "hyperintense", "hypodense", "consistent", "with",
         "no", "evidence", "of", "fracture", "edema", "vessel", "artery", "vein", "wall", "thickening", "mild",
         "moderate", "severe", "small", "large", "focal", "diffuse", "image", "shows", "suggests", "likely",
         "differential", "includes", "infection", "tumour", "cyst", "calcification", "mm", "cm", "and", "is")


def large_predictions(path: Path, questions: list[dict], size: int) -> int:
    """Every question answered; open answers padded with seeded random prose (it compresses about as
    much as a model's reasoning does) so the file is about `size` bytes."""
    rng = random.Random(0)
    opens = [q for q in questions if q["question_type"] == "open"]
    pad = max(0, size // max(1, len(opens)) - 200)
    with path.open("w", encoding="utf-8") as out:
        for q in questions:
            if q["question_type"] == "mcq":
                answer = f"Answer: {q['answer']}"
            else:
                prose = " ".join(rng.choices(WORDS, k=pad // 7))
                answer = f"Reasoning: {prose}. Answer: {q['answer']}"
            out.write(json.dumps({"id": q["id"], "prediction": answer}) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return path.stat().st_size


def measure(home: Path, data: Path, upload: Path, size: int, given_up: bool) -> None:
    """Submit `upload` to a new board on `home` and wait until it is judged; print what was written."""
    with OpenAIServer(fake_judge) as server:
        endpoint = Endpoint(base_url=server.base_url, model="bench-judge", api_key="k", timeout=30, max_retries=2)
        before = write_bytes()
        started = time.monotonic()
        board = Leaderboard(home, data, Settings(max_file_bytes=size + 1), endpoint=endpoint)
        board.start()
        submission = board.submit(upload, SubmissionMeta(model="Bench"), "bench", given_up=given_up)["id"]
        submitted = time.monotonic()
        mcq_at = None
        while (status := board.status(submission)[0]["status"]) != "finished":
            if mcq_at is None and board.scores(submission):
                mcq_at = time.monotonic()
            if status == "failed" or time.monotonic() - started > 600:
                raise SystemExit(f"scoring did not finish: {board.status(submission)[0]}")
            time.sleep(0.05)
        finished = time.monotonic()
        board.stop()
        written = write_bytes() - before
    ratio = written / size
    print(f"{'given-up upload (linked)' if given_up else 'kept file (copied)'}: upload {size / 2**20:.1f} MiB; "
          f"written while scoring {written / 2**20:.1f} MiB = {ratio:.2f}x "
          f"(target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})")
    print(f"  submit {submitted - started:.2f} s; MCQ on the board {((mcq_at or finished) - submitted):.2f} s "
          f"after submit; finished {finished - submitted:.2f} s after submit ({server.calls} judge calls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=20.0, help="upload size in MiB (default 20)")
    parser.add_argument("--work", type=Path, help="a disk-backed folder (default: a temporary one under /var/tmp)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medcmr-bench-service-", dir=args.work or "/var/tmp"))
    try:
        data = work / "medcmr"
        build(write_sample_release(work / "release" / "dataset.zip"), data)
        upload = work / "upload" / "preds.jsonl"
        upload.parent.mkdir()
        size = large_predictions(upload, load_questions(data), int(args.mib * 2**20))
        for given_up in (True, False):
            measure(work / ("home-linked" if given_up else "home-copied"), data, upload, size, given_up)
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
