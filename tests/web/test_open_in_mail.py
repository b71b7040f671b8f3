"""The web Today page's "Open in mail" is the report's link (``report.actions.Linker``): Gmail's
search in the mailbox's own account (not ``u/0``), Graph's stored ``webLink``, ``mid:`` otherwise,
and for a person-level flag a new message with the last thread beside it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from kith.config.load import Config
from kith.config.models import GlobalConfig
from kith.daemon.sync import SyncEngine
from kith.report.actions import Linker
from kith.store.engine import Store
from kith.web import data
from tests.daemon.test_commands_connectors import NOW, graph, seed_flag
from tests.fixtures.gmail import GmailEnv
from tests.fixtures.graph import GraphEnv

__all__ = ["graph"]  # the fixture, used by name


def today_item(store: Store, config: Config, message_id: str | None) -> dict[str, Any]:
    with Session(store.engine) as db:
        items = [i for s in data.today(db, config, NOW) for i in s["items"]]
    (item,) = [i for i in items if i.get("message_id") == message_id]
    return item


def report_links(store: Store, config: Config, message_id: str | None) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return Linker(conn, config, NOW).open_links([("ann@example.org", message_id)])[("ann@example.org", message_id)]


def test_gmail_opens_in_the_mailboxs_account(gmail_env: GmailEnv, sqlite_store: Store) -> None:
    """Before: ``https://mail.google.com/mail/u/0/...``, the first signed-in account, which is
    another account's mail for whoever is signed in to two."""
    box = gmail_env.fake.mailbox
    box.add_message({"Message-ID": "<q1@example.org>", "From": "Ann <ann@example.org>", "To": box.email})
    seed_flag(sqlite_store, "<q1@example.org>")
    mailbox = gmail_env.mailbox(calendar=False)
    assert SyncEngine(sqlite_store, state_dir=gmail_env.state_dir, attempts=1).sync_mailbox(mailbox).status == "ok"
    config = Config(settings=GlobalConfig(state_dir=gmail_env.state_dir), mailboxes=(mailbox,))
    item = today_item(sqlite_store, config, "<q1@example.org>")
    assert item["open_url"] == f"https://mail.google.com/mail/u/{box.email}/#search/rfc822msgid%3Aq1%40example.org"
    assert item["open_url"] == report_links(sqlite_store, config, "<q1@example.org>")["open_url"]


def test_graph_opens_its_weblink(graph: GraphEnv, sqlite_store: Store) -> None:
    """Before: the link was built from the item id, never the ``webLink`` Graph gives."""
    from kith.connectors.graph.auth import authorize

    mailbox = graph.mailbox(calendar=False)
    authorize(
        mailbox,
        state_dir=graph.state_dir,
        say=lambda m: graph.fake.approve(re.search(r"code (\S+)", m).group(1)),  # type: ignore[union-attr]
    )
    item_id = graph.fake.mailbox.add(
        "inbox", message_id="<q2@example.org>", subject="q", from_=("ann@example.org", "Ann")
    )
    seed_flag(sqlite_store, "<q2@example.org>")
    assert SyncEngine(sqlite_store, state_dir=graph.state_dir, attempts=1).sync_mailbox(mailbox).status == "ok"
    config = Config(settings=GlobalConfig(state_dir=graph.state_dir), mailboxes=(mailbox,))
    item = today_item(sqlite_store, config, "<q2@example.org>")
    assert item["open_url"] == graph.fake.mailbox.messages[item_id].fields["webLink"]
    assert item["open_url"] == report_links(sqlite_store, config, "<q2@example.org>")["open_url"]


def test_a_person_level_flag_writes_to_them(sqlite_store: Store, tmp_path: Any) -> None:
    seed_flag(sqlite_store, None)
    config = Config(settings=GlobalConfig(state_dir=tmp_path))
    item = today_item(sqlite_store, config, None)
    assert item["open_url"] == "mailto:ann@example.org"
    assert item["open_url"] == report_links(sqlite_store, config, None)["open_url"]
