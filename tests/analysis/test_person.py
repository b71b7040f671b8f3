"""A person's page numbers, re-derived from stored interactions, agree with the analysis; merges
stored in the database are applied by it (and undone)."""

from __future__ import annotations

from datetime import timedelta

from kith.analysis.identity import Identities
from kith.analysis.person import Row, contact_data, conversations, stage_history, strength_now, weekly
from kith.analysis.search import fold, like_pattern, search_key
from kith.analysis.stats import strength
from kith.analysis.timeline import personal_until
from kith.config.models import AnalysisConfig
from kith.store.engine import Store
from kith.store.merges import record_merge, undo_merge
from kith.store.people import interactions_of, thread_sizes
from tests.analysis.world import ME, NOW, World, ago


def _two_year_friend(w: World, who: str = "ann@x.example") -> None:
    for week in range(0, 90, 3):  # steady contact for a while, then quiet: the stage moves on
        day = 100 + week * 7 // 1
        mid = w.mail(who, when=ago(day), subject=f"catch up {week}")
        w.mail(ME, (who,), when=ago(day - 0.2), subject=f"Re: catch up {week}", reply_to_msg=mid)


def test_stage_history_ends_on_the_stored_stage_and_strength_parts_add_up(store: Store) -> None:
    w = World(store)
    _two_year_friend(w)
    w.analyze()
    stored = w.contacts()["ann@x.example"]
    with store.engine.connect() as conn:
        rows = [Row(*r) for r in interactions_of(conn, "ann@x.example")]
        sizes = thread_sizes(conn, [r.thread_key for r in rows if r.thread_key])
    data = contact_data("ann@x.example", rows)
    changes = stage_history(data, AnalysisConfig(), NOW)
    assert changes and changes[-1].after == stored["stage"]
    assert [c.before for c in changes[1:]] == [c.after for c in changes[:-1]]
    parts = strength_now(data, NOW)
    assert set(parts) == {"recency", "frequency", "reciprocity", "meetings"}
    assert strength(personal_until(data, NOW), NOW) == stored["strength"]  # the same inputs as the analysis
    assert abs(sum(parts.values()) - stored["strength"]) <= 0.7  # each part shown to one decimal
    weeks = weekly(rows, NOW)
    assert len(weeks) == 104 and sum(x.inbound for x in weeks) == stored["personal_in"]
    convs = conversations(rows, sizes)
    assert len(convs) == 30 and convs[0].last >= convs[-1].last
    assert convs[0].direction == "out" and convs[0].with_them == 2 == convs[0].size


def test_folding_finds_accents_and_case_alike() -> None:
    assert fold("Zoë ÖZTÜRK") == "zoe ozturk"
    assert fold("Łukasz Ørsted Straße") == "lukasz orsted strasse"
    assert "zoe@x.example" in search_key("Zoë", ["ZOË@x.example"])
    assert like_pattern("  ") is None
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_merges_move_whole_contacts_follow_chains_and_skip_circles() -> None:
    ident = Identities.build(
        ["me@x"],
        {"ann@x": ["ann@home"]},
        merges=[("ann@x", "bob@x"), ("bob@x", "cy@x"), ("cy@x", "ann@x")],
    )
    assert ident.canon("ann@home") == ident.canon("ann@x") == ident.canon("bob@x") == "cy@x"
    assert Identities.build(["me@x"], {}, merges=[]).canon("ann@x") == "ann@x"


def test_a_stored_merge_is_applied_by_the_analysis_and_undone(store: Store) -> None:
    w = World(store)
    _two_year_friend(w, "ann@x.example")
    _two_year_friend(w, "ann.private@y.example")
    w.analyze()
    with store.engine.begin() as conn:
        merge_id = record_merge(conn, "ann.private@y.example", "ann@x.example", NOW)
    summary = w.analyze(NOW + timedelta(minutes=1))
    assert summary["mode"] == "rebuild"  # who-is-who changed
    merged = w.contacts()
    assert "ann.private@y.example" not in merged
    assert merged["ann@x.example"]["merged"] == ["ann.private@y.example"]
    assert merged["ann@x.example"]["personal_in"] == 60
    with store.engine.begin() as conn:
        assert undo_merge(conn, merge_id, NOW) is not None
        assert undo_merge(conn, merge_id, NOW) is None
    w.analyze(NOW + timedelta(minutes=2))
    apart = w.contacts()
    assert apart["ann@x.example"]["personal_in"] == 30 == apart["ann.private@y.example"]["personal_in"]
    assert apart["ann@x.example"]["merged"] == []
