"""The IMAP connector's sender: APPEND once by Message-ID, logged in as the sync logs in."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from kith.config.mailboxes import ImapMailbox
from kith.config.secrets import write_private
from kith.connectors.imap.append import append_message, send_message
from kith.errors import AuthError, ConfigError
from tests.fixtures.dovecot import Dovecot, Introspection


def message(message_id: str) -> EmailMessage:
    out = EmailMessage()
    out["Message-ID"] = message_id
    out["Subject"] = "the nightly report"
    out.set_content("report body")
    return out


def xoauth2(server: Dovecot, host: str, user: str, token_file: Path) -> ImapMailbox:
    return ImapMailbox(
        kind="imap",
        name="work",
        host=host,
        port=server.port,
        tls="none",
        username=user,
        auth="xoauth2",
        password_file=token_file,
    )


def test_appended_once_with_an_xoauth2_token(dovecot_oauth2: tuple[Dovecot, Introspection], tmp_path: Path) -> None:
    server, introspection = dovecot_oauth2
    user = server.new_user("send")
    write_private(tmp_path / "token", introspection.issue(user))
    mailbox = xoauth2(server, server.host, user, tmp_path / "token")
    assert send_message(mailbox, message("<once@kith.test>"), state_dir=tmp_path) == "INBOX"
    assert send_message(mailbox, message("<once@kith.test>"), state_dir=tmp_path) == "INBOX (already there)"


def test_a_token_the_provider_does_not_know_is_an_auth_error(
    dovecot_oauth2: tuple[Dovecot, Introspection], tmp_path: Path
) -> None:
    server, _introspection = dovecot_oauth2
    write_private(tmp_path / "token", "ya29.revoked")
    mailbox = xoauth2(server, server.penalty_host, server.new_user("send"), tmp_path / "token")
    with pytest.raises(AuthError, match="refused the login"):
        append_message(mailbox, message("<refused@kith.test>"))


def test_a_mailbox_of_another_kind_is_a_config_error(tmp_path: Path) -> None:
    from kith.config.mailboxes import MaildirMailbox

    with pytest.raises(ConfigError, match='kind "imap"'):
        send_message(MaildirMailbox(kind="maildir", name="local", path=tmp_path), message("<x@y>"), state_dir=tmp_path)
