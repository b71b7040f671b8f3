"""Provider libraries load only when a mailbox of that kind is configured."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kith.config.mailboxes import MaildirMailbox
from kith.connectors.registry import make_calendar_source, make_source
from kith.errors import ConfigError


def test_importing_kith_loads_no_provider_library() -> None:
    code = (
        "import sys, kith.cli, kith.daemon.sync, kith.connectors.registry;"
        "heavy = [m for m in ('msal', 'googleapiclient', 'caldav', 'imapclient', 'matplotlib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_kind_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mb = MaildirMailbox(kind="maildir", name="m", path=tmp_path)
    assert make_calendar_source(mb, state_dir=tmp_path) is None
    assert make_source(mb, state_dir=tmp_path).streams() == []
    bogus = mb.model_copy(update={"kind": "carrier-pigeon"})
    with pytest.raises(ConfigError, match="unknown mailbox kind 'carrier-pigeon'"):
        make_source(bogus, state_dir=tmp_path)
