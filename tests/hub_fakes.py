"""The Hub seam for tests: the library's own `HfApi` with its network calls recorded, not sent.

`HfApi` is what `push`, `CommitScheduler` (the results mirror) and the Space deploy all take, so
one subclass serves them all; nothing here touches the network.
"""
from __future__ import annotations

import threading
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi, RepoUrl

COMMIT = "0" * 40


class RecordingHfApi(HfApi):
    """Records `(call, arguments)` in `calls` and every committed file's bytes in `uploaded`."""

    def __init__(self) -> None:
        super().__init__(token="hf_fake_token_never_sent")
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _record(self, name: str, arguments: dict) -> None:
        with self._lock:
            self.calls.append((name, arguments))

    def create_repo(self, repo_id: str, **kwargs) -> RepoUrl:
        self._record("create_repo", {"repo_id": repo_id, **kwargs})
        return RepoUrl(f"https://huggingface.co/{_prefix(kwargs.get('repo_type'))}{repo_id}")

    def create_commit(self, repo_id: str, operations, **kwargs) -> CommitInfo:
        operations = list(operations)
        with self._lock:
            for op in operations:
                source = op.path_or_fileobj
                self.uploaded[op.path_in_repo] = (Path(source).read_bytes() if isinstance(source, (str, Path))
                                                  else source if isinstance(source, bytes) else source.read())
        self._record("create_commit", {"repo_id": repo_id, **kwargs, "paths": [op.path_in_repo for op in operations]})
        return _commit(repo_id, kwargs.get("repo_type"), kwargs.get("commit_message", ""))

    def commits(self) -> list[dict]:
        """The arguments of every `create_commit`, oldest first."""
        return [arguments for name, arguments in self.calls if name == "create_commit"]

    def upload_folder(self, **kwargs) -> CommitInfo:
        self._record("upload_folder", kwargs)
        return _commit(kwargs["repo_id"], kwargs.get("repo_type"), kwargs.get("commit_message", ""))


def _prefix(repo_type: str | None) -> str:
    return {"dataset": "datasets/", "space": "spaces/"}.get(repo_type or "", "")


def _commit(repo_id: str, repo_type: str | None, message: str) -> CommitInfo:
    return CommitInfo(commit_url=f"https://huggingface.co/{_prefix(repo_type)}{repo_id}/commit/{COMMIT}",
                      commit_message=message, commit_description="", oid=COMMIT)
