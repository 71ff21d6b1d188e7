"""`python -m space [--port N] [--home DIR] [--host H]`: serve the leaderboard on embedded defaults.

Home: `--home`, else `MEDCMR_HOME`, else `/data/medcmr` on a Space with persistent storage, else
`<repo>/.medcmr_home`. The dataset is `<home>/medcmr`; when missing, the sample release is built
there. The judge endpoint comes from MEDCMR_JUDGE_* / OPENAI_* (never printed beyond model and host);
every setting and its variable is in `core/settings.py`.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from core.settings import Settings, SettingsError
from judge.endpoint import Endpoint
from leaderboard.mirror import HubMirror
from leaderboard.service import Leaderboard
from release.build import build
from release.sample import write_sample_release
from space.app import CSS, HEAD, build_app

REPO = Path(__file__).resolve().parent.parent


def default_home(settings: Settings) -> Path:
    """Where submissions and the dataset live when no --home is given."""
    if settings.home:
        return settings.home
    if Path("/data").is_dir():
        return Path("/data/medcmr")
    return REPO / ".medcmr_home"


def ensure_dataset(home: Path) -> Path:
    """The built dataset under `home`, building the project's sample release when absent."""
    data_dir = home / "medcmr"
    if not (data_dir / "build_info.json").is_file():
        print(f"No dataset at {data_dir}: building the sample release there "
              "(build the official release into that folder to serve real results).", flush=True)
        build(write_sample_release(home / "sample_release" / "dataset.zip"), data_dir)
    return data_dir


def _mirror(home: Path, settings: Settings) -> HubMirror | None:
    """The optional Hub copy of results; the board runs without it when the Hub cannot be reached."""
    try:
        mirror = HubMirror.from_env(home / "mirror", settings)
    except Exception as error:  # the store stays the truth; a mirror is a copy
        print(f"Results mirror disabled: {type(error).__name__} while opening {settings.results_repo}", flush=True)
        return None
    if mirror is not None:
        print(f"Results mirror: {settings.results_repo} (dataset repo)", flush=True)
    return mirror


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None
    parser = argparse.ArgumentParser(prog="python -m space", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="data folder (default: MEDCMR_HOME, /data/medcmr, .medcmr_home)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--host", default=settings.host,
                        help="interface to listen on (default 127.0.0.1; 0.0.0.0 on a Space)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpx2"):  # one line per HTTP call (judge, Hub) is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)

    home = (args.home or default_home(settings)).resolve()
    home.mkdir(parents=True, exist_ok=True)
    data_dir = ensure_dataset(home)
    endpoint = Endpoint.from_env()
    if endpoint.configured:
        print(f"Judge: {endpoint.model} at {endpoint.host}", flush=True)
    else:
        print("No judge endpoint (set MEDCMR_JUDGE_MODEL and MEDCMR_JUDGE_BASE_URL or an API key): "
              "MCQ is scored, open answers wait as 'awaiting judge'.", flush=True)
    board = Leaderboard(home, data_dir, endpoint=endpoint, mirror=_mirror(home, settings),
                        rate_limit=settings.rate_limit, max_file_bytes=settings.max_file_bytes,
                        retry_failed_after=settings.retry_failed_after_s)
    board.start()
    print(f"Home: {home}", flush=True)
    try:
        build_app(board).queue(default_concurrency_limit=4).launch(
            server_name=args.host or ("0.0.0.0" if settings.on_space else "127.0.0.1"),
            server_port=args.port, max_file_size=2 * board.max_file_bytes, css=CSS, head=HEAD)
    finally:
        board.stop()


if __name__ == "__main__":
    main()
