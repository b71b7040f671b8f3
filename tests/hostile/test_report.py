"""Finding 8: a display name with CR/LF (Graph) stopped the nightly report every day; finding 11:
``report --send`` said "sent" when another process held the send. Through the Graph fake (device
code sign-in, the registry's source, the sync engine), the analysis, and the report sent to a real
SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.config.load import Config
from kith.config.models import GlobalConfig, MeConfig, ReportConfig, SmtpConfig
from kith.daemon.sync import SyncEngine
from kith.report.api import local_day, send_report
from kith.store import reports
from kith.store.engine import Store
from tests.fakes.graph import FakeGraph, LoginClient
from tests.fixtures.graph import GraphEnv
from tests.fixtures.smtp import SmtpServer
from tests.hostile.corpus import ME, analyze

EVIL_NAME = "Ann\r\nBcc: victim@evil.example\r\n\x1b]52;c;aGVsbG8=\x07"


@pytest.fixture
def graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphEnv]:
    with FakeGraph(email=ME) as fake:
        monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(fake.url))
        yield GraphEnv(fake, tmp_path / "state")


def report_config(mailbox: object, smtp: SmtpServer, state: Path) -> Config:
    report = ReportConfig(to=ME, deliver="smtp", smtp=SmtpConfig(host=smtp.host, port=smtp.port, tls="none"))
    settings = GlobalConfig(me=MeConfig(addresses=(ME,)), report=report, state_dir=state)
    return Config(settings=settings, mailboxes=(mailbox,))  # type: ignore[arg-type]


def test_a_display_name_with_line_breaks_never_stops_the_report(
    graph: GraphEnv, store: Store, smtp_sink: SmtpServer
) -> None:
    from kith.connectors.graph.auth import authorize

    mailbox = graph.mailbox(calendar=False)
    authorize(
        mailbox, state_dir=graph.state_dir, say=lambda m: graph.fake.approve(re.search(r"code (\S+)", m).group(1))
    )  # type: ignore[union-attr]
    now = datetime.now(UTC)
    graph.fake.mailbox.add(
        "inbox",
        message_id="<evil@x>",
        subject="the contract",
        from_=("ann@example.org", EVIL_NAME),
        date=now - timedelta(days=5),
    )
    result = SyncEngine(store, state_dir=graph.state_dir, attempts=1).sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    config = report_config(mailbox, smtp_sink, graph.state_dir)
    analyze(store, config)
    send_report(store, config, day=local_day(config, now), now=now, force=True)
    (got,) = smtp_sink.received
    msg = got.message()
    assert "Bcc" not in msg and "victim@evil.example" not in got.rcpt_tos
    subject = str(msg["Subject"])
    assert "Ann Bcc: victim@evil.example" in subject and not re.search("[\x00-\x1f\x7f-\x9f]", subject)


def test_report_send_never_says_sent_when_another_process_holds_the_send(tmp_path: Path, smtp_sink: SmtpServer) -> None:
    state = tmp_path / "state"
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    (tmp_path / "kith.toml").write_text(
        f'state_dir = "{state}"\n[me]\naddresses = ["{ME}"]\n'
        f'[report]\nto = "{ME}"\ndeliver = "smtp"\n[report.smtp]\nhost = "{smtp_sink.host}"\nport = {smtp_sink.port}\ntls = "none"\n'
    )
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{tmp_path / "Mail"}"\n')
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(tmp_path / "kith.toml"), "sync"]).exit_code == 0
    from kith.config.load import load_config
    from kith.store.engine import store_for

    config = load_config(tmp_path / "kith.toml")
    other = store_for(config)
    now = datetime.now(UTC)
    with other.session() as session:  # another worker claimed today's report and is sending it
        assert reports.claim(
            session, day=local_day(config, now), recipient=ME, now=now, message_id="<other@kith>", payload={}
        )
    other.dispose()
    res = runner.invoke(app, ["--config", str(tmp_path / "kith.toml"), "report", "--send"])
    assert res.exit_code == 1, res.output
    assert "sent the report" not in res.output and "another process is sending it" in res.output
    assert smtp_sink.received == []
