"""The peers' MCQ matchers, imported from their own PyPI wheels for the benches (never shipped, never copied).

VLMEvalKit's `can_infer` (wheel `ms-vlmeval`, `vlmeval/utils/matching_util.py`) and lmms-eval's shared
`extract_mcq_answer` (wheel `lmms-eval`, `lmms_eval/tasks/_task_utils/mcq_extract.py`). Importing
either package runs its `__init__`, which pulls in torch and the rest of the toolkit, so only the
one module file is loaded from the installed package (its own logger module beside it for
VLMEvalKit). Install both for the bench only, without their dependencies:

    .venv/bin/pip install --no-deps ms-vlmeval lmms-eval==0.7.3
"""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Callable

LETTERS = "ABCDE"


class PeerMissing(RuntimeError):
    """A peer's wheel is not installed; the message says how to install it."""


def _package_dir(package: str, wheel: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the folder without running the package's __init__
    if spec is None or not spec.submodule_search_locations:
        raise PeerMissing(f"{package} is not installed: .venv/bin/pip install --no-deps {wheel}")
    return Path(list(spec.submodule_search_locations)[0])


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _bare_package(name: str, path: Path) -> None:
    """Register `name` as a package at `path` whose __init__ is never run."""
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package


def vlmevalkit_can_infer() -> Callable[[str, dict], object]:
    """`vlmeval.utils.matching_util.can_infer(answer, choices)` from the installed ms-vlmeval wheel."""
    root = _package_dir("vlmeval", "ms-vlmeval")
    _bare_package("vlmeval", root)
    _bare_package("vlmeval.smp", root / "smp")
    _bare_package("vlmeval.utils", root / "utils")
    _load("vlmeval.smp.log", root / "smp" / "log.py")
    return _load("vlmeval.utils.matching_util", root / "utils" / "matching_util.py").can_infer


def lmms_eval_extract() -> Callable[..., str]:
    """`lmms_eval.tasks._task_utils.mcq_extract.extract_mcq_answer(response, choices)` from the lmms-eval wheel."""
    root = _package_dir("lmms_eval", "lmms-eval==0.7.3")
    return _load("lmms_eval_mcq_extract", root / "tasks" / "_task_utils" / "mcq_extract.py").extract_mcq_answer


def vlmevalkit_letter(can_infer: Callable, output: str, options: list[str]) -> str | None:
    """The letter VLMEvalKit's exact matching gives (`Z` and False are no answer), as its MCQ evaluation calls it."""
    found = can_infer(output, {letter: text for letter, text in zip(LETTERS, options)})
    return found if found and found in LETTERS else None


def lmms_eval_letter(extract: Callable, output: str, options: list[str]) -> str | None:
    """The letter lmms-eval's shared MCQ extractor gives for choices A-E ("" is no answer)."""
    return extract(output, list(LETTERS[:len(options)])) or None
