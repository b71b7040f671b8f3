"""The incremental path gives exactly what a rebuild gives, after a sequence of syncs.

The sample corpus arrives in three parts (in an order unrelated to time, like a first sync that
is interrupted), then a message is marked answered and one is deleted. After each step kith
syncs and analyses incrementally. The end state must equal a fresh database that synced the final
mailbox at once and rebuilt the analysis: same open flags with the same evidence, same contacts,
statistics and timelines. The incremental database runs on both dialects; the reference is SQLite.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kith.analysis.api import analyze, contacts, flags
from kith.cli.demo_pipeline import write_demo_config
from kith.config.load import load_config
from kith.connectors.base import Address, Batch, MessageRecord, Role
from kith.daemon.sync import sync_mailboxes
from kith.sample import generate
from kith.store.derived import Contact, Interaction
from kith.store.engine import Store, open_store
from kith.store.ingest import apply_batch
from tests.analysis.world import ME, ME2, World, ago


def snapshot(store: Store, now: Any) -> tuple[list[Any], list[Any], list[Any]]:
    i, c = Interaction.__table__, Contact.__table__
    cols = (
        c.c.address,
        i.c.at,
        i.c.kind,
        i.c.personal,
        i.c.broadcast,
        i.c.message_key,
        i.c.event_id,
        i.c.subject,
        i.c.name,
    )
    with store.session() as s:
        timeline = sorted(tuple(r) for r in s.execute(select(*cols).join(c, c.c.id == i.c.contact_id)))
        open_flags = sorted(
            (f["kind"], f["contact"]["address"], f["message_id"], f["since"], repr(sorted(f["evidence"].items())))
            for f in flags(s, now=now)
        )
        people = sorted((sorted((k, repr(v)) for k, v in c.items())) for c in contacts(s, automated=None))
    return open_flags, people, timeline


def test_incremental_equals_rebuild(tmp_path: Path, store_url: str) -> None:
    info = generate(tmp_path / "sample", seed=5, messages=3000)
    config = load_config(write_demo_config(tmp_path, info))
    files = sorted(p for mb in info.mailboxes for p in mb.path.rglob("cur/*"))
    stash = tmp_path / "stash"
    parked = []
    for i, f in enumerate(files):
        if i % 3:  # two thirds wait for later syncs
            target = stash / f.relative_to(tmp_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(f, target)
            parked.append((target, f))
    store = open_store(store_url)
    steps = [parked[0::2], parked[1::2]]
    try:
        for arriving in [[], *steps]:
            for target, f in arriving:
                shutil.move(target, f)
            sync_mailboxes(config, store)
            with store.session() as s:
                summary = analyze(s, config, now=info.now)
        assert summary["mode"] == "incremental"
        # \Answered set in the client on one inbox message, another deleted
        inbox = sorted((info.mailboxes[0].path / "cur").iterdir())
        inbox[0].rename(inbox[0].with_name(inbox[0].name.split(":2,")[0] + ":2,RS"))
        inbox[1].unlink()
        sync_mailboxes(config, store)
        with store.session() as s:
            assert analyze(s, config, now=info.now)["mode"] == "incremental"
        incremental = snapshot(store, info.now)
    finally:
        store.dispose()

    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        sync_mailboxes(config, fresh)
        with fresh.session() as s:
            assert analyze(s, config, now=info.now, rebuild=True)["mode"] == "rebuild"
        rebuilt = snapshot(fresh, info.now)
    finally:
        fresh.dispose()
    assert len(rebuilt[0]) >= 10 and len(rebuilt[1]) >= 30
    assert incremental[0] == rebuilt[0]
    assert incremental[1] == rebuilt[1]
    assert len(rebuilt[2]) >= 1000
    assert incremental[2] == rebuilt[2]


def test_upgrade_to_named_interactions_rebuilds(tmp_path: Path) -> None:
    """A database analysed before interactions carried names is rebuilt by its next analysis.

    An incremental run would read the names of untouched history from the stored rows, and a
    database migrated from 0003 has none: the migration drops the analysis fingerprint.
    """
    from kith.analysis.engine import _fingerprint
    from kith.analysis.identity import identities_from

    info = generate(tmp_path / "sample", seed=2, messages=300)
    config = load_config(write_demo_config(tmp_path, info))
    store = open_store(f"sqlite:///{tmp_path / 'old.db'}", upgrade=False)
    try:
        store.upgrade_to("0003")
        sync_mailboxes(config, store)
        fingerprint = _fingerprint(identities_from(config), config.settings.analysis)
        with store.session() as s:  # as if analysed at 0003 with this very config
            s.connection().exec_driver_sql(
                "INSERT INTO kith_meta (key, value) VALUES ('analysis_fingerprint', ?)", (fingerprint,)
            )
        store.upgrade()
        with store.session() as s:
            assert analyze(s, config, now=info.now)["mode"] == "rebuild"
            names = [n for (n,) in s.execute(select(Interaction.__table__.c.name))]
        assert any(names)
    finally:
        store.dispose()


def _derived(w: World) -> tuple[list[Any], list[Any]]:
    """Every interaction (with its name) and every contact's name, comparable across runs."""
    i, c = Interaction.__table__, Contact.__table__
    cols = (c.c.address, i.c.kind, i.c.message_key, i.c.event_id, i.c.personal, i.c.subject, i.c.name)
    with w.store.session() as s:
        timeline = sorted(tuple(map(str, r)) for r in s.execute(select(*cols).join(c, c.c.id == i.c.contact_id)))
        names = sorted(tuple(r) for r in s.execute(select(c.c.address, c.c.name)))
    return timeline, names


def _equals_rebuild(w: World) -> None:
    incremental = _derived(w)
    assert w.analyze(rebuild=True)["mode"] == "rebuild"
    assert incremental == _derived(w)


def _put(w: World, rec: MessageRecord, mailbox: str, folder: str, role: Role) -> None:
    with w.store.engine.begin() as conn:
        apply_batch(conn, w.stream(mailbox, folder, role), Batch(upserts=(rec,)))


def test_a_recipient_a_copy_drops_leaves_their_timeline(store: Store) -> None:
    """My mail to alice and carol, then a copy of it (another folder) names only alice: the
    participants are rewritten, and carol, whom the message no longer names, must lose it."""
    w = World(store)

    def sent(to: tuple[str, ...], key: str, folder: str, role: Role) -> None:
        rec = MessageRecord(
            provider_key=key,
            message_id="<k@test>",
            date=ago(10),
            subject="plan",
            from_=Address(ME, "Me"),
            to=tuple(Address(a, a.split("@")[0].title()) for a in to),
        )
        _put(w, rec, "work", folder, role)

    sent(("alice@x.com", "carol@x.com"), "k-sent", "Sent", Role.SENT)
    w.mail("alice@x.com", when=ago(30))
    w.analyze()
    sent(("alice@x.com",), "k-archive", "Archive", Role.ARCHIVE)
    assert w.analyze()["mode"] == "incremental"
    w.mail("carol@x.com", when=ago(1))
    assert w.analyze()["mode"] == "incremental"
    _equals_rebuild(w)


def test_a_message_names_a_contact_as_the_rebuild_does(store: Store) -> None:
    """One mail names its sender differently in two mailboxes, and one of my mails names a
    recipient twice (To and Cc): the incremental run must pick the names the rebuild picks."""
    w = World(store)
    w.mail("zed@x.com", when=ago(40))
    w.stream("work")
    w.stream("home")
    w.analyze()
    for mailbox, name in (("home", "Bob via Home"), ("work", "Bob Work")):
        rec = MessageRecord(
            provider_key=f"b-{mailbox}",
            message_id="<b@test>",
            date=ago(5),
            subject="hi",
            from_=Address("bob@x.com", name),
            to=(Address(ME), Address(ME2)),
        )
        _put(w, rec, mailbox, "INBOX", Role.INBOX)
    twice = MessageRecord(
        provider_key="t-sent",
        message_id="<t@test>",
        date=ago(4),
        subject="notes",
        from_=Address(ME),
        to=(Address("ann@x.com", "Ann A"),),
        cc=(Address("ann@x.com", "Ann Cee"),),
    )
    _put(w, twice, "work", "Sent", Role.SENT)
    assert w.analyze()["mode"] == "incremental"
    _equals_rebuild(w)


def test_a_folder_that_turns_junk_takes_its_mail_out(store: Store) -> None:
    """A folder's role changes (a config override, a server's SPECIAL-USE): its mail is looked
    at again, and junk is not an interaction."""
    from kith.connectors.base import Stream
    from kith.store.state import ensure_mailbox, ensure_streams

    w = World(store)
    w.mail("zed@x.com", when=ago(40))
    rec = MessageRecord(
        provider_key="p1", message_id="<p@test>", date=ago(3), subject="offer", from_=Address("pat@x.com", "Pat")
    )
    _put(w, rec, "work", "Promos", Role.ARCHIVE)
    w.analyze()
    assert "pat@x.com" in w.contacts(automated=None)
    with w.store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "maildir")
        ensure_streams(conn, mb, [Stream("INBOX", Role.INBOX), Stream("Promos", Role.JUNK)], retire_missing=False)
    assert w.analyze()["mode"] == "incremental"
    _equals_rebuild(w)
