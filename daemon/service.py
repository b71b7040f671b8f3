"""`kith service install|uninstall`: the systemd unit for the kith that runs the command.

The unit starts ``<interpreter> -P -m kith run`` with the interpreter running this command
(``sys.executable`` as it is, not resolved: a venv's ``bin/python`` link is what makes it that
venv), so a pipx install, a venv under /opt and a system Python all work without a PATH look-up;
``-P`` keeps the working directory off ``sys.path``. The unit names no config or database path:
kith reads ``$CONFIGURATION_DIRECTORY/kith.toml`` and, system-wide, keeps its database in
``$STATE_DIRECTORY``, so a reinstall after an upgrade only rewrites the unit and keeps the
config, the database and any drop-in.

``--root DIR`` writes every file under DIR (an image being prepared, a test) while the unit names
paths as the target system sees them; an interpreter inside DIR is named without DIR.
File modes of kith's own state (0700/0600) are the daemon's business; this module only sets
those of the unit and of the config folder it creates.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

import kith
from kith.config.load import default_state_dir, load_config
from kith.config.models import GlobalConfig
from kith.config.starter import write_starter
from kith.errors import ServiceError

Scope = Literal["system", "user"]
UNIT = "kith.service"
#: First line of every unit this module writes; uninstall removes only such a unit.
MARKER = "Written by `kith service install"
TEMPLATES = Path(__file__).with_name("units")
#: Where the system unit's sandbox hides a path: an interpreter there cannot start the service.
HIDDEN = {
    Path("/home"): "ProtectHome=yes",
    Path("/root"): "ProtectHome=yes",
    Path("/run/user"): "ProtectHome=yes",
    Path("/tmp"): "PrivateTmp=yes",
    Path("/var/tmp"): "PrivateTmp=yes",
}


@dataclass(frozen=True)
class Layout:
    """Where one scope's files live on the target system; ``disk()`` is where they are written."""

    scope: Scope
    root: Path
    unit: Path
    wants: Path  # the symlink `systemctl enable` makes
    config_dir: Path
    state_dir: Path

    def disk(self, path: Path) -> Path:
        return self.root / path.relative_to(path.anchor)

    @property
    def systemctl(self) -> str:
        return "systemctl" if self.scope == "system" else "systemctl --user"


@dataclass
class Outcome:
    """What install/uninstall did (or would do), for the CLI to print."""

    layout: Layout
    unit_text: str = ""
    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


def layout(scope: Scope, root: Path = Path("/")) -> Layout:
    """The system unit in /etc/systemd/system with its config in /etc/kith; the user unit in
    ``$XDG_CONFIG_HOME/systemd/user`` with the config and database where `kith` in a shell looks."""
    if scope == "system":
        units = Path("/etc/systemd/system")
        wants = units / "multi-user.target.wants" / UNIT
        return Layout(scope, root, units / UNIT, wants, Path("/etc/kith"), Path("/var/lib/kith"))
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    units = config_home / "systemd" / "user"
    config_dir = config_home / "kith"
    state_dir = _user_state_dir(root / (config_dir / "kith.toml").relative_to("/"))
    return Layout(scope, root, units / UNIT, units / "default.target.wants" / UNIT, config_dir, state_dir)


def _user_state_dir(config_file: Path) -> Path:
    """The state directory `kith` in a shell uses: the config's ``state_dir`` or the XDG default."""
    settings = load_config(config_file).settings if config_file.exists() else GlobalConfig()
    return default_state_dir(settings)


def seen_from_target(path: Path, root: Path) -> Path:
    """``path`` as the target system sees it: without ``root`` when it lies inside it."""
    if root != Path("/") and path.is_relative_to(root):
        return Path("/") / path.relative_to(root)
    return path


def interpreter(root: Path) -> Path:
    """The Python running kith, as the target system will see it."""
    return seen_from_target(Path(os.path.abspath(sys.executable)), root)


def systemd_word(arg: str) -> str:
    """One word of a unit setting: ``%`` and ``$`` escaped, quoted when it holds blanks or quotes."""
    word = arg.replace("%", "%%").replace("$", "$$")
    if any(c.isspace() or c in "\"'\\" for c in word):
        word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def render_unit(lay: Layout, exe: Path) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    name = "kith.service.j2" if lay.scope == "system" else "kith-user.service.j2"
    return env.get_template(name).render(
        marker=MARKER,
        version=kith.__version__,
        exec_start=" ".join(systemd_word(a) for a in (str(exe), "-P", "-m", "kith", "run")),
        config_dir=lay.config_dir,
        state_dir=lay.state_dir,
        writable=systemd_word(str(lay.state_dir)),
    )


def _hidden_by(path: Path) -> str | None:
    return next((why for hidden, why in HIDDEN.items() if path.is_relative_to(hidden)), None)


def _check_reachable(lay: Layout, exe: Path, out: Outcome) -> None:
    """The system unit's sandbox must see kith, and its ``DynamicUser=`` must be able to read it."""
    package = seen_from_target(Path(kith.__file__).parent, lay.root)
    for what, path in (("the Python running kith", exe), ("the kith package", package)):
        why = _hidden_by(path)
        if why is None:
            continue
        message = f"{what} is {path}, which the system service cannot see ({why})"
        hint = (
            "install kith where the service can see it (sudo python3 -m venv /opt/kith && "
            "sudo /opt/kith/bin/pip install KITH_FOLDER_OR_WHEEL), then run "
            "sudo /opt/kith/bin/kith service install --system; or install a --user service"
        )
        if lay.root == Path("/"):
            raise ServiceError(message, hint=hint)
        out.warnings.append(f"{message}: {hint}")
    for path in (Path(sys.executable), Path(sys.executable).resolve(), Path(kith.__file__).parent):
        if blocked := _closed_to_others(path, lay.root):
            out.warnings.append(
                f"{blocked} is mode {stat.S_IMODE(blocked.stat().st_mode):04o}: the service's DynamicUser= cannot "
                f"reach {path} (chmod o+rX {blocked})"
            )


def _closed_to_others(path: Path, root: Path = Path("/")) -> Path | None:
    """The first of ``path`` and its folders below ``root`` that a user other than the owner
    cannot get through (folders need o+x, the last one o+r too), or None."""
    if not path.exists():
        return None
    for folder in reversed(path.parents):
        inside = root == Path("/") or (folder.is_relative_to(root) and folder != root)
        if inside and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
    return path if path.stat().st_mode & needed != needed else None


def _write(path: Path, text: str, mode: int) -> None:
    """Atomically, so systemd never reads half a unit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _starter_config(lay: Layout, out: Outcome, dry_run: bool) -> None:
    """Write `kith init`'s starter files when there is no kith.toml; keep an existing config as it is."""
    folder = lay.disk(lay.config_dir)
    if (folder / "kith.toml").exists():
        out.done.append(f"kept the config in {folder}")
        if lay.scope == "system":
            _check_readable(folder, lay.root, out)
        return
    if dry_run:
        out.done.append(f"would write a starter config (kith init) to {folder}")
        return
    written = write_starter(folder)
    if lay.scope == "system":
        # DynamicUser= reads the config as a transient user: folders 0755, files 0644, no secrets in them
        for path in [folder, *{p.parent for p in written}]:
            os.chmod(path, 0o755)
        for path in written:
            os.chmod(path, 0o644)
        (folder / "credentials").mkdir(mode=0o700, exist_ok=True)  # sources for LoadCredential=, root only
    out.done.extend(f"wrote {p}" for p in written)


def _check_readable(folder: Path, root: Path, out: Outcome) -> None:
    """An existing system config must be readable by the service's transient user (DynamicUser=)."""
    for path in (folder / "kith.toml", folder / "mailboxes.d", *sorted(folder.glob("mailboxes.d/*.toml"))):
        if blocked := _closed_to_others(path, root):
            mode = stat.S_IMODE(blocked.stat().st_mode)
            fix = "0755" if blocked.is_dir() else "0644"
            out.warnings.append(
                f"{blocked} is mode {mode:04o}: the service (DynamicUser=) cannot read it; "
                f"chmod {fix} {blocked} (secrets go in LoadCredential=, not the config)"
            )


def install(scope: Scope, root: Path = Path("/"), *, dry_run: bool = False) -> Outcome:
    """Write the unit (and a starter config when there is none); keep the config and the database."""
    lay = layout(scope, root)
    exe = interpreter(root)
    out = Outcome(lay)
    if scope == "system":
        _check_reachable(lay, exe, out)
    out.unit_text = render_unit(lay, exe)
    unit = lay.disk(lay.unit)
    try:
        _starter_config(lay, out, dry_run)
        if scope == "user" and not dry_run:
            # ReadWritePaths= must exist when the service starts (ProtectSystem=strict)
            lay.disk(lay.state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        if dry_run:
            out.done.append(f"would write {unit}")
        else:
            if unit.exists() and MARKER not in unit.read_text(errors="replace").partition("\n")[0]:
                unit.replace(unit.with_name(UNIT + ".orig"))
                out.warnings.append(f"moved the unit that was there to {UNIT}.orig: put your changes in a drop-in")
            _write(unit, out.unit_text, 0o644)
            out.done.append(f"wrote {unit}")
    except PermissionError as exc:
        raise ServiceError(f"cannot write {exc.filename}: permission denied", hint=_as_root_hint(scope)) from exc
    if not dry_run:
        complaints = verify(lay, unit)
        if complaints is None:
            out.done.append("systemd-analyze is not installed: the unit was not verified")
        elif complaints:
            out.warnings.append(f"systemd-analyze verify {unit}:\n{complaints}")
        else:
            out.done.append("systemd-analyze verify: ok")
    out.next_steps = [f"{lay.systemctl} daemon-reload", f"{lay.systemctl} enable --now kith"]
    if scope == "user":
        out.next_steps.append('loginctl enable-linger "$USER"   # keeps it running while you are logged out')
    return out


def _as_root_hint(scope: Scope) -> str:
    if scope == "system":
        return f"run it as root: sudo {sys.argv[0]} service ... --system"
    return "check the owner of the folders named above"


def verify(lay: Layout, unit: Path) -> str | None:
    """``systemd-analyze verify`` on the written unit: its complaints ("" when clean; None: no tool).

    A user unit is checked with ``--user`` and without ``--root`` (systemd 252 refuses the
    two together); even offline that needs a ``$XDG_RUNTIME_DIR``, so one is lent when unset.
    """
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="kith-verify-") as runtime:
        env = dict(os.environ)
        cmd = [tool]
        if lay.scope == "user":
            cmd.append("--user")
            env.setdefault("XDG_RUNTIME_DIR", runtime)
        cmd += ["verify", "--man=no"]
        if lay.scope == "system" and lay.root != Path("/"):
            cmd.append(f"--root={lay.root}")
        done = subprocess.run([*cmd, str(unit)], capture_output=True, text=True, env=env, timeout=120, check=False)
    complaints = (done.stderr + ("" if done.returncode == 0 else done.stdout)).strip()
    return complaints or ("" if done.returncode == 0 else f"exit status {done.returncode}")


def _starter_files() -> dict[Path, bytes]:
    """What `kith init` writes today, by path relative to the config folder."""
    with tempfile.TemporaryDirectory() as tmp:
        return {p.relative_to(tmp): p.read_bytes() for p in write_starter(Path(tmp))}


def uninstall(scope: Scope, root: Path = Path("/"), *, dry_run: bool = False) -> Outcome:
    """Remove the unit and the starter files nobody changed; keep the database and everything edited."""
    lay = layout(scope, root)
    out = Outcome(lay)
    unit, verb = lay.disk(lay.unit), "would remove" if dry_run else "removed"
    removals: list[Path] = []
    if unit.exists():
        if MARKER not in unit.read_text(errors="replace").partition("\n")[0]:
            raise ServiceError(f"{unit} was not written by `kith service install`; not removing it")
        if lay.disk(lay.wants).is_symlink() or lay.disk(lay.wants).exists():
            raise ServiceError("kith is still enabled", hint=f"run `{lay.systemctl} disable --now kith` first")
        removals.append(unit)
    else:
        out.done.append(f"no unit at {unit}")
    folder = lay.disk(lay.config_dir)
    for rel, data in _starter_files().items():
        path = folder / rel
        if path.exists():
            if path.read_bytes() == data:
                removals.append(path)
            else:
                out.done.append(f"kept {path} (changed since kith wrote it)")
    try:
        for path in removals:
            if not dry_run:
                path.unlink()
            out.done.append(f"{verb} {path}")
        if not dry_run:
            for empty in (folder / "mailboxes.d", folder / "credentials", folder):
                if empty.is_dir() and not any(empty.iterdir()):
                    empty.rmdir()
    except PermissionError as exc:
        raise ServiceError(f"cannot remove {exc.filename}: permission denied", hint=_as_root_hint(scope)) from exc
    out.done.append(f"kept the database and state in {lay.state_dir} (remove it yourself when you no longer want it)")
    out.next_steps = [f"{lay.systemctl} daemon-reload"]
    return out


__all__ = [
    "MARKER",
    "Layout",
    "Outcome",
    "install",
    "interpreter",
    "layout",
    "render_unit",
    "seen_from_target",
    "systemd_word",
    "uninstall",
]
