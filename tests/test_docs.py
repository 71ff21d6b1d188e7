"""The docs say what the code does: generated blocks are current, every link lands, every name and key exists."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from core import docs
from core.results import ReproductionState

STATES = {state.value for state in ReproductionState}  # a reproduction's `state` values, named in its row


@pytest.mark.parametrize("name", list(docs.BLOCKS))
def test_the_generated_blocks_of_the_docs_are_current(name: str) -> None:
    page = docs.DOCS / docs.BLOCKS[name][0]
    text = page.read_text(encoding="utf-8")
    assert docs.rendered(text, name) == text, (f"{page.name}: the {name} block is stale (a setting or a results "
                                               "field changed); run `python -m core.docs` and commit the result")


def test_every_setting_and_results_field_is_in_the_docs() -> None:
    from dataclasses import fields

    from core.results import ItemResult, McqResults, OpenResults
    from core.settings import Settings

    space = (docs.DOCS / "space.md").read_text(encoding="utf-8")
    judge = (docs.DOCS / "judge.md").read_text(encoding="utf-8")
    assert all(item.metadata["env"].split(",")[0] in space for item in fields(Settings))
    assert all(f"`mcq.{item.name}`" in judge for item in fields(McqResults))
    assert all(f"`open.{item.name}`" in judge for item in fields(OpenResults))
    assert all(f"`{item.name}`" in judge for item in fields(ItemResult))


# --------------------------------------------------------------------------- links and names
ROOT = docs.DOCS.parent
PAGES = sorted({ROOT / "README.md", *docs.DOCS.glob("*.md"), ROOT / "space" / "README.md"})
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The page without its code blocks and inline code, where a bracket is not a link."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated heading numbered (-1, -2...)."""
    found: set[str] = set()
    without_blocks = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", without_blocks, re.M):  # inline code stays in anchors
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        number, candidate = 0, slug
        while candidate in found:
            number += 1
            candidate = f"{slug}-{number}"
        found.add(candidate)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_of_the_docs_lands(page: Path) -> None:
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target) or target.startswith("${"):  # a web address; a card template's slot
            continue
        path, _, anchor = target.partition("#")
        landing = (page.parent / path).resolve() if path else page
        if not landing.exists():
            broken.append(f"{target}: no file {landing}")
        elif anchor and (landing.suffix != ".md" or anchor not in anchors(landing)):
            broken.append(f"{target}: no heading #{anchor} in {landing.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_anchor_rule_is_githubs() -> None:
    page = ROOT / "README.md"
    assert {"try-it-without-a-model", "the-whole-path-build--predict--judge--submit",
            "open-scores-you-can-stand-behind"} <= anchors(page)


KIT = {"core", "release", "judge", "bridges", "fakes", "leaderboard", "space", "medcmr", "predict"}
# The kit's modules the docs' examples import (the architecture test reads this map: no import is made up).
EXAMPLE_MODULES = {"medcmr": "medcmr", "judge": "judge", "core.settings": "core.settings"}


def python_blocks() -> list[tuple[str, str]]:
    return [(page.name, block) for page in PAGES
            for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)]


@pytest.mark.parametrize("page, block", python_blocks(), ids=lambda value: value if value.endswith(".md") else "")
def test_every_name_a_python_example_calls_of_the_kit_exists(page: str, block: str) -> None:
    """`judge.Endpoint.from_env()` in an example must be a real attribute, each keyword a real parameter."""
    import ast
    import importlib
    import inspect

    tree = ast.parse(block)
    imported = [(alias.name, alias.asname or alias.name, None) for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names]
    imported += [(node.module, alias.asname or alias.name, alias.name) for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) for alias in node.names]
    bound = {}
    for module, name, attribute in imported:
        if module.split(".")[0] in KIT:
            assert module in EXAMPLE_MODULES, f"{page} imports {module}: add it to EXAMPLE_MODULES"
            loaded = importlib.import_module(EXAMPLE_MODULES[module])
            bound[name] = getattr(loaded, attribute) if attribute else loaded
    wrong = []
    for node in ast.walk(tree):
        chain = ast.unparse(node.func if isinstance(node, ast.Call) else node).split(".") \
            if isinstance(node, (ast.Call, ast.Attribute)) else []
        if not chain or chain[0] not in bound or not all(part.isidentifier() for part in chain):
            continue
        value = bound[chain[0]]
        for part in chain[1:]:
            if not hasattr(value, part):
                wrong.append(f"{'.'.join(chain)}: no {part!r}")
                break
            value = getattr(value, part)
        else:
            if isinstance(node, ast.Call) and callable(value):
                parameters = inspect.signature(value).parameters
                if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
                    wrong += [f"{'.'.join(chain)}({k.arg}=...): no such parameter" for k in node.keywords
                              if k.arg and k.arg not in parameters]
    assert not wrong, f"{page}: " + "; ".join(sorted(set(wrong)))


@pytest.fixture(scope="module")
def results_document(questions: list[dict]) -> dict:
    """A real results document with every block filled: the sample scored against the fake judge."""
    from fakes.judge import fake_judge
    from fakes.server import OpenAIServer
    from core.results import AgreementGroup, Reproduction, ReproductionState
    from judge import Endpoint, score_submission

    predictions = [{"id": q["id"], "prediction": "Answer: A" if q["question_type"] == "mcq" else
                    f"Reasoning: seen.\nAnswer: {q['answer']}"} for q in questions]
    with OpenAIServer(fake_judge) as server:
        endpoint = Endpoint(base_url=server.base_url, model="test-judge", api_key="local")
        results = score_submission(predictions, questions, endpoint=endpoint, cache_path=None)
    # The leaderboard's block (the Space's `scores` and the mirror carry it): every field set.
    results.reproduction = Reproduction(state=ReproductionState.REPRODUCED.value, runner="lab", model="m",
                                        reason="agreement 100%", sample=["mcq-0"], mcq_n=1, mcq_agree=1,
                                        agreement=100.0, floor=97.5, p_value=1.0,
                                        by_dimension={"long_tail": AgreementGroup(1, 1, 100.0)}, open_n=1,
                                        open_compared=True, open_diff=0.0, open_ci95=[0.0, 0.0],
                                        open_tolerance=5.0, calls=2, seconds=1.0, finished_at="2026-01-01T00:00:00Z")
    return results.to_dict()


def _values(value: object) -> set[str]:
    """The text values of a block (a key's meaning may list them, e.g. `engine` (`online`, ...))."""
    if isinstance(value, dict):
        return {text for inner in value.values() for text in _values(inner)}
    return {value} if isinstance(value, str) else set()


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in _keys(inner)}
    return set()


def test_every_key_the_judge_docs_name_is_in_a_results_document_or_a_details_line(results_document: dict) -> None:
    from core.results import ItemResult, ItemStatus

    text = (docs.DOCS / "judge.md").read_text(encoding="utf-8")
    table = text.split("**`results.json`**", 1)[1].split("\n\n", 2)[1]
    wrong = []
    for row in (line for line in table.splitlines() if line.startswith("| `")):
        key_cell, meaning = row.split("|")[1:3]
        names = re.findall(r"`([a-z_][\w.*]*)`", key_cell)
        parent = names[0].rpartition(".")[0]
        for name in names:
            path = (name if "." in name or not parent else f"{parent}.{name}").split(".")
            value = results_document
            for part in path:
                if part.endswith("*"):  # `open.by_*`: every key with that start
                    if not any(key.startswith(part[:-1]) for key in value):
                        wrong.append(".".join(path))
                    break
                if not isinstance(value, dict) or part not in value:
                    wrong.append(".".join(path))
                    break
                value = value[part]
            if isinstance(value, dict) and len(names) == 1:  # a block: the names in its meaning are its keys
                wrong += [f"{name}.{inner}" for inner in re.findall(r"`([a-z_]\w*)`", meaning)
                          if inner not in _keys(value) | _values(value) | STATES]
    items = text.split("**`items.jsonl`**", 1)[1].split("\n\n", 1)[0]
    known = {field.name for field in dataclasses.fields(ItemResult)} | {status.value for status in ItemStatus} | {"null"}
    wrong += [f"items.jsonl: {name}" for name in re.findall(r"`([a-z_]\w*)`", items) if name not in known]
    assert not wrong, f"docs/judge.md names keys no results document or details line has: {sorted(set(wrong))}"
