"""The daemon's analysis thread is part of the daemon, not an optional extra (issue 24)."""

from __future__ import annotations

import subprocess
import sys


def test_a_daemon_whose_analysis_cannot_be_imported_does_not_start() -> None:
    """It used to catch the ImportError and run for its whole life without analysis, said only
    at debug level; now the import fails where the daemon is loaded, naming the module."""
    code = "import sys; sys.modules['kith.analysis.api'] = None; import kith.daemon.run"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode != 0, "the daemon loaded without its analysis"
    assert "kith.analysis.api" in out.stderr
