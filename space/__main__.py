"""`python -m space [--port N] [--home DIR] [--host H]`: serve the leaderboard on embedded defaults.

Home: `--home`, else `MEDCMR_HOME`, else `/data/medcmr` on a Space with persistent storage, else a
checkout's `.medcmr_home` from an earlier version, else `medcmr/` in the user data folder
(`$XDG_DATA_HOME`, else `~/.local/share`); never inside the installed code. The dataset is, first
found: a build at `<home>/medcmr`; else the build pushed to `MEDCMR_DATASET_REPO` (at
`MEDCMR_DATASET_REVISION`), of which only the questions and build_info.json are downloaded at start
(images per shard on demand); else the sample release, built at `<home>/medcmr`. The judge endpoint
comes from MEDCMR_JUDGE_* / OPENAI_* (never printed beyond model and host); every setting and its
variable is in `core/settings.py`.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from core.settings import Home, Settings, SettingsError, resolve_home


def check_port(host: str, port: int) -> None:
    """One line and exit when `port` cannot be listened on (another server holds it).

    The probe binds as the server will (SO_REUSEADDR, as uvicorn does), so the connections a stopped
    Space leaves in TIME_WAIT never block its restart, while a port another server listens on still does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SystemExit(f"error: cannot listen on {host}:{port} ({error.strerror or error}); another server "
                             "uses it: stop it, or choose another port with --port or GRADIO_SERVER_PORT") from None


def writable_home(home: Home) -> Path:
    """The home's folder, created if needed, once a probe file can be written there; else one line naming it."""
    try:
        home.path.mkdir(parents=True, exist_ok=True)
        probe = home.path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise SystemExit(f"error: the home folder {home.path} ({home.why}) is not writable "
                         f"({error.strerror or error}); give a writable --home or MEDCMR_HOME") from None
    return home.path


def _parser(settings: Settings) -> argparse.ArgumentParser:
    prog = "medcmr-space" if Path(sys.argv[0]).name == "medcmr-space" else "python -m space"
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"example (open answers judged by the kit's fake judge, `medcmr fake-judge`; see the README for a "
               f"real one):\n  MEDCMR_JUDGE_BASE_URL=http://127.0.0.1:8000/v1 MEDCMR_JUDGE_MODEL=test-judge {prog} "
               "--port 7860")
    parser.add_argument("--home", type=Path,
                        help="data folder (default: MEDCMR_HOME, else /data/medcmr if /data exists, else "
                             f"{settings.data_root / 'medcmr'}; a checkout's .medcmr_home is kept)")
    parser.add_argument("--port", type=int, default=settings.port,
                        help="port to serve on (default: %(default)s; GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument("--host", default=settings.host,
                        help="interface to listen on (default: GRADIO_SERVER_NAME, else 127.0.0.1; 0.0.0.0 on a Space)")
    return parser


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None
    args = _parser(settings).parse_args(argv)
    host = args.host or ("0.0.0.0" if settings.on_space else "127.0.0.1")
    check_port(host, args.port)  # before anything is built: a port in use is one line, at once
    home = resolve_home(settings, args.home)
    print(f"Home: {writable_home(home)} ({home.why})", flush=True)
    if home.note:
        print(f"Note: {home.note}", flush=True)
    from space.serve import serve  # Gradio and the leaderboard: imported once the flags are read

    serve(home.path, host, args.port, settings)


if __name__ == "__main__":
    main()
