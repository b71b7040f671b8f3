"""The command desk on its own (issue 27): which command messages it carries out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kith.analysis import api
from kith.analysis.commands import Action, Command, parse_subject, subject
from kith.connectors.base import Address, Batch, MessageRecord, Role, Stream
from kith.daemon.commands import CommandDesk
from kith.store.engine import Store
from tests.daemon.test_commands_connectors import seed_flag, token_for

ME = "me@example.com"


def command(store: Store, state_dir: Path, flag_id: int, **extra: object) -> MessageRecord:
    token = token_for(store, state_dir, flag_id, Action.DONE, datetime.now(UTC) + timedelta(days=14))
    return MessageRecord(
        provider_key="1",
        message_id="<cmd@example.com>",
        date=datetime.now(UTC),
        subject=subject(flag_id, Action.DONE, token),
        from_=Address(ME),
        **extra,  # type: ignore[arg-type]
    )


def test_a_draft_outside_a_drafts_folder_is_taken_out_but_never_carried_out(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A mail app saves the tapped link as a draft (\\Draft) in a folder kith may not know as
    Drafts ("Brouillons" without SPECIAL-USE): it was never sent, so it must not act."""
    flag_id = seed_flag(sqlite_store, "<q@example.org>")
    desk = CommandDesk(sqlite_store.engine, tmp_path, [ME])
    draft = command(sqlite_store, tmp_path, flag_id, flags=frozenset({"\\Draft", "\\Seen"}))
    left = desk.take(Batch(upserts=(draft,)), "work", [ME], Stream("Brouillons", Role.OTHER))
    assert left.upserts == ()
    with sqlite_store.engine.connect() as conn:
        assert api.history(conn, flag_id)["state"] == "open"


def test_a_flag_number_no_flag_can_have_is_no_command_and_never_stops_a_sync(store: Store, tmp_path: Path) -> None:
    """Anybody can mail me a command-shaped subject: a flag number past the database's integer
    (PostgreSQL's is 32 bits) must not fail the insert into ``action_log`` and so the whole
    batch, on every sync, for ever; it is plain mail."""
    desk = CommandDesk(store.engine, tmp_path, [ME])
    rec = MessageRecord(
        provider_key="1",
        message_id="<big@example.net>",
        date=datetime.now(UTC),
        subject=f"kith: done #{2**31} {'A' * 22}",
        from_=Address("stranger@example.net"),
    )
    left = desk.take(Batch(upserts=(rec,)), "work", [ME], Stream("INBOX", Role.INBOX))
    assert left.upserts == (rec,)


def test_a_token_applied_meanwhile_by_another_worker_is_a_replay_not_a_failed_sync(pg_url: str, tmp_path: Path) -> None:
    """Two workers (the copy in my Sent of one mailbox, the copy in my INBOX of another, or the
    web app) judge the same token at once: both find it unused, and the second one's insert of the
    used token meets the first one's. That is a replay to refuse, not an error that fails the batch."""
    import threading
    import time

    from sqlalchemy import text

    from kith.analysis.commands import parse_subject
    from kith.store.commands import mark_used
    from kith.store.engine import open_store

    store = open_store(pg_url)
    try:
        flag_id = seed_flag(store, "<q@example.org>")
        rec = command(store, tmp_path, flag_id)
        cmd = parse_subject(rec.subject)
        assert cmd is not None
        desk = CommandDesk(store.engine, tmp_path, [ME])
        outcome: list[str | BaseException] = []

        def second() -> None:
            try:
                outcome.append(desk.carry_out(rec, cmd, "home", frozenset({ME})))
            except BaseException as exc:  # the failure under test
                outcome.append(exc)

        with store.engine.connect() as first:
            trans = first.begin()
            mark_used(first, cmd.digest, flag_id, cmd.action.value, "<other@example.com>", datetime.now(UTC))
            worker = threading.Thread(target=second)
            worker.start()
            with store.engine.connect() as watch:  # until the second waits for the first's row lock
                for _ in range(300):
                    waiting = watch.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    ).scalar()
                    if waiting or not worker.is_alive():
                        break
                    time.sleep(0.05)
            trans.commit()
        worker.join(30)
        assert outcome == ["replayed"]
        with store.engine.connect() as conn:
            assert api.history(conn, flag_id)["state"] == "open", "the second did nothing"
    finally:
        store.dispose()


def test_an_old_link_for_a_closed_flag_changes_nothing(sqlite_store: Store, tmp_path: Path) -> None:
    """Security review of issue 27: a week-old *Snooze* (or *Done*) sent after the flag was
    resolved or dismissed snoozed it back to life. It is a no-op now, logged as ``flag closed``."""
    from sqlalchemy import select, update

    from kith.store.derived import FlagRow
    from kith.store.tables import ACTION_LOG
    from tests.daemon.test_commands_connectors import command_subject

    resolved = seed_flag(sqlite_store, "<r@example.org>")
    dismissed = seed_flag(sqlite_store, "<d@example.org>")
    with sqlite_store.engine.begin() as conn:
        conn.execute(update(FlagRow.__table__).where(FlagRow.id == resolved).values(state="resolved"))
        api.dismiss(conn, dismissed)
    desk = CommandDesk(sqlite_store.engine, tmp_path, [ME])
    for n, (flag_id, action) in enumerate(
        [(resolved, Action.SNOOZE_WEEK), (dismissed, Action.SNOOZE_MONTH), (resolved, Action.DONE)]
    ):
        rec = MessageRecord(
            provider_key=str(n),
            message_id=f"<cmd{n}@example.com>",
            date=datetime.now(UTC),
            subject=command_subject(sqlite_store, tmp_path, flag_id, action),
            from_=Address(ME),
        )
        assert desk.take(Batch(upserts=(rec,)), "work", [ME], Stream("INBOX", Role.INBOX)).upserts == ()
    with sqlite_store.engine.connect() as conn:
        assert api.history(conn, resolved)["state"] == "resolved"
        assert api.history(conn, dismissed)["state"] == "dismissed"
        assert len(api.history(conn, dismissed)["history"]) == 1, "only the owner's dismissal"
        assert [o for (o,) in conn.execute(select(ACTION_LOG.c.outcome))] == ["flag closed"] * 3


def test_an_old_link_does_not_act_on_another_flag_with_its_number(tmp_path: Path) -> None:
    """Security review of issue 27: the database made anew while the state directory (and its
    signing key) is kept numbers other flags the same way; a token that named its flag by number
    only acted on whichever flag got that number."""
    from kith.store.engine import open_store, sqlite_url

    state = tmp_path / "state"
    old = open_store(sqlite_url(tmp_path / "old.db"))
    new = open_store(sqlite_url(tmp_path / "new.db"))
    try:
        flag_id = seed_flag(old, "<old@example.org>")
        rec = command(old, state, flag_id)
        assert seed_flag(new, contact="bob@example.org") == flag_id, "another flag, the same number"
        left = CommandDesk(new.engine, state, [ME]).take(
            Batch(upserts=(rec,)), "work", [ME], Stream("INBOX", Role.INBOX)
        )
        assert left.upserts == ()
        with new.engine.connect() as conn:
            assert api.history(conn, flag_id)["state"] == "open"
        assert CommandDesk(old.engine, state, [ME]).carry_out(rec, _parsed(rec), "work", frozenset({ME})) == "applied"
    finally:
        old.dispose()
        new.dispose()


def _parsed(rec: MessageRecord) -> Command:
    cmd = parse_subject(rec.subject)
    assert cmd is not None
    return cmd
