"""Tests that stop a child with SIGINT set its disposition themselves: a child inherits SIGINT ignored
from a shell's `cmd &`, and Python then installs no KeyboardInterrupt handler at all."""
from __future__ import annotations

import signal


def interruptible() -> None:
    """`preexec_fn` for a child that must stop on SIGINT as on Ctrl-C, whatever the test runner inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
