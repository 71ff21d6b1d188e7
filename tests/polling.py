"""Tests wait on state, never on time: poll a check until it holds, with a deadline."""
from __future__ import annotations

import time
from typing import Callable

import pytest


def until(check: Callable[[], object], timeout: float, what: str):
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"not within {timeout:g} s: {what}")
