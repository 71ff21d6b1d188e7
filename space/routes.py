"""The board's data on plain GET routes of the Space's own server, off Gradio's queue.

`/board.json` and `/board.csv` serve the whole board (every column; Rank as the page shows it, a band
such as "2–3" or "—") from a byte string made once per board version, with an ETag (a reader that
sends it back gets 304 Not Modified) and gzip when the client accepts it. Scripts and dashboards
read the board with any HTTP client, and a thousand readers cost a dictionary look-up each.
"""
from __future__ import annotations

import gzip
import hashlib
import html
import re
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leaderboard import board as tables
from leaderboard import intervals
from leaderboard.records import Column
from leaderboard.service import Leaderboard
from space.board_view import BOARD_CSS, DEFAULT_COLUMN_GROUPS, banner_markdown, board_table_html, explainer_html

MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
# Gradio's built chunks carry a content hash in their names (`assets/Index-BtpqUM30.js`): a name never
# serves other bytes, so a returning visitor's browser may keep them for good instead of asking again.
HASHED_ASSET = re.compile(r"/assets/[\w.-]+-[\w-]{8,}\.(?:js|css)")
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
                shown = full.assign(Rank=full[Column.BAND])
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


MAX_TARGET_BYTES = 16_384  # path and query of one request; a link the page makes is far shorter


class LongAddressGuard:
    """ASGI middleware: a request whose path and query pass MAX_TARGET_BYTES answers 414 URI Too Long at once
    (Gradio's page route would fail on it with a traceback, and nothing the page makes is that long)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string", b""))
            if size > MAX_TARGET_BYTES:
                body = f"URI too long: {size:,} bytes of path and query (at most {MAX_TARGET_BYTES:,}).\n".encode()
                await send({"type": "http.response.start", "status": 414,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


PREVIEW_ROWS = 60  # the first screens' worth; Gradio's table brings every row
# Shown from the page's first bytes until Gradio has drawn the real table (then hidden for good).
PREVIEW_STYLE = ("#board-preview{font-family:'Source Sans Pro',ui-sans-serif,system-ui,sans-serif;color:#1f2937;"
                 "max-width:1280px;margin:0 auto;padding:16px 24px}#board-preview h1{font-size:1.9em;margin:0 0 8px}"
                 "#board-preview .board-scroll{margin:8px 0 16px}#board-preview svg{max-width:100%}"
                 ".preview-banner{border-left:4px solid #E69F00;padding:2px 12px}"
                 "body:has(#board .board-table) #board-preview,body:has(gradio-app [role=tab][aria-selected=true]"
                 ":not([data-tab-id=leaderboard])) #board-preview{display:none}")
# The same, for browsers without CSS :has() (e.g. Firefox ESR 115): the preview is removed. A look every 100 ms,
# not a MutationObserver: Gradio's mount makes thousands of DOM changes, and each would run the check.
PREVIEW_SCRIPT = ("<script>(() => { const watch = setInterval(() => { if (document.querySelector('#board .board-table, "
                  "gradio-app [role=tab][aria-selected=true]:not([data-tab-id=leaderboard])')) { "
                  "document.getElementById('board-preview')?.remove(); clearInterval(watch); } }, 100); })();</script>")


def preview_html(board: Leaderboard) -> str:
    """The board's first screen as plain HTML for the page's first bytes: what the numbers mean, the first rows
    as the table shows them (without the notes' marks: the notes come with the full board) and the MCQ interval
    chart. Nothing in it takes the keyboard's focus: it gives way to the page within seconds."""
    full = board.board()
    banner = html.escape(banner_markdown(board.dataset))
    banner = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", banner)
    table = board_table_html(full.head(PREVIEW_ROWS).assign(Note=""), DEFAULT_COLUMN_GROUPS, sortable=False)
    table = table.replace(' tabindex="0"', "").replace("<a href=", '<a tabindex="-1" href=')
    return (f'<style>{PREVIEW_STYLE}{BOARD_CSS}</style><div id="board-preview" aria-hidden="true">'
            "<h1>Med-CMR leaderboard</h1>" + (f'<p class="preview-banner">{banner}</p>' if banner else "")
            + f"{explainer_html(sortable=False)}<p>Loading the full board…</p>"
            f"{table}"
            f"{intervals.mcq_interval_svg(full)}</div>{PREVIEW_SCRIPT}")


class BoardPreview:
    """ASGI middleware over the page's HTML (`/`). With no query, or only `?tab=leaderboard`, it carries the
    board's first ranked rows before Gradio's app element, so a visitor reads them while the app's ~100
    scripts load; they are hidden once Gradio draws its own table (or opens another tab). Any other address
    (a search, a filter, another tab) gets no preview: it never shows rows the view would not. The page
    (300 KB: Gradio puts its whole config in it, and sends it uncompressed) is gzipped for clients that
    accept it."""

    def __init__(self, app, board: Leaderboard) -> None:
        self.app = app
        self.board = board
        self._lock = threading.Lock()
        self._cached: tuple[int, bytes] | None = None

    def _preview(self) -> bytes:
        version = self.board.board_version()
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                self._cached = (version, preview_html(self.board).encode("utf-8"))
            return self._cached[1]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        plain = scope.get("query_string", b"") in (b"", b"tab=leaderboard")
        gzipped = b"gzip" in dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        start: dict = {}
        body = bytearray()

        async def held(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(start.get("headers", []))
            page = bytes(body)
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if start.get("status") == 200 and headers.get(b"content-type", b"").startswith(b"text/html") \
                    and b"content-encoding" not in headers:
                if plain and page.count(b"<gradio-app") == 1:
                    preview = await run_in_threadpool(self._preview)
                    page = page.replace(b"<gradio-app", preview + b"<gradio-app", 1)
                if gzipped:
                    page = await run_in_threadpool(gzip.compress, page, 5)
                    kept += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
            await send({**start, "headers": [*kept, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, held)
