"""A synthetic full-size build (16,655 MCQ + 3,999 open questions, the paper's per-dimension MCQ counts).

The release is written in the official layout with a handful of tiny PNGs shared by all questions:
what the leaderboard reads is the question table, never the pixels, so the real builder
(`medcmr.build`) and the real `load_questions` run at full size in seconds. Used by the full-size
tests and the benches (bench/bench_board.py and those that import it).
"""
from __future__ import annotations

import io
import json
import random
import time
import zipfile
from pathlib import Path

from PIL import Image

import medcmr
from release.reader import RELEASE_FILES

MCQ_PER_DIMENSION = {"Small-object Detection": 1024, "Fine-detail Discrimination": 711,
                     "Spatial Understanding": 371, "Temporal Prediction": 336, "Causal Reasoning": 1922,
                     "Long-tail Generalization": 11582, "Multi-source Integration": 709}
N_OPEN = 3999
CLASSES = ["Clinical Decision Support", "Diagnosis", "Pathophysiologic Analysis",
           "Procedural Risk Assessment", "Staging and Extent Evaluation", "Treatment Response Evaluation"]
MODALITIES = ["X-ray", "CT", "MRI", "Ultrasound", "Histopathology", "Fundus photography"]
ORGANS = ["Respiratory", "Nervous", "Digestive", "Musculoskeletal", "Visual", "Lymphatic"]


def tiny_png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), shade).save(buffer, format="PNG")
    return buffer.getvalue()


def write_full_size_release(path: Path) -> Path:
    """A release zip of the official layout and size; 8 images shared by all questions."""
    rng = random.Random(0)
    images = [f"dataset/imgs/img_{n}.png" for n in range(8)]

    def common(index: int, task: str) -> dict:
        return {"index": index, "question": f"Synthetic question {index} about the finding shown?",
                "image_path": images[index % len(images)], "visual_description": "A synthetic finding.",
                "task": task, "subtype": "synthetic", "question type": CLASSES[index % len(CLASSES)],
                "modality": MODALITIES[index % len(MODALITIES)], "organ system": ORGANS[index % len(ORGANS)]}

    mcq, index = [], 0
    for task, count in MCQ_PER_DIMENSION.items():
        for _ in range(count):
            options = {letter: f"Option {letter} for {index}" for letter in "ABCDE"}
            mcq.append({**common(index, task), **options, "answer": rng.choice("ABCDE")})
            index += 1
    tasks = list(MCQ_PER_DIMENSION)
    open_ = [{**common(i, tasks[i % len(tasks)]), "answer": f"Synthetic diagnosis {i}"} for i in range(N_OPEN)]
    return write_release_zip(path, mcq, open_, images)


def write_release_zip(path: Path, mcq: list[dict], open_: list[dict], images: list[str]) -> Path:
    """The two question files and a tiny PNG per image path, in the official release's layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"dataset/{RELEASE_FILES['mcq']}", json.dumps(mcq))
        archive.writestr(f"dataset/{RELEASE_FILES['open']}", json.dumps(open_))
        for number, name in enumerate(images):
            archive.writestr(name, tiny_png(30 * number))
    return path


def full_size_dataset(out: Path) -> Path:
    data_dir = out / "medcmr"
    if not (data_dir / "build_info.json").exists():
        started = time.perf_counter()
        medcmr.build(write_full_size_release(out / "dataset.zip"), data_dir)
        print(f"built the full-size synthetic dataset in {time.perf_counter() - started:.1f} s")
    return data_dir
