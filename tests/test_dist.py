"""`make dist`: the sdist and wheel pass `twine check`, and the wheel alone runs kith.

The wheel is installed (not editable) in a fresh venv (tests/fixtures/dist.py) and run from a
folder far from the repository: `kith --version`, `kith demo`, `kith db upgrade`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kith import __version__
from tests.fixtures.dist import ROOT, Dist, Image

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sdist_and_wheel_pass_twine_check(dist: Dist) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert dist.wheel_metadata()["Version"] == __version__
    assert dist.wheel.name == f"kithd-{__version__}-py3-none-any.whl"


def test_wheel_carries_every_file_of_the_package_folders(dist: Dist) -> None:
    """Templates, migrations, unit templates, vendored assets: whatever git tracks in a package folder."""
    package_dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", *package_dirs.values()], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    folder_to_package = {folder: pkg.replace(".", "/") for pkg, folder in package_dirs.items()}
    expected = set()
    for path in filter(None, tracked):
        folder, _, rest = path.partition("/")
        expected.add(f"{folder_to_package[folder]}/{rest}")
    assert "kith/report/templates/report.html.j2" in expected and "kith/daemon/units/kith.service.j2" in expected
    assert expected - dist.wheel_names() == set()


def test_the_installed_wheel_runs_version_demo_and_db_upgrade(image: Image, tmp_path: Path) -> None:
    where = image.run("--version", cwd=tmp_path)
    assert where.returncode == 0 and where.stdout == f"kith {__version__}\n", where.stderr
    # the code, templates and migrations come from the wheel's files in the venv, not from the repository
    probe = subprocess.run(
        [
            str(image.python),
            "-c",
            "import kith.report.render as r, kith.store.migrate as m; print(r.TEMPLATES, m.MIGRATIONS)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert all(Path(p).is_relative_to(image.venv) for p in probe.stdout.split()), probe.stdout
    undeclared = subprocess.run([str(image.python), "-c", "import radicale"], capture_output=True, timeout=60)
    assert undeclared.returncode != 0, "only the wheel's declared dependencies are visible in its venv"

    demo = image.run("demo", "--dir", str(tmp_path / "demo"), "--messages", "150", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (tmp_path / "demo" / "report.html").exists() or any((tmp_path / "demo").glob("**/*.html")), demo.stdout
    config = str(tmp_path / "demo" / "kith.toml")
    upgrade = image.run("--config", config, "db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0 and "revision" in upgrade.stdout, upgrade.stderr
    status = image.run("--config", config, "status", "--json", cwd=tmp_path)
    assert json.loads(status.stdout)["kith_version"] == __version__


def test_make_venv_editable_install_prints_no_folder_warning(dist: Dist, tmp_path: Path) -> None:
    """`make demo` used to print setuptools' "Editable installation … same name as your package" block.

    The Makefile's editable install runs with a warnings filter (pyproject.toml says why); this
    runs setuptools' editable build with and without the environment the Makefile gives it.
    """
    recipe = subprocess.run(
        ["make", "-n", "-B", "venv", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in recipe.splitlines() if "pip install" in x and " -e " in x)
    words = shlex.split(line)
    assignments = dict(w.split("=", 1) for w in words[: next(i for i, w in enumerate(words) if "=" not in w)])
    base = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    build = [sys.executable, "-c", "import sys; from setuptools import build_meta as b; b.build_editable(sys.argv[1])"]

    def editable_build(env: dict[str, str], out: str) -> str:
        done = subprocess.run(
            [*build, str(tmp_path / out)], cwd=dist.source, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stderr

    assert "Editable installation" in editable_build(base, "plain"), "setuptools no longer warns: drop the filter"
    assert "Editable installation" not in editable_build({**base, **assignments}, "quiet")
