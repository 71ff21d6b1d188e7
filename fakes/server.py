"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for dry runs, tests and benchmarks.

Each request body goes to a `responder` function that returns a `Reply`: the text the model
"says", or a status code with headers (429 + Retry-After, 500, ...), or a delay. The server
speaks HTTP/1.1 with keep-alive, so the real `openai` client talks to it as to any endpoint.
`serve` runs one until Ctrl-C: what `medcmr fake-judge` and `medcmr fake-model` do.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    """What the server answers to one chat-completions request."""

    content: str | None = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: dict | None = None  # a raw JSON body, sent instead of a completion built from content


Responder = Callable[[dict], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # judges and predictors open dozens of connections at once


def chat_completion(request: dict, content: str) -> dict:
    prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in request.get("messages", []))
    completion_tokens = max(1, len(content) // 4)
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "test-model"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class OpenAIServer:
    """Start with `with OpenAIServer(responder) as server:`; `server.base_url` ends in /v1."""

    def __init__(self, responder: Responder, latency: float = 0.0, *, port: int = 0) -> None:
        self.responder = responder
        self.latency = latency
        self.requests: list[dict] = []
        self.authorizations: list[str] = []  # the Authorization header of each chat request, in order
        self._connections = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler())  # port 0: any free port
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def open_connections(self) -> int:
        """Client connections not yet closed: a client that stopped holds none."""
        with self._lock:
            return self._connections

    def _count_connection(self, change: int) -> None:
        with self._lock:
            self._connections += change

    def __enter__(self) -> "OpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, request: dict, authorization: str) -> None:
        with self._lock:
            self.requests.append(request)
            self.authorizations.append(authorization)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                server._count_connection(+1)
                super().setup()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    server._count_connection(-1)

            def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "invalid JSON body"}})
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                server._record(request, self.headers.get("Authorization", ""))
                reply = server.responder(request)
                time.sleep(server.latency + reply.delay)
                if reply.body is not None or reply.status != 200:
                    body = reply.body or {"error": {"message": f"status {reply.status}", "type": "test"}}
                    try:
                        self._send(reply.status, body, reply.headers)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                try:
                    self._send(200, chat_completion(request, reply.content or ""), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def serve(responder: Responder, port: int, what: str) -> int:
    """Serve `responder` on 127.0.0.1:`port` until Ctrl-C (SIGINT), printing the base URL first."""
    try:
        server = OpenAIServer(responder, port=port)
    except OSError as error:
        print(f"error: cannot listen on 127.0.0.1:{port} ({error.strerror or error}); choose another --port",
              file=sys.stderr)
        return 2
    with server:
        print(f"{what} serving at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0
