"""Tests wait on state, never on time: poll a check until it holds, with a deadline. The one place they poll."""
from __future__ import annotations

import time
from typing import Callable

import pytest


def until(check: Callable[[], object], timeout: float, what: str, *, every: float = 0.05):
    """Poll `check` every `every` s until it returns something truthy, and return that; fail naming
    `what` after `timeout` s (a check may fail the test itself, e.g. when the process it waits on died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"not within {timeout:g} s: {what}")
