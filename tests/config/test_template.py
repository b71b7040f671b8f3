"""The starter files `kith init` writes are generated from the settings models (issue 23, point 4):
every key with its default and its help text, so the file cannot drift from what kith accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from kith.config.mailboxes import CaldavCalendar, ImapMailbox
from kith.config.models import GlobalConfig
from kith.config.starter import MAILBOX_EXAMPLE, STARTER
from kith.config.template import STARTER_VALUES, is_section, key_of

ROOT = Path(__file__).resolve().parents[2]


def keys_of(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> field, every level."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = prefix + key_of(name, field)
        if is_section(field):
            out.update(keys_of(field.annotation, key + "."))  # type: ignore[arg-type]
        else:
            out[key] = field
    return out


def written_keys(text: str) -> set[str]:
    """Every key the file sets or shows commented out, dotted by the table it is in."""
    table, found = "", set()
    for line in text.splitlines():
        bare = line.removeprefix("# ").strip()
        if m := re.fullmatch(r"\[([\w.]+)\]", bare):
            table = m.group(1) + "."
        elif (m := re.match(r"(\w+) = ", bare)) and not line.startswith("# e.g."):
            found.add(table + m.group(1))
    return found


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.upper().startswith("KITH_")]:
        monkeypatch.delenv(name)


def test_every_setting_has_help_text() -> None:
    missing = [k for k, f in keys_of(GlobalConfig).items() if not (f.description or "").strip()]
    missing += [f"mailbox {k}" for k, f in keys_of(ImapMailbox).items() if k != "name" and not f.description]
    assert missing == []


def test_the_starter_lists_every_key_with_its_help_and_default() -> None:
    assert written_keys(STARTER) == set(keys_of(GlobalConfig))
    for key, field in keys_of(GlobalConfig).items():
        first_line = (field.description or "").split("\n")[0].split()[:4]
        assert " ".join(first_line) in " ".join(STARTER.split()), key
    live = tomllib.loads(STARTER)
    assert live["web"]["listen"] == STARTER_VALUES["web.listen"]  # a new setup gets the web app…
    del live["web"]["listen"]
    assert GlobalConfig(**live) == GlobalConfig()  # …and every other value it sets is the default


def test_the_example_mailbox_lists_every_key_and_loads() -> None:
    data = tomllib.loads(MAILBOX_EXAMPLE)
    assert written_keys(MAILBOX_EXAMPLE) >= set(keys_of(ImapMailbox)) - {"name", "calendar"}
    assert {f"calendar.{k}" for k in keys_of(CaldavCalendar)} <= written_keys(MAILBOX_EXAMPLE)
    mb = ImapMailbox(name="example", **data)
    assert mb.enabled is False and mb.host == "imap.example.com"


def test_no_claim_the_code_does_not_keep() -> None:
    assert "greeting" not in STARTER  # [me] name is the display name of the report's To:, nothing else
    assert "To:" in GlobalConfig.model_fields["me"].annotation.model_fields["name"].description  # type: ignore[union-attr]


def test_metrics_port_example_matches_the_systemd_notes() -> None:
    notes = (ROOT / "systemd" / "README.md").read_text()
    documented = set(re.findall(r"metrics_port = (\d+)", notes))
    assert documented and set(re.findall(r"metrics_port = (\d+)", STARTER)) == documented
