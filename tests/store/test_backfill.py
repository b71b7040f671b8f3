"""`kith status` shows a fresh mailbox's backfill: what is stored, the share done, and an ETA."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from kith.connectors.base import Address, Batch, MessageRecord, Role, Stream
from kith.store.backfill import backfill_status
from kith.store.engine import Store
from kith.store.ingest import apply_batch
from kith.store.models import StreamRow, SyncRun, utcnow
from kith.store.state import ensure_mailbox, ensure_streams, start_run


def test_backfill_progress_and_eta(store: Store) -> None:
    now = utcnow()
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "imap")
        inbox, sent = ensure_streams(conn, mb, [Stream("INBOX", Role.INBOX), Stream("Sent", Role.SENT)])
        assert backfill_status(conn, mb, now) is None  # never synced: not a backfill
        run = start_run(conn, mb, worker="w", full=False)
        conn.execute(
            update(SyncRun.__table__)
            .where(SyncRun.__table__.c.id == run)
            .values(started_at=now - timedelta(seconds=100))
        )
        recs = tuple(
            MessageRecord(provider_key=str(i), message_id=f"<{i}@x>", date=now, from_=Address("a@x.org"))
            for i in range(30)
        )
        apply_batch(conn, inbox.ref, Batch(upserts=recs))
        bf = backfill_status(conn, mb, now)
        assert bf is not None
        assert (bf["streams"], bf["stored"], bf["share"], bf["eta_seconds"]) == (
            2,
            30,
            None,
            None,
        )  # no cursor: no share
        assert bf["rate_per_s"] == 0.3
        st = StreamRow.__table__
        # IMAP's resumable first pass: 25 of 100 UIDs in INBOX, Sent done
        conn.execute(update(st).where(st.c.id == inbox.ref.id).values(cursor={"full": 101, "last_uid": 25, "v": 1}))
        conn.execute(update(st).where(st.c.id == sent.ref.id).values(cursor={"last_uid": 7, "v": 1}))
        bf = backfill_status(conn, mb, now)
        assert bf is not None and (bf["streams"], bf["share"], bf["eta_seconds"]) == (1, 0.25, 300.0)
        conn.execute(update(st).where(st.c.id == inbox.ref.id).values(cursor={"last_uid": 100, "v": 1}))
        assert backfill_status(conn, mb, now) is None  # done
