"""Med-CMR as VLMEvalKit custom datasets: three TSV files and a `run.py --config` JSON.

VLMEvalKit (github.com/open-compass/VLMEvalKit) reads a dataset that it does not know from
`$LMUData/{name}.tsv` (vlmeval/dataset/__init__.py `build_dataset`; `CustomMCQDataset` and
`CustomVQADataset` in image_mcq.py / image_vqa.py). The MCQ file has the columns of its image MCQ
datasets (`index`, base64 `image`, `question`, `A`-`E`, `answer`, `category`, `l2-category`); the
open file has no option columns, so it is a VQA dataset (and its name says `openended`, which is
how VLMEvalKit tells a custom VQA dataset from an MCQ one).

Indices: VLMEvalKit needs one integer `index` per row. Our ids are `mcq-{i}` and `open-{i}` and the
two ranges overlap, so mcq-{i} gets index i and open-{i} gets OPEN_INDEX_OFFSET + i (1,000,000 + i):
the indices never collide, and `judge.read_predictions` maps a prediction file back to our ids
from the index alone (judge.predictions.vlmevalkit_index).

Circular: `{name}Circular_MCQ.tsv` holds each MCQ in the five rotations of its options (rotation r shows
the option of letter i at letter (i + r) mod 5, as `predict --circular` asks), its index
CIRCULAR_INDEX_OFFSET + r * OPEN_INDEX_OFFSET + i; the judge reads VLMEvalKit's predictions for it
with `score --circular` (judge.circular). Its name does not start with `{name}_`, so the glob that
collects the plain run's files never takes it.

Prompts: VLMEvalKit builds its own MCQ prompt from `question` and `A`-`E`
(ImageMCQDataset.build_prompt), which is not the paper's; the judge reads its letter answers the
same way. For open questions it sends `question` as it is (ImageBaseDataset.build_prompt), so that
column holds the paper's full open prompt (vocabulary.format_prompt).
"""
from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import pyarrow.parquet as pq

from core import vocabulary
from core.commands import medcmr
from release.build import ROWS_PER_GROUP
from judge.circular import rotated
from judge.predictions import vlmevalkit_index

DEFAULT_NAME = "MedCMR"
DEFAULT_MODEL = "GPT4o"  # a supported_VLM shortcut of VLMEvalKit's vlmeval/config.py; the user edits the config
CONFIG_FILE = "vlmevalkit_config.json"
MCQ_COLUMNS = ["index", "image", "question", *vocabulary.LETTERS, "answer", "category", "l2-category",
               "modality", "organ_system"]
OPEN_COLUMNS = ["index", "image", "question", "answer", "category", "l2-category", "modality", "organ_system"]
DIMENSION_NAMES = {d.slug: d.release_name for d in vocabulary.DIMENSIONS}
_READ = ["id", "index", "question_type", "question", "options", "answer", "dimension", "subtype", "modality",
         "organ_system", "image"]


def dataset_names(name: str = DEFAULT_NAME) -> dict[str, str]:
    """The VLMEvalKit dataset name of each format (the TSV is `$LMUData/{dataset name}.tsv`)."""
    return {"mcq": f"{name}_MCQ", "open": f"{name}_openended", "circular": f"{name}Circular_MCQ"}


def _row(question: dict) -> dict:
    index = vlmevalkit_index(question["id"])
    if question["id"] != f"{question['question_type']}-{question['index']}":
        raise ValueError(f"{question['id']}: id does not match question_type and index {question['index']}")
    image = question["image"] or {}
    if not image.get("bytes"):
        raise ValueError(f"{question['id']}: the build has no image bytes for this question")
    row = {"index": index, "image": base64.b64encode(image["bytes"]).decode("ascii"),
           "answer": question["answer"], "category": DIMENSION_NAMES.get(question["dimension"], question["dimension"]),
           "l2-category": question["subtype"], "modality": question["modality"],
           "organ_system": question["organ_system"]}
    if question["question_type"] == "mcq":
        return {**row, "question": question["question"], **dict(zip(vocabulary.LETTERS, question["options"]))}
    return {**row, "question": vocabulary.format_prompt(question)}


def _rotations(row: dict, question: dict) -> list[dict]:
    """An MCQ's row in each rotation of its options: the key's letter turns with them. Only rotation 0
    carries the image; the others name its index (VLMEvalKit reads an `image` of 64 characters or
    fewer as another row's index), so the file is not five times the images."""
    first = vlmevalkit_index(question["id"], 0)
    turned = [rotated(question, rotation) for rotation in range(len(vocabulary.LETTERS))]
    return [{**row, "index": vlmevalkit_index(question["id"], shown["rotation"]),
             "image": row["image"] if shown["rotation"] == 0 else str(first),
             **dict(zip(vocabulary.LETTERS, shown["options"])), "answer": shown["answer"]} for shown in turned]


def export(data_dir: Path, out: Path, *, name: str = DEFAULT_NAME, model: str = DEFAULT_MODEL) -> dict:
    """Write `{name}_MCQ.tsv`, `{name}_openended.tsv`, `{name}Circular_MCQ.tsv` and CONFIG_FILE into `out`.

    Streams the build's parquet shards a batch at a time, so memory stays at one batch of
    images whatever the size of the release. Returns the paths and row counts.
    """
    data_dir, out = Path(data_dir), Path(out)
    shards = sorted(data_dir.glob("data/*/test-*.parquet"))  # the build's layout (load_questions)
    if not shards:
        raise FileNotFoundError(f"{data_dir}: no Med-CMR build here (run `{medcmr('build')}`)")
    out.mkdir(parents=True, exist_ok=True)
    names = dataset_names(name)
    paths = {kind: out / f"{names[kind]}.tsv" for kind in names}
    counts = dict.fromkeys(names, 0)
    with paths["mcq"].open("w", newline="", encoding="utf-8") as mcq_file, \
            paths["open"].open("w", newline="", encoding="utf-8") as open_file, \
            paths["circular"].open("w", newline="", encoding="utf-8") as circular_file:
        writers = {kind: csv.DictWriter(handle, fieldnames=columns, delimiter="\t", lineterminator="\n")
                   for kind, handle, columns in (("mcq", mcq_file, MCQ_COLUMNS), ("open", open_file, OPEN_COLUMNS),
                                                 ("circular", circular_file, MCQ_COLUMNS))}
        for writer in writers.values():
            writer.writeheader()
        for shard in shards:
            for batch in pq.ParquetFile(shard).iter_batches(batch_size=ROWS_PER_GROUP, columns=_READ):
                for question in batch.to_pylist():
                    row = _row(question)
                    writers[question["question_type"]].writerow(row)
                    counts[question["question_type"]] += 1
                    if question["question_type"] == "mcq":
                        writers["circular"].writerows(_rotations(row, question))
                        counts["circular"] += len(vocabulary.LETTERS)
    config = out / CONFIG_FILE
    config.write_text(json.dumps(run_config(name, model), indent=2) + "\n", encoding="utf-8")
    return {"files": {**{kind: str(path) for kind, path in paths.items()}, "config": str(config)}, "rows": counts}


def run_config(name: str = DEFAULT_NAME, model: str = DEFAULT_MODEL) -> dict:
    """`run.py --config` settings: a model from VLMEvalKit's supported_VLM, our three custom datasets."""
    names = dataset_names(name)
    return {"model": {model: {}},
            "data": {names["mcq"]: {"class": "CustomMCQDataset", "dataset": names["mcq"]},
                     names["open"]: {"class": "CustomVQADataset", "dataset": names["open"]},
                     names["circular"]: {"class": "CustomMCQDataset", "dataset": names["circular"]}}}
