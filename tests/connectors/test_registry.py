"""Provider libraries load only when a mailbox of that kind is configured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from kith.config.mailboxes import MaildirMailbox
from kith.connectors.base import Connector
from kith.connectors.registry import CALENDAR_KINDS, MAIL_KINDS, make_calendar_source, make_source
from kith.errors import ConfigError


def test_importing_kith_loads_no_provider_library() -> None:
    code = (
        "import sys, kith.cli, kith.daemon.sync, kith.connectors.registry;"
        "heavy = [m for m in ('msal', 'googleapiclient', 'caldav', 'imapclient', 'matplotlib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_kind_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mb = MaildirMailbox(kind="maildir", name="m", path=tmp_path)
    assert make_calendar_source(mb, state_dir=tmp_path) is None
    assert make_source(mb, state_dir=tmp_path).streams() == []
    bogus = mb.model_copy(update={"kind": "carrier-pigeon"})
    with pytest.raises(ConfigError, match="unknown mailbox kind 'carrier-pigeon'"):
        make_source(bogus, state_dir=tmp_path)


def test_each_kind_declares_what_it_can_do_and_the_daemon_reads_nothing_else() -> None:
    """The ``Connector`` records are the one list of what a kind can do besides syncing; the
    report's delivery and ``kith auth`` ask them (the sender of each is tested in tests/report)."""
    parts = ("make_source", "make_calendar_source", "authorize", "send")

    def can(load: Callable[[], Connector]) -> set[str]:
        connector = load()
        return {part for part in parts if getattr(connector, part) is not None}

    assert {kind: can(load) for kind, load in MAIL_KINDS.items()} == {
        "maildir": {"make_source"},
        "mbox": {"make_source"},
        "imap": {"make_source", "send"},
        "gmail": {"make_source", "make_calendar_source", "authorize", "send"},
        "graph": {"make_source", "make_calendar_source", "authorize", "send"},
    }
    assert all("make_calendar_source" in can(load) for load in CALENDAR_KINDS.values())
