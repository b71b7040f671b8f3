"""The web key, the signed session cookie, CSRF tokens and one-time login links."""

from __future__ import annotations

import stat
from pathlib import Path

from kith.web.keys import Signer, consume_login, issue_login, load_key


def test_key_is_private_and_stable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    key = load_key(state)
    assert load_key(state) == key and len(key) >= 32
    assert stat.S_IMODE((state / "web.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_session_cookie_is_signed_and_expires() -> None:
    signer = Signer(b"k" * 32, lifetime=100)
    session, cookie = signer.new_session(now=1000)
    assert signer.session(cookie, now=1050) == session
    assert signer.session(cookie, now=1101) is None  # expired
    assert signer.session(cookie, now=900) is None  # from the future
    sid, issued, mac = cookie.split(".")
    assert signer.session(f"{sid}.{int(issued) + 1}.{mac}", now=1050) is None  # tampered
    assert Signer(b"x" * 32, lifetime=100).session(cookie, now=1050) is None  # another key
    for junk in ("", "a.b", "a.b.c", "a." + "9" * 300 + ".c", None):
        assert signer.session(junk, now=1050) is None


def test_csrf_token_belongs_to_its_session() -> None:
    signer = Signer(b"k" * 32, lifetime=100)
    a, _ = signer.new_session()
    b, _ = signer.new_session()
    assert signer.csrf_ok(a, signer.csrf(a))
    assert not signer.csrf_ok(a, signer.csrf(b))
    assert not signer.csrf_ok(a, None) and not signer.csrf_ok(a, "")


def test_login_link_works_once_and_only_in_time(tmp_path: Path) -> None:
    token = issue_login(tmp_path)
    assert token not in (tmp_path / "web-logins.json").read_text()  # only its hash is kept
    assert consume_login(tmp_path, token)
    assert not consume_login(tmp_path, token)
    late = issue_login(tmp_path, ttl=-1)
    assert not consume_login(tmp_path, late)
    assert not consume_login(tmp_path, "made-up") and not consume_login(tmp_path, None)
    assert stat.S_IMODE((tmp_path / "web-logins.json").stat().st_mode) == 0o600
