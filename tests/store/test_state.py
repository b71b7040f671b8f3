"""A quiet pull does not count its stream's rows again (an idle daemon's every poll, issue 28)."""

from __future__ import annotations

from sqlalchemy import select

from kith.connectors.base import Address, Batch, MessageRecord, Role, Stream
from kith.store.engine import Store
from kith.store.ingest import apply_batch
from kith.store.models import StreamRow, utcnow
from kith.store.state import ensure_mailbox, ensure_streams, finish_stream


def test_a_quiet_pull_keeps_the_stored_count(store: Store) -> None:
    now = utcnow()
    st = StreamRow.__table__
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "maildir")
        (inbox,) = ensure_streams(conn, mb, [Stream("INBOX", Role.INBOX)])
        recs = tuple(
            MessageRecord(provider_key=str(i), message_id=f"<{i}@x>", date=now, from_=Address("a@x.org"))
            for i in range(3)
        )
        apply_batch(conn, inbox.ref, Batch(upserts=recs))
        finish_stream(conn, inbox.ref.id, error=None)
        assert conn.execute(select(st.c.item_count).where(st.c.id == inbox.ref.id)).scalar() == 3
        conn.execute(st.update().where(st.c.id == inbox.ref.id).values(item_count=7))  # a count it would correct
        finish_stream(conn, inbox.ref.id, error=None, recount=False, now=now)
        row = conn.execute(select(st.c.item_count, st.c.last_success).where(st.c.id == inbox.ref.id)).one()
        assert row.item_count == 7 and row.last_success == now  # not counted, yet the success is recorded
        finish_stream(conn, inbox.ref.id, error=None)
        assert conn.execute(select(st.c.item_count).where(st.c.id == inbox.ref.id)).scalar() == 3
