"""`python -m space.deploy --repo ORG/NAME`: push the Space in one commit (token from HF_TOKEN).

A Space runs its repository's root, but the app imports `leaderboard`, `judge`, `medcmr` and
`release` from this repository's root. So the Space repository is this tree, trimmed to those
paths, with `space/README.md` (the front matter) and `space/requirements.txt` at its top.
"""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from huggingface_hub import HfApi

REPO = Path(__file__).resolve().parent.parent
CODE_PATHS = ("core", "space", "leaderboard", "judge", "release", "medcmr.py")
AT_TOP = {"space/README.md": "README.md", "space/requirements.txt": "requirements.txt"}
SHIPPED_SUFFIXES = {".py", ".csv", ".md", ".txt"}


def space_files(root: Path = REPO) -> dict[str, Path]:
    """Path in the Space repository -> local file, for everything the Space needs to run."""
    files: dict[str, Path] = {}
    for name in CODE_PATHS:
        path = root / name
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in found:
            if "__pycache__" in file.parts or file.suffix not in SHIPPED_SUFFIXES:
                continue
            files[file.relative_to(root).as_posix()] = file
    for source, target in AT_TOP.items():
        files[target] = root / source
    return files


REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def deploy(repo_id: str, token: str | None, *, private: bool = False, hf_api: HfApi | None = None,
           root: Path = REPO) -> str:
    """Create the Space if needed and upload the files in one commit; returns the commit URL."""
    from huggingface_hub import CommitOperationAdd, HfApi  # the Hub client: only when pushing

    api = hf_api or HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    operations = [CommitOperationAdd(path_in_repo=target, path_or_fileobj=str(local))
                  for target, local in sorted(space_files(root).items())]
    info = api.create_commit(repo_id, operations, repo_type="space",
                             commit_message="Deploy the Med-CMR leaderboard Space")
    return info.commit_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m space.deploy", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python -m space.deploy --repo ORG/medcmr-leaderboard --list     # what would be pushed\n"
               "  HF_TOKEN=hf_... python -m space.deploy --repo ORG/medcmr-leaderboard --private\n"
               "then set the Space's variables and secrets (docs/space.md, \"Deploying to a Hugging Face Space\")")
    parser.add_argument("--repo", required=True, help="ORG/NAME of the Space (created if missing)")
    parser.add_argument("--private", action="store_true",
                        help="create the Space private, visible to its owner only (default: public; an existing "
                             "Space keeps its visibility)")
    parser.add_argument("--list", action="store_true", help="only list the files that would be pushed")
    args = parser.parse_args(argv)
    if args.list:
        for target, local in sorted(space_files().items()):
            print(f"{target}  <-  {local.relative_to(REPO)}")
        return
    if not REPO_ID.fullmatch(args.repo):
        raise SystemExit(f"error: --repo {args.repo!r}: expected ORG/NAME (letters, digits, '-', '_', '.')")
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise SystemExit("error: HF_TOKEN is not set: create a write token at huggingface.co/settings/tokens "
                         "and export HF_TOKEN=... (--list shows what would be pushed without one)")
    try:
        url = deploy(args.repo, token, private=args.private)
    except Exception as error:  # one line: the Hub unreachable, the token refused, the name taken
        raise SystemExit(f"error: pushing the Space {args.repo} failed: {type(error).__name__}: "
                         f"{str(error).splitlines()[0][:300] if str(error) else ''}") from None
    print(f"pushed: {url}")


if __name__ == "__main__":
    main()
