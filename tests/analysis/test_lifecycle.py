"""Flag lifecycle: stable keys, resolve with a reason, dismiss and snooze that stick, history kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from kith.analysis.api import UnknownFlag, dismiss, flags, history, snooze
from kith.analysis.lifecycle import Stored, transitions
from kith.analysis.model import Finding
from kith.store.engine import Store
from tests.analysis.world import ME, NOW, World, ago

ANN = "ann@client.example"


def finding(mark: str = "m1", reason: str | None = None) -> Finding:
    return Finding("broadcast_only", "broadcast_only:ann", NOW, {"broadcasts": 3}, mark, reason=reason)


def test_a_dismissed_flag_reopens_only_on_new_evidence() -> None:
    stored = {"broadcast_only:ann": Stored(7, "broadcast_only", "broadcast_only:ann", "dismissed", "m1", None)}
    assert transitions("ann", [finding("m1")], stored, NOW).update == {}
    ch = transitions("ann", [finding("m2")], stored, NOW)
    assert ch.update[7]["state"] == "open"
    assert ch.history == [(7, "open", "new evidence after it was dismissed")]


def test_a_snoozed_flag_returns_on_its_date_if_it_still_holds() -> None:
    stored = {
        "broadcast_only:ann": Stored(
            7, "broadcast_only", "broadcast_only:ann", "snoozed", "m1", NOW + timedelta(days=1)
        )
    }
    assert "state" not in transitions("ann", [finding()], stored, NOW).update[7]
    assert transitions("ann", [finding()], stored, NOW + timedelta(days=2)).update[7]["state"] == "open"
    # gone by then: resolved, not reopened
    assert transitions("ann", [], stored, NOW + timedelta(days=2)).update[7]["state"] == "resolved"


def test_recomputing_never_duplicates_and_a_rule_reason_is_kept() -> None:
    stored = {"broadcast_only:ann": Stored(7, "broadcast_only", "broadcast_only:ann", "open", "m1", None)}
    ch = transitions("ann", [finding()], stored, NOW)
    assert ch.insert == [] and "state" not in ch.update[7]
    ch = transitions("ann", [finding(reason="you met on 2026-05-30")], stored, NOW)
    assert ch.update[7] | {"resolved_at": None} == {
        "state": "resolved",
        "resolved_at": None,
        "reason": "you met on 2026-05-30",
        "snoozed_until": None,
    }


@pytest.fixture
def w(sqlite_store: Store) -> Iterator[World]:
    yield World(sqlite_store)


def test_dismiss_snooze_and_history_through_the_store(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    (f,) = w.open_flags("unanswered")
    with w.store.session() as s:
        dismiss(s, f["id"], now=NOW)
    assert w.waiting() == set()  # stays dismissed after recomputing
    with w.store.session() as s:
        snooze(s, f["id"], NOW + timedelta(days=3), now=NOW)
    assert w.waiting() == set()
    assert w.waiting(NOW + timedelta(days=4)) == {q}
    with w.store.session() as s:
        states = [h["state"] for h in history(s, f["id"])["history"]]
        assert states == ["open", "dismissed", "snoozed", "open"]
        with pytest.raises(UnknownFlag):
            dismiss(s, 999_999)


def test_a_reply_resolves_with_its_reason_and_the_key_is_stable(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    (f,) = w.open_flags("unanswered")
    w.mail(ME, (ANN,), when=ago(1), reply_to_msg=q, subject="Re: hello")
    assert w.open_flags("unanswered") == []
    with w.store.session() as s:
        (r,) = flags(s, state="resolved", now=NOW)
    assert r["id"] == f["id"] and "answered in the thread" in r["reason"]


@pytest.mark.parametrize("snoozed", [False, True])
def test_a_rebuild_resolves_with_the_reason_too(w: World, snoozed: bool) -> None:
    """A rebuild keeps only the resolved findings of stored flags (``derive``): this one's."""
    q = w.mail(ANN, when=ago(5))
    (f,) = w.open_flags("unanswered")
    if snoozed:
        with w.store.session() as s:
            snooze(s, f["id"], NOW + timedelta(days=3), now=NOW)
    w.mail(ME, (ANN,), when=ago(1), reply_to_msg=q, subject="Re: hello")
    assert w.analyze(rebuild=True)["mode"] == "rebuild"
    with w.store.session() as s:
        (r,) = flags(s, state="resolved", now=NOW)
    assert r["id"] == f["id"] and "answered in the thread" in r["reason"]


def test_cli_flags_dismiss_snooze_contacts_timeline(w: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from kith.cli import app

    db = tmp_path / "kith.db"
    w.mail(ANN, when=ago(5))
    w.analyze()
    (tmp_path / "kith.toml").write_text(f'[me]\naddresses = ["{ME}"]\n[database]\npath = "{db}"\n')
    assert str(db) == w.store.engine.url.database  # the CLI reads the world's database
    run = CliRunner().invoke
    base = ["--config", str(tmp_path / "kith.toml")]
    out = run(app, [*base, "flags", "--json"])
    assert out.exit_code == 0, out.output
    (f,) = json.loads(out.stdout)
    assert set(f) >= {"id", "kind", "state", "contact", "message_id", "since", "age_days", "evidence"}
    assert f["message_id"].startswith("<") and f["contact"]["address"] == ANN
    assert run(app, [*base, "flags", "snooze", str(f["id"]), "--until", "2099-01-01"]).exit_code == 0
    assert json.loads(run(app, [*base, "flags", "--json"]).stdout) == []
    assert run(app, [*base, "flags", "dismiss", "424242"]).exit_code != 0
    people = json.loads(run(app, [*base, "contacts", "--json"]).stdout)
    assert {
        "address",
        "name",
        "automated",
        "stage",
        "strength",
        "last_interaction",
        "personal_in",
        "personal_out",
        "broadcast_out",
        "meetings",
        "cadence_days",
        "reply_latency_hours",
    } <= set(people[0])
    tl = run(app, [*base, "timeline", ANN.upper()])
    assert tl.exit_code == 0 and "hello" in tl.output
