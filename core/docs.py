"""`python -m core.docs`: write the generated blocks of the docs (configuration table, results schema).

The blocks sit between `<!-- generated: NAME -->` and `<!-- end generated -->` markers; tests/test_docs.py
fails when a committed block differs from what this writes, naming this command.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from core.results import schema_markdown
from core.settings import configuration_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCKS = {"configuration": ("space.md", configuration_markdown), "results": ("judge.md", schema_markdown)}


def block_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end generated -->)", re.S)


def rendered(text: str, name: str) -> str:
    """`text` with the block `name` replaced by what the code says now."""
    pattern = block_pattern(name)
    if not pattern.search(text):
        raise ValueError(f"no '<!-- generated: {name} -->' block")
    return pattern.sub(lambda match: match.group(1) + BLOCKS[name][1]() + match.group(3), text)


def main() -> int:
    for name, (page, _) in BLOCKS.items():
        path = DOCS / page
        path.write_text(rendered(path.read_text(encoding="utf-8"), name), encoding="utf-8")
        print(f"wrote the {name} block of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
