"""Med-CMR on Hugging Face `datasets`: the command line, and the names a loader-side user needs.

`datasets` no longer runs loading scripts, so Med-CMR ships Hub-native: parquet shards with the
images embedded, and a README.md card whose YAML names every config. The layers below do the work
(`core` the vocabulary, `release` reading and writing, `judge`, `leaderboard`, `space`); this file
is their command line and re-exports the loader-facing names, each imported on first use (so the
command line answers `--help` without loading `datasets`). Nothing runs on import.

    python medcmr.py sample --out sample.zip          # small release in the official layout
    python medcmr.py build --source sample.zip        # -> ./medcmr (default source: the Hub release)
    python medcmr.py build --check --source dataset.zip   # validate only; writes nothing
    python -c "import datasets; print(datasets.load_dataset('medcmr', 'long_tail'))"
    python medcmr.py push --repo ORG/Med-CMR          # token from HF_TOKEN
    python medcmr.py predict --model NAME --base-url URL --out preds.jsonl
    python medcmr.py fake-judge                       # offline stand-ins: a judge, a vision model
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from core.settings import SettingsError
from core.vocabulary import (DIMENSION_BY_TASK, HUB_FILE, HUB_REPO, HUB_REVISION, HUB_SHA256, LETTERS, MCQ_PROMPT,
                             OPEN_PROMPT, PROMPT_VERSION, QUESTION_TYPES, config_name, configs, format_prompt)

DIMENSIONS: dict[str, str] = {task: dimension.slug for task, dimension in DIMENSION_BY_TASK.items()}
# Names of the layers below that cost an import of `datasets`, `pyarrow` or the Hub client: loaded on first use.
LAZY = {"FEATURES": "core.features", "BUILDER_VERSION": "release.build", "build": "release.build",
        "check": "release.build", "dataset_fingerprint": "release.built", "load_questions": "release.built",
        "provenance": "release.built", "sha256_file": "release.checksums", "verify_sha256": "release.checksums",
        "fetch_release": "release.hub", "push": "release.hub", "RELEASE_FILES": "release.reader",
        "SAMPLE_SOURCES": "release.reader", "Release": "release.reader", "ReleaseError": "release.reader"}

__all__ = ["DIMENSIONS", "HUB_FILE", "HUB_REPO", "HUB_REVISION", "HUB_SHA256", "LETTERS", "MCQ_PROMPT", "OPEN_PROMPT",
           "PROMPT_VERSION", "QUESTION_TYPES", "config_name", "configs", "format_prompt", "main",
           "write_sample_release", *LAZY]


def __getattr__(name: str) -> object:
    """A loader-facing name of the layers below (`medcmr.build`, `medcmr.load_questions`...), imported now."""
    if name not in LAZY:
        raise AttributeError(f"module 'medcmr' has no attribute {name!r}")
    return getattr(importlib.import_module(LAZY[name]), name)


def write_sample_release(path: Path) -> Path:
    """A small release zip in the official layout, made from real medical images (release/sample.py)."""
    from release.sample import write_sample_release as write

    return write(Path(path))


# --------------------------------------------------------------------------- command line
def print_report(report: dict) -> None:
    """What went where: rows per config, every file of the release that went nowhere, what was normalised."""
    if "out" in report:
        print(f"built {report['out']}: {report['rows']:,} rows (fingerprint {report['fingerprint']}), "
              f"{report['clutter_skipped']} clutter file(s) skipped")
    else:
        print(f"checked {report['source']['name']}: {report['rows']:,} rows, every image checked, "
              f"{report['clutter_skipped']} clutter file(s) skipped; nothing written")
    for name, rows in report["configs"].items():
        print(f"  {name:<20} {rows:>7,} rows")
    if report["empty_configs"]:
        print("  no rows, so no config: " + ", ".join(report["empty_configs"]))
    unused = report["unreferenced_files"]
    if unused:
        print(f"  {len(unused)} file(s) no question refers to, not included: "
              + ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else ""))
    for kind, count in report["normalised"].items():
        print(f"  normalised {kind}: {count:,} (e.g. {report['normalised_examples'][kind][0]})")
    if "out" in report:  # a relative folder name loads only from here: elsewhere `datasets` asks the Hub
        out = Path(report["out"])
        anywhere = "" if out.is_absolute() else f" here, or load_dataset({str(out.resolve())!r}, CONFIG) anywhere"
        print(f"load with: datasets.load_dataset({report['out']!r}, CONFIG){anywhere}  (a config above; default 'all')")


EXAMPLES = argparse.RawDescriptionHelpFormatter  # keeps each epilog's example on its own line


def _dataset_commands(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample", help="write a small release zip in the official layout", formatter_class=EXAMPLES,
        epilog="example:\n  %(prog)s --out sample.zip    # then: build --source sample.zip --out medcmr")
    sample.add_argument("--out", type=Path, default=Path("medcmr-sample.zip"),
                        help="the zip to write (default: %(default)s)")
    build_cmd = commands.add_parser(
        "build", help="build the Hub-ready dataset folder from a release", formatter_class=EXAMPLES,
        epilog="examples:\n"
               "  %(prog)s --source sample.zip --out medcmr    # a local zip or extracted folder\n"
               f"  %(prog)s --out medcmr                        # downloads the official {HUB_FILE} (6.9 GB) first")
    build_cmd.add_argument("--source", default=HUB_REPO,
                           help="release zip, extracted folder or Hub repo id (default: %(default)s, which "
                                f"downloads the official {HUB_FILE}, 6.9 GB)")
    build_cmd.add_argument("--out", type=Path, default=Path("medcmr"),
                           help="the dataset folder to write (default: %(default)s)")
    build_cmd.add_argument("--revision", help=f"Hub revision (default: pinned {HUB_REVISION[:10]})")
    build_cmd.add_argument("--check", action="store_true",
                           help="only read and validate the release (images decoded) and print the report; "
                                "writes nothing (exit 0 when clean, 2 with the problems)")
    push_cmd = commands.add_parser(
        "push", help="upload a built folder to the Hub (token from HF_TOKEN)", formatter_class=EXAMPLES,
        epilog="example:\n  HF_TOKEN=hf_... %(prog)s --repo ORG/Med-CMR --data medcmr --private")
    push_cmd.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo (required)")
    push_cmd.add_argument("--data", type=Path, default=Path("medcmr"),
                          help="the built folder (default: %(default)s)")
    push_cmd.add_argument("--private", action="store_true", help="create the repo private (default: public)")
    export_cmd = commands.add_parser(
        "export", help="write a build in another tool's format (VLMEvalKit, lmms-eval)", formatter_class=EXAMPLES,
        epilog="examples (each prints the tool's command and the scoring steps; docs/bridges.md):\n"
               "  %(prog)s --format vlmevalkit --data medcmr --out lmudata\n"
               "  %(prog)s --format lmms-eval --data medcmr --out medcmr_tasks")
    export_cmd.add_argument("--format", required=True, choices=["vlmevalkit", "lmms-eval"],
                            help="vlmevalkit: custom-dataset TSVs for $LMUData and a run.py --config file; "
                                 "lmms-eval: a task folder for --include_path (required)")
    export_cmd.add_argument("--data", type=Path, default=Path("medcmr"), help="the built folder (default: %(default)s)")
    export_cmd.add_argument("--out", type=Path, required=True,
                            help="folder to write (VLMEvalKit: use it as $LMUData; lmms-eval: as --include_path)")
    export_cmd.add_argument("--dataset-path", help="lmms-eval: the Hub dataset repo to load (default: --data, local)")


def _fake_commands(commands: argparse._SubParsersAction) -> None:
    judge = commands.add_parser(
        "fake-judge", formatter_class=EXAMPLES,
        help="serve a fake judge on 127.0.0.1 for dry runs (grades by word overlap; Ctrl-C stops it)",
        epilog="example:\n  %(prog)s --port 8000\n  # then: medcmr-judge score ... --judge-base-url "
               "http://127.0.0.1:8000/v1 --judge-model test-judge")
    judge.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1; 0 = any free port "
                       "(default: %(default)s)")
    model = commands.add_parser(
        "fake-model", formatter_class=EXAMPLES,
        help="serve a fake vision model on 127.0.0.1 that answers any prompt naming a question of a build",
        epilog="example:\n  %(prog)s --data medcmr --port 8001\n  # then: medcmr predict --model test-vlm "
               "--base-url http://127.0.0.1:8001/v1 --data medcmr --out fake.jsonl")
    model.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1; 0 = any free port "
                       "(default: %(default)s)")
    model.add_argument("--data", type=Path, default=Path("medcmr"),
                       help="the built dataset whose questions it answers (default: %(default)s)")


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medcmr" if Path(sys.argv[0]).name == "medcmr" else "python medcmr.py",
        description=__doc__.split("\n\n")[0], epilog="Each command's --help shows its flags, defaults and an example.")
    commands = parser.add_subparsers(dest="command", required=True)
    _dataset_commands(commands)
    predict_cmd = commands.add_parser(
        "predict", help="run an OpenAI-compatible vision model (or a reference baseline) over the benchmark")
    if next((arg for arg in argv if not arg.startswith("-")), None) == "predict":
        import predict  # its flags (and its client) only when it is the command

        predict.add_arguments(predict_cmd)
    _fake_commands(commands)
    return parser


def _serve_fake(args: argparse.Namespace) -> int:
    from fakes.server import serve

    if args.command == "fake-judge":
        from fakes.judge import fake_judge

        return serve(fake_judge, args.port, "fake judge")
    from fakes.model import FakeVisionModel
    from release.built import load_questions

    questions = load_questions(args.data)
    return serve(FakeVisionModel(questions), args.port, f"fake vision model ({len(questions):,} questions of "
                                                        f"{args.data})")


def _run(args: argparse.Namespace) -> int:
    from release.reader import ReleaseError

    try:
        if args.command == "sample":
            print(f"wrote {write_sample_release(args.out)}")
        elif args.command == "build":
            from release.build import build, check

            print_report(check(args.source, revision=args.revision) if args.check else
                         build(args.source, args.out, revision=args.revision))
        elif args.command == "export":
            from bridges.export import run_export

            print(run_export(args.format, args.data, args.out, dataset_path=args.dataset_path))
        elif args.command == "push":
            from release.hub import push

            print(f"pushed: {push(args.data, args.repo, private=args.private)}")
        else:
            return _serve_fake(args)
    except (ReleaseError, OSError) as error:  # OSError: missing files, and the Hub's HTTP/offline errors
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    if args.command == "predict":
        import predict

        try:
            return predict.run(args)
        except SettingsError as error:  # a malformed MEDCMR_PREDICT_* variable
            print(f"error: {error}", file=sys.stderr)
            return 2
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
