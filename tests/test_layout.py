"""The package's layout rules: no private names across modules, no import cycles, stages in order.

Stages follow the data flow: ingest -> text -> enrich -> index -> query -> archive -> api ->
cli/web. A module may import from its own stage or an earlier one (and from the base modules
config, errors, models and the Whoosh fast paths), never from a later one.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "newssearch"

#: Stage of each top-level module or subpackage; a module imports only from stages <= its own.
STAGES = {
    "errors": 0,
    "models": 0,
    "version": 0,
    "config": 1,
    "_whoosh_fast": 2,
    "ingest": 3,
    "text": 3,
    "enrich": 4,
    "index": 5,
    "query": 6,
    "archive": 7,
    "api": 8,
    "cli": 9,
    "web": 9,
    "__main__": 10,
    "__init__": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every newssearch import in ``path``."""
    return [(m, list(n), line) for m, n, line in _parsed()[str(path)]]


@functools.cache
def _parsed() -> dict[str, list]:
    # In a fresh interpreter: CPython 3.11's ast.parse can fail with "AST constructor
    # recursion depth mismatch" in a process where another test hit a RecursionError.
    run = subprocess.run(
        [sys.executable, __file__],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(run.stdout)


def _parse_imports(path: Path) -> list[tuple[str, list[str], int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "newssearch" or module.startswith("newssearch."):
                out.append((module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("newssearch"):
                    out.append((alias.name, [], node.lineno))
    return out


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_imports_another_modules_private_names():
    """``from x import _name`` only within one module's own package's __init__ helpers: never."""
    offences = []
    for path in _modules():
        for module, names, line in _imports(path):
            for name in names:
                target = f"{module}.{name}"
                is_submodule = (SRC.parent / Path(*target.split("."))).with_suffix(".py").exists()
                if name.startswith("_") and not name.startswith("__") and not is_submodule:
                    offences.append(f"{path.relative_to(SRC)}:{line} imports {module}.{name}")
    assert not offences, "\n".join(offences)


def test_stages_import_only_earlier_stages():
    """A stage never imports a later one (so the layers cannot form a cycle)."""
    offences = []
    for path in _modules():
        own = _stage(_module_name(path))
        for module, names, line in _imports(path):
            targets = [module] if module != "newssearch" else [f"newssearch.{n}" for n in names]
            for target in targets:
                theirs = _stage(target)
                if theirs in STAGES and STAGES[theirs] > STAGES.get(own, 10):
                    offences.append(f"{path.relative_to(SRC)}:{line} ({own}) imports {target}")
    assert not offences, "\n".join(offences)


def test_no_import_cycles_between_modules():
    """The module import graph (lazy imports included) has no cycle."""
    graph: dict[str, set[str]] = {}
    known = {_module_name(p) for p in _modules()}
    for path in _modules():
        edges = graph.setdefault(_module_name(path), set())
        for module, names, _ in _imports(path):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                if target in known and target != _module_name(path):
                    edges.add(target)
    # a package's __init__ re-exporting its modules is not a cycle of logic: skip package nodes
    packages = {_module_name(p) for p in _modules() if p.name == "__init__.py"}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt in packages:
                continue
            if state.get(nxt) == 1:
                cycle.extend([*trail, node, nxt])
                return True
            if not state.get(nxt) and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if node not in packages and not state.get(node) and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_cli_and_web_talk_to_the_api_only():
    """The CLI and the web layer import the API and the base modules, not the stages below."""
    allowed = {"api", "config", "errors", "models", "version"}
    offences = []
    for path in [SRC / "cli.py", *sorted((SRC / "web").rglob("*.py"))]:
        if not path.exists():
            continue
        for module, names, line in _imports(path):
            targets = [module] if module != "newssearch" else [f"newssearch.{n}" for n in names]
            for target in targets:
                stage = _stage(target)
                if stage not in allowed and not target.startswith("newssearch.web"):
                    offences.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert not offences, "\n".join(offences)


if __name__ == "__main__":  # the parsing half, run by _parsed() in a fresh interpreter
    print(json.dumps({str(p): _parse_imports(p) for p in _modules()}))
