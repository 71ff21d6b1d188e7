"""A Hugging Face Hub file endpoint on 127.0.0.1 serving one folder as a dataset repo, for tests and benches.

`huggingface_hub.hf_hub_download` talks to it over real HTTP when given `endpoint=` (or HF_ENDPOINT):
HEAD and GET of `/datasets/<repo>/resolve/<revision>/<path>` with the headers the client reads
(X-Repo-Commit, ETag, Content-Length) and the Hub's error codes for an unknown repo, revision or
file. Every request is recorded, so a test can assert what was (not) downloaded.

Also: `write_synthetic_questions`, a Hub-layout folder holding only build_info.json and the
questions artifact of a full-size synthetic build (20,654 questions), as a Space downloads it.
"""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from core.vocabulary import LETTERS
from release.questions import QUESTIONS_FILE, write_questions

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FULL_MCQ, FULL_OPEN = 16_655, 3_999
MCQ_SHARE = {"small_object": 1024, "fine_detail": 711, "spatial": 371, "temporal": 336, "causal": 1922,
             "long_tail": 11582, "multi_source": 709}  # MCQ per dimension in the release (SPEC §1)


class HubServer:
    """Serves `folder` as dataset repo `repo_id` at one commit (also reachable as `main`)."""

    def __init__(self, folder: Path, repo_id: str = "org/Med-CMR", commit: str = COMMIT) -> None:
        self.folder, self.repo_id, self.commit = Path(folder), repo_id, commit
        self.requests: list[tuple[str, str]] = []  # (method, path in the repo)
        self._etags: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def downloaded(self) -> set[str]:
        """Paths whose bytes were sent (GET)."""
        return {path for method, path in self.requests if method == "GET"}

    def _etag(self, path: Path) -> str:
        key = str(path)
        if key not in self._etags:
            self._etags[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._etags[key]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self
        prefix = f"/datasets/{hub.repo_id}/resolve/"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _error(self, status: int, code: str) -> None:
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", code)
                self.send_header("X-Repo-Commit", hub.commit)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self, body: bool) -> None:
                url_path = unquote(self.path.split("?")[0])
                if not url_path.startswith(prefix):
                    return self._error(401, "RepoNotFound")
                revision, _, name = url_path[len(prefix):].partition("/")
                hub.requests.append((self.command, name))
                if revision not in (hub.commit, "main"):
                    return self._error(404, "RevisionNotFound")
                path = (hub.folder / name).resolve()
                if not path.is_file() or hub.folder.resolve() not in path.parents:
                    return self._error(404, "EntryNotFound")
                self.send_response(200)
                self.send_header("X-Repo-Commit", hub.commit)
                self.send_header("ETag", f'"{hub._etag(path)}"')
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                if body:
                    with open(path, "rb") as handle:
                        while block := handle.read(2**20):
                            self.wfile.write(block)

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

        return Handler


def synthetic_rows(n_mcq: int = FULL_MCQ, n_open: int = FULL_OPEN) -> list[dict]:
    """Question rows of a synthetic build, spread over the dimensions as in the release."""
    slugs = [slug for slug, count in MCQ_SHARE.items() for _ in range(count)]
    rows = []
    for kind, count in (("mcq", n_mcq), ("open", n_open)):
        for index in range(count):
            slug = slugs[(index * 7919) % len(slugs)]
            rows.append({
                "id": f"{kind}-{index}", "index": index, "question_type": kind,
                "question": f"Synthetic question {index} about the image?",
                "options": [f"option {letter} of {index}" for letter in LETTERS] if kind == "mcq" else [],
                "answer": LETTERS[index % len(LETTERS)] if kind == "mcq" else f"finding {index % 50}",
                "visual_description": f"A synthetic description of image {index}.",
                "dimension": slug, "subtype": "synthetic", "medical_intelligence": "Diagnosis",
                "modality": "CT", "organ_system": "Nervous", "image_path": f"dataset/imgs/{kind}_{index:05d}.png",
                "shard": f"data/{slug}_{kind}/test-00000-of-00001.parquet"})
    return rows


def write_synthetic_questions(folder: Path, n_mcq: int = FULL_MCQ, n_open: int = FULL_OPEN) -> list[dict]:
    """build_info.json and the questions artifact of a synthetic build in `folder`; returns its rows."""
    rows = synthetic_rows(n_mcq, n_open)
    fingerprint = hashlib.sha256(f"synthetic {n_mcq} {n_open}".encode()).hexdigest()[:16]
    write_questions(rows, folder / QUESTIONS_FILE, fingerprint)
    info = {"builder": "medcmr.py", "source": {"kind": "zip", "name": "synthetic.zip"}, "rows": len(rows),
            "fingerprint": fingerprint, "questions": {"path": QUESTIONS_FILE, "rows": len(rows)}}
    (folder / "build_info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return rows
