"""Bridges to other evaluation tools: VLMEvalKit and lmms-eval.

`python medcmr.py export --format vlmevalkit|lmms-eval` writes what each tool reads; the judge
reads what each tool writes (`judge.read_predictions` detects the format); `python -m bridges
merge` joins a tool's several output files into one predictions JSONL for the leaderboard.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from judge.predictions import PredictionsError, read_predictions

__all__ = ["merge"]


# Files the tools write beside their predictions that are their own scoring, not answers.
SCORING_OUTPUT = re.compile(r".*_exact_matching_result\.(?:tsv|xlsx|csv|json)$|.*_acc\.(?:tsv|csv|xlsx)$"
                            r"|(?:.*_)?results\.json$")


def is_scoring_output(path: Path) -> bool:
    """A tool's scoring file (VLMEvalKit's `*_exact_matching_result.*`, `*_acc.*`; lmms-eval's results JSON)."""
    return bool(SCORING_OUTPUT.fullmatch(Path(path).name))


def merge(sources: list[Path], out: Path, *, known_ids: set[str] | None = None) -> tuple[int, list[Path]]:
    """Read every file (any format the judge reads) and write one `{"id", "prediction"}` JSONL.

    A tool's scoring files are skipped (returned). The same answer in two files (a rerun copies
    VLMEvalKit's predictions into a new `T...` folder) is kept once; two different answers to one
    id are an error naming both files by path, as a duplicate within one file is.
    Returns the number of predictions written and the files skipped.
    """
    seen: dict[str, tuple[str, Path]] = {}
    skipped = [Path(source) for source in sources if is_scoring_output(Path(source))]
    for source in (Path(source) for source in sources if not is_scoring_output(Path(source))):
        for record in read_predictions(source, known_ids=known_ids):
            earlier = seen.get(record["id"])
            if earlier is not None and earlier[0] != record["prediction"]:
                raise PredictionsError(f"{source}: id {record['id']!r} has another answer in {earlier[1]}; keep one "
                                       "run's file (a rerun's folder holds a copy of the first)",
                                       file=str(source), field="id")
            seen.setdefault(record["id"], (record["prediction"], source))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for ident, (prediction, _) in seen.items():
            handle.write(json.dumps({"id": ident, "prediction": prediction}, ensure_ascii=False) + "\n")
    return len(seen), skipped
