"""The command grammar and its token (issue 27): strict, bounded, and unforgeable without the key."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.analysis.commands import (
    KEY_FILE,
    MAX_SUBJECT,
    Action,
    Command,
    mailto,
    parse_subject,
    sign,
    subject,
    verify,
)
from kith.config.secrets import state_key

KEY = b"k" * 64
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=14)
FLAG = "unanswered:<q@example.org>"  # the flag's stable key


def test_a_signed_subject_round_trips_for_every_action() -> None:
    for action in Action:
        token = sign(KEY, 123, action, LATER, FLAG)
        cmd = parse_subject(subject(123, action, token))
        assert cmd == Command(123, action, token)
        assert verify(KEY, cmd, NOW, FLAG) == "ok"
        assert cmd.expires == LATER
        assert verify(KEY, cmd, LATER, FLAG) == "expired"
    assert subject(123, Action.SNOOZE_WEEK, "T" * 22) == f"kith: snooze 7d #123 {'T' * 22}"


def test_any_changed_part_is_forged() -> None:
    token = sign(KEY, 5, Action.DONE, LATER, FLAG)
    assert verify(KEY, Command(6, Action.DONE, token), NOW, FLAG) == "forged"  # another flag
    assert verify(KEY, Command(5, Action.SNOOZE_MONTH, token), NOW, FLAG) == "forged"  # another action
    assert verify(b"x" * 64, Command(5, Action.DONE, token), NOW, FLAG) == "forged"  # another key
    later = sign(KEY, 5, Action.DONE, LATER + timedelta(days=365), FLAG)
    moved = later[:6] + token[6:]  # a later expiry spliced onto the old MAC
    assert verify(KEY, Command(5, Action.DONE, moved), NOW, FLAG) == "forged"
    stale = sign(KEY, 5, Action.DONE, NOW - timedelta(seconds=1), FLAG)
    assert verify(b"x" * 64, Command(5, Action.DONE, stale), NOW, FLAG) == "forged", "forged wins over expired"


def test_a_token_names_the_flag_by_its_key_not_only_its_number() -> None:
    """Security review of issue 27: a database made anew (the state directory and its key kept)
    numbers other flags the same way; an old link acted on whichever flag got its number."""
    token = sign(KEY, 5, Action.DONE, LATER, FLAG)
    assert verify(KEY, Command(5, Action.DONE, token), NOW, FLAG) == "ok"
    assert verify(KEY, Command(5, Action.DONE, token), NOW, "reconnect:bob@example.org") == "forged"
    assert len(token) == 22


@pytest.mark.parametrize(
    "text",
    [
        "Re: kith: done #1 AAAAAAAAAAAAAAAAAAAAAA",
        "kith: done #1 AAAAAAAAAAAAAAAAAAAAAA extra",
        "kith: done #01 AAAAAAAAAAAAAAAAAAAAAA",
        "kith: done #12345678901 AAAAAAAAAAAAAAAAAAAAAA",
        "kith: done #1 AAAAAAAAAAAAAAAAAAAAA",
        "kith: done #1 AAAAAAAAAAAAAAAAAAAAAAA",
        "kith: Done #1 AAAAAAAAAAAAAAAAAAAAAA",
        "kith: snooze 8d #1 AAAAAAAAAAAAAAAAAAAAAA",
        "kith:  done #1 AAAAAAAAAAAAAAAAAAAAAA",
        "kith: done #１ AAAAAAAAAAAAAAAAAAAAAA",  # a full-width digit
        "kith: done #1 AAAAAAAAAAAAAAAAAAAAA=",
        "kith: done #1\nAAAAAAAAAAAAAAAAAAAAAA",
        "",
        None,
        " " * 10_000 + "kith: done #1 AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_anything_but_the_exact_grammar_is_no_command(text: str | None) -> None:
    assert parse_subject(text) is None


@given(st.text(max_size=MAX_SUBJECT * 2))
def test_hostile_subjects_never_raise(text: str) -> None:
    cmd = parse_subject(text)
    if cmd is not None:
        assert verify(KEY, cmd, NOW, FLAG) in ("forged", "expired", "ok")


def test_the_mailto_link_carries_the_command_as_its_subject() -> None:
    token = sign(KEY, 9, Action.SNOOZE_MONTH, LATER, FLAG)
    url = urlsplit(mailto("zoë+kith@example.org", 9, Action.SNOOZE_MONTH, token))
    assert url.scheme == "mailto" and "&" not in url.path
    query = parse_qs(url.query)
    assert parse_subject(query["subject"][0]) == Command(9, Action.SNOOZE_MONTH, token)
    assert "subject" in query["body"][0]


def test_the_key_is_made_once_private_and_shared(tmp_path: Path) -> None:
    state = tmp_path / "state"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(state_key(state, KEY_FILE))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert stat.S_IMODE(os.stat(state / KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert sorted(p.name for p in state.iterdir()) == [KEY_FILE]


def test_a_token_has_one_spelling_so_a_used_one_cannot_be_respelled() -> None:
    """22 base64url characters carry 132 bits for 128: the last character has 2 spare bits, so
    four spellings decode to the same bytes. The replay guard keys on the token's text, so a
    respelled token must be forged, not a fresh one."""
    token = sign(KEY, 7, Action.DONE, LATER, FLAG)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    for spare in (1, 2, 3):
        respelled = token[:-1] + alphabet[last ^ spare]
        assert verify(KEY, Command(7, Action.DONE, respelled), NOW, FLAG) == "forged"
    assert verify(KEY, Command(7, Action.DONE, token), NOW, FLAG) == "ok"


def test_a_flag_number_past_the_databases_integer_is_no_command() -> None:
    assert parse_subject(f"kith: done #{2**31 - 1} {'A' * 22}") is not None
    assert parse_subject(f"kith: done #{2**31} {'A' * 22}") is None
    assert parse_subject(f"kith: done #9999999999 {'A' * 22}") is None


def test_a_link_lifetime_the_token_cannot_carry_is_a_config_error() -> None:
    """The token's expiry is 4 bytes of Unix seconds (to 2106): ``expire_after = "100000d"``
    crashed every report with an OverflowError; a year is the most a link may live."""
    from pydantic import ValidationError

    from kith.config.models import ActionsConfig

    assert ActionsConfig(expire_after="366d").expire_after == timedelta(days=366)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="expire_after"):
        ActionsConfig(expire_after="100000d")  # type: ignore[arg-type]
