"""The two layers: the engine (``kcl``) never imports the book (``kcl.book``), no kcl module imports
another inside a function (the few optional or lazy ones listed), and the import graph has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# imports inside functions that are there on purpose: torch-free model configs (kcl.models loads
# its torch modules when first asked) and transformers export (optional at run time)
LAZY_ALLOWED = {("kcl.models", "kcl.models.transformer"), ("kcl.models", "kcl.models.hf"),
                ("kcl.bench", "kcl.models"), ("kcl.bench_step", "kcl.models")}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(SRC).with_suffix("").parts)
    return name.removesuffix(".__init__")


def kcl_imports() -> list[tuple[str, str, bool]]:
    """(importer, imported, inside a function?) for every import of a kcl module in src/kcl."""
    modules = {module_name(p) for p in (SRC / "kcl").rglob("*.py")}
    out = []
    for path in (SRC / "kcl").rglob("*.py"):
        me = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for n in ast.walk(f)}
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kcl":
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                           if f"{node.module}.{a.name}" in modules]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "kcl"]
            for target in targets:
                if target != me and target in modules:
                    out.append((me, target, id(node) in local))
    return out


def is_book(module: str) -> bool:
    return module == "kcl.book" or module.startswith("kcl.book.")


def test_the_engine_never_imports_the_book():
    offenders = [(a, b) for a, b, _ in kcl_imports() if not is_book(a) and is_book(b)]
    assert not offenders


def test_no_kcl_module_imports_another_inside_a_function():
    offenders = [(a, b) for a, b, lazy in kcl_imports() if lazy and (a, b) not in LAZY_ALLOWED]
    assert not offenders


def test_the_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = {}
    for a, b, lazy in kcl_imports():
        if not lazy and b != "kcl":
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(path + [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, path + [node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)
