"""``check_mailbox``: sources without a check of their own, and errors turned into findings with fixes."""

from __future__ import annotations

from pathlib import Path

from kith.config.mailboxes import GmailMailbox, MaildirMailbox
from kith.connectors.base import Level, Role
from kith.connectors.check import check_mailbox


def test_a_source_without_its_own_check_lists_its_streams(tmp_path: Path) -> None:
    for folder in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (tmp_path / "Maildir" / folder).mkdir(parents=True)
    mb = MaildirMailbox(kind="maildir", name="home", path=tmp_path / "Maildir")
    (report,) = check_mailbox(mb, state_dir=tmp_path)
    assert report.ok and {f.role for f in report.folders} == {Role.INBOX, Role.SENT}


def test_an_account_that_cannot_be_reached_is_an_error_with_its_fix(tmp_path: Path) -> None:
    mb = GmailMailbox(kind="gmail", name="work")
    (report,) = check_mailbox(mb, state_dir=tmp_path)  # no token yet
    (finding,) = report.findings
    assert not report.ok and finding.level is Level.ERROR and finding.topic == "login"
    assert finding.fix is not None and "kith auth work" in finding.fix
