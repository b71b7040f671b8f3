"""kith.sample: deterministic, parseable, and its truth points at what is really in the corpus."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import icalendar
import pytest

from kith.analysis.kinds import KINDS
from kith.connectors.headers import parse_header_bytes
from kith.sample import DEFAULT_NOW, generate, load_truth
from kith.sample.generator import FLAG_RULES, RULES, build_world
from kith.sample.oracle import evaluate


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return generate(tmp_path_factory.mktemp("s") / "corpus", seed=11, messages=2000)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    again = generate(tmp_path / "again", seed=11, messages=2000)
    other = generate(tmp_path / "other", seed=12, messages=2000)
    assert tree_digest(again.root) == tree_digest(sample.root)
    assert tree_digest(other.root) != tree_digest(sample.root)


def test_counts_and_every_file_parses(sample) -> None:  # type: ignore[no-untyped-def]
    files = [p for mb in sample.mailboxes for p in mb.path.rglob("cur/*")]
    assert len(files) == sample.message_count
    assert abs(sample.message_count - 2000) <= 100
    ids = set()
    for f in files:
        rec = parse_header_bytes(f.read_bytes(), f.name)
        assert rec.from_ is not None and rec.message_id
        ids.add(rec.message_id)
    assert len(ids) == len(files), "Message-IDs must be unique"


def test_truth_points_at_the_corpus(sample) -> None:  # type: ignore[no-untyped-def]
    truth = load_truth(sample.truth_path)
    for rule in FLAG_RULES:
        assert truth.flags[rule], f"no {rule} case planted"
    assert truth.automated, "no automated sender planted"
    inbox_ids = {
        parse_header_bytes(p.read_bytes(), p.name).message_id
        for mb in sample.mailboxes
        for p in (mb.path / "cur").iterdir()
    }
    assert truth.flags["unanswered"] <= inbox_ids
    assert not (truth.automated & truth.human)
    flagged = truth.flags["broadcast_only"] | truth.flags["one_sided"] | truth.flags["reconnect"]
    assert flagged <= truth.human
    doc = json.loads(sample.truth_path.read_text())
    assert [m["name"] for m in doc["mailboxes"]] == ["work", "personal"]


def test_calendars_parse_and_hold_a_recurring_series(sample) -> None:  # type: ignore[no-untyped-def]
    cal = icalendar.Calendar.from_ical(sample.mailboxes[0].calendar.read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    assert events and any(e.get("RRULE") for e in events)
    assert any(str(e.get("STATUS", "")) == "CANCELLED" for e in events)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_oracle_agrees_with_the_scripts(seed: int) -> None:
    world = build_world(seed, 3000, DEFAULT_NOW, None)
    found = evaluate(world)
    for rule in RULES:
        assert set(found[rule]) == world.intent.get(rule, set()), rule


def test_oracle_sees_a_broken_script() -> None:
    """The oracle is independent: a planted case that breaks its rule is caught."""
    world = build_world(4, 1000, DEFAULT_NOW, None)
    victim = sorted(world.intent["one_sided"])[0]
    assert victim in evaluate(world)["one_sided"]
    # an answer from the victim arrives after my last message: no longer one-sided
    last = max((m for m in world.messages if any(p.address == victim for p in m.to)), key=lambda m: m.date)
    answer = replace(last, sender=last.to[0], to=(last.sender,), outbound=False, folder="", message_id="<answer@x>")
    world.messages.append(answer)
    assert victim not in evaluate(world)["one_sided"]


def test_the_sample_plants_every_registered_flag_kind() -> None:
    """The sample may not import the analysis' registry (it is the independent truth), so this pins
    them together: a kind registered in ``kith.analysis.kinds`` needs its planted cases and its
    oracle here, and the sample knows no kind the analysis does not."""
    assert set(FLAG_RULES) == {k.id for k in KINDS}
    world = build_world(1, 1000, DEFAULT_NOW, None)
    assert set(evaluate(world)) >= set(RULES)
