"""`python -m bridges merge --out predictions.jsonl FILE...`: one predictions file from a tool's outputs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import merge
from judge.predictions import PredictionsError
from release.built import load_questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridges", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    merge_cmd = commands.add_parser("merge", help="join VLMEvalKit/lmms-eval outputs into one predictions JSONL")
    merge_cmd.add_argument("files", nargs="+", type=Path, help="prediction files, any format the judge reads")
    merge_cmd.add_argument("--out", required=True, type=Path, help="the predictions JSONL to write")
    merge_cmd.add_argument("--data", type=Path, help="a built Med-CMR folder: also check every id against it")
    args = parser.parse_args(argv)
    try:
        known = None
        if args.data:
            known = {q["id"] for q in load_questions(args.data)}
        count, skipped = merge(args.files, args.out, known_ids=known)
    except (PredictionsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in skipped:
        print(f"skipped {path}: a tool's scoring output, not predictions")
    print(f"wrote {count} predictions to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
