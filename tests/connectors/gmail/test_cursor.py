"""The Gmail cursor (DESIGN: the historyId, plus the page token while an initial listing pages):
a cursor of another shape, or a stream that is not kith's one Gmail stream, means "resync"
(``CursorExpired``), never a pull from a wrong position."""

from __future__ import annotations

from typing import Any

import pytest

from kith.connectors.base import Stream
from kith.errors import CursorExpired
from tests.connectors.gmail.test_mail import synced
from tests.fixtures.gmail import GmailEnv


@pytest.mark.parametrize(
    "cursor", [{}, {"history_id": None}, {"history_id": "12x"}, {"history_id": []}, {"page_token": "p"}]
)
def test_a_damaged_cursor_means_resync(gmail_env: GmailEnv, cursor: dict[str, Any]) -> None:
    source, _ = synced(gmail_env, 3)
    with pytest.raises(CursorExpired):
        list(source.pull(source.streams()[0], cursor))


def test_another_stream_means_resync(gmail_env: GmailEnv) -> None:
    source, _ = synced(gmail_env, 3)
    other = Stream(name="INBOX", role=source.streams()[0].role)
    with pytest.raises(CursorExpired):
        list(source.pull(other, None))


def test_the_stored_history_id_is_where_an_incremental_pull_starts(gmail_env: GmailEnv) -> None:
    source, rep = synced(gmail_env, 3)
    stream = source.streams()[0]
    assert rep.cursor is not None and set(rep.cursor) == {"history_id"}
    # nothing new: the pull moves nowhere and brings nothing
    assert [b.upserts for b in source.pull(stream, rep.cursor)] in ([], [()])
    new = gmail_env.fake.mailbox.add_message({"Message-ID": "<new@x>", "Subject": "new"}, labels=("INBOX",))
    got = [r.provider_key for b in source.pull(stream, rep.cursor) for r in b.upserts]
    assert got == [new]
    # a numeric history id stored as a number reads the same
    got = [
        r.provider_key for b in source.pull(stream, {"history_id": int(rep.cursor["history_id"])}) for r in b.upserts
    ]
    assert got == [new]


def test_a_paging_cursor_resumes_the_listing_at_its_page(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(25)
    source = gmail_env.source(batch_size=10)
    stream = source.streams()[0]
    first = next(iter(source.pull(stream, None)))
    assert first.cursor is not None and "page_token" in first.cursor
    seen = {r.provider_key for r in first.upserts}
    rest = [r.provider_key for b in source.pull(stream, first.cursor) for r in b.upserts]
    assert len(rest) == 15 and not seen & set(rest), "the resumed listing starts at the next page"
