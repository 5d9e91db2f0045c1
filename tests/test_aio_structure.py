"""minireactor.aio's shape, checked from the source: no import cycle, small files.

Every import counts, at module level or inside a function, under
`TYPE_CHECKING` or not: a part that needs something from the loop receives
it explicitly instead of importing `loop.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import minireactor.aio

AIO = Path(minireactor.aio.__file__).resolve().parent
MODULES = {path.stem: path for path in sorted(AIO.glob("*.py"))}


def sibling_imports(path: Path) -> set[str]:
    """The modules of minireactor.aio that `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .x import y
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("minireactor.aio."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("minireactor.aio."):
                    found.add(alias.name.split(".")[2])
    return found & set(MODULES)


def test_the_modules_import_each_other_without_a_cycle() -> None:
    graph = {name: sibling_imports(path) for name, path in MODULES.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path, name])
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in graph:
        visit(name, [])
    assert "loop" not in set().union(*(graph[n] for n in graph if n != "__init__"))


def test_every_module_is_small_and_says_what_it_is() -> None:
    for name, path in MODULES.items():
        lines = path.read_text().count("\n")
        assert lines <= 400, f"aio/{name}.py has {lines} lines (house limit 400)"
        assert ast.get_docstring(ast.parse(path.read_text())), f"aio/{name}.py has no docstring"


def test_compat_is_a_leaf() -> None:
    """Version differences in one place, which depends on nothing else of the package."""
    assert sibling_imports(MODULES["compat"]) == set()
