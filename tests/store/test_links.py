"""``store.links.last_messages``: a person-level flag's "Last message" is their latest email
interaction, whichever way it went; a meeting after it is no message to open."""

from __future__ import annotations

from kith.store.engine import Store
from kith.store.links import last_messages
from tests.analysis.world import ME, World, ago


def test_the_latest_email_either_way_not_a_later_meeting(store: Store) -> None:
    w = World(store)
    w.mail("ann@example.org", when=ago(30), message_id="<old@x.test>")
    latest = w.mail(ME, ("ann@example.org",), when=ago(5), message_id="<mine@x.test>")
    w.mail("bob@example.org", when=ago(1), message_id="<bob@x.test>")
    w.meeting("ann@example.org", ago(2))
    w.analyze()
    with store.engine.connect() as conn:
        found = last_messages(conn, ["ann@example.org", "bob@example.org", "nobody@example.org"])
    assert found == {"ann@example.org": latest, "bob@example.org": "<bob@x.test>"}
