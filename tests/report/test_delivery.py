"""Delivery against a real SMTP server (aiosmtpd) and the exactly-once bookkeeping in `reports`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kith.config.load import Config
from kith.config.models import GlobalConfig, MeConfig, ReportConfig, SmtpConfig
from kith.config.secrets import write_private
from kith.errors import AuthError, TransientError
from kith.report.api import send_built
from kith.report.data import Built
from kith.store import reports
from kith.store.engine import Store, open_store
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.report.builders import report_data

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def smtp_config(server: SmtpServer, *, tmp_path: Path | None = None, auth: bool = False, **report: Any) -> Config:
    smtp: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "tls": server.tls,
        "timeout": timedelta(seconds=5),
    }
    if server.cert is not None:
        smtp["ca_file"] = server.cert
    if auth and tmp_path is not None:
        write_private(tmp_path / "smtp.pw", SMTP_PASSWORD + "\n")
        smtp.update(username=SMTP_USER, password_file=tmp_path / "smtp.pw")
    settings = GlobalConfig(
        me=MeConfig(name="Zoë Šimek", addresses=("zoe@example.org",)),
        report=ReportConfig(
            to="zoe@example.org",
            from_="kith <kith@example.org>",
            deliver="smtp",
            timezone="Europe/Berlin",
            smtp=SmtpConfig(**smtp),
            **report,
        ),
    )
    return Config(settings=settings)


def built(day: date = DAY, **kw: Any) -> Built:
    return Built(report_data(day=day, **kw), stages={"a@example.org": "build-up"})


def parse(raw: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_sent_once_then_force_sends_a_second(store: Store, smtp_sink: SmtpServer) -> None:
    config = smtp_config(smtp_sink)
    first = send_built(store, config, built(), day=DAY, now=NOW)
    again = send_built(store, config, built(), day=DAY, now=NOW + timedelta(minutes=1))
    assert first and again is None
    assert len(smtp_sink.received) == 1
    forced = send_built(store, config, built(), day=DAY, now=NOW + timedelta(minutes=2), force=True)
    assert forced and forced != first
    assert len(smtp_sink.received) == 2
    with store.session() as s:
        row = reports.row_for(s, day=DAY, recipient="zoe@example.org")
    assert row is not None
    assert (row["status"], row["attempts"], row["message_id"]) == ("sent", 2, forced)
    assert row["payload"]["stages"] == {"a@example.org": "build-up"}


def test_message_parses_with_both_parts_charts_and_headers(sqlite_store: Store, smtp_sink: SmtpServer) -> None:
    config = smtp_config(smtp_sink)
    mid = send_built(
        sqlite_store, config, built(names=("Łukasz Żółć",) * 3, subjects=("Grüße — Angebot",)), day=DAY, now=NOW
    )
    (got,) = smtp_sink.received
    assert got.mail_from == "kith@example.org" and got.rcpt_tos == ["zoe@example.org"]
    msg = parse(got.content)
    assert msg["Message-ID"] == mid
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Precedence"] is None
    assert parsedate_to_datetime(msg["Date"]) == NOW
    assert msg["Date"].endswith("+0100")  # Europe/Berlin in November
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert "RESPOND AND ACKNOWLEDGE" in text.get_content() and "Łukasz Żółć" in text.get_content()
    assert "Respond and acknowledge" in html.get_content() and "Grüße — Angebot" in html.get_content()
    # the charts are HTML bars: two parts, no images for a client to block
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "Interactions per week" in html.get_content() and 'bgcolor="#4e8fd6"' in html.get_content()
    # the wire form is 7-bit: non-ASCII names and subjects are RFC 2047 encoded words
    head = got.content.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ")
    assert "=?utf-8?" in head.split("\r\nSubject:", 1)[1].split("\r\n")[0]
    to_line = head.split("\r\nTo:", 1)[1].split("\r\n")[0]
    assert "=?utf-8?" in to_line and "<zoe@example.org>" in to_line
    assert str(msg["Subject"]).startswith("kith Mon 23 Nov: 3 to answer (Łukasz Żółć waiting")
    assert str(msg["To"]) == "Zoë Šimek <zoe@example.org>"


def test_starttls_with_login_and_implicit_tls(
    sqlite_store: Store, smtp_server: Callable[..., SmtpServer], tmp_path: Path
) -> None:
    starttls = smtp_server(tls="starttls", auth=True)
    send_built(sqlite_store, smtp_config(starttls, tmp_path=tmp_path, auth=True), built(), day=DAY, now=NOW)
    assert len(starttls.received) == 1
    implicit = smtp_server(tls="implicit")
    send_built(sqlite_store, smtp_config(implicit), built(date(2026, 11, 24)), day=date(2026, 11, 24), now=NOW)
    assert len(implicit.received) == 1


def test_refused_login_is_an_auth_error_and_recorded(
    sqlite_store: Store, smtp_server: Callable[..., SmtpServer], tmp_path: Path
) -> None:
    server = smtp_server(tls="starttls", auth=True)
    config = smtp_config(server, tmp_path=tmp_path, auth=True)
    write_private(tmp_path / "smtp.pw", "wrong")
    with pytest.raises(AuthError, match="refused the login"):
        send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    with sqlite_store.session() as s:
        row = reports.row_for(s, day=DAY, recipient="zoe@example.org")
    assert row is not None and row["status"] == "failed" and "AuthError" in row["error"]
    assert "wrong" not in row["error"]  # the secret never lands in the database
    assert server.received == []


def test_plain_smtp_to_a_remote_host_is_refused() -> None:
    remote = SmtpServer("192.0.2.1", 25, sink=None, tls="none")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="loopback"):  # when the config loads: `config check` says so
        smtp_config(remote)


def test_temporary_failure_backs_off_then_the_retry_reuses_the_message_id(
    sqlite_store: Store, smtp_sink: SmtpServer
) -> None:
    config = smtp_config(smtp_sink)
    smtp_sink.sink.reply = "451 4.3.0 try again later"
    with pytest.raises(TransientError, match="451"):
        send_built(sqlite_store, config, built(), day=DAY, now=NOW, respect_backoff=True)
    with sqlite_store.session() as s:
        failed = reports.row_for(s, day=DAY, recipient="zoe@example.org")
    assert failed is not None
    assert failed["status"] == "failed" and failed["next_attempt_at"] == NOW + timedelta(minutes=5)
    smtp_sink.sink.reply = "250 OK"
    too_soon = send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=1), respect_backoff=True)
    assert too_soon is None and smtp_sink.received == []
    retried = send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=6), respect_backoff=True)
    assert retried == failed["message_id"]
    assert len(smtp_sink.received) == 1


def test_a_send_that_died_mid_flight_is_resent_after_its_lease_with_the_same_message_id(
    sqlite_store: Store, smtp_sink: SmtpServer
) -> None:
    """At-least-once: the claim was taken, then the process died before marking the row."""
    config = smtp_config(smtp_sink)
    with sqlite_store.session() as s:
        dead = reports.claim(
            s, day=DAY, recipient="zoe@example.org", now=NOW, message_id="<dead@example.org>", payload=None
        )
    assert dead is not None
    assert send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=1)) is None  # lease held
    resent = send_built(sqlite_store, config, built(), day=DAY, now=NOW + reports.LEASE + timedelta(seconds=1))
    assert resent == "<dead@example.org>"
    assert parse(smtp_sink.received[0].content)["Message-ID"] == "<dead@example.org>"


def test_two_workers_at_once_send_one_report(pg_url: str, smtp_sink: SmtpServer) -> None:
    """Several daemon workers on PostgreSQL: the claim lets exactly one of them send."""
    config = smtp_config(smtp_sink)
    stores = [open_store(pg_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    results: list[str | None] = []
    errors: list[BaseException] = []

    def worker(store: Store) -> None:
        try:
            barrier.wait()
            results.append(send_built(store, config, built(), day=DAY, now=NOW, respect_backoff=True))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.dispose()
    assert errors == []
    assert sorted(r is not None for r in results) == [False, False, False, True]
    assert len(smtp_sink.received) == 1
