"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

Each request body goes to a `responder` function that returns a `Reply`: the text the model
"says", or a status code with headers (429 + Retry-After, 500, ...), or a delay. The server
speaks HTTP/1.1 with keep-alive, so the real `openai` client talks to it as to any endpoint.

From the command line it serves a fake judge or a fake vision model until Ctrl-C, so the README's
whole path runs offline (run it from the repository root):

    python -m tests.openai_server --role judge --port 8000      # grades by word overlap
    python -m tests.openai_server --role model --data medcmr    # answers like tests/predict_responders.py
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.replies import Reply, Responder  # noqa: F401 - tests import Reply from here too


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # judges and predictors open dozens of connections at once


def _completion(request: dict, content: str) -> dict:
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
                    self._send(200, _completion(request, reply.content or ""), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _responder(role: str, data: Path, model: str) -> Responder:
    """The fake grader, or a vision model that knows the build in `data` (imported here: they import us)."""
    if role == "judge":
        from tests.judge_responders import fake_judge

        return fake_judge
    import predict
    from tests.predict_responders import VisionModel, read_built

    if not (data / "build_info.json").is_file():
        raise SystemExit(f"error: {data}: no built dataset here (--role model needs --data, "
                         "e.g. from `python medcmr.py build`)")
    return VisionModel(read_built(data), model=model, max_side=predict.DEFAULT_IMAGE_MAX_SIDE)


def main(argv: list[str] | None = None) -> int:
    """Serve one fake endpoint on 127.0.0.1 until Ctrl-C; prints its base URL first."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.openai_server", description="A local OpenAI-compatible server for dry runs "
        "(never a real model: the judge grades by word overlap, the model answers even indices right).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m tests.openai_server --role judge --port 8000\n"
               "  # then: python -m judge score ... --judge-base-url http://127.0.0.1:8000/v1 --judge-model test-judge")
    parser.add_argument("--role", choices=("judge", "model"), required=True,
                        help="judge: the fake grader; model: a fake vision model for `predict` (required)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1; 0 = any free port "
                        "(default: %(default)s)")
    parser.add_argument("--data", type=Path, default=Path("medcmr"),
                        help="--role model: the built dataset the questions come from (default: %(default)s)")
    parser.add_argument("--model-name", default="test-vlm",
                        help="--role model: the only model name it accepts, others get HTTP 400 (default: %(default)s)")
    args = parser.parse_args(argv)
    responder = _responder(args.role, args.data, args.model_name)
    try:
        server = OpenAIServer(responder, port=args.port)
    except OSError as error:
        print(f"error: port {args.port}: {error.strerror}", file=sys.stderr)
        return 2
    with server:
        print(f"fake {args.role} serving at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
