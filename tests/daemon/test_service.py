"""`kith service install|uninstall` from the installed wheel, as far as a machine without systemd
as PID 1 allows: the README's commands write the units into an image root, `systemd-analyze`
verifies them there and rates them, and the rendered ``ExecStart=`` runs with the environment
systemd would give it (the unit's ``Environment=``, a notify socket, the state, config and
runtime directories) until READY=1, then stops cleanly on SIGTERM. A reinstall keeps the config
and the database; uninstall removes what it wrote and nobody changed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from tests.daemon.test_run import Kith
from tests.fixtures.dist import ROOT, Image

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: what systemd 252 puts in a service's environment besides the unit's own settings
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_EXPOSURE = 2.0


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI (make test-deps installs systemd)")
        pytest.skip("systemd-analyze is not installed")
    return found


def readme_commands() -> list[str]:
    """The three commands of README.md's "Running under systemd", comments dropped."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Running under systemd\n\n```\n(.*?)```", text, re.S)
    assert block, "README.md lost its 'Running under systemd' commands"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def settings(unit: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, in order (comments and sections dropped)."""
    out: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def exec_start(unit: str) -> list[str]:
    """``ExecStart=`` as argv (what kith writes: words, double quotes, ``%%`` and ``$$``)."""
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(settings(unit)["ExecStart"][0])]


def service_env(unit: str, **dirs: str) -> dict[str, str]:
    """The environment systemd gives the service: its fixed part, ``Environment=``, ``dirs``."""
    env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8"}
    for assignment in settings(unit).get("Environment", []):
        for word in shlex.split(assignment):
            key, _, value = word.partition("=")
            env[key] = value
    return {**env, **dirs}


def watchdog_usec(unit: str) -> int:
    return int(settings(unit)["WatchdogSec"][0].removesuffix("s")) * 1_000_000


def exposure(tool: str, unit: Path, *, user: bool = False, env: dict[str, str] | None = None) -> tuple[float, str]:
    done = subprocess.run(
        [tool, *(["--user"] if user else []), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    found = re.search(r"Overall exposure level for kith\.service: (\d+(?:\.\d+)?) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1)), found.group(2)


def start_and_stop(command: list[str], env: dict[str, str], unit: str, cwd: Path, log_dir: Path) -> None:
    """Run the unit's command as systemd would: READY=1, then SIGTERM gives exit 0 and STOPPING=1."""
    k = Kith(log_dir / "unit.toml", command=command, base_env=env, watchdog_usec=watchdog_usec(unit), cwd=cwd)
    try:
        ready = k.wait_for(lambda m: m.get("READY") == "1", timeout=60, what="READY=1")
        assert ready["MAINPID"] == str(k.proc.pid)
        code, _took = k.stop(signal.SIGTERM, timeout=30)
    finally:
        if k.proc.poll() is None:
            k.proc.kill()
            k.proc.wait()
    assert code == 0, k.logs()
    assert any(m.get("STOPPING") == "1" for m in k.messages)
    assert "Traceback" not in k.logs(), k.logs()


def test_readme_says_three_commands_and_the_image_runs_them(image: Image) -> None:
    install, service, enable = readme_commands()
    assert install == "sudo python3 -m venv /opt/kith && sudo /opt/kith/bin/pip install ."
    assert service == "sudo /opt/kith/bin/kith service install --system"
    assert enable == "sudo systemctl enable --now kith"
    assert image.venv == image.root / "opt" / "kith", "the image's venv stands where the README puts it"


def test_system_service_installs_verifies_starts_upgrades_and_uninstalls(
    image: Image, tmp_path: Path, systemd_analyze: str
) -> None:
    root = image.root
    command = shlex.split(readme_commands()[1].removeprefix("sudo "))
    command = [str(root / command[0].lstrip("/")), *command[1:], "--root", str(root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "systemd-analyze verify: ok" in done.stdout and "systemctl enable --now kith" in done.stdout
    assert "warning" not in done.stderr, done.stderr
    unit_file = root / "etc/systemd/system/kith.service"
    unit = unit_file.read_text()
    argv = exec_start(unit)
    assert argv == ["/opt/kith/bin/python", "-P", "-m", "kith", "run"], "the image's own Python, named from inside"
    for line in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestartPreventExitStatus=78 74",
        "DynamicUser=yes",
    ):
        assert line in unit.splitlines(), line
    assert int(settings(unit)["TimeoutStopSec"][0].removesuffix("s")) >= 20, "the daemon needs up to ~20 s to stop"

    verified = subprocess.run(
        [systemd_analyze, "verify", "--man=no", f"--root={root}", "kith.service"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    level, verdict = exposure(systemd_analyze, unit_file)
    assert level <= MAX_EXPOSURE and verdict == "OK", level

    config = root / "etc/kith"
    assert (
        stat.S_IMODE(config.stat().st_mode) == 0o755 and stat.S_IMODE((config / "credentials").stat().st_mode) == 0o700
    )
    assert stat.S_IMODE((config / "kith.toml").stat().st_mode) == 0o644, "DynamicUser= must read the config"
    state = root / "var/lib/kith"
    state.mkdir(parents=True, mode=0o700)
    env = service_env(
        unit,
        HOME="/",
        STATE_DIRECTORY=str(state),
        CONFIGURATION_DIRECTORY=str(config),
        RUNTIME_DIRECTORY=str(tmp_path / "run"),
    )
    (tmp_path / "run").mkdir()
    # the image's /opt/kith/bin/python, found under the root as systemd in that image would find it
    start_and_stop([str(root / argv[0].lstrip("/")), *argv[1:]], env, unit, Path("/"), tmp_path)
    assert (state / "kith.db").exists() and not list(state.glob("*migrate-lock"))

    # an upgrade: install again over an edited config and a database in use; both stay as they are
    with (config / "kith.toml").open("a") as fh:
        fh.write("# edited by its owner\n")
    kept = {p: p.read_bytes() for p in (config / "kith.toml", state / "kith.db")}
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "kept the config" in again.stdout, again.stdout + again.stderr
    assert {p: p.read_bytes() for p in kept} == kept
    assert unit_file.read_text() == unit

    uninstall = [*command[:2], "uninstall", *command[4:]]
    wants = root / "etc/systemd/system/multi-user.target.wants/kith.service"
    wants.parent.mkdir()
    wants.symlink_to("../kith.service")
    refused = subprocess.run(uninstall, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert refused.returncode == 1 and "systemctl disable --now kith" in refused.stderr
    wants.unlink()
    removed = subprocess.run(uninstall, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not unit_file.exists() and not (config / "mailboxes.d").exists(), "the untouched starter files go"
    assert (config / "kith.toml").read_bytes() == kept[config / "kith.toml"], "an edited file stays"
    assert (state / "kith.db").read_bytes() == kept[state / "kith.db"]


def test_user_service_installs_verifies_and_starts(image: Image, tmp_path: Path, systemd_analyze: str) -> None:
    home, runtime = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    done = image.run("service", "install", "--user", cwd=home, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "systemd-analyze verify: ok" in done.stdout and "systemctl --user enable --now kith" in done.stdout
    unit_file = home / ".config/systemd/user/kith.service"
    unit = unit_file.read_text()
    argv = exec_start(unit)
    assert argv == [str(image.python), "-P", "-m", "kith", "run"]
    state = home / ".local/share/kith"
    assert settings(unit)["ReadWritePaths"] == [str(state)] and stat.S_IMODE(state.stat().st_mode) == 0o700
    level, verdict = exposure(systemd_analyze, unit_file, user=True, env={"XDG_RUNTIME_DIR": str(runtime)})
    assert level <= MAX_EXPOSURE and verdict == "OK", level

    (runtime / "kith").mkdir()
    unit_env = service_env(
        unit,
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        CONFIGURATION_DIRECTORY=str(home / ".config/kith"),
        RUNTIME_DIRECTORY=str(runtime / "kith"),
    )
    start_and_stop(argv, unit_env, unit, home, tmp_path)
    assert (state / "kith.db").exists(), "the database where `kith` in a shell looks"
