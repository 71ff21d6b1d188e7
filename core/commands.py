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
