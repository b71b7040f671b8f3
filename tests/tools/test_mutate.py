"""The mutation runner cannot rot: every target still yields mutants that compile, every
equivalence note still names a mutant the runner makes, and a few mutants of two fast modules
are run for real (killed by their tests, the unmutated tree passing). ``make mutate`` runs all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.tools import mutate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", list(mutate.TARGETS))
def test_every_target_has_mutants_that_compile(target: str) -> None:
    t = mutate.TARGETS[target]
    source = (ROOT / target).read_bytes()
    found = mutate.mutants(source, t.functions)
    assert found, f"{target}: no mutants (a function filter that names nothing?)"
    assert len({m.id for m in found}) == len(found)
    for m in found:
        changed = m.apply(source)
        assert changed != source, m.id
        ast.parse(changed)  # a mutant that does not compile would be "killed" for nothing
    assert all((ROOT / p).exists() for p in t.tests), f"{target}: a test it names is gone"


def test_every_equivalence_note_names_a_mutant_the_runner_makes() -> None:
    for target, notes in mutate.load_equivalent().items():
        assert target in mutate.TARGETS, target
        ids = {m.id for m in mutate.mutants((ROOT / target).read_bytes(), mutate.TARGETS[target].functions)}
        assert set(notes) <= ids, f"{target}: notes for mutants no longer made: {set(notes) - ids}"
        assert all(why.strip() for why in notes.values())


def test_a_boundary_mutant_is_one_comparison_changed() -> None:
    src = b"def f(a, b):\n    return a <= b\n"
    by_id = {m.id: m for m in mutate.mutants(src)}
    cmp, ret = by_id["f:LtE->Lt#1"], by_id["f:return->None#1"]
    assert cmp.apply(src) == b"def f(a, b):\n    return ((a) < (b))\n"
    assert ret.apply(src) == b"def f(a, b):\n    return None\n"


@pytest.mark.slow
def test_a_few_mutants_run_and_die(tmp_path: Path) -> None:
    result = mutate.mutate_module(mutate.TARGETS["connectors/imap/cursor.py"], tmp_path, sample=3)
    assert result.baseline_seconds > 0
    assert len(result.killed) + len(result.timeouts) == 3, result.survived
