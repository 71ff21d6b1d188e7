"""The board's data on plain GET routes of the Space's own server, off Gradio's queue.

`/board.json` and `/board.csv` serve the whole board (every column; Rank as the page shows it, a band
such as "2–3" or "—") from a byte string made once per board version, with an ETag (a reader that
sends it back gets 304 Not Modified) and gzip when the client accepts it. Scripts and dashboards
read the board with any HTTP client, and a thousand readers cost a dictionary look-up each.
"""
from __future__ import annotations

import gzip
import hashlib
import re
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leaderboard import board as tables
from leaderboard.service import Leaderboard

MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
# Gradio's built chunks carry a content hash in their names (`assets/Index-BtpqUM30.js`): a name never
# serves other bytes, so a returning visitor's browser may keep them for good instead of asking again.
HASHED_ASSET = re.compile(r"/assets/[\w.-]+-[\w-]{8}\.(?:js|css)")
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")


class BoardBytes:
    """The board as JSON and CSV bytes (and gzipped), made once per board version."""

    def __init__(self, board: Leaderboard) -> None:
        self.board = board
        self._lock = threading.Lock()
        self._cached: tuple[int, dict[str, tuple[bytes, bytes, str]]] | None = None

    def get(self, kind: str) -> tuple[bytes, bytes, str]:
        """(plain bytes, gzipped bytes, ETag) of the board as `kind` (json or csv)."""
        version = self.board.board_version()
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                full = self.board.board()
                shown = full.assign(Rank=full["Band"])
                made = {}
                for name, data in (("json", tables.export_json(shown)), ("csv", tables.export_csv(shown))):
                    made[name] = (data, gzip.compress(data, 6), f'"{hashlib.sha256(data).hexdigest()[:20]}"')
                self._cached = (version, made)
            return self._cached[1][kind]


def board_routes(board: Leaderboard) -> list[Route]:
    """`/board.json` and `/board.csv` for the Space's FastAPI app (`launch(app_kwargs={"routes": ...})`)."""
    cache = BoardBytes(board)

    def endpoint(kind: str):
        async def serve(request: Request) -> Response:
            data, packed, etag = await run_in_threadpool(cache.get, kind)
            headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
            if etag in (request.headers.get("if-none-match") or ""):
                return Response(status_code=304, headers=headers)
            if "gzip" in (request.headers.get("accept-encoding") or ""):
                return Response(packed, media_type=MEDIA[kind], headers={**headers, "Content-Encoding": "gzip"})
            return Response(data, media_type=MEDIA[kind], headers=headers)
        return serve

    return [Route(f"/board.{kind}", endpoint(kind), methods=["GET", "HEAD"]) for kind in MEDIA]


class ImmutableAssets:
    """ASGI middleware: Gradio's content-hashed chunks go out with a year-long, immutable Cache-Control (it
    sends none), so a visitor's second page load takes its ~100 chunks from the browser's cache."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not HASHED_ASSET.fullmatch(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_cached(message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, IMMUTABLE]}
            await send(message)

        await self.app(scope, receive, send_cached)
