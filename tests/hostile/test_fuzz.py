"""Property-based fuzzing of the whole path with what strangers write.

Each example is a mailbox of its own (a Maildir folder and its ``mailboxes.d`` file) holding a
few good messages among hostile ones (random header bytes, encoded words naming any codec, dates
of every shape, names with controls) and, for the calendar test, ``.ics`` files with random
RRULEs. Through the ``kith`` command at ``-vv`` (``sync``, which analyses; ``flags``,
``contacts --json``; ``report --send`` to a real SMTP server) on SQLite and PostgreSQL, it holds
that:

- every good message is stored, whatever came with it;
- no stream stalls: every stream synced without an error and its cursor moved;
- the analysis finishes, with no contact failing;
- the report renders and is sent, its subject one clean line;
- no control character reaches the terminal (tables and ``--json``), and nothing stored holds
  a NUL, a lone surrogate or a control character;
- no secret (the SMTP password, a password in the database URL) appears in any log line.
"""

from __future__ import annotations

import itertools
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from kith.cli import app
from kith.config.secrets import write_private
from kith.store.engine import Store, open_store
from kith.store.models import EventRow, MailboxRow, MessageParticipant, MessageRow, StreamRow, SyncProblem
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.hostile.conftest import COUNTS, FUZZ
from tests.hostile.strategies import hostile_message, rrule

ME = "me@example.com"
SMTP_SECRET = SMTP_PASSWORD
DB_SECRET = "db-Secret-c41d2e"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
STORED_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
runner = CliRunner()
_ids = itertools.count(1)


class World:
    """One kith config (its store, an SMTP server with a password) that examples add mailboxes to."""

    def __init__(self, root: Path, url: str, smtp: SmtpServer) -> None:
        self.root, self.url = root, url
        (root / "mailboxes.d").mkdir(parents=True)
        write_private(root / "smtp.pw", SMTP_SECRET + "\n")
        (root / "kith.toml").write_text(
            f'state_dir = "{root / "state"}"\n[me]\naddresses = ["{ME}"]\n[database]\nurl = "{url}"\n'
            f'[report]\nto = "{ME}"\ndeliver = "smtp"\n[report.smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\n'
            f'tls = "none"\nusername = "{SMTP_USER}"\npassword_file = "{root / "smtp.pw"}"\n'
        )
        self.smtp = smtp

    def kith(self, *args: str) -> str:
        """``kith -vv ARGS``; returns stdout and stderr, after checking the exit and the secrets."""
        try:
            res = runner.invoke(app, ["--config", str(self.root / "kith.toml"), "-vv", *args])
        finally:  # its log handler wrote to the runner's stream, closed now
            logging.getLogger().handlers.clear()
        shown = res.stdout + res.stderr
        assert res.exit_code == 0, (args, shown[-3000:])
        assert SMTP_SECRET not in shown and DB_SECRET not in shown, args
        assert not CONTROL.search(res.stdout), (args, res.stdout[-2000:])
        return shown

    def mailbox(self, kind: str = "maildir", calendar: str = "") -> tuple[str, Path]:
        name = f"fuzz{next(_ids)}"
        path = self.root / name
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True)
        extra = f'\n[calendar]\nkind = "ics"\npath = "{path / "cal"}"\n{calendar}' if calendar else ""
        (self.root / "mailboxes.d" / f"{name}.toml").write_text(
            f'kind = "maildir"\npath = "{path}"\naddresses = ["{ME}"]\n{extra}'
        )
        return name, path


@pytest.fixture
def world(store_url: str, tmp_path: Path, smtp_server: object) -> World:
    url = store_url
    if url.startswith("postgresql"):  # a password in the URL (trust ignores it): it must never be shown
        url = make_url(url).update_query_dict({"password": DB_SECRET}).render_as_string(hide_password=False)
    smtp = smtp_server(auth=True)  # type: ignore[operator]
    return World(tmp_path / "kith", url, smtp)


def good_message(box: str, n: int, now: datetime) -> bytes:
    when = now - timedelta(days=3, minutes=n)
    return (
        f"Message-ID: <good{n}.{box}@fuzz.test>\r\nDate: {when:%a, %d %b %Y %H:%M:%S} +0000\r\n"
        f"From: Good {n} <good{n}@example.org>\r\nTo: {ME}\r\nSubject: good {n}\r\n\r\nbody\r\n"
    ).encode()


def stored(world: World, name: str) -> tuple[dict[str, str | None], list[str], list[tuple[str | None, str | None]]]:
    store = open_store(world.url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            mb = conn.execute(select(MailboxRow.id).where(MailboxRow.name == name)).scalar_one()
            rows = conn.execute(
                select(MessageRow.message_key, MessageRow.subject, MessageRow.from_name, MessageRow.from_addr).where(
                    MessageRow.mailbox_id == mb
                )
            ).all()
            names = conn.execute(
                select(MessageParticipant.name, MessageParticipant.address)
                .join(MessageRow, MessageRow.id == MessageParticipant.message_id)
                .where(MessageRow.mailbox_id == mb)
            ).all()
            streams = conn.execute(
                select(StreamRow.cursor, StreamRow.last_error).where(StreamRow.mailbox_id == mb)
            ).all()
            COUNTS["items recorded as problems"] += conn.execute(
                select(func.count())
                .select_from(SyncProblem)
                .join(StreamRow, StreamRow.id == SyncProblem.stream_id)
                .where(StreamRow.mailbox_id == mb)
            ).scalar_one()
    finally:
        store.dispose()
    stalled = [f"{err}" for cursor, err in streams if err is not None or cursor is None]
    texts = [t for r in rows for t in (r.subject, r.from_name, r.from_addr)] + [t for pair in names for t in pair]
    assert not any(t and STORED_CONTROL.search(t) for t in texts)
    return {r.message_key: r.subject for r in rows}, stalled, [tuple(p) for p in names]


@given(data=st.data())
@FUZZ
def test_strangers_mail_never_stops_kith(world: World, data: st.DataObject) -> None:
    COUNTS["examples"] += 1
    try:
        now = datetime.now(UTC)
        name, path = world.mailbox()
        good = data.draw(st.integers(1, 3), label="good messages")
        hostile = data.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=6), label="hostile")
        for i in range(good):
            (path / "new" / f"1700000{i:03d}.M{i}P1.good").write_bytes(good_message(name, i, now))
        for j, n in enumerate(hostile):
            (path / "new" / f"1700001{j:03d}.M{j}P2.bad").write_bytes(
                data.draw(hostile_message(n), label=f"hostile {j}")
            )
        COUNTS["inputs tried"] += good + len(hostile)
        world.kith("sync", name)
        keys, stalled, _names = stored(world, name)
        COUNTS["messages stored"] += len(keys)
        COUNTS["streams stalled"] += len(stalled)
        assert not stalled
        missing = {f"<good{i}.{name}@fuzz.test>": f"good {i}" for i in range(good)}.items() - keys.items()
        assert not missing, (missing, keys)
        world.kith("flags")
        world.kith("contacts", "--json")
        before = len(world.smtp.received)
        world.kith("report", "--send")
        assert len(world.smtp.received) == before + 1
        subject = str(world.smtp.received[-1].message()["Subject"])
        assert subject and not CONTROL.search(subject)
    except Exception:  # (Hypothesis' own control flow is a BaseException: not a crash)
        COUNTS["crashes"] += 1
        raise


def vevent(uid: str, rule: str, start: datetime) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDURATION:PT30M\r\nRRULE:{rule}\r\n"
        f"ORGANIZER:mailto:ann@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}\r\nEND:VEVENT\r\n"
    )


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # a budget hit in a GC callback
@given(rules=st.lists(rrule(), min_size=1, max_size=3), offset=st.integers(-800, 60))
@example(rules=["FREQ=SECONDLY", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;COUNT=100000"], offset=-10)
@FUZZ
def test_any_rrule_costs_a_bounded_expansion(world: World, rules: list[str], offset: int) -> None:
    COUNTS["examples"] += 1
    try:
        start = (datetime.now(UTC) + timedelta(days=offset)).replace(microsecond=0)
        name, path = world.mailbox(
            calendar='max_occurrences = 300\nmax_subdaily_occurrences = 20\nexpand_budget = "1s"\n'
        )
        (path / "cal").mkdir()
        for i, rule in enumerate(rules):
            body = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\n"
                + vevent(f"e{i}", rule, start)
                + "END:VCALENDAR\r\n"
            )
            (path / "cal" / f"e{i}.ics").write_text(body)
        COUNTS["inputs tried"] += len(rules)
        world.kith("sync", name)
        _keys, stalled, _names = stored(world, name)
        COUNTS["streams stalled"] += len(stalled)
        assert not stalled
        store = open_store(world.url, upgrade=False)
        try:
            with store.engine.connect() as conn:
                per_uid = dict(
                    conn.execute(
                        select(EventRow.uid, func.count())
                        .join(StreamRow, StreamRow.id == EventRow.stream_id)
                        .join(MailboxRow, MailboxRow.id == StreamRow.mailbox_id)
                        .where(MailboxRow.name == name)
                        .group_by(EventRow.uid)
                    ).all()
                )
        finally:
            store.dispose()
        COUNTS["events stored"] += sum(per_uid.values())
        assert all(n <= 300 for n in per_uid.values()), per_uid
    except Exception:  # (Hypothesis' own control flow is a BaseException: not a crash)
        COUNTS["crashes"] += 1
        raise


__all__ = ["Store"]
