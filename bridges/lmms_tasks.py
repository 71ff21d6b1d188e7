"""The lmms-eval task folder (bridges/lmms_eval): one task per dimension and format, three groups.

lmms-eval (github.com/EvolvingLMMs-Lab/lmms-eval) reads every `*.yaml` under `--include_path`; a
task YAML names the Hub dataset (`dataset_path`, `dataset_name` = one of our configs such as
`long_tail_mcq`, `test_split`) and the functions of the `utils.py` beside it (`!function
utils.name`); a group YAML lists tasks. The folder in the repository uses a placeholder dataset
repo; `python medcmr.py export --format lmms-eval` writes a copy that names yours (or a local build).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from core import vocabulary
from core.commands import medcmr

FOLDER = Path(__file__).resolve().parent / "lmms_eval"
PLACEHOLDER = "YOUR_ORG/Med-CMR"
GENERATION = {"mcq": 32, "open": 1024}
NO_STOP = "<|medcmr-no-stop|>"  # a stop string no answer contains: generation ends at the model's own end  # max_new_tokens: a letter; a short reasoning and an answer
# Groups: `medcmr_all` is every task. No group is called `medcmr`: lmms-eval reads `--tasks X` as a folder
# of YAMLs when a folder X exists, and the build is `medcmr/` in the project root.
GROUPS = ("medcmr_all", "medcmr_mcq", "medcmr_open")
METRICS = {"mcq": ("medcmr_mcq_acc", "medcmr_mcq_accuracy"), "open": ("medcmr_open_answered", "medcmr_open_answered")}


def task_name(slug: str, kind: str) -> str:
    return f"medcmr_{vocabulary.config_name(slug, kind)}"


def _template(kind: str, dataset_path: str) -> str:
    metric, aggregation = METRICS[kind]
    return (f"# Med-CMR {kind} questions, shared by the medcmr_*_{kind} tasks (written by bridges/lmms_tasks.py).\n"
            f"# dataset_path: the Hub dataset repo of a build (`python medcmr.py push --repo ORG/NAME`), or a\n"
            f"# local built folder; {PLACEHOLDER} is a placeholder.\n"
            f"dataset_path: {dataset_path}\n"
            "test_split: test\n"
            "output_type: generate_until\n"
            "doc_to_visual: !function utils.medcmr_doc_to_visual\n"
            "doc_to_text: !function utils.medcmr_doc_to_text\n"
            "doc_to_target: \"answer\"\n"
            "process_results: !function utils.medcmr_process_results\n"
            "generation_kwargs:\n"
            f"  max_new_tokens: {GENERATION[kind]}\n"
            "  temperature: 0\n"
            "  do_sample: false\n"
            "  # Without `until` lmms-eval stops at a blank line, cutting an open answer before its `Answer:`\n"
            f"  until: [\"{NO_STOP}\"]\n"
            "metric_list:\n"
            f"  - metric: {metric}\n"
            f"    aggregation: !function utils.{aggregation}\n"
            "    higher_is_better: true\n"
            "metadata:\n"
            "  version: 1.0\n"
            f"  prompt_version: {vocabulary.PROMPT_VERSION}\n")


def files(dataset_path: str = PLACEHOLDER) -> dict[str, str]:
    """Every YAML of the folder: file name -> text."""
    result = {f"_{kind}_template_yaml": _template(kind, dataset_path) for kind in vocabulary.QUESTION_TYPES}
    tasks = {kind: [] for kind in vocabulary.QUESTION_TYPES}
    for slug in vocabulary.SLUGS:
        for kind in vocabulary.QUESTION_TYPES:
            name = task_name(slug, kind)
            tasks[kind].append(name)
            result[f"{name}.yaml"] = (f"include: _{kind}_template_yaml\ntask: {name}\n"
                                      f"dataset_name: {vocabulary.config_name(slug, kind)}\n")
    groups = dict(zip(GROUPS, (tasks["mcq"] + tasks["open"], tasks["mcq"], tasks["open"])))
    for group, members in groups.items():
        result[f"{group}.yaml"] = f"group: {group}\ntask:\n" + "".join(f"  - {name}\n" for name in members)
    return result


def write(out: Path = FOLDER, dataset_path: str = PLACEHOLDER) -> list[Path]:
    """Write the task folder to `out` (utils.py copied beside the YAMLs unless it is the source folder)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(dataset_path).items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    if out.resolve() != FOLDER:
        shutil.copyfile(FOLDER / "utils.py", out / "utils.py")
        written.append(out / "utils.py")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.lmms_tasks", description="Rewrite the lmms-eval task folder in the repository "
        f"({FOLDER.relative_to(FOLDER.parent.parent)}) from the vocabulary; to export a copy naming your dataset, "
        "use the export command instead.",
        epilog=f"example:\n  python -m bridges.lmms_tasks        # then: {medcmr('export --format lmms-eval')}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    print(f"wrote {len(write())} files to {FOLDER}")


if __name__ == "__main__":
    main()
