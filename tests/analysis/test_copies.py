"""The rebuild reads messages in table order and the keys stored twice afterwards; the incremental
path reads by key. Both must give every key the same copies, with the same locations."""

from __future__ import annotations

from typing import Any

from kith.analysis.copies import copy_groups
from kith.analysis.identity import identities_from
from kith.store.engine import Store
from tests.analysis.world import ME, ME2, World, ago

ANN = "ann@client.example"
BOB = "bob@client.example"


def _by_key(groups: Any) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for group in groups:
        assert len({c.key for c in group}) == 1
        assert group[0].key not in out, "a key's copies arrive together"
        out[group[0].key] = [
            (c.row_id, c.mailbox_id, sorted(c.roles.split()), sorted(c.flags.split()), c.to_me, c.cc_me) for c in group
        ]
    return out


def test_table_order_and_key_order_give_the_same_copies(store_url: str) -> None:
    from kith.store.engine import open_store

    store: Store = open_store(store_url)
    try:
        w = World(store)
        shared = w.mail(ANN, (ME, ME2), when=ago(5), message_id="<shared@x>")
        w.mail(ANN, (ME, ME2), when=ago(5), message_id="<shared@x>", mailbox="home")
        w.mail(BOB, (ME,), cc=(ME2,), when=ago(3), flags=frozenset({"\\Answered"}))
        w.mail(ME, (BOB,), when=ago(2), subject="Re: hello")
        w.mail(ME2, (ANN,), when=ago(1), mailbox="home")
        w.mail(BOB, (ME,), when=ago(1), message_id="<twice@x>")
        w.mail(BOB, (ME2,), when=ago(1), message_id="<twice@x>", mailbox="home")
        ident = identities_from(w.config)
        with store.engine.connect() as conn:
            everything = _by_key(copy_groups(conn, ident))
            keyed = _by_key(copy_groups(conn, ident, sorted(everything)))
        assert everything == keyed
        assert len(everything) == 5
        assert len(everything[shared]) == 2
        assert any(row[4] for row in everything["<twice@x>"])  # To me
        assert any(row[5] for rows in everything.values() for row in rows)  # Cc me
    finally:
        store.dispose()
