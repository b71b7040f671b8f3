"""A small mutation runner: where would a wrong line pass every test?

Why not mutmut or cosmic-ray: mutmut 3 copies the sources into ``mutants/`` and imports them by
their folder path (``analysis.rules.reconnect``), but here folder ``analysis/`` is the package
``kith.analysis`` (pyproject's package-dir map), so its trampolines never run; both tools also
generate every string and number change of problem messages and docstrings, which buries the
mutants that matter under noise. This runner makes the simple mutants of DESIGN-level code (one
operator, one comparison, one constant, one call changed), applies each to a private copy of the
tree (the working tree is never edited) and runs the fast tests that cover that module with
``pytest -x``. A mutant is *killed* when the tests fail, *survived* when they pass, *timeout*
when they hang (counted as killed), and *equivalent* when ``mutation_equivalent.json`` says why
no test can tell it apart.

Usage: ``python -m tests.tools.mutate [--module NAME ...] [--jobs N] [--sample N] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
#: The folders that are subpackages of ``kith`` (pyproject's package-dir map).
PACKAGES = ("config", "connectors", "store", "daemon", "analysis", "report", "cli", "sample", "web")

#: The rules' own tests (pure functions over hand-made ``ContactData``): fast enough per mutant.
RULE_TESTS = ("tests/analysis/rules",)


@dataclass(frozen=True)
class Target:
    """A module to mutate, the tests that cover it, and (optionally) only some of its functions."""

    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    t.path: t
    for t in (
        Target("analysis/rules/reconnect.py", (*RULE_TESTS, "tests/analysis/test_timeline.py")),
        Target("analysis/rules/unanswered.py", (*RULE_TESTS, "tests/analysis/test_unanswered_edges.py")),
        Target("analysis/rules/one_sided.py", RULE_TESTS),
        Target("analysis/rules/broadcast_only.py", RULE_TESTS),
        Target("analysis/rules/automated.py", RULE_TESTS),
        Target("store/identity.py", ("tests/store/test_message_key.py", "tests/store/test_identity.py")),
        Target("connectors/headers.py", ("tests/connectors/test_header_fields.py", "tests/connectors/test_headers.py")),
        Target("connectors/dates.py", ("tests/connectors/test_dates.py", "tests/connectors/test_headers.py")),
        Target(
            "connectors/charsets.py", ("tests/connectors/test_headers.py", "tests/connectors/test_header_fields.py")
        ),
        Target(
            "connectors/imap/cursor.py", ("tests/connectors/imap/test_cursor.py", "tests/connectors/imap/test_units.py")
        ),
        Target("connectors/graph/delta.py", ("tests/connectors/graph/test_cursor.py",), ("start_url",)),
        Target("connectors/gmail/mail.py", ("tests/connectors/gmail/test_cursor.py",), ("GmailSource.pull",)),
        Target(
            "analysis/classify.py", ("tests/analysis/test_classify.py", "tests/analysis/test_real_world_headers.py")
        ),
        Target("analysis/threads.py", ("tests/analysis/test_threads.py", "tests/analysis/test_real_world_headers.py")),
        Target("analysis/stages.py", ("tests/analysis/test_stages.py", "tests/analysis/test_timeline.py")),
        Target("analysis/stats.py", ("tests/analysis/test_stats.py", "tests/analysis/test_timeline.py")),
    )
}

# --- making mutants --------------------------------------------------------------------------

_SWAP_OPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Mult,),
    ast.Mod: (ast.FloorDiv,),
    ast.Lt: (ast.LtE,),
    ast.LtE: (ast.Lt,),
    ast.Gt: (ast.GtE,),
    ast.GtE: (ast.Gt,),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.And: (ast.Or,),
    ast.Or: (ast.And,),
}
_SWAP_CALLS = {"min": "max", "max": "min", "any": "all", "all": "any", "sorted": "list"}
#: Method calls whose removal (``x.lower()`` → ``x``) is a plausible slip.
_DROP_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "sort", "casefold"})


@dataclass(frozen=True)
class Mutant:
    """One change: ``id`` is stable across unrelated edits (function, what changed, occurrence)."""

    id: str
    line: int
    start: int  # byte offsets in the source
    end: int
    replacement: str

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement.encode() + source[self.end :]


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Ids of nodes never mutated: docstrings, annotations, ``__all__``, problem and error texts."""
    skip: set[int] = set()

    def all_of(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                all_of(body[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for a in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs):
                if a.annotation:
                    all_of(a.annotation)
            if node.returns:
                all_of(node.returns)
            all_of(node.args)  # defaults too: a changed default is not what a caller passes
        if isinstance(node, ast.AnnAssign):
            all_of(node.annotation)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            all_of(node)
        if isinstance(node, ast.Raise | ast.ImportFrom | ast.Import):
            all_of(node)
        if isinstance(node, ast.JoinedStr):  # f-strings: messages, not logic
            all_of(node)
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 5:
            all_of(node)  # a table of names (header fields, charsets): data, not logic
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
            all_of(node)  # a regex: one changed character is a different language, not a slip
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "problems"
        ):
            all_of(node)
    return skip


def _qualnames(tree: ast.AST) -> dict[int, str]:
    """Node id → the qualified name of the function or class it is in ('<module>' outside)."""
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{prefix}.{child.name}" if prefix != "<module>" else child.name
                names[id(child)] = inner
                visit(child, inner)
            else:
                names[id(child)] = prefix
                visit(child, prefix)

    visit(tree, "<module>")
    return names


def _op_name(op: ast.AST) -> str:
    return type(op).__name__


def _changes(node: ast.AST, seg: str, src_of: dict[int, str]) -> Iterator[tuple[str, str]]:
    """(description, replacement text) for each mutant of ``node``, whose source is ``seg``."""
    if isinstance(node, ast.BinOp) and type(node.op) in _SWAP_OPS:
        for new in _SWAP_OPS[type(node.op)]:
            yield (
                f"{_op_name(node.op)}->{new.__name__}",
                f"({src_of[id(node.left)]}) {_sym(new)} ({src_of[id(node.right)]})",
            )
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _SWAP_OPS:
        left, right = src_of[id(node.left)], src_of[id(node.comparators[0])]
        for new in _SWAP_OPS[type(node.ops[0])]:
            yield f"{_op_name(node.ops[0])}->{new.__name__}", f"(({left}) {_sym(new)} ({right}))"
    elif isinstance(node, ast.BoolOp):
        new = _SWAP_OPS[type(node.op)][0]
        parts = f" {_sym(new)} ".join(f"({src_of[id(v)]})" for v in node.values)
        yield f"{_op_name(node.op)}->{new.__name__}", f"({parts})"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not->", f"({src_of[id(node.operand)]})"
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            yield f"{v}->{not v}", f"({not v})"
        elif isinstance(v, int | float):
            yield f"{v}->{v + 1}", f"({v + 1})"
        elif isinstance(v, str):
            yield f"{v!r}->{(v + 'X') if v else 'X'!r}", repr(v + "X" if v else "X")
        elif isinstance(v, bytes) and v:
            yield f"{v!r}->b''", "(b'')"
    elif isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in _SWAP_CALLS:
            args = seg[len(f.id) :]
            yield f"{f.id}->{_SWAP_CALLS[f.id]}", f"{_SWAP_CALLS[f.id]}{args}"
        elif isinstance(f, ast.Attribute) and f.attr in _DROP_METHODS and not node.args and not node.keywords:
            yield f".{f.attr}()->", f"({src_of[id(f.value)]})"
    elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        yield "return->None", "return None"


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _sym(op: type) -> str:
    return {
        ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
        ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or",
    }[op]  # fmt: skip


def mutants(source: bytes, functions: tuple[str, ...] = ()) -> list[Mutant]:
    """Every mutant of a module's source (restricted to ``functions`` when given), in file order."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno: int, col: int) -> int:
        return offsets[lineno - 1] + col  # col_offset is in UTF-8 bytes, as the source is

    skip = _skipped_nodes(tree)
    qual = _qualnames(tree)
    src_of: dict[int, str] = {}
    nodes = []
    for node in ast.walk(tree):
        if getattr(node, "end_lineno", None) is None or (
            isinstance(node, ast.stmt) and not isinstance(node, ast.Return)
        ):
            continue
        start, end = pos(node.lineno, node.col_offset), pos(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        src_of[id(node)] = source[start:end].decode()
        nodes.append((start, end, node))
    found: list[Mutant] = []
    seen: Counter[str] = Counter()
    for start, end, node in sorted(nodes, key=lambda n: (n[0], -n[1])):
        if id(node) in skip or (getattr(node, "ctx", None) is not None and not isinstance(node.ctx, ast.Load)):
            continue
        where = qual.get(id(node), "<module>")
        if functions and not any(where == f or where.startswith(f + ".") for f in functions):
            continue
        for desc, text in _changes(node, src_of[id(node)], src_of):
            base = f"{where}:{desc}"
            seen[base] += 1
            found.append(Mutant(f"{base}#{seen[base]}", node.lineno, start, end, text))  # type: ignore[attr-defined]
    return found


# --- running them ----------------------------------------------------------------------------


def make_copy(into: Path, rev: str | None = None) -> Path:
    """A private copy of the tree (or of commit ``rev``: a "before" run), importable as ``kith``
    with PYTHONPATH=copy (the editable install's finder comes after sys.path, so the copy wins)."""
    copy = into / "tree"
    if rev:
        copy.mkdir()
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
        shutil.rmtree(copy / "bench", ignore_errors=True)
        # the runner itself is today's, whatever the commit
        (copy / "tests" / "tools").mkdir(exist_ok=True)
        shutil.copy2(Path(__file__), copy / "tests" / "tools" / "mutate.py")
        (copy / "tests" / "tools" / "__init__.py").touch()
    else:
        ignore = shutil.ignore_patterns(".venv", ".git", "bench", ".demo", "__pycache__", "*.egg-info", "build", "dist")
        shutil.copytree(ROOT, copy, ignore=ignore, symlinks=True)
    (copy / "bench").mkdir()
    for pkg in PACKAGES:
        (copy / "kith" / pkg).symlink_to(Path("..") / pkg)
    return copy


#: Third-party modules a test run imports, loaded once by the worker before it forks (about half
#: of a small test run's time); no ``kith`` module is loaded there, so each fork imports the mutant.
_PRELOAD = (
    *("pytest", "_pytest.python", "sqlalchemy", "sqlalchemy.orm", "pydantic", "pydantic_settings", "hypothesis"),
    *("alembic", "typer", "rich", "jinja2", "icalendar", "httpx", "starlette", "imapclient", "email.parser"),
)


def serve() -> None:
    """The worker: read a JSON list of test paths per line, run them in a fork, answer
    ``<pid>`` at once (so a hang can be killed) and then the exit code."""
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    for line in sys.stdin:
        tests = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            os._exit(int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])))
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


class Worker:
    """A ``serve`` process in one copy of the tree."""

    def __init__(self, copy: Path) -> None:
        self.copy = copy
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1", "TZ": os.environ.get("TZ", "UTC")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.tools.mutate", "--serve"],
            cwd=copy, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, tests: tuple[str, ...], timeout: float) -> tuple[str, float]:
        """'passed', 'failed' or 'timeout', and the seconds it took."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        began = time.monotonic()
        self.proc.stdin.write(json.dumps(list(tests)) + "\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        timer = threading.Timer(timeout, os.kill, (pid, signal.SIGKILL))
        timer.start()
        try:
            code = int(self.proc.stdout.readline())
        finally:
            timer.cancel()
        took = time.monotonic() - began
        if code == 0:
            return "passed", took
        if code in (1, 2, 3):  # tests failed, or could not even be collected or run: killed
            return "failed", took
        if code == -signal.SIGKILL:
            return "timeout", took
        raise RuntimeError(f"pytest could not run {tests} in {self.copy} (exit {code})")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    baseline_seconds: float = 0.0
    killed: list[str] = field(default_factory=list)
    survived: list[dict[str, object]] = field(default_factory=list)
    equivalent: list[dict[str, object]] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        tried = len(self.killed) + len(self.timeouts) + len(self.survived) + len(self.equivalent)
        real = tried - len(self.equivalent)
        killed = len(self.killed) + len(self.timeouts)
        return {
            "tried": tried,
            "killed": killed,
            "survived": len(self.survived),
            "equivalent": len(self.equivalent),
            "score": round(killed / real, 3) if real else 1.0,
        }


def load_equivalent() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    return data


def mutate_module(
    target: Target,
    workdir: Path,
    *,
    jobs: int = 1,
    sample: int = 0,
    equivalent: dict[str, str] | None = None,
    rev: str | None = None,
    only: set[str] | None = None,
) -> ModuleResult:
    """Run every mutant of one module (or ``sample`` of them) against its tests, in the working
    tree or at commit ``rev``."""
    equivalent = equivalent or {}
    if rev:
        show = ["git", "show", f"{rev}:{target.path}"]
        source = subprocess.run(show, cwd=ROOT, capture_output=True, check=True).stdout
        exists = set(subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "tests"], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.split())  # fmt: skip
        tests = tuple(t for t in target.tests if t in exists or any(e.startswith(t + "/") for e in exists))
    else:
        source = (ROOT / target.path).read_bytes()
        tests = tuple(t for t in target.tests if (ROOT / t).exists())
    todo = mutants(source, target.functions)
    if only is not None:
        todo = [m for m in todo if m.id in only]
    if sample:
        step = max(1, len(todo) // sample)
        todo = todo[::step][:sample]
    if not tests:  # no test covers it: every mutant survives (pytest without paths would run all)
        result = ModuleResult(target.path, [])
        lines = source.decode().splitlines()
        for m in todo:
            entry = {"id": m.id, "line": m.line, "code": lines[m.line - 1].strip()[:120], "mutant": m.replacement[:120]}
            if m.id in equivalent:
                result.equivalent.append({**entry, "why": equivalent[m.id]})
            else:
                result.survived.append(entry)
        return result
    workers = [Worker(make_copy(Path(tempfile.mkdtemp(dir=workdir)), rev)) for _ in range(max(1, jobs))]
    try:
        return _run_all(target, source, todo, tests, workers, equivalent)
    finally:
        for w in workers:
            w.close()


def _run_all(
    target: Target, source: bytes, todo: list[Mutant], tests: tuple[str, ...], workers: list[Worker],
    equivalent: dict[str, str],
) -> ModuleResult:  # fmt: skip
    result = ModuleResult(target.path, list(tests))
    status, took = workers[0].run(tests, timeout=600)
    if status != "passed":
        raise RuntimeError(f"the tests of {target.path} fail without any mutant: fix them first")
    result.baseline_seconds = round(took, 2)
    timeout = max(30.0, 4 * took)

    def one(i: int, m: Mutant) -> tuple[Mutant, str]:
        if m.id in equivalent:
            return m, "equivalent"
        worker = workers[i % len(workers)]
        path = worker.copy / target.path
        path.write_bytes(m.apply(source))
        try:
            status, _ = worker.run(tests, timeout)
        finally:
            path.write_bytes(source)
        return m, status

    lines = source.decode().splitlines()
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        # a worker per copy: mutant i runs in copy i % jobs, so no two share a file at once
        batches = [[(i, m) for i, m in enumerate(todo) if i % len(workers) == w] for w in range(len(workers))]
        outcomes = [o for batch in pool.map(lambda b: [one(i, m) for i, m in b], batches) for o in batch]
    for m, status in sorted(outcomes, key=lambda o: (o[0].start, o[0].id)):
        entry = {"id": m.id, "line": m.line, "code": lines[m.line - 1].strip()[:120], "mutant": m.replacement[:120]}
        if status == "equivalent":
            result.equivalent.append({**entry, "why": equivalent[m.id]})
        elif status == "passed":
            result.survived.append(entry)
        elif status == "timeout":
            result.timeouts.append(m.id)
        else:
            result.killed.append(m.id)
    return result


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    killed, survived, equivalent = entry["killed"], len(entry["survivors"]), len(entry["equivalents"])
    real = killed + survived
    return {**entry, "tried": real + equivalent, "survived": survived, "equivalent": equivalent,
            "score": round(killed / real, 3) if real else 1.0}  # fmt: skip


def reannotate(out: Path) -> None:
    """Apply today's ``mutation_equivalent.json`` to a report without running anything again: a
    survivor now explained moves to the equivalents, one no longer explained back."""
    report = json.loads(out.read_text())
    equivalent = load_equivalent()
    for name, entry in report["modules"].items():
        why = equivalent.get(name, {})
        every = [*entry["survivors"], *entry["equivalents"]]
        entry["survivors"] = [{k: v for k, v in e.items() if k != "why"} for e in every if e["id"] not in why]
        entry["equivalents"] = [{**e, "why": why[e["id"]]} for e in every if e["id"] in why]
        report["modules"][name] = _summary(entry)
    out.write_text(json.dumps(report, indent=1) + "\n")


def table(before: Path, after: Path) -> str:
    """The before/after table of two reports, as markdown."""
    b, a = json.loads(before.read_text())["modules"], json.loads(after.read_text())["modules"]
    rows = ["| module | before: tried / killed / survived | after: tried / killed / survived / equivalent | after score |",
            "|---|---|---|---|"]  # fmt: skip
    for name in sorted(set(a) | set(b)):
        x, y = b.get(name), a.get(name)
        left = f"{x['tried']} / {x['killed']} / {x['survived']}" if x else "–"
        right = f"{y['tried']} / {y['killed']} / {y['survived']} / {y['equivalent']}" if y else "–"
        label = f"{name} (sample of {y['sampled']})" if y and y.get("sampled") else name
        rows.append(f"| {label} | {left} | {right} | {y['score'] if y else '–'} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--module", action="append", help="a module path (default: every target)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--sample", type=int, default=0, help="only this many mutants per module")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mutation.json")
    p.add_argument("--rev", help="mutate this commit's code against its own tests (a 'before' run)")
    p.add_argument("--survivors", action="store_true", help="run again only the survivors that --out lists")
    p.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--reannotate", action="store_true", help="apply mutation_equivalent.json to --out, run nothing")
    p.add_argument("--table", type=Path, metavar="BEFORE", help="print the table of BEFORE against --out")
    args = p.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.reannotate:
        reannotate(args.out)
        return 0
    if args.table:
        print(table(args.table, args.out))
        return 0
    names = args.module or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        p.error(f"not a target: {', '.join(unknown)} (targets: {', '.join(TARGETS)})")
    if args.list:
        for n in names:
            for m in mutants((ROOT / n).read_bytes(), TARGETS[n].functions):
                print(f"{n}:{m.line}: {m.id}  =>  {m.replacement[:100]}")
        return 0
    equivalent = load_equivalent()
    report: dict[str, object] = json.loads(args.out.read_text()) if args.out.exists() and args.module else {}
    modules: dict[str, object] = dict(report.get("modules", {}))  # type: ignore[call-overload]
    with tempfile.TemporaryDirectory(prefix="kith-mutate-") as work:
        for n in names:
            began = time.monotonic()
            if args.survivors:
                entry: dict[str, Any] = modules[n]  # type: ignore[assignment]
                r = mutate_module(TARGETS[n], Path(work), jobs=args.jobs, equivalent=equivalent.get(n),
                                  only={e["id"] for e in entry["survivors"]})  # fmt: skip
                entry["killed"] += len(r.killed) + len(r.timeouts)
                entry["survivors"], entry["equivalents"] = r.survived, [*entry["equivalents"], *r.equivalent]
                modules[n] = _summary(entry)
                print(f"{n}: survivors run again: {len(r.killed) + len(r.timeouts)} now killed", flush=True)
                args.out.write_text(json.dumps({**report, "modules": dict(sorted(modules.items()))}, indent=1) + "\n")
                continue
            r = mutate_module(
                TARGETS[n], Path(work), jobs=args.jobs, sample=args.sample, equivalent=equivalent.get(n), rev=args.rev
            )
            s = r.summary()
            print(f"{n}: {s} ({time.monotonic() - began:.0f} s)", flush=True)
            for sv in r.survived:
                print(f"  survived {sv['id']} line {sv['line']}: {sv['code']}  =>  {sv['mutant']}", flush=True)
            modules[n] = {**s, "tests": r.tests, "baseline_seconds": r.baseline_seconds,
                          "survivors": r.survived, "equivalents": r.equivalent, "timeouts": r.timeouts}  # fmt: skip
            modules[n] = _summary(modules[n])  # type: ignore[arg-type]
            if args.sample:  # an estimate, not the whole module
                modules[n]["sampled"] = args.sample  # type: ignore[index]
            out = {
                "tool": "tests/tools/mutate.py",
                "rev": args.rev or "working tree",
                "modules": dict(sorted(modules.items())),
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
