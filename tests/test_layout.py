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
TESTS = Path(__file__).resolve().parent

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
    return [(m, list(n), line) for m, n, line in _parsed()["src"][str(path)]]


@functools.cache
def _parsed() -> dict[str, dict[str, list]]:
    """{"src": imports of every module, "tests": private newssearch names each test file uses}."""
    return _in_fresh_interpreter()


def _in_fresh_interpreter(*args: str) -> dict:
    # In a fresh interpreter: CPython 3.11's ast.parse can fail with "AST constructor
    # recursion depth mismatch" in a process where another test hit a RecursionError.
    run = subprocess.run(
        [sys.executable, __file__, *args],
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


def _is_module(dotted: str) -> bool:
    """Is ``dotted`` (newssearch.x.y) a module or package of the source tree?"""
    path = SRC.parent / Path(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _is_private(dotted: str) -> bool:
    """Does a part of ``dotted`` after ``newssearch`` start with one underscore?"""
    return any(p.startswith("_") and not p.startswith("__") for p in dotted.split(".")[1:])


def _private_uses(path: Path) -> list[tuple[str, int]]:
    """(newssearch.dotted.name, line) of every private newssearch name ``path`` reaches.

    Seen: ``from newssearch.x import _y``; a private module imported (``newssearch._whoosh_fast``);
    ``module._y`` on a name bound to a newssearch module; ``setattr``/``getattr``/
    ``monkeypatch.setattr``/``mock.patch.object(module, "_y", ...)``; dotted strings such as
    ``mock.patch("newssearch.x._y")``. Not seen: private attributes of objects (``ns._x``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}  # local name -> the newssearch module it is bound to
    uses: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "newssearch" or alias.name.startswith("newssearch."):
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        modules["newssearch"] = "newssearch"
                    if _is_private(alias.name):
                        uses.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            if module != "newssearch" and not module.startswith("newssearch."):
                continue
            for alias in node.names:
                target = f"{module}.{alias.name}"
                if _is_module(target):
                    modules[alias.asname or alias.name] = target
                if _is_private(target):
                    uses.append((target, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            base = _dotted(node.value, modules)
            if base and not node.attr.startswith("__"):
                uses.append((f"{base}.{node.attr}", node.lineno))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.args
            if (
                name in ("setattr", "getattr", "delattr", "hasattr", "object")
                and len(args) >= 2
                and isinstance(args[1], ast.Constant)
                and isinstance(args[1].value, str)
                and args[1].value.startswith("_")
                and not args[1].value.startswith("__")
                and (base := _dotted(args[0], modules))
            ):
                uses.append((f"{base}.{args[1].value}", node.lineno))
            for arg in args:
                text = arg.value if isinstance(arg, ast.Constant) else None
                if (
                    isinstance(text, str)
                    and text.startswith("newssearch.")
                    and text.replace(".", "").replace("_", "").isalnum()
                    and _is_private(text)
                ):
                    uses.append((text, node.lineno))
    return sorted(set(uses), key=lambda use: (use[1], use[0]))


def _dotted(node: ast.AST, modules: dict[str, str]) -> str | None:
    """The newssearch module an expression names (``writer``, ``newssearch.index.writer``)."""
    if isinstance(node, ast.Name):
        return modules.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, modules)
        if base and _is_module(f"{base}.{node.attr}"):
            return f"{base}.{node.attr}"
    return None


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


#: The private newssearch names tests may still use, and why: each file's remaining cases. Every
#: other test goes through public names; an entry no longer used fails too (keep this list true).
ALLOWED_PRIVATE_IN_TESTS: dict[str, dict[str, str]] = {
    # The Whoosh fast paths are private by design (_whoosh_fast/); their own tests compare them
    # with plain Whoosh byte for byte and make their internals raise to show the fallback.
    "test_whoosh_fast.py": {
        "newssearch._whoosh_fast": "the fast paths' package under test",
        "newssearch._whoosh_fast.segments": "the fast segment writer under test",
        "newssearch._whoosh_fast.vector": "the array scorer under test",
        "newssearch._whoosh_fast._warned": "reset the log-once set between fallback tests",
        "newssearch._whoosh_fast.vector._leaf": "made to raise: the search still answers",
        "newssearch._whoosh_fast.segments._term_blocks": "made to raise: indexing still works",
    },
    "test_vector.py": {
        "newssearch._whoosh_fast.vector": "the array scorer compared with Whoosh's collectors",
        "newssearch._whoosh_fast.vector._evaluate": "made to raise: the search still answers",
        # the reference path, called on the same prepared query, with each hit's docnum
        "newssearch.query.search._prepare": "the query exactly as both paths get it",
        "newssearch.query.search._whoosh_collect": "the plain-Whoosh reference collector",
    },
    "test_fast_reads.py": {
        "newssearch._whoosh_fast.columns.live_docnums": "the array of live documents vs Whoosh's",
        "newssearch._whoosh_fast.vector": "the scoring read of posting blocks under test",
        "newssearch._whoosh_fast.vector._ScoringUnpickler": "its blocks against the full read",
    },
    "test_scale.py": {
        "newssearch._whoosh_fast.segments": "the fast segment writer's pieces under test",
        "newssearch._whoosh_fast.segments._WriterCodec": "its codec against Whoosh's W3Codec",
        "newssearch._whoosh_fast.segments._Forked": "the forked commit helper made to fail",
        "newssearch._whoosh_fast.segments._helper_terms": "made to raise inside the helper",
        "newssearch._whoosh_fast.segments._sorted": "the posting sort against sorted()",
        "newssearch._whoosh_fast.segments._extend": "the term table's position runs",
    },
    # The tagger's reference sentence splitter and score tables are rebuilt from its own rule
    # tables, to check the fast versions against them.
    "test_entities.py": {
        "newssearch.enrich.entities._ABBREVIATIONS": "the splitter's rules, for its reference",
        "newssearch.enrich.entities._CLOSERS": "the splitter's rules, for its reference",
        "newssearch.enrich.entities._SENTENCE_END": "the splitter's rules, for its reference",
        "newssearch.enrich.entities._OFFSETS": "the CRF's feature groups, scored one by one",
    },
}


def _test_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def test_tests_use_only_the_allowed_private_names():
    """Tests reach private newssearch names only where the allow-list above says why."""
    found = _parsed()["tests"]
    offences = [
        f"tests/{name}:{line} uses {target}"
        for name, uses in found.items()
        for target, line in uses
        if target not in ALLOWED_PRIVATE_IN_TESTS.get(name, {})
    ]
    assert not offences, (
        "test through the public API, or make the name public; else add it with a reason to "
        "ALLOWED_PRIVATE_IN_TESTS:\n" + "\n".join(offences)
    )
    stale = [
        f"{name}: {target}"
        for name, allowed in ALLOWED_PRIVATE_IN_TESTS.items()
        for target in allowed
        if target not in {t for t, _ in found.get(name, [])}
    ]
    assert not stale, "no longer used, remove from ALLOWED_PRIVATE_IN_TESTS:\n" + "\n".join(stale)


def test_private_names_in_a_test_are_found(tmp_path: Path):
    """The scan sees each way a test reaches a private name, and lets public ones pass."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import newssearch._whoosh_fast as fast\n"
        "from newssearch.index import writer\n"
        "from newssearch.query.facets import _only, top_values\n"
        "import newssearch.index.pool\n"
        "from unittest import mock\n"
        "def test_x(monkeypatch):\n"
        "    writer._folder_bytes(None), writer.read_meta(None), fast.check_whoosh()\n"
        "    monkeypatch.setattr(writer, '_write_error', None)\n"
        "    monkeypatch.setattr(writer, 'SMALL_SEGMENT', 1)\n"
        "    newssearch.index.pool._read_once([])\n"
        "    mock.patch('newssearch.ingest.readers._read_csv')\n"
        "    ns._current_searcher()\n",
        "utf-8",
    )
    found = _in_fresh_interpreter(str(sample))[str(sample)]
    assert sorted(target for target, _ in found) == [
        "newssearch._whoosh_fast",
        "newssearch.index.pool._read_once",
        "newssearch.index.writer._folder_bytes",
        "newssearch.index.writer._write_error",
        "newssearch.ingest.readers._read_csv",
        "newssearch.query.facets._only",
    ]


if __name__ == "__main__":  # the parsing half, run by _parsed() in a fresh interpreter
    if sys.argv[1:]:  # private names in the given files
        print(json.dumps({p: _private_uses(Path(p)) for p in sys.argv[1:]}))
    else:
        src = {str(p): _parse_imports(p) for p in _modules()}
        tests = {str(p.relative_to(TESTS)): _private_uses(p) for p in _test_files()}
        print(json.dumps({"src": src, "tests": {k: v for k, v in tests.items() if v}}))
