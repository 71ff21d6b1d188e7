"""`python -m space [--port N] [--home DIR] [--host H]`: serve the leaderboard on embedded defaults.

Home: `--home`, else `MEDCMR_HOME`, else `/data/medcmr` on a Space with persistent storage, else
`<repo>/.medcmr_home`. The dataset is `<home>/medcmr`; when missing, the sample release is built
there. The judge endpoint comes from MEDCMR_JUDGE_* / OPENAI_* (never printed beyond model and host).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import medcmr
from judge.endpoint import Endpoint
from leaderboard.mirror import HubMirror
from leaderboard.service import Leaderboard
from space.app import CSS, build_app, on_space

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 7860


def default_home() -> Path:
    """Where submissions and the dataset live when no --home is given."""
    if os.environ.get("MEDCMR_HOME"):
        return Path(os.environ["MEDCMR_HOME"])
    if Path("/data").is_dir():
        return Path("/data/medcmr")
    return REPO / ".medcmr_home"


def ensure_dataset(home: Path) -> Path:
    """The built dataset under `home`, building the project's sample release when absent."""
    data_dir = home / "medcmr"
    if not (data_dir / "build_info.json").is_file():
        print(f"No dataset at {data_dir}: building the sample release there "
              "(build the official release into that folder to serve real results).", flush=True)
        zip_path = medcmr.write_sample_release(home / "sample_release" / "dataset.zip")
        medcmr.build(zip_path, data_dir)
    return data_dir


def _rate_limit() -> tuple[int, float]:
    """MEDCMR_RATE_LIMIT="5/3600": at most 5 submissions per submitter per 3600 s."""
    value = os.environ.get("MEDCMR_RATE_LIMIT", "5/3600")
    count, _, window = value.partition("/")
    try:
        return int(count), float(window or 3600)
    except ValueError:
        raise SystemExit(f"MEDCMR_RATE_LIMIT={value!r}: expected COUNT/SECONDS, e.g. 5/3600") from None


def _mirror(home: Path) -> HubMirror | None:
    """The optional Hub copy of results; the board runs without it when the Hub cannot be reached."""
    try:
        mirror = HubMirror.from_env(home / "mirror")
    except Exception as error:  # the store stays the truth; a mirror is a copy
        print(f"Results mirror disabled: {type(error).__name__} while opening "
              f"{os.environ.get('MEDCMR_RESULTS_REPO')}", flush=True)
        return None
    if mirror is not None:
        print(f"Results mirror: {os.environ['MEDCMR_RESULTS_REPO']} (dataset repo)", flush=True)
    return mirror


def main(argv: list[str] | None = None) -> None:
    prog = "medcmr-space" if Path(sys.argv[0]).name == "medcmr-space" else "python -m space"
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"example (open answers judged by a local fake judge; see the README for a real one):\n"
               f"  MEDCMR_JUDGE_BASE_URL=http://127.0.0.1:8000/v1 MEDCMR_JUDGE_MODEL=test-judge {prog} --port 7860")
    parser.add_argument("--home", type=Path,
                        help=f"data folder (default: MEDCMR_HOME, else /data/medcmr if /data exists, else {REPO / '.medcmr_home'})")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT)),
                        help=f"port to serve on (default: %(default)s; GRADIO_SERVER_PORT, else {DEFAULT_PORT})")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME"),
                        help="interface to listen on (default: GRADIO_SERVER_NAME, else 127.0.0.1; 0.0.0.0 on a Space)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpx2"):  # one line per HTTP call (judge, Hub) is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)

    home = (args.home or default_home()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    data_dir = ensure_dataset(home)
    endpoint = Endpoint.from_env()
    if endpoint.configured:
        print(f"Judge: {endpoint.model} at {endpoint.host}", flush=True)
    else:
        print("No judge endpoint (set MEDCMR_JUDGE_MODEL and MEDCMR_JUDGE_BASE_URL or an API key): "
              "MCQ is scored, open answers wait as 'awaiting judge'.", flush=True)
    mirror = _mirror(home)
    board = Leaderboard(home, data_dir, endpoint=endpoint, mirror=mirror, rate_limit=_rate_limit())
    board.start()
    print(f"Home: {home}", flush=True)
    try:
        build_app(board).queue(default_concurrency_limit=4).launch(
            server_name=args.host or ("0.0.0.0" if on_space() else "127.0.0.1"),
            server_port=args.port, max_file_size=2 * board.max_file_bytes, css=CSS)
    finally:
        board.stop()


if __name__ == "__main__":
    main()
