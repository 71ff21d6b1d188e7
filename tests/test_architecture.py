"""The layering holds: core at the bottom, then release, judge, leaderboard, space; no import cycles.

Read from the source with `ast`: every import, also those inside functions, under TYPE_CHECKING and
through `importlib.import_module("...")` or `__import__("...")` with a literal name, so no spelling
hides a dependency that points the wrong way. Packages are discovered (a folder with `__init__.py`),
so a new one must be given its place here; bench/ and tests/ are checked too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tuple(sorted(path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests"))
TOP_MODULES = ("medcmr", "predict")
SCRIPTS = ("bench", "tests")  # folders of scripts and tests: checked, never imported by the layers
# What each layer may import of this project (besides itself).
ALLOWED = {
    "core": set(),
    "release": {"core"},
    "judge": {"core", "release"},
    "bridges": {"core", "release", "judge"},
    "leaderboard": {"core", "release", "judge"},
    "space": {"core", "release", "judge", "leaderboard"},
    "predict": {"core", "release", "judge"},
    "medcmr": {"core", "release", "judge", "bridges", "predict"},
    # Benchmarks may use the whole kit and the tests' helper servers; tests, anything but benchmarks.
    "bench": {"core", "release", "judge", "bridges", "leaderboard", "space", "medcmr", "predict", "tests"},
    "tests": {"core", "release", "judge", "bridges", "leaderboard", "space", "medcmr", "predict"},
}
OURS = set(PACKAGES) | set(TOP_MODULES) | set(SCRIPTS)


def modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in (*PACKAGES, *SCRIPTS):
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, *, typing_only: bool = True) -> set[str]:
    """Every module of this project that `name` imports, resolved to a module name (with
    `typing_only` False: only what runs when it is imported, for the cycle check)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for block in [n for n in tree.body if _runs_as_script_only(n) or (_for_type_checkers_only(n) and not typing_only)]:
        tree.body.remove(block)  # runs when executed as a script, or never: not an import-time edge
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _imports_by_name(node):
            found.add(node.args[0].value)
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module.split(".")[0] in OURS}


def _runs_as_script_only(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators))


def _imports_by_name(node: ast.Call) -> bool:
    """`importlib.import_module("x")`, `import_module("x")` or `__import__("x")` with a literal name."""
    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return (called in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str))


def _for_type_checkers_only(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


GRAPH = {name: imports(name, path) for name, path in modules().items()}
RUNTIME = {name: imports(name, path, typing_only=False) for name, path in modules().items()}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_each_module_imports_only_the_layers_below_it(name: str) -> None:
    layer = name.split(".")[0]
    assert layer in ALLOWED, f"{layer}/ is a new package: give it its place in ALLOWED (what it may import)"
    wrong = sorted(m for m in GRAPH[name] if m.split(".")[0] not in ALLOWED[layer] | {layer})
    if layer == "bench":  # the tests' helpers, never a test module
        wrong += sorted(m for m in GRAPH[name] if m.split(".")[-1].startswith("test_"))
    assert not wrong, f"{name} ({layer}) must not import {wrong}"


@pytest.mark.parametrize("source, wrong", [
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from space.render import escape_md\n", "space.render"),
    ("import importlib\nrender = importlib.import_module('space.render')\n", "space.render"),
    ("render = __import__('space.render')\n", "space.render"),
])
def test_no_spelling_hides_a_wrong_way_import(tmp_path: Path, source: str, wrong: str) -> None:
    module = tmp_path / "judge" / "sneaky.py"
    module.parent.mkdir()
    module.write_text(source, encoding="utf-8")
    assert wrong in imports("judge.sneaky", module)


@pytest.mark.parametrize("graph", [RUNTIME, GRAPH], ids=["at import", "counting imports for type checkers"])
def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    known = set(graph)
    edges = {name: {m if m in known else m.rpartition(".")[0] for m in targets} & known - {name}
             for name, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in edges[node]:
            if state.get(target) == 1:
                cycle = trail[trail.index(target):] + [target] if target in trail else [node, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])


def test_no_layer_names_a_package_after_the_built_dataset() -> None:
    """`load_dataset("medcmr", ...)` reads the built folder `medcmr/`; a package of that name would shadow it."""
    assert not (ROOT / "medcmr" / "__init__.py").exists()
