"""Med-CMR on Hugging Face `datasets`: the command line, and the names a loader-side user needs.

`datasets` no longer runs loading scripts, so Med-CMR ships Hub-native: parquet shards with the
images embedded, and a README.md card whose YAML names every config. The layers below do the work
(`core` the vocabulary, `release` reading and writing, `judge`, `leaderboard`, `space`); this file
is their command line and re-exports the loader-facing names. Nothing runs on import.

    python medcmr.py sample --out sample.zip          # small release in the official layout
    python medcmr.py build --source sample.zip        # -> ./medcmr (default source: the Hub release)
    python medcmr.py build --check --source dataset.zip   # validate only; writes nothing
    python -c "import datasets; print(datasets.load_dataset('medcmr', 'long_tail'))"
    python medcmr.py push --repo ORG/Med-CMR          # token from HF_TOKEN
    python medcmr.py predict --model NAME --base-url URL --out preds.jsonl
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.features import FEATURES
from core.settings import SettingsError
from core.vocabulary import (DIMENSION_BY_TASK, HUB_FILE, HUB_REPO, HUB_REVISION, HUB_SHA256, LETTERS, MCQ_PROMPT,
                             OPEN_PROMPT, PROMPT_VERSION, QUESTION_TYPES, config_name, configs, format_prompt)
from release.build import BUILDER_VERSION, build, check
from release.built import dataset_fingerprint, load_questions, provenance
from release.checksums import sha256_file, verify_sha256
from release.hub import fetch_release, push
from release.reader import RELEASE_FILES, SAMPLE_SOURCES, Release, ReleaseError

DIMENSIONS: dict[str, str] = {task: dimension.slug for task, dimension in DIMENSION_BY_TASK.items()}

__all__ = ["BUILDER_VERSION", "DIMENSIONS", "FEATURES", "HUB_FILE", "HUB_REPO", "HUB_REVISION", "HUB_SHA256",
           "LETTERS", "MCQ_PROMPT", "OPEN_PROMPT", "PROMPT_VERSION", "QUESTION_TYPES", "RELEASE_FILES",
           "SAMPLE_SOURCES", "Release", "ReleaseError", "build", "check", "config_name", "configs", "dataset_fingerprint",
           "fetch_release", "format_prompt", "load_questions", "main", "provenance", "push", "sha256_file",
           "verify_sha256", "write_sample_release"]


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
    if "out" in report:
        print(f"load with: datasets.load_dataset({report['out']!r}, CONFIG)  (a config above; default 'all')")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="medcmr" if Path(sys.argv[0]).name == "medcmr" else "python medcmr.py",
        description=__doc__.split("\n\n")[0], epilog="Each command's --help shows its flags, defaults and an example.")
    commands = parser.add_subparsers(dest="command", required=True)
    examples = argparse.RawDescriptionHelpFormatter  # keeps each epilog's example on its own line
    sample = commands.add_parser(
        "sample", help="write a small release zip in the official layout", formatter_class=examples,
        epilog="example:\n  %(prog)s --out sample.zip    # then: build --source sample.zip --out medcmr")
    sample.add_argument("--out", type=Path, default=Path("medcmr-sample.zip"),
                        help="the zip to write (default: %(default)s)")
    build_cmd = commands.add_parser(
        "build", help="build the Hub-ready dataset folder from a release", formatter_class=examples,
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
        "push", help="upload a built folder to the Hub (token from HF_TOKEN)", formatter_class=examples,
        epilog="example:\n  HF_TOKEN=hf_... %(prog)s --repo ORG/Med-CMR --data medcmr --private")
    push_cmd.add_argument("--repo", required=True, help="ORG/NAME of the dataset repo (required)")
    push_cmd.add_argument("--data", type=Path, default=Path("medcmr"),
                          help="the built folder (default: %(default)s)")
    push_cmd.add_argument("--private", action="store_true", help="create the repo private (default: public)")
    export_cmd = commands.add_parser(
        "export", help="write a build in another tool's format (VLMEvalKit, lmms-eval)", formatter_class=examples,
        epilog="example:\n  %(prog)s --format vlmevalkit --data medcmr --out LMUData")
    export_cmd.add_argument("--format", required=True, choices=["vlmevalkit", "lmms-eval"])
    export_cmd.add_argument("--data", type=Path, default=Path("medcmr"), help="the built folder (default: %(default)s)")
    export_cmd.add_argument("--out", type=Path, required=True, help="folder to write (VLMEvalKit: use it as $LMUData)")
    export_cmd.add_argument("--dataset-path", help="lmms-eval: the Hub dataset repo to load (default: --data, local)")
    import predict

    predict.add_arguments(commands.add_parser(
        "predict", help="run an OpenAI-compatible vision model (or a reference baseline) over the benchmark"))
    args = parser.parse_args(argv)
    if args.command == "predict":
        try:
            return predict.run(args)
        except SettingsError as error:  # a malformed MEDCMR_PREDICT_* variable
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        if args.command == "sample":
            print(f"wrote {write_sample_release(args.out)}")
        elif args.command == "build" and args.check:
            print_report(check(args.source, revision=args.revision))
        elif args.command == "build":
            print_report(build(args.source, args.out, revision=args.revision))
        elif args.command == "export":
            from bridges.export import run_export

            print(run_export(args.format, args.data, args.out, dataset_path=args.dataset_path))
        else:
            print(f"pushed: {push(args.data, args.repo, private=args.private)}")
    except (ReleaseError, OSError) as error:  # OSError: missing files, and the Hub's HTTP/offline errors
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
