"""`python -m space [--port N] [--home DIR] [--host H]`: serve the leaderboard on embedded defaults.

Home: `--home`, else `MEDCMR_HOME`, else `/data/medcmr` on a Space with persistent storage, else
`<repo>/.medcmr_home`. The dataset is, first found: a build at `<home>/medcmr`; else the build pushed
to `MEDCMR_DATASET_REPO` (at `MEDCMR_DATASET_REVISION`), of which only the questions and
build_info.json are downloaded at start (images per shard on demand); else the sample release, built
at `<home>/medcmr`. The judge endpoint comes from MEDCMR_JUDGE_* / OPENAI_* (never printed beyond model and host);
every setting and its variable is in `core/settings.py`.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from core.memory import limit_arenas, start_heap_trimmer
from core.settings import Settings, SettingsError
from judge.endpoint import Endpoint
from leaderboard.mirror import HubMirror
from leaderboard.service import Leaderboard
from leaderboard.store import StoreUnavailable
from release.build import build
from release.built import build_info
from release.hub import ShardImages, fetch_questions
from release.sample import write_sample_release
from space.ui import CSS, HEAD, I18N, build_app
from space.routes import BoardPreview, ImmutableAssets, LongAddressGuard, board_routes
from space.submit_tab import start_upload_sweeper

MALLOC_ARENAS = 2
TRIM_EVERY_S = 10.0
REPO = Path(__file__).resolve().parent.parent


def default_home(settings: Settings) -> Path:
    """Where submissions and the dataset live when no --home is given."""
    if settings.home:
        return settings.home
    if Path("/data").is_dir():
        return Path("/data/medcmr")
    return REPO / ".medcmr_home"


class ServedDataset(NamedTuple):
    """The build the Space scores against, and its images (for an explorer; fetched per shard when remote)."""

    data_dir: Path
    images: ShardImages


def ensure_dataset(home: Path, settings: Settings) -> ServedDataset:
    """A local build under `home`; else the questions of the build in MEDCMR_DATASET_REPO; else the sample."""
    data_dir, image_cache = home / "medcmr", home / "image_cache"
    if (data_dir / "build_info.json").is_file():
        print(f"Dataset: the build at {data_dir}", flush=True)
        return ServedDataset(data_dir, ShardImages(data_dir, cache_dir=image_cache))
    if settings.dataset_repo:
        repo, revision = settings.dataset_repo, settings.dataset_revision
        if not revision:
            print("MEDCMR_DATASET_REVISION is not set: following the repo's main branch "
                  "(pin a commit so that every score is on the same build).", flush=True)
        try:
            fetched = fetch_questions(repo, revision, home / "hub_cache")
        except FileNotFoundError as error:
            raise SystemExit(f"error: {error}") from None
        rows = build_info(fetched.folder)["rows"]
        print(f"Dataset: {repo} at commit {fetched.commit[:12]}: {rows:,} questions (questions only; images "
              "are fetched per shard when shown)", flush=True)
        return ServedDataset(fetched.folder, ShardImages(fetched.folder, repo, fetched.commit, cache_dir=image_cache))
    print(f"No dataset at {data_dir} and no MEDCMR_DATASET_REPO: building the sample release there, so this "
          "board scores the sample, not the benchmark (set MEDCMR_DATASET_REPO to a pushed build, or build "
          "the official release into that folder, to serve real results).", flush=True)
    build(write_sample_release(home / "sample_release" / "dataset.zip"), data_dir)
    return ServedDataset(data_dir, ShardImages(data_dir, cache_dir=image_cache))


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


def check_port(host: str, port: int) -> None:
    """One line and exit when `port` cannot be listened on (another server holds it)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SystemExit(f"error: cannot listen on {host}:{port} ({error.strerror or error}); another server "
                             "uses it: stop it, or choose another port with --port or GRADIO_SERVER_PORT") from None


def writable_home(home: Path) -> Path:
    """`home`, created if needed, once a probe file can be written there; else one line naming it."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise SystemExit(f"error: the home folder {home} is not writable ({error.strerror or error}); "
                         "give a writable --home or MEDCMR_HOME") from None
    return home


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """SIGTERM (how a Space is stopped and restarted) and SIGINT both stop the server the way Ctrl-C does,
    whatever disposition the process inherited, so the lease and the temporary files never outlive it."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None
    prog = "medcmr-space" if Path(sys.argv[0]).name == "medcmr-space" else "python -m space"
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"example (open answers judged by a local fake judge; see the README for a real one):\n"
               f"  MEDCMR_JUDGE_BASE_URL=http://127.0.0.1:8000/v1 MEDCMR_JUDGE_MODEL=test-judge {prog} --port 7860")
    parser.add_argument("--home", type=Path,
                        help=f"data folder (default: MEDCMR_HOME, else /data/medcmr if /data exists, else {REPO / '.medcmr_home'})")
    parser.add_argument("--port", type=int, default=settings.port,
                        help="port to serve on (default: %(default)s; GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument("--host", default=settings.host,
                        help="interface to listen on (default: GRADIO_SERVER_NAME, else 127.0.0.1; 0.0.0.0 on a Space)")
    args = parser.parse_args(argv)
    limit_arenas(MALLOC_ARENAS)  # before the server's threads start: fewer arenas keep less freed memory
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for chatty in ("httpx", "httpx2"):  # one line per HTTP call (judge, Hub) is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)

    host = args.host or ("0.0.0.0" if settings.on_space else "127.0.0.1")
    check_port(host, args.port)  # before anything is built: a port in use is one line, at once
    home = writable_home((args.home or default_home(settings)).resolve())
    served = ensure_dataset(home, settings)
    data_dir = served.data_dir
    endpoint = Endpoint.from_settings(settings.judge)
    if endpoint.configured:
        how = (f"one batch per submission through its Batch API, checked every {settings.judge_batch_poll_s:g} s"
               if settings.judge_batch else f"{endpoint.timeout:g} s per call, {endpoint.max_retries} retries, "
               f"{settings.judge_deadline_s:g} s per submission")
        print(f"Judge: {endpoint.model} at {endpoint.host} ({how})", flush=True)
    else:
        print("No judge endpoint (set MEDCMR_JUDGE_MODEL and MEDCMR_JUDGE_BASE_URL or an API key): "
              "MCQ is scored, open answers wait as 'awaiting judge'.", flush=True)
    audit = Endpoint.from_settings(settings.audit)
    if audit.configured:
        print(f"Audit judge: {audit.model} at {audit.host}, re-scoring max({settings.audit_sample[0]}, "
              f"{settings.audit_sample[1]:.0%}) of each submission's judged open answers "
              f"(tolerance {settings.audit_tolerance:g} points)", flush=True)
    for runner in settings.runners:  # never the key, only the variable that holds it
        print(f"Runner {runner.name}: {', '.join(runner.models)} at {Endpoint(runner.base_url, None).host} "
              f"(key from {runner.api_key_env or 'no variable'}; {runner.timeout:g} s per call, "
              f"{runner.concurrency} at a time)", flush=True)
    if settings.runners:
        print(f"Reproduction: max({settings.reproduce_sample[0]}, {settings.reproduce_sample[1]:.0%}) of the "
              f"questions re-asked per submission, {settings.reproduce_budget:,} runner calls a day"
              + ("; only reproduced rows are ranked" if settings.rank_reproduced_only else ""), flush=True)
    try:
        board = Leaderboard(home, data_dir, settings, endpoint=endpoint, audit=audit,
                            mirror=_mirror(home, settings), images=served.images)
    except StoreUnavailable as error:
        raise SystemExit(f"error: the store in {home} cannot be written ({error.cause}): {error}") from None
    board.start()
    start_heap_trimmer(TRIM_EVERY_S)  # after bursts, Explore and item analysis, the memory goes back
    stop_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="medcmr-space-"))
    print(f"Home: {home}" + ("" if board.serving else
                             " (another process serves it: this one serves reads and queues submissions)"),
          flush=True)
    try:
        # Gradio refuses an over-limit upload (413) while it streams, before it is stored; the rest of
        # its upload folder (uploads never submitted, downloads, images) is swept by age.
        app = build_app(board, delete_cache=(settings.upload_sweep_s, settings.upload_max_age_s), workdir=workdir)
        start_upload_sweeper(Path(get_upload_folder()), settings.upload_sweep_s, settings.upload_max_age_s)
        # Uvicorn would let any client on this machine rewrite its address with X-Forwarded-For; who a
        # visitor is comes from the socket and the proxies MEDCMR_TRUSTED_PROXIES names (space.submit_tab).
        os.environ["FORWARDED_ALLOW_IPS"] = ""
        app.queue(default_concurrency_limit=4).launch(
            server_name=host,
            server_port=args.port, max_file_size=board.max_file_bytes, css=CSS, head=HEAD, i18n=I18N,
            app_kwargs={"routes": board_routes(board),
                        "middleware": [Middleware(LongAddressGuard), Middleware(ImmutableAssets),
                                           Middleware(BoardPreview, board=board)]})
    except KeyboardInterrupt:
        pass  # a stop signal before the server took over: the same clean stop
    finally:
        board.stop()  # the lease is released: a restarted Space on this home writes at once
        shutil.rmtree(workdir, ignore_errors=True)
        print("Stopped: lease released, temporary files removed.", flush=True)


if __name__ == "__main__":
    main()
