"""The command a message should tell the user to run, in the form they run this kit.

An installed kit is run as `medcmr`, `medcmr-judge`, `medcmr-space`; a checkout as
`python medcmr.py`, `python -m judge`. Advice in an error names the form the user just used.
"""
from __future__ import annotations

import sys
from pathlib import Path


def medcmr(subcommand: str) -> str:
    """`medcmr build` for users of the installed commands, `python medcmr.py build` otherwise."""
    installed = Path(sys.argv[0] or "").name.startswith("medcmr") and not sys.argv[0].endswith(".py")
    return f"{'medcmr' if installed else 'python medcmr.py'} {subcommand}"


def python() -> str:
    """The interpreter that has this kit, as the user types it from where they stand: `.venv/bin/python`
    from a checkout with its environment, else plain `python` (an active environment's)."""
    here, interpreter = Path.cwd(), Path(sys.executable)
    return str(interpreter.relative_to(here)) if interpreter.is_relative_to(here) else "python"
