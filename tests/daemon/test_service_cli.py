"""`kith service` in-process: dry runs, refusals, quoting, a unit that was there before, the user's state_dir."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.daemon import service
from kith.errors import ServiceError

runner = CliRunner()


def kith(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_dry_run_shows_the_unit_and_writes_nothing(tmp_path: Path) -> None:
    res = kith("service", "install", "--system", "--root", str(tmp_path), "--dry-run")
    assert res.exit_code == 0, res.output
    assert f"ExecStart={sys.executable} -P -m kith run" in res.stdout
    assert "would write a starter config" in res.stdout and "systemctl enable --now kith" in res.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("python", ["/home/me/.local/pipx/venvs/kithd/bin/python", "/tmp/venv/bin/python"])
def test_a_kith_the_system_sandbox_hides_is_refused(monkeypatch: pytest.MonkeyPatch, python: str) -> None:
    monkeypatch.setattr(sys, "executable", python)
    with pytest.raises(ServiceError, match="cannot see") as err:
        service.install("system", Path("/"), dry_run=True)
    assert err.value.hint and "/opt/kith" in err.value.hint


def test_into_an_image_root_it_is_only_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", "/tmp/venv/bin/python")
    out = service.install("system", tmp_path, dry_run=True)
    assert any("PrivateTmp=yes" in w for w in out.warnings)


def test_an_interpreter_inside_the_root_is_named_from_inside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "opt/my kith/bin/python"))
    out = service.install("system", tmp_path, dry_run=True)
    assert 'ExecStart="/opt/my kith/bin/python" -P -m kith run' in out.unit_text


def test_systemd_words_escape_specifiers_and_variables() -> None:
    assert service.systemd_word("/opt/kith/bin/python") == "/opt/kith/bin/python"
    assert service.systemd_word("/srv/100%/$HOME") == "/srv/100%%/$$HOME"
    assert service.systemd_word('/a b/"c"') == '"/a b/\\"c\\""'


def test_a_unit_kith_did_not_write_is_moved_aside_and_never_removed(tmp_path: Path) -> None:
    unit = tmp_path / "etc/systemd/system/kith.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/usr/bin/kith run\n")
    res = kith("service", "uninstall", "--system", "--root", str(tmp_path))
    assert res.exit_code == 1 and "not written by `kith service install`" in res.stderr and unit.exists()
    res = kith("service", "install", "--system", "--root", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "kith.service.orig" in res.stderr and (unit.parent / "kith.service.orig").read_text().startswith("[Service]")
    assert unit.read_text().startswith("# kith daemon, system-wide. Written by `kith service install")


def test_an_existing_system_config_the_service_cannot_read_is_named(tmp_path: Path) -> None:
    config = tmp_path / "etc/kith"
    config.mkdir(parents=True)
    (config / "kith.toml").write_text("[me]\n")
    (config / "kith.toml").chmod(0o600)
    out = service.install("system", tmp_path, dry_run=True)
    assert any(f"chmod 0644 {config / 'kith.toml'}" in w for w in out.warnings)
    assert "kept the config" in out.done[0] and (config / "kith.toml").read_text() == "[me]\n"


def test_the_user_unit_may_write_the_configured_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    config = tmp_path / "home/.config/kith"
    config.mkdir(parents=True)
    (config / "kith.toml").write_text(f'state_dir = "{tmp_path / "elsewhere"}"\n')
    out = service.install("user", Path("/"))
    assert f"ReadWritePaths={tmp_path / 'elsewhere'}\n" in out.unit_text
    assert (tmp_path / "elsewhere").is_dir() and (tmp_path / "home/.config/systemd/user/kith.service").exists()


def test_a_venv_the_dynamic_user_cannot_enter_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    python = tmp_path / "opt/kith/bin/python"
    python.parent.mkdir(parents=True)
    python.touch(mode=0o755)
    (tmp_path / "opt/kith").chmod(0o700)  # a venv made under umask 077
    monkeypatch.setattr(sys, "executable", str(python))
    out = service.install("system", tmp_path, dry_run=True)
    assert any(f"chmod o+rX {tmp_path / 'opt/kith'}" in w for w in out.warnings), out.warnings
