"""`python -m judge score ...`: score a predictions file against a built Med-CMR folder.

Exit status: 0 when everything in scope was scored (without a judge endpoint, open answers are
reported as awaiting and do not count against it); 1 when any open answer could not be judged,
or still awaits a judge that was configured (rerun: judged answers are cached, only the rest go
to the judge); 2 when the input is wrong (nothing is scored); 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands import medcmr
from core.files import atomic_write
from core.results import DatasetInfo
from core.settings import Settings, SettingsError

from .circular import blind_results, read_circular, score_circular
from .predictions import PredictionsError, read_predictions

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .estimate import Estimate, Prices
    from .score import JudgeStep


EXIT_STATUS = """exit status:
  0  everything in scope was scored (with no judge endpoint, open answers are
     reported as awaiting and do not count)
  1  some open answers could not be judged, or still await the configured judge:
     results.json is written; rerun to judge only the rest (verdicts are cached)
  2  bad input: nothing was scored
  130 interrupted"""


def default_cache_path() -> Path:
    """One verdict cache per user, shared by every run (`$XDG_CACHE_HOME/medcmr/judge_cache.sqlite`)."""
    return Settings.from_env().judge_cache


SCORE_EPILOG = """\
example (a local judge for a dry run: `medcmr fake-judge --port 8000` in another terminal):
  %(prog)s --predictions preds.jsonl --data medcmr --out results.json \\
      --judge-base-url http://127.0.0.1:8000/v1 --judge-model test-judge

bulk judging through the OpenAI Batch API (or a compatible server): half the price, within 24 h;
run the same command again later to read the batch (it is never sent twice):
  %(prog)s --predictions preds.jsonl --data medcmr --out results.json --judge-model gpt-4.1 \\
      --batch api --price-input 2 --price-output 8 --batch-discount 0.5

bulk judging on your GPUs with vLLM (the requests go to results.batch/requests.jsonl):
  %(prog)s --predictions preds.jsonl --data medcmr --out results.json --judge-model Qwen/Qwen3-32B --batch file
  vllm run-batch -i results.batch/requests.jsonl -o results.batch/results.jsonl --model Qwen/Qwen3-32B
  %(prog)s --predictions preds.jsonl --data medcmr --out results.json --judge-model Qwen/Qwen3-32B --batch file
"""


def _parser() -> argparse.ArgumentParser:
    defaults = Settings.from_env()
    prog = "medcmr-judge" if Path(sys.argv[0]).name == "medcmr-judge" else "python -m judge"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"example (multiple choice only, no judge needed):\n  {prog} score "
                                            "--predictions preds.jsonl --data medcmr --out results.json --mcq-only")
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a predictions file and write results.json",
                                epilog=SCORE_EPILOG + "\n" + EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    score.add_argument("--predictions", required=True, type=Path,
                       help="JSONL, JSON list or CSV with id,prediction; or VLMEvalKit's .xlsx/.tsv or "
                            "lmms-eval's samples_*.jsonl as they are (required)")
    score.add_argument("--data", required=True, type=Path,
                       help="a built Med-CMR folder, from `medcmr.py build` (required)")
    score.add_argument("--out", required=True, type=Path, help="where to write results.json (required)")
    score.add_argument("--details", type=Path, help="also write one JSON line per question here (default: none)")
    score.add_argument("--judge-base-url", help="OpenAI-compatible base URL (default: MEDCMR_JUDGE_BASE_URL, "
                       "else OPENAI_BASE_URL, else api.openai.com)")
    score.add_argument("--judge-model", help="judge model name (default: MEDCMR_JUDGE_MODEL; without one, "
                       "open answers are not judged)")
    score.add_argument("--judge-api-key", help="judge API key (default: MEDCMR_JUDGE_API_KEY, else OPENAI_API_KEY)")
    score.add_argument("--judge-timeout", type=float, default=defaults.judge.timeout,
                       help="seconds per judge call (env MEDCMR_JUDGE_TIMEOUT; default: %(default)s)")
    score.add_argument("--judge-max-retries", type=int, default=defaults.judge.max_retries,
                       help="retries per call on 408/429/5xx/timeouts, honouring Retry-After "
                            "(env MEDCMR_JUDGE_MAX_RETRIES; default: %(default)s)")
    score.add_argument("--concurrency", type=int, default=defaults.judge_concurrency,
                       help="judge calls in flight (env MEDCMR_JUDGE_CONCURRENCY; default: %(default)s)")
    score.add_argument("--cache", type=Path, default=None,
                       help=f"verdict cache, SQLite (default: {default_cache_path()})")
    score.add_argument("--no-cache", action="store_true", help="judge every open answer again (default: off)")
    score.add_argument("--circular", action="store_true",
                       help="the predictions are a `predict --circular` run (each MCQ in 5 rotations): add circular "
                            "accuracy and letter-position bias; the MCQ score is rotation 0 (default: off)")
    score.add_argument("--blind-predictions", type=Path,
                       help="a `predict --blind` run of the same model: add blind MCQ accuracy and the image gain "
                            "(default: none)")
    score.add_argument("--mcq-only", action="store_true",
                       help="score multiple-choice questions only (default: off)")
    bulk = score.add_argument_group("bulk judging (docs/judge.md)")
    bulk.add_argument("--batch", choices=("api", "file"),
                      help="api: send the open answers' judge requests as one batch to the Batch API at the judge "
                           "endpoint and read it on a later run; file: write them for `vllm run-batch` and read "
                           "its output on a later run (default: off, one call per answer now)")
    bulk.add_argument("--batch-dir", type=Path, metavar="DIR",
                      help="the batch's folder: requests.jsonl, results.jsonl and state.json (default: beside "
                           "--out, e.g. results.batch/ for results.json)")
    bulk.add_argument("--batch-results", type=Path, action="append", metavar="FILE",
                      help="read this `vllm run-batch` output file (repeatable; implies --batch file; default: "
                           "results.jsonl in the batch's folder)")
    cost = score.add_argument_group("the estimate printed before any judge call")
    cost.add_argument("--price-input", type=float, metavar="USD",
                      help="the judge's price per million input tokens, for the cost (default: none)")
    cost.add_argument("--price-output", type=float, metavar="USD",
                      help="the judge's price per million output tokens (default: none)")
    cost.add_argument("--batch-discount", type=float, default=0.0, metavar="FRACTION",
                      help="the share a batch costs less, e.g. 0.5 on OpenAI's Batch API (default: %(default)s)")
    return parser


def _prices(args: argparse.Namespace) -> Prices | None:
    from .estimate import Prices
    if (args.price_input is None) != (args.price_output is None):
        raise PredictionsError("give both --price-input and --price-output (dollars per million tokens), or neither")
    if not 0 <= args.batch_discount < 1:
        raise PredictionsError("--batch-discount must be a fraction from 0 to below 1, e.g. 0.5")
    if args.price_input is None:
        return None
    if args.price_input < 0 or args.price_output < 0:
        raise PredictionsError("--price-input and --price-output cannot be negative")
    return Prices(args.price_input, args.price_output, args.batch_discount)


def _judge_step(args: argparse.Namespace, endpoint: Endpoint, notes: list[str]) -> JudgeStep:
    """Online calls, or a batch (`--batch`) that leaves its `notes`; the estimate goes to stderr
    before any call."""
    from .batch import BatchJudging  # the OpenAI client: once a command runs
    from .score import OnlineJudging

    prices = _prices(args)

    def announce(estimate: Estimate) -> None:
        hint = "" if prices else "; give --price-input and --price-output for the cost"
        print(estimate.describe(prices) + hint, file=sys.stderr, flush=True)

    engine = args.batch or ("file" if args.batch_results else None)
    if engine is None:
        if args.batch_discount:
            raise PredictionsError("--batch-discount applies to --batch only")
        return OnlineJudging(announce)
    if engine == "api" and args.batch_results:
        raise PredictionsError("--batch-results reads a `vllm run-batch` output: use it with --batch file")
    if args.no_cache:
        raise PredictionsError("--batch keeps the verdicts it reads in the verdict cache: drop --no-cache")
    if not endpoint.model:
        raise PredictionsError("--batch needs the judge model's name (--judge-model or MEDCMR_JUDGE_MODEL)")
    return BatchJudging(args.batch_dir or args.out.with_suffix(".batch"), f"batch-{engine}",
                        results=args.batch_results or (), announce=announce, say=notes.append)


def _load_dataset(data: Path) -> tuple[list[dict], DatasetInfo]:
    from release.built import load_questions, provenance  # pyarrow and the build: once a command runs

    if not (data / "build_info.json").is_file():
        raise PredictionsError(f"{data}: not a built Med-CMR folder (no build_info.json); "
                               f"build one with `{medcmr('build')}`")
    return load_questions(data), provenance(data)


def score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import Endpoint, score_submission, summary_table  # the OpenAI client: once a command runs

    if args.concurrency < 1:
        raise PredictionsError("--concurrency must be at least 1")
    questions, dataset = _load_dataset(args.data)
    circular = None
    if args.circular:  # every rotation scored for the circular block; rotation 0 is the plain MCQ score
        records = read_circular(args.predictions)
        circular = score_circular(records, questions)
        predictions = [{"id": r["id"], "prediction": r["prediction"]} for r in records if r["rotation"] == 0]
        args.mcq_only = True
    else:
        predictions = read_predictions(args.predictions, known_ids={q["id"] for q in questions})
    endpoint = Endpoint.from_settings(Settings.from_env().judge, base_url=args.judge_base_url,
                                      model=args.judge_model, api_key=args.judge_api_key,
                                      timeout=args.judge_timeout, max_retries=args.judge_max_retries)
    cache = None if args.no_cache else (args.cache or default_cache_path())
    notes: list[str] = []  # what a batch did and what to do next, said after the scores
    step = _judge_step(args, endpoint, notes)
    with tqdm(total=0, unit="q", desc="scoring", file=sys.stderr, disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        results = score_submission(predictions, questions, endpoint=endpoint, cache_path=cache,
                                   progress=progress, details_path=args.details,
                                   mcq_only=args.mcq_only, dataset=dataset, concurrency=args.concurrency,
                                   judge_step=step)
    results.circular = circular
    if args.blind_predictions:  # the same model without images: blind accuracy and the image gain
        blind = score_submission(read_predictions(args.blind_predictions, known_ids={q["id"] for q in questions}),
                                 questions, mcq_only=True)
        results.blind = blind_results(results.items, blind.items)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, json.dumps(results.to_dict(), indent=2, ensure_ascii=False) + "\n")
    print(summary_table(results))
    print(f"Wrote {args.out}" + (f" and {args.details}" if args.details else ""))
    for note in notes:
        print(note, file=sys.stderr)
    unjudged = results.open.failed + (results.open.awaiting if results.judge.model else 0)
    if unjudged:
        print(f"{unjudged} open answers are not judged (failed or awaiting the judge); exit status 1 — "
              "rerun to judge only these", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SettingsError as exc:  # a malformed MEDCMR_* variable
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .batch import BatchError  # the OpenAI client: once the flags are read (`--help` never pays it)

    try:
        return score(args)
    except (PredictionsError, SettingsError) as exc:  # SettingsError: a malformed MEDCMR_* variable
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BatchError as exc:
        print(f"error: {exc}; verdicts read so far are cached", file=sys.stderr)
        return 1
    except (FileNotFoundError, NotADirectoryError) as exc:
        print(f"error: {exc.filename}: not found" if exc.filename else f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --out or --cache on a full or read-only disk
        where = exc.filename or "an output file"
        print(f"error: cannot write {where} ({exc.strerror or exc}); verdicts judged so far are cached",
              file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"error: the verdict cache cannot be used ({exc}); pass --cache PATH on a writable disk, or "
              "--no-cache", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: verdicts judged so far are cached; rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
