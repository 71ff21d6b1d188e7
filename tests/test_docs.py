"""The docs say what the code does: generated blocks equal what the code generates now."""
from __future__ import annotations

import pytest

from core import docs


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
