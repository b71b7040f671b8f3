"""`kith config check` passes only what will work (issue 23, point 5): database dialects, URLs and
paths are checked, and every problem of every file is reported in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.config import load_config
from kith.errors import ConfigError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def problems(path: Path, *, thorough: bool = True) -> dict[tuple[str, str], str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, thorough=thorough)
    return {(Path(p.file).name, p.key): p.message for p in info.value.problems}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://kith@db.example/kith", "'mysql' databases are not supported"),
        ("postgresql+psycopg2://kith@db/kith", "'psycopg2' driver does not come with kith"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_database_kith_cannot_open_is_a_config_problem(tmp_path: Path, url: str, words: str) -> None:
    write(tmp_path / "kith.toml", f'[database]\nurl = "{url}"\n')
    found = problems(tmp_path / "kith.toml", thorough=False)  # every command: never a traceback later
    assert words in found[("kith.toml", "database.url")]


def test_supported_database_urls_pass(tmp_path: Path) -> None:
    for url in ("postgresql://kith@db/kith", "postgresql+psycopg://kith@db/kith", "sqlite:////tmp/k.db"):
        write(tmp_path / "kith.toml", f'[database]\nurl = "{url}"\n')
        assert load_config(tmp_path / "kith.toml", thorough=True).settings.database.url == url


def test_paths_and_urls_are_checked_and_every_problem_is_listed(tmp_path: Path) -> None:
    write(tmp_path / "kith.toml", '[report]\ntimezone = "Mars/Olympus"\nto = "nobody"\n')
    write(tmp_path / "mailboxes.d" / "local.toml", 'kind = "maildir"\npath = "../no-such-Maildir"\n')
    write(tmp_path / "mailboxes.d" / "archive.toml", 'kind = "mbox"\npath = "/no/such.mbox"\n')
    write(
        tmp_path / "mailboxes.d" / "cal.toml",
        'kind = "maildir"\npath = "."\n[calendar]\nkind = "caldav"\nurl = "dav.example.com/cal"\n',
    )
    write(
        tmp_path / "mailboxes.d" / "ics.toml",
        'kind = "maildir"\npath = "."\n[calendar]\nkind = "ics"\npath = "x.ics"\n',
    )
    # a type error and a world-readable secret in the same file: both are reported
    write(tmp_path / "pw", "secret\n", mode=0o644)
    write(
        tmp_path / "mailboxes.d" / "work.toml",
        'kind = "imap"\nhost = "imap.example.com"\nusername = "me"\nport = "nine"\npassword_file = "../pw"\n',
    )
    found = problems(tmp_path / "kith.toml")
    assert "unknown time zone 'Mars/Olympus'" in found[("kith.toml", "report.timezone")]
    assert "not an email address" in found[("kith.toml", "report.to")]
    assert "does not exist" in found[("local.toml", "path")]
    assert "does not exist" in found[("archive.toml", "path")]
    assert "not an http(s) URL" in found[("cal.toml", "calendar.url")]
    assert "does not exist" in found[("ics.toml", "calendar.path")]
    assert "valid integer" in found[("work.toml", "port")]
    assert "readable by others" in found[("work.toml", "password_file")]
    assert not any(m.startswith("Value error") for m in found.values())


def test_existence_of_paths_is_left_to_config_check(tmp_path: Path) -> None:
    """At run time a missing Maildir stops that mailbox (kith sync says so), not every command."""
    write(tmp_path / "kith.toml", "")
    write(tmp_path / "mailboxes.d" / "local.toml", 'kind = "maildir"\npath = "../no-such-Maildir"\n')
    assert load_config(tmp_path / "kith.toml").mailbox("local").kind == "maildir"
    res = CliRunner().invoke(app, ["config", "check", "--config", str(tmp_path / "kith.toml")])
    assert res.exit_code == 78 and "local.toml: path: Maildir folder" in res.stderr


def test_the_report_mailbox_must_exist_and_be_of_the_kind_it_delivers_with(tmp_path: Path) -> None:
    write(tmp_path / "kith.toml", '[report]\ndeliver = "imap"\nmailbox = "work"\n')
    (tmp_path / "Mail").mkdir()
    write(tmp_path / "mailboxes.d" / "local.toml", 'kind = "maildir"\npath = "../Mail"\n')
    assert "no mailbox named 'work'" in problems(tmp_path / "kith.toml")[("kith.toml", "report.mailbox")]
    write(tmp_path / "kith.toml", '[report]\ndeliver = "imap"\nmailbox = "local"\n')
    assert 'needs one of kind "imap"' in problems(tmp_path / "kith.toml")[("kith.toml", "report.mailbox")]


def test_smtp_settings_that_cannot_work(tmp_path: Path) -> None:
    write(tmp_path / "kith.toml", '[report.smtp]\nhost = "mail.example.com"\ntls = "none"\n')
    assert "loopback" in problems(tmp_path / "kith.toml")[("kith.toml", "report.smtp")]
    write(tmp_path / "pw", "x\n", mode=0o644)
    write(tmp_path / "kith.toml", '[report.smtp]\npassword_file = "pw"\n')
    found = problems(tmp_path / "kith.toml")
    assert "no username" in found[("kith.toml", "report.smtp")]
    assert "readable by others" in found[("kith.toml", "report.smtp.password_file")]


def test_a_problem_without_a_file_prints_without_an_empty_one() -> None:
    assert str(ConfigError("something is off")) == "something is off"  # not ": something is off"
