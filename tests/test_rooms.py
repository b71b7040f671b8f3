"""The rooms stay rooms: every import of kith's own code follows DESIGN.md's Layout table.

Each folder is one room (``kith.store`` = ``store/``, ...). This walks every module of every room
with ``ast`` (imports at module level and inside functions alike: a lazy import is still an
arrow) and fails on an arrow the table does not allow, and on any import of kith's own code by
string (``import_module``, ``__import__``), which would hide an arrow from this test and from mypy.
It reads the source only, imports nothing of kith, so it also runs on an old checkout.

``docs/architecture.md`` draws the same table; the last test keeps the two equal.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: room → its folder (``kith`` itself holds the helpers every room may use: errors, text, process)
ROOMS = {
    "kith": "kith",
    "config": "config",
    "connectors": "connectors",
    "store": "store",
    "analysis": "analysis",
    "report": "report",
    "daemon": "daemon",
    "web": "web",
    "cli": "cli",
    "sample": "sample",
}
EVERYTHING = frozenset(ROOMS) - {"kith"}

#: DESIGN.md's Layout table: room → the rooms it may import (every room may import ``kith`` itself).
ALLOWED: dict[str, frozenset[str]] = {
    "kith": frozenset(),
    "config": frozenset(),
    "connectors": frozenset({"config"}),
    "store": frozenset({"connectors", "config"}),
    "analysis": frozenset({"store", "config"}),
    "report": frozenset({"store", "analysis", "config", "connectors"}),
    "daemon": frozenset({"config", "connectors", "store", "analysis", "report", "web"}),
    "web": frozenset({"config", "store", "analysis", "report"}),
    "cli": EVERYTHING,
    "sample": frozenset({"connectors", "config"}),
}

#: Where the table allows only part of a room: the store and the sample take the connectors'
#: records, the report only the contract (to find a mailbox's sender), not a provider's code.
ONLY: dict[tuple[str, str], frozenset[str]] = {
    ("store", "connectors"): frozenset({"kith.connectors.base"}),
    ("sample", "connectors"): frozenset({"kith.connectors.base"}),
    ("report", "connectors"): frozenset({"kith.connectors.base", "kith.connectors.registry"}),
}

#: The one module outside the table: ``python -m kith`` runs the command.
ENTRY = {("kith/__main__.py", "cli")}

STRING_IMPORTS = {"import_module", "__import__"}

#: Rooms that hold no SQL: they call the store's functions, named for what they return.
NO_SQL = ("analysis", "report", "daemon", "web")
#: What builds or runs a statement (types such as ``Connection`` and ``Session`` may pass through).
SQL_NAMES = {
    "select",
    "text",
    "insert",
    "update",
    "delete",
    "func",
    "and_",
    "or_",
    "not_",
    "exists",
    "literal",
    "case",
    "true",
    "false",
    "bindparam",
    "tuple_",
    "union_all",
    "Select",
    "Table",
    "Index",
    "column",
    "table",
}
SQL_CALLS = {"execute", "exec_driver_sql", "scalar", "scalars"}


def _modules() -> list[Path]:
    return sorted(p for folder in ROOMS.values() for p in (ROOT / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    room = next(r for r, folder in ROOMS.items() if folder == parts[0])
    names = ["kith"] + ([] if room == "kith" else [room]) + parts[1:]
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every kith module ``path`` imports, with its line: ``from kith.x import y`` gives
    ``kith.x.y`` (a submodule or a name in ``kith.x``: the room is the same either way)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                up = package[: len(package) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name == "kith" or name.startswith("kith.")]


def _room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS and parts[1] != "kith" else "kith"


def _string_imports(path: Path) -> list[tuple[int, str]]:
    """Calls that import by name: any of kith's own, or any whose name is not a plain literal
    (it could be kith's: ``import_module(f"kith.connectors.{kind}")``, a table of module names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if called not in STRING_IMPORTS:
            continue
        arg = node.args[0]
        literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        if literal is None or literal == "kith" or literal.startswith("kith."):
            out.append((node.lineno, ast.unparse(node)))
    return out


def wrong_arrows() -> list[str]:
    """``path:line: room → room (module)`` for every import the table does not allow."""
    wrong = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        src = _room_of(_module_name(path))
        for line, target in _imports(path):
            dst = _room_of(target)
            if dst in (src, "kith") or (rel, dst) in ENTRY:
                continue
            only = ONLY.get((src, dst))
            allowed = dst in ALLOWED[src] and (only is None or any(target.startswith(m) for m in only))
            if not allowed:
                wrong.append(f"{rel}:{line}: {src} → {dst} ({target})")
    return wrong


def test_no_arrow_runs_the_wrong_way() -> None:
    assert wrong_arrows() == []


def test_nothing_imports_kith_by_string() -> None:
    found = [f"{p.relative_to(ROOT)}:{line}: {call}" for p in _modules() for line, call in _string_imports(p)]
    assert found == []


def sql_outside_the_store() -> list[str]:
    """``path:line: what`` for every statement built or run in a room that must hold none."""
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if _room_of(_module_name(path)) not in NO_SQL:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            what = None
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = sorted(a.name for a in node.names if a.name in SQL_NAMES)
                if names or ".dialects" in (node.module or ""):
                    what = f"from {node.module} import {', '.join(names) or '...'}"
            elif isinstance(node, ast.Attribute) and node.attr == "__table__":
                what = "__table__"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                what = f".{node.func.attr}()"
            if what:
                found.append(f"{rel}:{node.lineno}: {what}")
    return found


def test_sql_lives_in_the_store() -> None:
    assert sql_outside_the_store() == []


def test_each_table_has_one_name() -> None:
    """``store/tables.py`` names every table once; no module makes a second name for one (the
    store had ``ST`` and ``STREAM``, ``LEASE`` and ``LEASES`` for the same tables)."""
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "store/tables.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{rel}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "__table__"
        ]
        found += [
            f"{rel}:{node.lineno}: {a.name} as {a.asname}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "kith.store.tables"
            for a in node.names
            if a.asname
        ]
    assert found == []


def test_the_walk_sees_lazy_and_relative_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: an import inside a function and a relative one are arrows too."""
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "x.py").write_text(
        "def f():\n    from kith.connectors.parallel import exit_with\n"
        "    from ..daemon import status\n    import importlib\n    importlib.import_module('kith.report')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    for folder in ROOMS.values():
        (tmp_path / folder).mkdir(exist_ok=True)
    assert wrong_arrows() == [
        "analysis/x.py:2: analysis → connectors (kith.connectors.parallel.exit_with)",
        "analysis/x.py:3: analysis → daemon (kith.daemon.status)",
    ]
    assert _string_imports(tmp_path / "analysis" / "x.py") == [(5, "importlib.import_module('kith.report')")]


def test_architecture_doc_draws_this_table() -> None:
    """docs/architecture.md's table of rooms says what this test enforces, room by room."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn: dict[str, frozenset[str]] = {}
    for row in re.findall(r"^\| `?(\w+)/?`? \|[^|]*\| ([^|]*) \|$", doc, re.M):
        room, may = row
        if room in ROOMS:
            names = re.findall(r"\b(" + "|".join(ROOMS) + r")\b", may)
            drawn[room] = EVERYTHING if "everything" in may else frozenset(names) - {"kith"}
    assert drawn == ALLOWED
