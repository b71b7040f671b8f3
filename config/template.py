"""The starter files `kith init` writes, generated from the settings models.

Every key of ``kith.toml`` is written with its help text (the docstring under the field) and its
default, so the starter file cannot drift from what kith accepts: a new setting appears in it the
moment it is added to a model, and tests/config/test_template.py fails on a field without help.
A key whose default is "none" is written commented out, with an example value from the field's
``examples`` (TOML has no null).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kith.config.durations import format_duration
from kith.config.mailboxes import CaldavCalendar, ImapMailbox
from kith.config.models import GlobalConfig

WIDTH = 100

HEADER = """\
# kith.toml: kith's global settings; each mailbox has its own file in mailboxes.d/.
# Written by `kith init` from kith's own settings: every key, its default and what it does.
# Any key can be overridden from the environment: KITH_SECTION__KEY (e.g. KITH_DATABASE__URL).
# Durations are written like "90s", "5m", "2h", "2d", "1w". Check the result: `kith config check`.
"""

MAILBOX_HEADER = """\
# One file per mailbox; the file name is the mailbox name. Delete `enabled = false` when ready.
# This example is an IMAP mailbox; `kind` can also be "gmail", "graph", "maildir" or "mbox"
# (README "Configuration"). Every key is listed with its default and what it does.
"""


def toml_value(value: Any) -> str:
    """A Python settings value as TOML: durations as "5m", times as "07:00:00", paths as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return json.dumps(format_duration(value))
    if isinstance(value, time):
        return json.dumps(value.isoformat())
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def key_of(name: str, field: FieldInfo) -> str:
    """The key as written in the file (``from`` for the ``from_`` field)."""
    return field.alias or name


def is_section(field: FieldInfo) -> bool:
    """A nested settings model, written as its own ``[table]``."""
    ann = field.annotation
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _comment(text: str, indent: str = "") -> list[str]:
    lines: list[str] = []
    for para in text.strip().split("\n\n"):
        lines += textwrap.wrap(" ".join(para.split()), WIDTH - len(indent) - 2)
    return [f"{indent}# {line}" for line in lines]


def _default(field: FieldInfo) -> Any:
    return field.get_default(call_default_factory=True)


def key_lines(name: str, field: FieldInfo, *, value: Any = None) -> list[str]:
    """Help text, then ``key = default`` (or ``# key = example`` when the default is none)."""
    key = key_of(name, field)
    out = _comment(field.description or "")
    default = _default(field) if value is None else value
    if default is None:
        example = (field.examples or [None])[0]
        line = f"# {key} = {toml_value(example)}" if example is not None else f"# {key} ="
        out.append(line + "    # default: none")
    else:
        out.append(f"{key} = {toml_value(default)}")
        examples = [e for e in field.examples or [] if e != default]
        if examples:
            out.append(f"# e.g. {key} = {toml_value(examples[0])}")
    return out


def model_lines(model: type[BaseModel], table: str) -> Iterator[str]:
    """``[table]`` with every key of ``model``, then its nested tables (TOML wants them last)."""
    fields = model.model_fields
    yield ""
    yield f"[{table}]"
    yield from _comment(model.__doc__ or "")
    for name, field in fields.items():
        if not is_section(field):
            yield ""
            yield from key_lines(name, field, value=STARTER_VALUES.get(f"{table}.{key_of(name, field)}"))
    for name, field in fields.items():
        if is_section(field):
            assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
            yield from model_lines(field.annotation, f"{table}.{key_of(name, field)}")


#: Keys the starter sets to something other than their default, and why: the web app is on for a
#: new setup (on loopback), but off for a config that does not mention it.
STARTER_VALUES: dict[str, Any] = {"web.listen": "127.0.0.1:8477"}


def starter_text() -> str:
    """The whole ``kith.toml`` starter: top-level keys first (TOML requires it), then the tables."""
    lines = HEADER.rstrip("\n").splitlines()
    sections = []
    for name, field in GlobalConfig.model_fields.items():
        if is_section(field):
            sections.append((name, field))
            continue
        lines += ["", *key_lines(name, field, value=STARTER_VALUES.get(name))]
    for name, field in sections:
        assert isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        lines += list(model_lines(field.annotation, key_of(name, field)))
    return "\n".join(lines) + "\n"


#: Values the example mailbox is written with where the model has no default (or a better one).
MAILBOX_VALUES: dict[str, Any] = {
    "kind": "imap",
    "enabled": False,
    "addresses": ["you@example.com"],
    "password_file": "/etc/kith/example.password",
}
#: Keys left out of the example: ``name`` comes from the file name; ``calendar`` is its own table.
MAILBOX_SKIP = ("name", "calendar")


def _ordered(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """``kind`` and ``enabled`` first, then what the kind declares itself, then the shared keys
    (the model's MRO would put the password keys of a mixin first)."""
    own = set(model.__annotations__)

    def rank(item: tuple[str, FieldInfo]) -> int:
        name = item[0]
        return {"kind": 0, "enabled": 1}.get(name, 2 if name in own else 4 if name.startswith("password") else 3)

    return sorted(model.model_fields.items(), key=rank)


def _example_keys(model: type[BaseModel], values: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, field in _ordered(model):
        if name in MAILBOX_SKIP:
            continue
        value = values.get(name)
        if value is None and field.is_required():
            value = (field.examples or [None])[0]
        lines += ["", *key_lines(name, field, value=value)]
    return lines


def mailbox_example_text() -> str:
    """An IMAP mailbox file with every key, and a CalDAV ``[calendar]`` commented out."""
    lines = MAILBOX_HEADER.rstrip("\n").splitlines()
    lines += _example_keys(ImapMailbox, MAILBOX_VALUES)
    lines += ["", "", "# [calendar]"]
    lines += _comment(
        "The calendar that goes with this mailbox (optional): CalDAV here; `kind` can also be "
        '"google", "graph" (with a mailbox of that kind) or "ics". Uncomment the lines to use it.'
    )
    calendar = _example_keys(CaldavCalendar, {"kind": "caldav"})
    lines += [line if not line or line.startswith("#") else f"# {line}" for line in calendar]
    return "\n".join(lines) + "\n"


__all__ = ["STARTER_VALUES", "is_section", "key_of", "mailbox_example_text", "starter_text", "toml_value"]
