"""The import graph, read from the source with ``ast`` (nothing is imported): no circles, and the engine never
imports the agent.

Every import counts, wherever it stands (module level, inside a function, under ``TYPE_CHECKING``): a lazy or
type-only import still ties two modules together both ways.  Importing a package counts as importing its
``__init__``; ``from pkg import name`` counts as importing ``pkg.name`` when that is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"umi_edge": REPO / "umi_edge", "umi_edge.convert": REPO / "convert", "umi_edge.train": REPO / "train"}


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for prefix, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = [prefix, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module that importing ``name`` loads (its longest prefix that is a module), else None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Project modules that ``module`` imports anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found.update(t for n in names if (t := _resolve(n)) is not None)
    found.discard(module)
    return found


def test_the_graph_is_read() -> None:
    """The reader sees module-level, lazy, TYPE_CHECKING and relative imports (else the checks below are empty)."""
    assert "umi_edge.tui.backend" in imports_of("umi_edge.tui.app")
    assert "umi_edge.engine.benchmark" in imports_of("umi_edge.commands.bench")  # inside the handler
    assert "umi_edge.convert.gguf_model" in imports_of("umi_edge.convert.pipeline")  # relative
    assert len(MODULES) > 100


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = stack[stack.index(v) :]
            del stack[stack.index(v) :]
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_circles_are_found() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    assert circles({m: imports_of(m) for m in MODULES}) == []


def test_the_engine_never_imports_the_agent() -> None:
    engine = [m for m in MODULES if m == "umi_edge.engine" or m.startswith("umi_edge.engine.")]
    assert len(engine) > 5
    bad = {m: sorted(t for t in imports_of(m) if t.split(".")[:2] == ["umi_edge", "agent"]) for m in engine}
    assert not {m: ts for m, ts in bad.items() if ts}
