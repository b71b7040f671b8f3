"""`kith check` against real servers (Dovecot in three profiles, Radicale, Radicale behind a
SabreDAV-like proxy) and both fakes: what it finds, that each problem carries its fix, and that it
changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.config.secrets import write_private
from tests.connectors.contract import messages
from tests.connectors.imap.harness import ImapHarness
from tests.fakes.davproxy import DavProxy
from tests.fakes.graph import LOGIN_HOST, LoginClient
from tests.fixtures.dovecot import PASSWORD, PROFILES, Dovecot
from tests.fixtures.gmail import GmailEnv
from tests.fixtures.graph import CLIENT_ID, TENANT, GraphEnv
from tests.fixtures.radicale import RadicaleServer

runner = CliRunner()


def configure(tmp_path: Path, mailbox: str, state_dir: Path | None = None) -> Path:
    (tmp_path / "mailboxes.d").mkdir(exist_ok=True)
    (tmp_path / "kith.toml").write_text(f'state_dir = "{state_dir or tmp_path / "state"}"\n')
    (tmp_path / "mailboxes.d" / "work.toml").write_text(mailbox)
    return tmp_path / "kith.toml"


def check(config: Path, *args: str) -> tuple[int, Any]:
    res = runner.invoke(app, ["--config", str(config), "check", "--json", *args], catch_exceptions=False)
    return res.exit_code, json.loads(res.stdout)


def findings(report: dict[str, Any], level: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if level is None or f["level"] == level]


def imap_config(server: Dovecot, user: str, tmp_path: Path, *, password: str = PASSWORD, host: str = "") -> Path:
    """Implicit TLS to 127.0.0.1; with ``host``, plaintext to that loopback address."""
    write_private(tmp_path / "pw", password)
    where = (
        f'host = "{host}"\nport = {server.port}\ntls = "none"\n'
        if host
        else f'host = "127.0.0.1"\nport = {server.tls_port}\ntls = "implicit"\nca_file = "{server.cafile}"\n'
    )
    return configure(tmp_path, f'kind = "imap"\n{where}username = "{user}"\npassword_file = "{tmp_path / "pw"}"\n')


@pytest.mark.integration
@pytest.mark.parametrize("profile", list(PROFILES))
def test_imap_profiles(profile: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server = request.getfixturevalue(PROFILES[profile])
    harness = ImapHarness(server, tmp_path)
    harness.deliver(messages(3))
    before = sorted(p.name for p in server.maildir(harness.user, "Work").glob("*/*"))
    code, (report,) = check(imap_config(server, harness.user, tmp_path))
    assert report["ok"] and code == 0 and report["kind"] == "imap"
    texts = " | ".join(f["text"] for f in report["findings"])
    assert "logged in as" in texts and "TLSv1" in texts and "commonName=localhost" in texts
    used = {
        "qresync": "QRESYNC: flag changes and expunges",
        "condstore": "CONDSTORE: flag changes since the last sync",
        "basic": "no CONDSTORE (not offered)",
    }[profile]
    assert used in texts
    folders = {f["name"]: f for f in report["folders"]}
    assert folders["Work"]["messages"] == 3 and folders["Work"]["skipped"] is None
    assert folders["Trash"]["role"] == "trash" and "include_roles" in folders["Trash"]["skipped"]
    assert report["first_sync"]["items"] == 3 and report["first_sync"]["requests"] > 0
    assert all(f["fix"] for f in findings(report, "warn") + findings(report, "error")), "a problem without its fix"
    after = sorted(p.name for p in server.maildir(harness.user, "Work").glob("*/*"))
    assert before == after, "kith check changed the mailbox (flags are in the file names)"


@pytest.mark.integration
def test_imap_refused_login_is_an_error_with_its_fix(dovecot: Dovecot, tmp_path: Path) -> None:
    harness = ImapHarness(dovecot, tmp_path)
    # failed logins come from the address Dovecot does not slow down after a failure
    config = imap_config(dovecot, harness.user, tmp_path, password="wrong", host=dovecot.penalty_host)
    code, (report,) = check(config)
    (error,) = findings(report, "error")
    assert code == 1 and not report["ok"] and error["topic"] in ("login", "config")
    assert "password" in error["fix"]
    human = runner.invoke(app, ["--config", str(config), "check"], catch_exceptions=False)
    assert human.exit_code == 1 and "fix:" in human.output


@pytest.mark.integration
def test_caldav_with_and_without_sync_collection(radicale: RadicaleServer, tmp_path: Path) -> None:
    cal = radicale.new_calendar("Team")
    cal.put(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//kith//test//EN\nBEGIN:VEVENT\nUID:c1@test\n"
        "DTSTAMP:20260101T000000Z\nDTSTART:20260601T090000Z\nDTEND:20260601T100000Z\nSUMMARY:x\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    write_private(tmp_path / "cal.pw", radicale.password)
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    with DavProxy(radicale.url) as proxy:
        for url, expect in ((radicale.url, "sync-token (RFC 6578)"), (proxy.url, "ctag + etags")):
            proxy.refuse = "507"
            config = configure(
                tmp_path,
                f'kind = "maildir"\npath = "{tmp_path / "Maildir"}"\n\n[calendar]\nkind = "caldav"\nurl = "{url}"\n'
                f'username = "{radicale.username}"\npassword_file = "{tmp_path / "cal.pw"}"\ncalendars = ["{cal.cal_id}"]\n',
            )
            code, reports = check(config)
            calendar = next(r for r in reports if r["kind"] == "caldav calendar")
            assert code == 0 and calendar["ok"], calendar
            assert any(expect in f["text"] and "1 object" in f["text"] for f in calendar["findings"])
            assert any("plain http" in f["text"] and f["fix"] for f in findings(calendar, "warn"))


def test_gmail_fake(gmail_env: GmailEnv, tmp_path: Path) -> None:
    gmail_env.fake.mailbox.seed(60)
    gmail_env.fake.mailbox.add_message({"Message-ID": "<s@x>"}, labels=("SPAM",))
    gmail_env.write_token(consented=datetime.now(UTC) - timedelta(days=2))
    config = configure(
        tmp_path,
        f'kind = "gmail"\napi_endpoint = "{gmail_env.fake.url}"\ntoken_uri = "{gmail_env.fake.token_uri}"\n'
        f'\n[calendar]\nkind = "google"\napi_endpoint = "{gmail_env.fake.calendar_url}"\n',
        state_dir=gmail_env.state_dir,
    )
    gmail_env.fake.reset_counts()
    code, (mail, calendar) = check(config)
    assert code == 0 and mail["account"] == "me@example.com" and calendar["ok"]
    texts = " | ".join(f["text"] for f in mail["findings"])
    assert "granted: calendar.events.readonly, gmail.metadata" in texts and "history works" in texts
    (testing,) = [f for f in findings(mail, "warn") if f["topic"] == "oauth"]
    assert "Testing" in testing["text"] and "Publish app" in testing["fix"]
    assert mail["first_sync"]["items"] == 60 and mail["first_sync"]["requests"] == 1 + 1 + 3 + 1
    assert {f["name"]: f["messages"] for f in mail["folders"]}["Spam"] == 1
    assert gmail_env.fake.calls["messages.get"] == 0 and gmail_env.fake.units < 20, "a check must be cheap"


def test_gmail_token_without_the_calendar_scope(gmail_env: GmailEnv, tmp_path: Path) -> None:
    gmail_env.write_token(scopes=("https://www.googleapis.com/auth/gmail.metadata",))
    config = configure(
        tmp_path,
        f'kind = "gmail"\napi_endpoint = "{gmail_env.fake.url}"\ntoken_uri = "{gmail_env.fake.token_uri}"\n'
        f'\n[calendar]\nkind = "google"\napi_endpoint = "{gmail_env.fake.calendar_url}"\n',
        state_dir=gmail_env.state_dir,
    )
    code, reports = check(config)
    errors = [f for r in reports for f in findings(r, "error")]
    assert code == 1 and errors and all("kith auth work" in f["fix"] for f in errors)


def test_graph_fake(graph_env: GraphEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(graph_env.fake.url))
    fake = graph_env.fake
    fake.auto_approve = True
    fake.mailbox.seed(50)
    fake.mailbox.create_folder("Projects")
    config = configure(
        tmp_path,
        f'kind = "graph"\nclient_id = "{CLIENT_ID}"\ntenant_id = "{TENANT}"\n'
        f'authority = "{LOGIN_HOST}/{TENANT}"\napi_endpoint = "{fake.api_url}"\n\n[calendar]\nkind = "graph"\n',
    )
    assert runner.invoke(app, ["--config", str(config), "auth", "work"], catch_exceptions=False).exit_code == 0
    fake.reset_counts()
    code, (mail, calendar) = check(config)
    assert code == 0 and mail["account"] == fake.user_email and calendar["ok"]
    assert any(f["text"] == "granted: Calendars.Read, Mail.Read" for f in mail["findings"])
    folders = {f["name"]: f for f in mail["folders"]}
    assert folders["inbox"]["messages"] == len(fake.mailbox.in_folder("inbox"))
    assert folders["Projects"]["skipped"] == "not in folders" and folders["Junk Email"]["skipped"]
    assert mail["first_sync"]["items"] == 50 and "requests per mailbox in 10 minutes" in mail["first_sync"]["basis"]
    assert fake.calls["messages.delta"] == 0 and fake.calls["messages.get"] == 0


def test_graph_app_only_without_admin_consent(
    graph_env: GraphEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(graph_env.fake.url))
    graph_env.fake.app_roles = ["User.Read.All"]
    write_private(tmp_path / "secret", graph_env.fake.client_secret)
    config = configure(
        tmp_path,
        f'kind = "graph"\nclient_id = "{CLIENT_ID}"\ntenant_id = "{TENANT}"\nauth = "client_credentials"\n'
        f'client_secret_file = "{tmp_path / "secret"}"\nuser = "{graph_env.fake.user_email}"\n'
        f'authority = "{LOGIN_HOST}/{TENANT}"\napi_endpoint = "{graph_env.fake.api_url}"\n',
    )
    code, (mail,) = check(config)
    (error,) = findings(mail, "error")
    assert code == 1 and "Mail.Read" in error["text"] and "admin consent" in error["fix"]


@pytest.mark.parametrize("width", [80, 200])
def test_the_folder_table_fits_the_terminal_and_never_cuts_a_folder_name(tmp_path: Path, width: int) -> None:
    """`kith check`'s folder table is one of the shared width-fitting tables (cli/tables.py): at 80
    columns a long folder name once wrapped over two lines; now it stays whole, the role and
    count give way first, and no line is wider than the terminal (issue 23 point 6)."""
    from rich.cells import cell_len

    from kith.cli.common import console

    long_name = "Quarterly planning with the regional sales team"
    root = tmp_path / "Mail"
    for folder in (root, root / f".Projects.{long_name}"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    config = configure(tmp_path, f'kind = "maildir"\npath = "{root}"\n')
    old = console._width
    console._width = width
    try:
        res = runner.invoke(app, ["--config", str(config), "check"], catch_exceptions=False)
    finally:
        console._width = old
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert all(cell_len(line.rstrip()) <= width for line in lines), res.stdout
    assert any(f"Projects/{long_name}" in line for line in lines), res.stdout
    header = next(line for line in lines if line.startswith("folder"))
    assert ("role" in header and "messages" in header) == (width == 200)
