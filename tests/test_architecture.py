"""The layering holds: core at the bottom, then release, judge, leaderboard, space; no import cycles.

Read from the source with `ast`: every import, also those inside functions, under TYPE_CHECKING and
under `if __name__ == "__main__":`, and through `importlib.import_module` or `__import__` however they
are spelt (aliased too). A name handed to them must be resolvable here: a literal, or a module-level
constant holding literals (`LAZY[name]` of a lazy re-export); anything built at run time is refused,
so no spelling hides a dependency that points the wrong way. Every top-level module and folder of
the project with Python in it is discovered (from git: tracked files and new ones not ignored), with
or without `__init__.py`, so a new one must be given its place here; bench/ and tests/ are checked too.
"""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each layer may import of this project (besides itself).
ALLOWED = {
    "core": set(),
    "release": {"core"},
    "judge": {"core", "release"},
    "bridges": {"core", "release", "judge"},
    "fakes": {"core", "release", "judge"},
    "leaderboard": {"core", "release", "judge"},
    "space": {"core", "release", "judge", "leaderboard"},
    "predict": {"core", "release", "judge"},
    "medcmr": {"core", "release", "judge", "bridges", "fakes", "predict"},
    # Benchmarks may use the whole kit and the tests' helpers; tests, anything but benchmarks.
    "bench": {"core", "release", "judge", "bridges", "fakes", "leaderboard", "space", "medcmr", "predict", "tests"},
    "tests": {"core", "release", "judge", "bridges", "fakes", "leaderboard", "space", "medcmr", "predict"},
}
IMPORTERS = {"import_module", "__import__"}


class Unresolvable(Exception):
    """An import whose module name is made at run time: the layering cannot be checked."""


def python_files(root: Path = ROOT) -> list[Path]:
    """Every .py file of the project: tracked by git, or new and not ignored (a build or an export is ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.py"],
                            cwd=root, capture_output=True, text=True, check=True).stdout.split()
    return [root / name for name in sorted(set(listed)) if (root / name).is_file()]


def modules(files: list[Path], root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every file (a folder's `__init__.py` names the folder)."""
    found = {}
    for path in files:
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, *, typing_only: bool = True, script: bool = True) -> set[str]:
    """Every module that `name` imports, resolved to a module name. With `typing_only` False, not those
    for type checkers only; with `script` False, not those under `if __name__ == "__main__":` (the
    cycle check wants what runs on import). Raises Unresolvable for a name made at run time."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree)
    for block in [n for n in tree.body if (_runs_as_script_only(n) and not script)
                  or (_for_type_checkers_only(n) and not typing_only)]:
        tree.body.remove(block)
    importers = _importer_names(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _calls_an_importer(node, importers):
            found.update(_dynamic_names(node, constants, package, f"{path.name}:{node.lineno}"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _absolute(module: str, level: int, package: str) -> str:
    if not level:
        return module
    anchor = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join(anchor + ([module] if module else []))


def _constants(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level names bound to a string or a collection of strings (a dict's values: name -> module)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            items = (value.values if isinstance(value, ast.Dict) else
                     value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else [value])
            if items and all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in items):
                found[node.targets[0].id] = [item.value for item in items]
    return found


def _importer_names(tree: ast.Module) -> set[str]:
    """What `import_module` and `__import__` are called in this file: `import_module`, `il.import_module`
    for `import importlib as il`, `load` for `from importlib import import_module as load`..."""
    names = set(IMPORTERS) | {f"importlib.{name}" for name in IMPORTERS} | {"builtins.__import__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {f"{a.asname}.{f}" for a in node.names if a.asname and a.name in ("importlib", "builtins")
                      for f in IMPORTERS}
        elif isinstance(node, ast.ImportFrom) and node.module in ("importlib", "builtins"):
            names |= {a.asname or a.name for a in node.names if a.name in IMPORTERS}
    return names


def _calls_an_importer(node: ast.Call, importers: set[str]) -> bool:
    return ast.unparse(node.func) in importers


def _dynamic_names(node: ast.Call, constants: dict[str, list[str]], package: str, where: str) -> list[str]:
    """The module names an `import_module(...)` call can import; Unresolvable when they are made at run time."""
    if not node.args:
        raise Unresolvable(f"{where}: {ast.unparse(node)} names no module")
    argument = node.args[0]
    if isinstance(argument, ast.Subscript):
        argument = argument.value  # LAZY[name]: any of the constant's strings
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        names = [argument.value]
    elif isinstance(argument, ast.Name) and argument.id in constants:
        names = constants[argument.id]
    else:
        raise Unresolvable(f"{where}: {ast.unparse(node)} imports a module whose name is made at run time; "
                           "name it with a literal or a module-level constant of literals")
    return [_absolute(n.lstrip("."), len(n) - len(n.lstrip(".")), package) for n in names]


def _runs_as_script_only(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators))


def _for_type_checkers_only(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def ours(found: set[str], known: dict[str, Path]) -> set[str]:
    """The names among `found` that are modules of this project (a top-level module or folder)."""
    tops = {name.split(".")[0] for name in known}
    return {module for module in found if module.split(".")[0] in tops}


def wrong_way(name: str, imported: set[str]) -> list[str]:
    """What `name` imports against its layer's place in ALLOWED."""
    layer = name.split(".")[0]
    wrong = sorted(m for m in imported if m.split(".")[0] not in ALLOWED[layer] | {layer})
    if layer == "bench":  # the tests' helpers, never a test module
        wrong += sorted(m for m in imported if m.split(".")[-1].startswith("test_"))
    return wrong


def _graph(**kwargs: bool) -> tuple[dict[str, set[str]], list[str]]:
    graph, refused = {}, []
    for name, path in MODULES.items():
        try:
            graph[name] = ours(imports(name, path, **kwargs), MODULES)
        except Unresolvable as error:
            refused.append(str(error))
    return graph, refused


MODULES = modules(python_files())
GRAPH, REFUSED = _graph()  # for the layers: every import, wherever it sits
RUNTIME, _ = _graph(typing_only=False, script=False)  # for cycles: what runs when a module is imported...
TYPED, _ = _graph(script=False)  # ...and what a type checker follows


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_each_module_imports_only_the_layers_below_it(name: str) -> None:
    layer = name.split(".")[0]
    assert layer in ALLOWED, f"{layer} is new: give it its place in ALLOWED (what it may import)"
    wrong = wrong_way(name, GRAPH[name])
    assert not wrong, f"{name} ({layer}) must not import {wrong}"


@pytest.mark.parametrize("source, wrong", [
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from space.render import escape_md\n", "space.render"),
    ("import importlib\nrender = importlib.import_module('space.render')\n", "space.render"),
    ("render = __import__('space.render')\n", "space.render"),
    ("from importlib import import_module as load\nrender = load('space.render')\n", "space.render"),
    ("import importlib as il\nrender = il.import_module('space.render')\n", "space.render"),
    ("import importlib\nLAZY = {'escape_md': 'space.render'}\n\ndef __getattr__(name):\n"
     "    return getattr(importlib.import_module(LAZY[name]), name)\n", "space.render"),
    ("import importlib\nrender = importlib.import_module('..space.render', __package__)\n", "space.render"),
    ("def main():\n    pass\n\nif __name__ == '__main__':\n    from space.render import escape_md\n", "space.render"),
])
def test_no_spelling_hides_a_wrong_way_import(tmp_path: Path, source: str, wrong: str) -> None:
    module = tmp_path / "judge" / "sneaky.py"
    module.parent.mkdir()
    module.write_text(source, encoding="utf-8")
    found = ours(imports("judge.sneaky", module), {"judge": module, "space.render": module})
    assert wrong in found and wrong in wrong_way("judge.sneaky", found)


@pytest.mark.parametrize("source", [
    "import importlib\nrender = importlib.import_module('space.' + 'render')\n",
    "import importlib\n\ndef load(name):\n    return importlib.import_module(f'space.{name}')\n",
    "from importlib import import_module as load\n\ndef get(name):\n    return load(name)\n",
    "import importlib\nrender = importlib.import_module()\n",
])
def test_a_module_name_made_at_run_time_is_refused(tmp_path: Path, source: str) -> None:
    module = tmp_path / "sneaky.py"
    module.write_text(source, encoding="utf-8")
    with pytest.raises(Unresolvable, match="sneaky.py:"):
        imports("judge.sneaky", module)


def test_every_top_level_module_and_folder_is_found_with_or_without_init(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name in ("judge/__init__.py", "judge/score.py", "newtool.py", "scripts/helper.py", "judge/sub/deep.py",
                 "medcmr/leftover.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("import space.render\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("/medcmr/\n", encoding="utf-8")  # a build, as the project ignores it
    found = modules(python_files(tmp_path), tmp_path)
    assert set(found) == {"judge", "judge.score", "judge.sub.deep", "newtool", "scripts.helper"}
    assert {name.split(".")[0] for name in found} - set(ALLOWED) == {"newtool", "scripts"}  # would fail above


def test_every_import_of_the_project_names_its_module() -> None:
    assert not REFUSED, "\n".join(REFUSED)


@pytest.mark.parametrize("graph", [RUNTIME, TYPED], ids=["at import", "counting imports for type checkers"])
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
