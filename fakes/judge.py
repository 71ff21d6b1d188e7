"""A fake judge: reads the judge prompt as a real judge would and grades by plain word overlap.

The nonce comes from the system message, the question and references from the user message's
JSON; the answer is graded by the words it shares with the references, so a test can compute the
expected score from the same function. Deterministic, instant, and meaningless as a grade.
"""
from __future__ import annotations

import json
import re

from .server import Reply

NONCE = re.compile(r'"nonce" value must be exactly "([0-9a-f]+)"')
NOT_A_JUDGE_REQUEST = "not a Med-CMR judge request (a system message with the nonce, then the answer as JSON)"


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def fake_grades(payload: dict) -> dict:
    """Integer grades 0-10 for a judge payload: {question, reference_answer, reference_visual_description, model_answer}."""
    answer = payload["model_answer"]
    final = answer.rsplit("Answer:", 1)[-1]
    reference = _words(payload["reference_answer"])
    description = _words(payload["reference_visual_description"])
    return {
        "consistency": 10 if "Answer:" in answer else 6,
        "coherence": 8 if "Reasoning:" in answer else 5,
        "visual_accuracy": round(10 * len(description & _words(answer)) / len(description)) if description else 0,
        "ground_truth": 10 if reference and reference <= _words(final) else 0,
    }


def expected_score(payload: dict) -> float:
    """The weighted 0-100 score the judge should record for `fake_grades(payload)`."""
    g = fake_grades(payload)
    return float(g["consistency"] + g["coherence"] + 4 * g["visual_accuracy"] + 4 * g["ground_truth"])


def read_request(request: dict) -> tuple[str, dict]:
    """(nonce, payload) of a judge request, as a judge model sees them; ValueError when it is not one."""
    try:
        system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
        return NONCE.search(system).group(1), json.loads(user)
    except (KeyError, IndexError, TypeError, AttributeError, json.JSONDecodeError):
        raise ValueError(NOT_A_JUDGE_REQUEST) from None


def verdict_json(request: dict) -> str:
    nonce, payload = read_request(request)
    return json.dumps({"nonce": nonce, **fake_grades(payload), "rationale": "graded by word overlap"})


def fake_judge(request: dict) -> Reply:
    """A well-behaved judge: only the JSON verdict (HTTP 400 for a request that is not a judge prompt)."""
    try:
        return Reply(content=verdict_json(request))
    except (ValueError, KeyError, TypeError):  # a payload without the fields the judge prompt sends
        return Reply(status=400, body={"error": {"message": NOT_A_JUDGE_REQUEST, "type": "invalid_request_error"}})
