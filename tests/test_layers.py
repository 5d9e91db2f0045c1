"""The shape of minireactor, checked from its source: no import cycles, layers downward.

The layers, bottom to top (docs/architecture.md draws them). A module may
import from its own layer or any layer below, never from one above:

0. backends, timers, errors: `backends/*`, `timers.py`, `triggers.py`,
   `errors.py`. They know nothing of the loop.
1. core: `core.py` (LoopCore), `descriptors.py`, `lifecycle.py`,
   `instrument.py`, `interface.py` (the typing Protocol transports use),
   `trace.py`.
2. transports: `protocol.py`, `tcp.py`, `listener.py`, `connector.py`,
   `unix.py`, `udp.py`, `tls.py`, `tls_endpoints.py`, `stdio.py`,
   `process.py`, `pipes.py`, `testing.py`. Written against `interface.Loop`,
   never against `Reactor`.
3. protocols, defer, aio, and the `Reactor` facade that gathers the
   transports: `reactor.py`, `threads.py` (its pool returns Deferreds),
   `task.py`, `main.py` (`minireactor.run`), `jupyter.py`, `defer/*`,
   `protocols/*`, `aio/*`.
4. lab, demo, grader, cli: `lab/*`, `demo/*`, `grader/*`, `cli.py`,
   `trace_cli.py`, `__main__.py`, and the package's `__init__.py`, which
   re-exports from everywhere.

Imports are read with `ast`, in three kinds: module level, inside
`if TYPE_CHECKING:`, and inside functions. Cycles are looked for among the
imports that run (module level and function-local); the layer rule holds
for all three kinds, so even a type annotation never reaches upward.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minireactor"
MAX_LINES = 400

LAYERS: list[tuple[str, list[str]]] = [
    ("backends/timers/errors", ["backends", "timers", "triggers", "errors"]),
    ("core", ["core", "descriptors", "lifecycle", "instrument", "interface", "trace"]),
    (
        "transports",
        [
            "protocol", "transport", "tcp", "listener", "connector", "unix", "udp", "tls",
            "tls_endpoints", "stdio", "process", "pipes", "testing",
        ],
    ),
    (
        "protocols/defer/aio",
        ["reactor", "threads", "task", "main", "jupyter", "defer", "protocols", "aio"],
    ),
    ("lab/demo/grader/cli", ["lab", "demo", "grader", "cli", "trace_cli", "__main__", "__init__"]),
]  # fmt: skip


# The one module allowed past MAX_LINES, and why. The grader's child program is
# read once by the parent and sent to every graded child as a single program
# text (`grader/sandbox.py`), so that a test which rewrites files cannot change
# what later tests run; split in two it would have to be sent and stitched
# together as two texts inside the sandbox. Nothing else may join this list.
ONE_PROGRAM_TEXT = {"minireactor.grader._child": 440}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "module", "type_checking" or "function"
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    for index, (_, members) in enumerate(LAYERS):
        if first in members:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The minireactor modules an import statement names (submodules when they exist)."""
    known = all_modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "minireactor"]
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    if base.split(".")[0] != "minireactor":
        return []
    targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
    return targets or [base]


def edges_of(module: str, path: Path) -> list[Edge]:
    tree = ast.parse(path.read_text(), str(path))
    edges: list[Edge] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _resolve(module, path, child):
                    edges.append(Edge(module, target, kind, child.lineno))
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, "type_checking")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "function" if kind == "module" else kind)
            else:
                visit(child, kind)

    visit(tree, "module")
    return edges


@functools.cache
def import_graph() -> list[Edge]:
    return [edge for name, path in all_modules().items() for edge in edges_of(name, path)]


def find_cycle(edges: list[Edge]) -> list[str] | None:
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.source != e.target:
            graph.setdefault(e.source, set()).add(e.target)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_the_graph_sees_all_three_kinds_of_import() -> None:
    kinds = {e.kind for e in import_graph()}
    assert kinds == {"module", "type_checking", "function"}


def test_no_import_cycle_among_imports_that_run() -> None:
    running = [e for e in import_graph() if e.kind != "type_checking"]
    assert find_cycle(running) is None, f"import cycle: {' -> '.join(find_cycle(running) or [])}"


def test_layers_only_import_downward() -> None:
    upward = [
        f"{e.source} (layer {layer_of(e.source)}) imports {e.target} (layer "
        f"{layer_of(e.target)}) at line {e.line} [{e.kind}]"
        for e in import_graph()
        if layer_of(e.target) > layer_of(e.source)
    ]
    assert upward == []


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_every_module_is_at_most_400_lines(name: str) -> None:
    lines = len(all_modules()[name].read_text().splitlines())
    limit = ONE_PROGRAM_TEXT.get(name, MAX_LINES)
    assert lines <= limit, f"{name} has {lines} lines; split it by concept"


def test_the_checker_catches_a_cycle_and_an_upward_import() -> None:
    # The checks above must be able to fail: feed them a made-up graph.
    fake = [Edge("a", "b", "module", 1), Edge("b", "a", "function", 1)]
    assert find_cycle(fake) == ["a", "b", "a"]
    assert layer_of("minireactor.core") < layer_of("minireactor.reactor")
    assert layer_of("minireactor.backends.epoll") == 0
    graph = import_graph()
    assert any(
        (e.source, e.target, e.kind) == ("minireactor.tcp", "minireactor.errors", "module")
        for e in graph
    )
    assert any(
        e.source == "minireactor.aio.loop" and e.target.startswith("minireactor.aio.")
        for e in graph
    )
