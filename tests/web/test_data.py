"""The web app's data (kith.web.data) against a real store."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kith.cli.status import COMMANDS_WINDOW
from kith.connectors.base import Address, Batch, MessageRecord
from kith.store.commands import log_command, refused_commands
from kith.store.derived import FlagRow
from kith.store.engine import Store
from kith.store.health import record_analysis_error
from kith.store.ingest import apply_batch
from kith.web import data
from kith.web.render import make_env
from tests.analysis.world import ME, NOW, World, ago


def test_sync_health_shows_forgeries_and_the_analysis_as_kith_status_does(store: Store) -> None:
    """Issue 21's leftover: the page asked for the mailboxes without my addresses, so the messages
    from my address that no provider says I sent were never counted there, and the analysis'
    failures were missing from it, though `kith status` shows both."""
    w = World(store)
    w.mail("ann@example.org", when=ago(5))
    forged = MessageRecord(
        provider_key="forged-1",
        message_id="<forged-1@test>",
        date=ago(3),
        subject="Re: hello",
        from_=Address(ME, "Me"),
        to=(Address("ann@example.org"),),
    )
    with store.engine.begin() as conn:
        apply_batch(conn, w.stream(), Batch(upserts=(forged,)))  # into the inbox, not Sent
    record_analysis_error(store.engine, "RuntimeError: the rules broke", NOW)
    with Session(store.engine) as db:
        found = data.health(db, w.config, NOW)
    assert found["forged_from_me"] == 1
    assert [mb["forged_from_me"] for mb in found["mailboxes"]] == [1]
    assert found["analysis"]["last_error"] == "RuntimeError: the rules broke"
    assert found["analysis"]["queued"] == 2
    page = make_env().get_template("health.html.j2").render(csrf="", h=found, current="health", note="")
    assert "1 message(s) from my address that no provider says I sent" in page
    assert "the rules broke" in page and "2 queued" in page
    # the page keeps the count between loads (it reads half of all mail): a sync's write renews it
    with store.engine.begin() as conn:
        again = MessageRecord(
            provider_key="forged-2", message_id="<forged-2@test>", date=ago(2), subject="x", from_=Address(ME)
        )
        apply_batch(conn, w.stream(), Batch(upserts=(again,)))
    with Session(store.engine) as db:
        assert data.health(db, w.config, NOW)["forged_from_me"] == 2


def test_sync_health_lists_refused_commands_as_kith_status_does(sqlite_store: Store) -> None:
    """Reply-to-act (issue 27) logs every refused command; `kith status` shows them under
    "commands" and the page did not. An applied one is the owner's doing and is not listed; one
    older than the window is counted by neither; the sender is a header, so it is escaped."""
    w = World(sqlite_store)
    with sqlite_store.engine.begin() as conn:
        log_command(conn, at=ago(1), via="work/INBOX", outcome="applied", flag_id=1, action="done", sender=ME)
        log_command(
            conn, at=ago(2), via="work/INBOX", outcome="forged", flag_id=7, action="done", sender="<b>x</b>@evil.test"
        )
        log_command(conn, at=ago(3), via="web", outcome="expired", flag_id=8, action="snooze-week", sender=ME)
        log_command(conn, at=ago(90), via="work/INBOX", outcome="replayed", flag_id=9, action="done", sender=ME)
    with Session(sqlite_store.engine) as db:
        found = data.health(db, w.config, NOW)
        with sqlite_store.engine.connect() as conn:
            assert found["commands"] == refused_commands(conn, since=NOW - COMMANDS_WINDOW)
    assert found["commands"]["total"] == 2
    assert [(c["outcome"], c["flag_id"]) for c in found["commands"]["latest"]] == [
        ("expired", 8),
        ("forged", 7),
    ]  # last logged first
    page = make_env().get_template("health.html.j2").render(csrf="", h=found, current="health", note="")
    assert "Refused commands" in page and "(2 in the last 30 days)" in page
    assert "forged" in page and "#7" in page and "expired" in page and "#8" in page
    assert "#9" not in page and "#1<" not in page
    assert "&lt;b&gt;x&lt;/b&gt;@evil.test" in page and "<b>x</b>" not in page


def test_sync_health_without_refused_commands_has_no_such_section(sqlite_store: Store) -> None:
    w = World(sqlite_store)
    with Session(sqlite_store.engine) as db:
        found = data.health(db, w.config, NOW)
    assert found["commands"]["total"] == 0
    page = make_env().get_template("health.html.j2").render(csrf="", h=found, current="health", note="")
    assert "Refused commands" not in page


def test_today_counts_and_orders_every_open_flag_but_reads_only_the_shown(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today counts and orders the open flags from their heads and reads the full flags of the
    shown ones only (at 1M messages, 5,000 open flags made the page 250 ms of CPU). A snooze whose
    date has come counts as open; a later snooze and a dismissed flag do not."""
    w = World(sqlite_store)
    rows = []
    for n in range(40):  # more than a section shows
        state, until = ("snoozed", ago(1)) if n == 3 else ("open", None)
        rows.append(("unanswered", f"u{n:02d}@x.test", f"<m{n}@x.test>", ago(40 - n), state, until, {}))
    rows.append(("unanswered", "later@x.test", "<later@x.test>", ago(90), "snoozed", ago(-5), {}))
    rows.append(("unanswered", "gone@x.test", "<gone@x.test>", ago(91), "dismissed", None, {}))
    for n in range(5):  # reconnect: longest silent first, by the evidence's last interaction
        rows.append(
            (
                "reconnect",
                f"r{n}@x.test",
                None,
                ago(10),
                "open",
                None,
                {"last_interaction": ago(100 + 10 * n).isoformat()},
            )
        )
    with sqlite_store.engine.begin() as conn:
        for kind, who, mid, since, state, until, evidence in rows:
            conn.execute(
                insert(FlagRow.__table__).values(
                    kind=kind,
                    key=f"{kind}:{mid or who}",
                    contact_address=who,
                    message_id=mid,
                    since=since,
                    state=state,
                    snoozed_until=until,
                    opened_at=since,
                    evidence=evidence,
                )
            )
    asked: list[object] = []
    real = data.analysis.flags
    monkeypatch.setattr(data.analysis, "flags", lambda *a, **k: asked.append(k.get("ids")) or real(*a, **k))
    with Session(sqlite_store.engine) as db:
        sections = {s["key"]: s for s in data.today(db, w.config, NOW)}
    respond, reconnect = sections["respond"], sections["reconnect"]
    assert respond["total"] == 40 and len(respond["items"]) == data.SECTION_LIMIT
    assert [i["contact"]["address"] for i in respond["items"]][:4] == [
        "u00@x.test",
        "u01@x.test",
        "u02@x.test",
        "u03@x.test",
    ]
    assert reconnect["total"] == 5
    assert [i["contact"]["address"] for i in reconnect["items"]] == [f"r{n}@x.test" for n in range(4, -1, -1)]
    assert len(asked) == 1 and len(asked[0]) == data.SECTION_LIMIT + 5  # type: ignore[arg-type]
