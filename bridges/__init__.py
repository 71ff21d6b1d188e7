"""Bridges to other evaluation tools: VLMEvalKit and lmms-eval.

`python medcmr.py export --format vlmevalkit|lmms-eval` writes what each tool reads; the judge
reads what each tool writes (`judge.read_predictions` detects the format); `python -m bridges
merge` joins a tool's several output files into one predictions JSONL for the leaderboard, or the
rotations of VLMEvalKit's circular run into one `predict --circular` file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from judge.predictions import ROTATIONS, PredictionsError, read_predictions, rotation_id, split_rotation

__all__ = ["is_scoring_output", "merge"]


# Files the tools write beside their predictions that are their own scoring, not answers. VLMEvalKit names
# a predictions file `{model}_{dataset}.{ext}` (our datasets end in `_MCQ` or `_openended`) and each file it
# derives from one `{model}_{dataset}_{what}.{ext}` (`_exact_matching_result`, `_gpt-4o-mini_result`, `_acc`);
# lmms-eval writes `{date}_results.json` beside its samples.
_TABLE = r"\.(?:tsv|xlsx|csv|json)"
VLMEVALKIT_PREDICTIONS = re.compile(rf".*_(?:MCQ|openended){_TABLE}")
VLMEVALKIT_DERIVED = re.compile(rf".*_(?:MCQ|openended)_.+{_TABLE}")
TOOL_SCORES = re.compile(rf".*_exact_matching_result{_TABLE}|.*_acc\.(?:tsv|csv|xlsx)|(?:.*_)?results\.json")


def is_scoring_output(path: Path) -> bool:
    """A tool's scoring file: VLMEvalKit's `*_result.*` and `*_acc.*`, lmms-eval's results JSON."""
    name = Path(path).name
    derived = VLMEVALKIT_DERIVED.fullmatch(name) and not VLMEVALKIT_PREDICTIONS.fullmatch(name)
    return bool(derived or TOOL_SCORES.fullmatch(name))


def _with_rotations(known_ids: set[str] | None) -> set[str] | None:
    """The ids a merge accepts: the questions', and each rotation of an MCQ (VLMEvalKit's circular export)."""
    if known_ids is None:
        return None
    return known_ids | {rotation_id(i, r) for i in known_ids if i.startswith("mcq-") for r in range(ROTATIONS)}


def _line(ident: str, prediction: str) -> dict:
    question, rotation = split_rotation(ident)
    if rotation is None:
        return {"id": ident, "prediction": prediction}
    return {"id": question, "rotation": rotation, "prediction": prediction}


def merge(sources: list[Path], out: Path, *, known_ids: set[str] | None = None) -> tuple[int, list[Path]]:
    """Read every file (any format the judge reads) and write one JSONL: `{"id", "prediction"}` per line,
    or, for VLMEvalKit's circular run, `{"id", "rotation", "prediction"}` as `predict --circular` writes.

    A tool's scoring files are skipped (returned). The same answer in two files (a rerun copies
    VLMEvalKit's predictions into a new `T...` folder) is kept once; two different answers to one
    id are an error naming both files by path, as a duplicate within one file is; so is a circular
    run merged with plain predictions. Returns the number of lines written and the files skipped.
    """
    seen: dict[str, tuple[str, Path]] = {}
    skipped = [Path(source) for source in sources if is_scoring_output(Path(source))]
    for source in (Path(source) for source in sources if not is_scoring_output(Path(source))):
        for record in read_predictions(source, known_ids=_with_rotations(known_ids)):
            earlier = seen.get(record["id"])
            if earlier is not None and earlier[0] != record["prediction"]:
                raise PredictionsError(f"{source}: id {record['id']!r} has another answer in {earlier[1]}; keep one "
                                       "run's file (a rerun's folder holds a copy of the first)",
                                       file=str(source), field="id")
            seen.setdefault(record["id"], (record["prediction"], source))
    kinds = {split_rotation(ident)[1] is None: path for ident, (_, path) in seen.items()}
    if len(kinds) == 2:
        raise PredictionsError(f"{kinds[False]} is a circular run (each MCQ in 5 rotations) and {kinds[True]} is "
                               "not: merge each into its own file (score the circular one with --circular)",
                               file=str(kinds[False]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for ident, (prediction, _) in seen.items():
            handle.write(json.dumps(_line(ident, prediction), ensure_ascii=False) + "\n")
    return len(seen), skipped
