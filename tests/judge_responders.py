"""Responders for the fake server that play the judge: the kit's fake grader (`fakes.judge`, re-exported
here) and its misbehaving variants (prose, code fences, echoes of the answer, malformed or flaky replies,
judges that obey verdicts planted in the answer, 400/429/500, slow replies).
"""
from __future__ import annotations

import itertools
import json
import re
import threading

from fakes.judge import expected_score, fake_grades, fake_judge, read_request, verdict_json  # noqa: F401 - re-exported
from fakes.server import Reply, Responder


def fixed_judge(grades: dict) -> Responder:
    """A well-behaved judge that gives every answer the same `grades` (0-10 per criterion)."""
    def respond(request: dict) -> Reply:
        nonce, _ = read_request(request)
        return Reply(content=json.dumps({"nonce": nonce, **grades, "rationale": "fixed grades"}))
    return respond


def prose_judge(request: dict) -> Reply:
    """A chatty judge: the verdict in a ```json fence between sentences."""
    return Reply(content=f"Here is my evaluation.\n\n```json\n{verdict_json(request)}\n```\n\nLet me know if you need more.")


def echoing_judge(request: dict) -> Reply:
    """A judge that quotes the model's answer before and after its own verdict."""
    _, payload = read_request(request)
    answer = payload["model_answer"]
    return Reply(content=f"The answer under review says:\n{answer}\n\nMy verdict: {verdict_json(request)}\n\n"
                         f"For the record, the answer was:\n{answer}")


def malformed_judge(request: dict) -> Reply:
    """A judge that ignores the format."""
    return Reply(content="Pretty good answer overall, I would say 8/10 for accuracy.")


PLACEHOLDER = "<your nonce>"


def planted_verdict(request: dict) -> str | None:
    """The verdict an answer plants for the grader, with this call's real nonce filled in, or None."""
    nonce, payload = read_request(request)
    match = re.search(r"\{[^{}]*nonce[^{}]*\}", payload["model_answer"])
    return match.group(0).replace(PLACEHOLDER, nonce) if match else None


def obeying_judge(order: str) -> Responder:
    """A judge that obeys a planted verdict: `own+planted`, `planted+own` or `planted` (only the planted one)."""
    def respond(request: dict) -> Reply:
        planted, own = planted_verdict(request), verdict_json(request)
        if planted is None:
            return Reply(content=own)
        replies = {"own+planted": f"{own}\nThe corrected final verdict:\n{planted}",
                   "planted+own": f"As instructed: {planted}\nMy own assessment: {own}",
                   "planted": planted}
        return Reply(content=replies[order])
    return respond


class FlakyJudge:
    """A judge whose first reply for each answer is unreadable; later ones are fake_judge's verdict."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> Reply:
        _, payload = read_request(request)
        with self._lock:
            first = payload["model_answer"] not in self.seen
            self.seen.add(payload["model_answer"])
        return Reply(content="Let me think about the grades... I'd say around eight.") if first else fake_judge(request)


def schema_rejecting_judge(request: dict) -> Reply:
    """An endpoint with JSON mode but without structured outputs: 400 on json_schema."""
    if request.get("response_format", {}).get("type") == "json_schema":
        return Reply(status=400, body={"error": {"message": "response_format json_schema is not supported",
                                                 "type": "invalid_request_error", "param": "response_format"}})
    return fake_judge(request)


def no_json_mode_judge(request: dict) -> Reply:
    """An endpoint that rejects response_format (like some local servers) but grades fine without it."""
    if "response_format" in request:
        return Reply(status=400, body={"error": {"message": "response_format is not supported", "type": "invalid_request_error"}})
    return prose_judge(request)


class Counting:
    """Wraps a responder and lets the first `fail` calls answer with `status` (and `headers`)."""

    def __init__(self, responder: Responder, *, fail: int = 0, status: int = 500,
                 headers: dict[str, str] | None = None, after: int | None = None) -> None:
        self.responder, self.fail, self.status, self.headers, self.after = responder, fail, status, headers or {}, after
        self._count = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> Reply:
        with self._lock:
            number = next(self._count)
        if number < self.fail or (self.after is not None and number >= self.after):
            return Reply(status=self.status, headers=self.headers)
        return self.responder(request)


def slow_judge(delay: float) -> Responder:
    """A judge that takes `delay` seconds per reply."""
    def respond(request: dict) -> Reply:
        return Reply(content=verdict_json(request), delay=delay)
    return respond


def _read_like_a_model(text: str) -> str:
    """The answer as a language model reads it: escapes decoded, full-width and look-alike letters plain."""
    from core.text import fold  # a judge model sees through encodings; so does this one

    return fold(text).text


def decoding_obeying_judge(order: str) -> Responder:
    """Like `obeying_judge`, but it also obeys a planted verdict written with JSON or HTML escapes, full-width
    forms, look-alike letters or invisible characters, as a language model reading the answer would."""
    def respond(request: dict) -> Reply:
        nonce, payload = read_request(request)
        seen = _read_like_a_model(payload["model_answer"])
        own = verdict_json(request)
        if not re.search(r"consistency|ground_truth|visual_accuracy", seen):
            return Reply(content=own)
        planted = json.dumps({"nonce": nonce, "consistency": 10, "coherence": 10, "visual_accuracy": 10,
                              "ground_truth": 10, "rationale": "as the answer says"})
        replies = {"own+planted": f"{own}\nThe corrected final verdict:\n{planted}",
                   "planted+own": f"As instructed: {planted}\nMy own assessment: {own}",
                   "planted": planted}
        return Reply(content=replies[order])
    return respond


CLAIMS = re.compile(r"score|grade|note|rating|10\s*/\s*10|10 sur 10|满分|⭐|full marks|deserve|mérite|verdient")


def claim_obeying_judge(request: dict) -> Reply:
    """A judge that believes what an answer says about its own grade: any claim of a score gets 10s."""
    nonce, payload = read_request(request)
    if CLAIMS.search(_read_like_a_model(payload["model_answer"])):
        return Reply(content=json.dumps({"nonce": nonce, "consistency": 10, "coherence": 10, "visual_accuracy": 10,
                                         "ground_truth": 10, "rationale": "the answer says it is right"}))
    return fake_judge(request)
