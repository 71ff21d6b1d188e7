"""A fake OpenAI Batch API on 127.0.0.1 (files and batches over real HTTP), and the output file of
`vllm run-batch`, for tests. Each request line is answered by a responder of
tests/judge_responders.py, its reply built as tests/openai_server.py builds a chat completion.

What it keeps of the Batch API: input files uploaded as multipart with purpose "batch"; a batch
checks its input (a POST to its endpoint per line, unique custom ids) or fails; output and error
files hold one line per request, in any order; a batch can expire half done (the rest in the error
file with code batch_expired); batches are listed newest first; a wrong key is refused with 401.
"""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fakes.server import chat_completion
from fakes.server import Responder

EXPIRED = {"code": "batch_expired",
           "message": "This request could not be executed before the completion window expired."}


def answer(body: dict, responder: Responder) -> tuple[int, dict | None]:
    """(status, response body) of one chat-completions request answered by `responder`."""
    reply = responder(body)
    if reply.status == 200 and reply.body is None:
        return 200, chat_completion(body, reply.content or "")
    return reply.status, reply.body or {"error": {"message": f"status {reply.status}", "type": "test"}}


def vllm_run_batch(requests: Path, output: Path, responder: Responder, *, seed: int = 0) -> None:
    """Write what `vllm run-batch -i requests -o output` writes with `responder` as the model: one
    line per request, in any order, a failed request with the status and the error and no body."""
    lines = []
    for row in requests.read_text(encoding="utf-8").splitlines():
        request = json.loads(row)
        status, body = answer(request["body"], responder)
        if status == 200:
            body = {**body, "prompt_logprobs": None, "kv_transfer_params": None}
            body["choices"][0]["message"].update(reasoning_content=None, tool_calls=[])
            error = None
        else:
            error, body = {"error": {**body["error"], "param": None, "code": status}}, None
        lines.append({"id": f"vllm-{uuid.uuid4().hex}", "custom_id": request["custom_id"],
                      "response": {"status_code": status, "request_id": f"vllm-batch-{uuid.uuid4().hex}",
                                   "body": body}, "error": error})
    random.Random(seed).shuffle(lines)
    output.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class BatchServer:
    """Start with `with BatchServer(responder) as server:`; `server.base_url` ends in /v1.

    `hold`: batches stay in progress until it is cleared; `expire_after`: batches started while it
    is set answer that many requests, then expire; `lose_create_reply`: the next batch is started but its reply
    is a 500, as when the answer is lost on the way."""

    def __init__(self, responder: Responder, *, api_key: str | None = None) -> None:
        self.responder = responder
        self.api_key = api_key
        self.hold = False
        self.expire_after: int | None = None
        self.lose_create_reply = False
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self._expire_after: dict[str, int | None] = {}  # batch id -> expire_after when it was started
        self.answered: list[dict] = []  # the body of every request answered, in order
        self.looks = 0  # batches retrieved
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> "BatchServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def input_lines(self, batch_id: str) -> list[dict]:
        """The request lines a batch was given."""
        data = self.files[self.batches[batch_id]["input_file_id"]]["data"]
        return [json.loads(row) for row in data.decode().splitlines()]

    # -- the API ---------------------------------------------------------------------------------

    def _file(self, data: bytes, purpose: str, filename: str) -> dict:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = {"data": data, "object": {"id": file_id, "object": "file", "bytes": len(data),
                                                        "created_at": int(time.time()), "filename": filename,
                                                        "purpose": purpose, "status": "processed"}}
        return self.files[file_id]["object"]

    def _create(self, request: dict) -> tuple[int, dict]:
        source = self.files.get(request.get("input_file_id"))
        if source is None or source["object"]["purpose"] != "batch":
            return 400, {"error": {"message": "input_file_id is not a file uploaded for batch", "type": "invalid"}}
        batch_id = f"batch_{len(self.batches) + 1}"
        batch = {"id": batch_id, "object": "batch", "endpoint": request.get("endpoint"), "errors": None,
                 "input_file_id": request["input_file_id"], "completion_window": request.get("completion_window"),
                 "status": "in_progress", "output_file_id": None, "error_file_id": None,
                 "created_at": int(time.time()), "metadata": request.get("metadata"),
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}}
        problem = self._invalid(batch, source["data"])
        if problem:
            batch.update(status="failed", errors={"object": "list", "data": [{"code": "invalid", "message": problem}]})
        else:
            batch["request_counts"]["total"] = len(source["data"].splitlines())
        self.batches[batch_id] = batch
        self._expire_after[batch_id] = self.expire_after
        return 200, batch

    @staticmethod
    def _invalid(batch: dict, data: bytes) -> str | None:
        if batch["endpoint"] != "/v1/chat/completions" or batch["completion_window"] != "24h":
            return "unsupported endpoint or completion window"
        ids = set()
        for number, row in enumerate(data.decode().splitlines(), 1):
            line = json.loads(row)
            if line.get("method") != "POST" or line.get("url") != batch["endpoint"] or line["custom_id"] in ids:
                return f"line {number}: not a POST to the batch's endpoint, or a custom_id used twice"
            ids.add(line["custom_id"])
        return None

    def _run(self, batch: dict) -> None:
        """Answer a batch's requests (up to `expire_after`), write its output and error files."""
        lines = [json.loads(row) for row in self.files[batch["input_file_id"]]["data"].decode().splitlines()]
        expire_after = self._expire_after[batch["id"]]
        done, errors = [], []
        for number, line in enumerate(lines):
            entry = {"id": f"batch_req_{uuid.uuid4().hex[:12]}", "custom_id": line["custom_id"]}
            if expire_after is not None and number >= expire_after:
                errors.append({**entry, "response": None, "error": EXPIRED})
                continue
            self.answered.append(line["body"])
            status, body = answer(line["body"], self.responder)
            response = {"status_code": status, "request_id": uuid.uuid4().hex, "body": body}
            (done if status == 200 else errors).append({**entry, "response": response, "error": None})
        for kind, part in (("output_file_id", done), ("error_file_id", errors)):
            if part:
                random.shuffle(part)
                data = "".join(json.dumps(line) + "\n" for line in part).encode()
                batch[kind] = self._file(data, "batch_output", f"{batch['id']}_{kind}.jsonl")["id"]
        batch["request_counts"] = {"total": len(lines), "completed": len(done),
                                   "failed": len(errors) - sum(e["error"] == EXPIRED for e in errors)}
        batch["status"] = "expired" if expire_after is not None and len(lines) > expire_after else "completed"

    def _route(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict | bytes]:
        if self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            given = (headers.get("Authorization") or "").removeprefix("Bearer ")
            return 401, {"error": {"message": f"Incorrect API key provided: {given}", "code": "invalid_api_key"}}
        parts = path.split("?")[0].strip("/").split("/")
        with self._lock:
            if method == "POST" and parts == ["v1", "files"]:
                form = _multipart(headers.get("Content-Type", ""), body)
                return 200, self._file(form["file"][1], form["purpose"][1].decode(), form["file"][0])
            if method == "GET" and parts[:2] == ["v1", "files"] and parts[3:] == ["content"]:
                stored = self.files.get(parts[2])
                return (200, stored["data"]) if stored else (404, {"error": {"message": "no such file"}})
            if method == "POST" and parts == ["v1", "batches"]:
                status, batch = self._create(json.loads(body))
                if self.lose_create_reply and status == 200:
                    self.lose_create_reply = False
                    return 500, {"error": {"message": "the reply was lost", "type": "server_error"}}
                return status, batch
            if method == "GET" and parts == ["v1", "batches"]:
                listed = sorted(self.batches.values(), key=lambda b: b["id"], reverse=True)
                return 200, {"object": "list", "data": listed, "has_more": False}
            if method == "GET" and parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in self.batches:
                batch = self.batches[parts[2]]
                self.looks += 1
                if batch["status"] == "in_progress" and not self.hold:
                    self._run(batch)
                return 200, batch
        return 404, {"error": {"message": f"not found: {method} {path}"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reply = server._route(method, self.path, self.headers, body)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if isinstance(reply, bytes)
                                 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (file name, bytes)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()}
