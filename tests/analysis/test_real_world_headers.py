"""Real-world headers: the email test corpora of CPython and of mail-parser, through kith.

Every file of tests/data/email_corpora/<source>/ (see the README.md there for where they come
from) goes through the header parser, the automated-sender classifier and the thread builder,
one test per file so a failure names it. The hostile and malformed ones are the point: they
must cost fields (listed in ``problems``), never an exception. Then each corpus goes the whole
way: a Maildir, the real sync engine into SQLite, and the analysis.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.analysis.api import analyze
from kith.analysis.classify import automated_reason
from kith.analysis.threads import UnionFind, message_nodes
from kith.config.load import Config
from kith.config.mailboxes import MaildirMailbox
from kith.config.models import GlobalConfig, MeConfig
from kith.connectors.base import MessageRecord
from kith.connectors.headers import parse_header_bytes
from kith.daemon.sync import sync_mailboxes
from kith.store.derived import MailFact
from kith.store.engine import Store
from kith.store.ingest import message_key
from kith.store.models import MessageLocation, MessageRow, SyncProblem

CORPORA = Path(__file__).resolve().parents[1] / "data" / "email_corpora"
SOURCES = ("cpython", "mail-parser")
NOT_MAIL = frozenset({"LICENSE", "NOTICE", "README.md"})
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def corpus(source: str) -> list[Path]:
    return sorted(p for p in (CORPORA / source).iterdir() if p.is_file() and p.name not in NOT_MAIL)


ALL_FILES = [p for source in SOURCES for p in corpus(source)]


def name_of(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def parse(path: Path) -> MessageRecord:
    return parse_header_bytes(path.read_bytes(), name_of(path))


def classify(rec: MessageRecord) -> str | None:
    """As the analysis does it (analysis/facts.py): the From address plus the header signals."""
    return automated_reason(
        sender=rec.from_.address if rec.from_ else None,
        list_id=rec.list_id,
        list_unsubscribe=rec.list_unsubscribe,
        list_post=rec.list_post,
        precedence=rec.precedence,
        auto_submitted=rec.auto_submitted,
        return_path=rec.return_path,
        labels=rec.labels,
    )


def identifiable(rec: MessageRecord) -> bool:
    """What the Maildir connector stores rather than records as 'not a mail message'."""
    return bool(rec.message_id or rec.from_ or rec.date or rec.subject or rec.to)


#: Every file the classifier calls automated, with its reason: inspected by hand. A change here
#: is a change in the classifier's behaviour on real mail; look at the file before updating.
#: Known misses (no top-level header signal): cpython/msg_02.txt, a Mailman digest from
#: ppp-request@, and cpython/msg_43.txt, a bounce whose ``From: MAILER DAEMON <>`` has no address.
AUTOMATED = {
    "cpython/msg_16.txt": "List-Id",  # Mailman list post, also Precedence: bulk
    "cpython/msg_25.txt": "Auto-Submitted: auto-generated (failure)",  # a bounce from MAILER-DAEMON
    "cpython/msg_32.txt": "Precedence: bulk",
    "cpython/msg_33.txt": "Precedence: bulk",
    "mail-parser/mail_malformed_2": "empty Return-Path",  # postmaster DSN, Return-Path: <>
    "mail-parser/mail_test_13": "List-Id",  # Mailchimp newsletter
    "mail-parser/mail_test_15": "no-reply sender do-not-reply",
    "mail-parser/mail_test_16": "Precedence: junk",  # GTUBE
    "mail-parser/mail_test_5": "List-Unsubscribe",  # also Precedence: bulk
    "mail-parser/mail_test_6": "List-Id",  # From noreply@, folded List-Unsubscribe
}
#: MIME entities and a bare body (CPython tests them as parts): no originator, date, subject,
#: recipient or Message-ID, so the Maildir connector records a problem for each instead of a message.
NOT_MESSAGES = frozenset(f"cpython/msg_{n}.txt" for n in ("18", "19", "37", "38", "39", "40"))
#: Mail a person wrote (or pretends to): none of the signals may fire.
PERSONAL = ("cpython/msg_04.txt", "cpython/msg_22.txt", "mail-parser/mail_test_10", "mail-parser/mail_test_7")


@pytest.mark.parametrize("path", ALL_FILES, ids=name_of)
def test_every_file_parses_classifies_and_gets_a_thread(path: Path) -> None:
    rec = parse(path)
    assert rec.provider_key == name_of(path)
    reason = classify(rec)
    assert reason is None or (isinstance(reason, str) and reason)
    assert (reason or None) == AUTOMATED.get(name_of(path))
    key = message_key(rec)
    nodes = message_nodes(key, rec.in_reply_to, rec.references, rec.thread_id, 1)
    assert nodes[0] == key
    uf = UnionFind()
    for node in nodes[1:]:
        uf.union(key, node)
    assert {uf.find(n) for n in nodes} == {uf.find(key)}


def test_the_corpora_are_there() -> None:
    for source in SOURCES:
        assert (CORPORA / source / "LICENSE").is_file()
        assert (CORPORA / source / "README.md").is_file()
    assert len(corpus("cpython")) >= 45 and len(corpus("mail-parser")) >= 20
    for name in [*AUTOMATED, *PERSONAL, *NOT_MESSAGES]:
        assert (CORPORA / name).is_file(), name


@pytest.mark.parametrize("name", PERSONAL)
def test_personal_mail_is_not_automated(name: str) -> None:
    assert classify(parse(CORPORA / name)) is None


def test_hostile_headers_cost_fields_not_messages() -> None:
    # "From: foo" (no domain) is dropped and said so; there is no Date
    rec = parse(CORPORA / "cpython/msg_05.txt")
    assert rec.from_ is None and rec.subject == "bar"
    assert "Date: missing" in rec.problems and any(p.startswith("From:") for p in rec.problems)
    # a bounce with ``From: MAILER DAEMON <>``: no sender, the rest stays
    rec = parse(CORPORA / "cpython/msg_43.txt")
    assert rec.from_ is None and rec.message_id == "<edab.7804f5cb8070@python.org>"
    # an address as display name, and an encoded display name holding a comma
    rec = parse(CORPORA / "mail-parser/mail_test_19")
    assert rec.from_ is not None and rec.from_.address == "bob@example.com"
    rec = parse(CORPORA / "mail-parser/mail_test_18")
    assert rec.from_ is not None and rec.from_.address == "comma.name@example.com"
    assert rec.from_.name == "Last\xdflName, FirstName"
    assert [a.address for a in rec.cc] == ["simple@example.net", "john.doe@example.com"]
    # an encoded Subject whose bytes are not valid in the charset it names
    rec = parse(CORPORA / "mail-parser/mail_test_9")
    # declared gb2312, written in its superset: decoded the way mail clients do, no replacement chars
    assert rec.subject and "\ufffd" not in rec.subject and not any("gb2312" in p for p in rec.problems)


@pytest.mark.parametrize("source", SOURCES)
def test_thread_builder_over_a_whole_corpus(source: str) -> None:
    records = [parse(p) for p in corpus(source)]
    uf = UnionFind()
    keys = []
    for rec in records:
        key = message_key(rec)
        keys.append(key)
        nodes = message_nodes(key, rec.in_reply_to, rec.references, rec.thread_id, 1)
        for node in nodes[1:]:
            uf.union(key, node)
    roots = {k: uf.find(k) for k in keys}
    assert all(roots.values())
    # neither corpus holds a reply to another of its messages: no two distinct messages may merge
    assert len(set(roots.values())) == len(set(keys))
    automated = sorted(name_of(p) for p, rec in zip(corpus(source), records, strict=True) if classify(rec))
    assert automated == sorted(n for n in AUTOMATED if n.startswith(f"{source}/"))
    if source == "mail-parser":
        # the one reply: it joins its (absent) parent's thread
        rec = parse(CORPORA / "mail-parser/mail_test_7")
        assert rec.in_reply_to == "<EEDDF5F5-2786-4B3F-B15A-124A9A29A8D3@agade.info>"
        assert uf.find(rec.in_reply_to) == roots[message_key(rec)]
    else:
        # five copies of one message (same Message-ID) are one message, one thread
        same = [message_key(parse(CORPORA / f"cpython/msg_{n}.txt")) for n in ("01", "03", "14", "20", "29")]
        assert len({roots[k] for k in same}) == 1


@pytest.mark.parametrize("source", SOURCES)
def test_corpus_through_sync_and_analysis(source: str, sqlite_store: Store, tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    files = corpus(source)
    expected: dict[str, MessageRecord] = {}
    names: dict[str, str] = {}
    for i, path in enumerate(files):
        unique = f"{1700000000 + i}.M{i}P1.{path.name.replace('.', '_')}"
        shutil.copyfile(path, root / "cur" / f"{unique}:2,S")
        expected[unique] = parse_header_bytes(path.read_bytes(), unique)
        names[unique] = name_of(path)
    stored = {u: r for u, r in expected.items() if identifiable(r)}
    mailbox = MaildirMailbox(kind="maildir", name="corpus", path=root, addresses=("me@example.com",))
    config = Config(
        settings=GlobalConfig(me=MeConfig(addresses=("me@example.com",)), state_dir=tmp_path / "state"),
        mailboxes=(mailbox,),
    )

    [result] = sync_mailboxes(config, sqlite_store)
    assert result.status == "ok", result.error
    with sqlite_store.engine.connect() as conn:
        locations = conn.execute(select(func.count()).select_from(MessageLocation)).scalar_one()
        rows = dict(conn.execute(select(MessageRow.message_key, MessageRow.problems)).all())
        skipped = set(conn.execute(select(SyncProblem.provider_key)).scalars())
    assert locations == len(stored)
    assert set(rows) == {message_key(r) for r in stored.values()}  # copies of one Message-ID are one row
    assert skipped == set(expected) - set(stored)
    assert {names[u] for u in skipped} == {n for n in NOT_MESSAGES if n.startswith(f"{source}/")}
    # what did not parse is recorded with the message, not raised
    with_problems = {message_key(r) for r in stored.values() if r.problems}
    assert with_problems and all(rows[k] for k in with_problems)

    with sqlite_store.session() as s:
        summary = analyze(s, config, now=NOW)
    assert summary["mode"] == "rebuild" and summary["messages"] == len(rows)
    with sqlite_store.engine.connect() as conn:
        facts = {r.message_key: r for r in conn.execute(select(MailFact.__table__))}
    assert set(facts) == set(rows)
    assert all(f.thread_key for f in facts.values())
    for unique, rec in stored.items():
        name, fact = names[unique], facts[message_key(rec)]
        if name in AUTOMATED:
            assert fact.automated and fact.automated_why == AUTOMATED[name], name
        elif name in PERSONAL:
            assert not fact.automated, name
