"""`python -m space.moderate --home HOME ACTION SUBMISSION [--reason TEXT]`: the operator's word on a row.

Run on the Space's home (its persistent storage) while the Space runs or not: the board, the status
and the results mirror show the change at once. Actions: `flag` (shown unranked, with the public
reason), `hide` (off the board; its status says why), `restore`, `clear` (accept a submission the
audit judge put under review), `rescore` (score it again with the current extraction, screen and
judge; the previous result is kept, already judged answers make no judge call), `show` (its state).
"""
from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from pathlib import Path

from core.settings import Settings, SettingsError, resolve_home

ACTIONS = ("flag", "hide", "restore", "clear", "rescore", "show")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m space.moderate", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m space.moderate --home /data/medcmr hide sub-1a2b3c4d "
               "--reason \"predictions copied from another submission\"")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("submission", help="the submission id (sub-…), as the status table shows it")
    parser.add_argument("--home", type=Path, help="the Space's home (default: the Space's own, as it prints at "
                        "start: MEDCMR_HOME, else /data/medcmr, else medcmr/ in the user data folder)")
    parser.add_argument("--reason", default="", help="the public reason (required to flag or hide)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    home = resolve_home(settings, args.home)
    if not (home.path / "leaderboard.sqlite").is_file():
        print(f"error: no leaderboard store in {home.path} ({home.why}); give the Space's home with --home or "
              "MEDCMR_HOME", file=sys.stderr)
        return 2
    return moderate(args, home.path, settings)


def moderate(args: argparse.Namespace, home: Path, settings: Settings) -> int:
    """Apply the action to the submission in the store of `home` and print its state (exit 2 when refused)."""
    from leaderboard.intake import SubmissionError
    from leaderboard.review import ReviewError
    from leaderboard.service import Leaderboard
    from leaderboard.store import FLAGGED, HIDDEN, VISIBLE, StoreUnavailable
    from space.serve import ensure_dataset  # the dataset the Space serves from this home

    states = {"flag": FLAGGED, "hide": HIDDEN, "restore": VISIBLE}
    with contextlib.redirect_stdout(sys.stderr):  # its notes are not the answer
        data_dir = ensure_dataset(home, settings).data_dir
    board = Leaderboard(home, data_dir, settings)
    actor = f"{getpass.getuser()} (command line)"
    try:
        if args.action in states:
            board.moderate(args.submission, states[args.action], args.reason, actor)
        elif args.action == "clear":
            board.clear_review(args.submission, actor)
        elif args.action == "rescore":
            board.rescore(args.submission, actor)
        rows = board.status(args.submission)
        if not rows:
            raise ReviewError(f"no submission with id {args.submission!r}")
        print(json.dumps({key: rows[0][key] for key in ("id", "model", "status", "audit", "review", "moderation",
                                                        "moderation_reason")}, indent=1))
    except (ReviewError, SubmissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"error: the store in {home} cannot be written ({error.cause})", file=sys.stderr)
        return 1
    finally:
        board.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
