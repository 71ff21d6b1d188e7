"""Bridges to other evaluation tools: VLMEvalKit and lmms-eval.

`python medcmr.py export --format vlmevalkit|lmms-eval` writes what each tool reads; the judge
reads what each tool writes (`judge.read_predictions` detects the format); `python -m bridges
merge` joins a tool's several output files into one predictions JSONL for the leaderboard.
"""
from __future__ import annotations

from pathlib import Path

from judge.predictions import PredictionsError, read_predictions

__all__ = ["merge"]


def merge(sources: list[Path], out: Path, *, known_ids: set[str] | None = None) -> int:
    """Read every file (any format the judge reads) and write one `{"id", "prediction"}` JSONL.

    An id given in two files is an error naming both, as a duplicate within one file is.
    Returns the number of predictions written.
    """
    import json

    seen: dict[str, str] = {}
    records = []
    for source in sources:
        for record in read_predictions(Path(source), known_ids=known_ids):
            if record["id"] in seen:
                raise PredictionsError(f"{Path(source).name}: id {record['id']!r} is also in {seen[record['id']]}",
                                       file=Path(source).name, field="id")
            seen[record["id"]] = Path(source).name
            records.append({"id": record["id"], "prediction": record["prediction"]})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
