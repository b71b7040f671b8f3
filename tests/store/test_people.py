"""The People queries: search whatever the accents, sorts, filters and pages (both dialects)."""

from __future__ import annotations

from kith.analysis.kinds import RECONNECT
from kith.analysis.search import like_pattern
from kith.analysis.stages import STAGES
from kith.store.engine import Store
from kith.store.people import PeopleQuery, canonical, people
from tests.analysis.world import ME, World, ago


def _world(store: Store) -> World:
    w = World(store)
    for i, who in enumerate(("zoë@acme.example", "bob@acme.example", "cy@other.example", "news@list.example")):
        for k in range(4 + i):
            mid = w.mail(who, when=ago(10 + 7 * k + i), subject=f"s{k}")
            w.mail(ME, (who,), when=ago(9.5 + 7 * k + i), subject=f"Re: s{k}", reply_to_msg=mid)
    w.analyze()
    return w


def _find(store: Store, **kw: object) -> list[str]:
    with store.engine.connect() as conn:
        rows, _ = people(conn, PeopleQuery(**kw), stage_order=STAGES, overdue_kind=RECONNECT.id)  # type: ignore[arg-type]
    return [r["address"] for r in rows]


def test_search_sort_and_pages(store: Store) -> None:
    _world(store)
    assert _find(store, like=like_pattern("ZOE")) == ["zoë@acme.example"]
    assert set(_find(store, like=like_pattern("acme"))) == {"zoë@acme.example", "bob@acme.example"}
    assert _find(store, like=like_pattern("%")) == []  # a typed % is a character, not a wildcard
    by_last = _find(store, sort="last")
    assert by_last[0] == "zoë@acme.example"
    assert _find(store, sort="strength", limit=2, offset=0) + _find(store, sort="strength", limit=2, offset=2) == _find(
        store, sort="strength"
    )
    with store.engine.connect() as conn:
        _, more = people(conn, PeopleQuery(limit=2), stage_order=STAGES, overdue_kind=RECONNECT.id)
        assert more
        assert canonical(conn, "zoë@acme.example") == "zoë@acme.example"
        assert canonical(conn, "nobody@x") is None
    assert set(_find(store, mailbox="work")) >= {"bob@acme.example"}
    assert _find(store, mailbox="nothere") == []
    assert _find(store, stage="ending") == []
