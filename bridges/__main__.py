"""`python -m bridges merge --out predictions.jsonl FILE...`: one predictions file from a tool's outputs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from judge.predictions import PredictionsError

from . import merge

EPILOG = """examples (docs/bridges.md):
  python -m bridges merge --out preds.jsonl VLMEvalKit/outputs/GPT4o/T*/GPT4o_MedCMR_*.xlsx
  python -m bridges merge --out circular.jsonl VLMEvalKit/outputs/GPT4o/T*/GPT4o_MedCMRCircular_MCQ.xlsx
  python -m bridges merge --out preds.jsonl $(find lmms_results -name '*_samples_medcmr_*.jsonl')
Copies of one file in several run folders are kept once; the tools' scoring files are skipped."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridges", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    merge_cmd = commands.add_parser("merge", help="join VLMEvalKit/lmms-eval outputs into one predictions JSONL",
                                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    merge_cmd.add_argument("files", nargs="*", type=Path, help="prediction files, any format the judge reads")
    merge_cmd.add_argument("--out", required=True, type=Path, help="the predictions JSONL to write")
    merge_cmd.add_argument("--data", type=Path, help="a built Med-CMR folder: also check every id against it")
    args = parser.parse_args(argv)
    if not args.files:
        print("error: no files to merge: the glob or find matched nothing (where did the tool write?)",
              file=sys.stderr)
        return 2
    try:
        known = None
        if args.data:
            from release.built import load_questions  # pyarrow: only when ids are checked

            known = {q["id"] for q in load_questions(args.data)}
        count, skipped = merge(args.files, args.out, known_ids=known)
    except PredictionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:  # a shell glob that matched nothing is passed on as typed
        print(f"error: {error.filename or error}: no such file", file=sys.stderr)
        return 2
    for path in skipped:
        print(f"skipped {path}: a tool's scoring output, not predictions")
    print(f"wrote {count} predictions to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
