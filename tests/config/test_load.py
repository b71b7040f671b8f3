"""Config: typed models, every problem named with its file and key, secrets kept out of sight."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from kith.config import ImapMailbox, MaildirMailbox, load_config, parse_duration
from kith.config.load import default_config_path
from kith.config.secrets import SecretRef
from kith.config.starter import masked, write_starter
from kith.errors import AuthError, ConfigError, UsageError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    write(tmp_path / "kith.toml", '[me]\naddresses = ["Me@Example.com"]\n[analysis]\nunanswered_after = "3d"\n')
    write(tmp_path / "secret", "hunter2\n")
    write(
        tmp_path / "mailboxes.d" / "work.toml",
        'kind = "imap"\nhost = "imap.example.com"\nusername = "me"\npassword_file = "../secret"\naddresses = ["me@example.com"]\npoll_interval = "5m"\n',
    )
    (tmp_path / "Mail").mkdir()
    write(tmp_path / "mailboxes.d" / "local.toml", 'kind = "maildir"\npath = "../Mail"\n')
    return tmp_path


def test_loads_typed_models_with_relative_paths(cfg_dir: Path) -> None:
    cfg = load_config(cfg_dir / "kith.toml")
    assert cfg.settings.analysis.unanswered_after == timedelta(days=3)
    assert cfg.settings.me.addresses == ("me@example.com",)
    work = cfg.mailbox("work")
    assert isinstance(work, ImapMailbox) and work.effective_port == 993 and work.poll_interval == timedelta(minutes=5)
    assert work.password.resolve() == "hunter2"
    local = cfg.mailbox("local")
    assert isinstance(local, MaildirMailbox) and local.path == (cfg_dir / "Mail").resolve()
    assert cfg.my_addresses == {"me@example.com"}


def test_every_problem_is_reported_at_once_with_file_and_key(cfg_dir: Path) -> None:
    write(cfg_dir / "kith.toml", '[analysis]\nunanswerd_after = "2d"\ninclude_cc = "sometimes"\n')
    write(
        cfg_dir / "mailboxes.d" / "bad.toml", 'kind = "imap"\nhost = "mail.example.com"\ntls = "none"\nusername = "x"\n'
    )
    write(cfg_dir / "mailboxes.d" / "nokind.toml", 'path = "/tmp"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir / "kith.toml")
    problems = {(Path(p.file).name, p.key): p.message for p in info.value.problems}
    assert ("kith.toml", "analysis.unanswerd_after") in problems
    assert "unknown key" in problems[("kith.toml", "analysis.unanswerd_after")]
    assert ("kith.toml", "analysis.include_cc") in problems
    assert any(f == "bad.toml" and "loopback" in m for (f, _k), m in problems.items())
    assert ("nokind.toml", "kind") in problems


def test_world_readable_secret_file_is_refused(cfg_dir: Path) -> None:
    (cfg_dir / "secret").chmod(0o644)
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir / "kith.toml")
    (p,) = info.value.problems
    assert p.key == "password_file" and "chmod 600" in p.message and p.file.endswith("work.toml")


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    write(tmp_path / "kith.toml", "[me\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "kith.toml")


def test_environment_overrides_the_file(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITH_ANALYSIS__UNANSWERED_AFTER", "1w")
    monkeypatch.setenv("KITH_DATABASE__URL", "postgresql+psycopg://u:pw@h/db")
    cfg = load_config(cfg_dir / "kith.toml")
    assert cfg.settings.analysis.unanswered_after == timedelta(weeks=1)
    monkeypatch.setenv("KITH_ANALYSIS__INCLUDE_CC", "maybe")
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir / "kith.toml")
    assert info.value.problems[0].file == "environment KITH_ANALYSIS__INCLUDE_CC"


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration(" 2d ") == timedelta(days=2)
    assert parse_duration(300) == timedelta(minutes=5)
    for bad in ("2 days", "5x", "", "-5m", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_secret_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SecretRef(command="echo s3cret").resolve() == "s3cret"
    creds = tmp_path / "creds"
    write(creds / "imap", "from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert SecretRef(credential="imap").resolve() == "from-systemd"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(AuthError, match="CREDENTIALS_DIRECTORY"):
        SecretRef(credential="imap").resolve()
    with pytest.raises(AuthError, match="password command failed"):
        SecretRef(command="false").resolve()
    with pytest.raises(ValueError):
        SecretRef(file=Path("/x"), command="y")


def test_masked_printout_never_holds_a_secret(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        cfg_dir / "mailboxes.d" / "cmd.toml",
        'kind = "imap"\nhost = "h.example"\nusername = "u"\npassword_command = "echo topsecret"\n',
    )
    monkeypatch.setenv("KITH_DATABASE__URL", "postgresql+psycopg://u:dbpass@h/db")
    text = str(masked(load_config(cfg_dir / "kith.toml")))
    assert "topsecret" not in text and "dbpass" not in text and "hunter2" not in text


def test_starter_config_is_valid_and_private(tmp_path: Path) -> None:
    paths = write_starter(tmp_path)
    assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in paths)
    cfg = load_config(tmp_path / "kith.toml")
    assert [m.name for m in cfg.mailboxes] == ["example"] and not cfg.mailboxes[0].enabled
    with pytest.raises(UsageError, match="already holds a configuration"):
        write_starter(tmp_path)


def test_the_units_configuration_directory_beats_a_user_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Under systemd the unit says where the config is (ConfigurationDirectory=); the units name no path."""
    user = tmp_path / "home/.config/kith/kith.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    monkeypatch.delenv("KITH_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home/.config"))
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", str(tmp_path / "etc/kith"))
    assert default_config_path() == tmp_path / "etc/kith/kith.toml"
    monkeypatch.setenv("KITH_CONFIG", str(tmp_path / "chosen.toml"))
    assert default_config_path() == tmp_path / "chosen.toml"
    monkeypatch.delenv("KITH_CONFIG")
    monkeypatch.delenv("CONFIGURATION_DIRECTORY")
    assert default_config_path() == user
