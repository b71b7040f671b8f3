"""The web app's data (kith.web.data) against a real store."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kith.connectors.base import Address, Batch, MessageRecord
from kith.store.engine import Store
from kith.store.health import record_analysis_error
from kith.store.ingest import apply_batch
from kith.web import data
from kith.web.render import make_env
from tests.analysis.world import ME, NOW, World, ago


def test_sync_health_shows_forgeries_and_the_analysis_as_kith_status_does(sqlite_store: Store) -> None:
    """Issue 21's leftover: the page asked for the mailboxes without my addresses, so the messages
    from my address that no provider says I sent were never counted there, and the analysis'
    failures were missing from it, though `kith status` shows both."""
    w = World(sqlite_store)
    w.mail("ann@example.org", when=ago(5))
    forged = MessageRecord(
        provider_key="forged-1",
        message_id="<forged-1@test>",
        date=ago(3),
        subject="Re: hello",
        from_=Address(ME, "Me"),
        to=(Address("ann@example.org"),),
    )
    with sqlite_store.engine.begin() as conn:
        apply_batch(conn, w.stream(), Batch(upserts=(forged,)))  # into the inbox, not Sent
    record_analysis_error(sqlite_store.engine, "RuntimeError: the rules broke", NOW)
    with Session(sqlite_store.engine) as db:
        found = data.health(db, w.config, NOW)
    assert found["forged_from_me"] == 1
    assert [mb["forged_from_me"] for mb in found["mailboxes"]] == [1]
    assert found["analysis"]["last_error"] == "RuntimeError: the rules broke"
    assert found["analysis"]["queued"] == 2
    page = make_env().get_template("health.html.j2").render(csrf="", h=found, current="health", note="")
    assert "1 message(s) from my address that no provider says I sent" in page
    assert "the rules broke" in page and "2 queued" in page
