"""Secrets out of anything kith prints or logs: URLs masked in full, token-like values redacted.

Two lines of defence against a secret reaching a log, the terminal or a status line:

1. the loggers of the libraries that log request bodies and headers (oauthlib, requests_oauthlib,
   msal, google.auth…) are held at WARNING whatever ``-v`` says (``NOISY_LOGGERS``), and
2. every line kith writes passes ``redact``: bearer tokens, ``Authorization:`` headers, the
   values of ``access_token``, ``refresh_token``, ``id_token``, ``code``, ``client_secret``,
   ``password``… (as ``key=value``, ``"key": "value"`` or ``'key': 'value'``, as logged by
   requests_oauthlib and printed by Python) and every URL's userinfo and credential-like query
   parameters become ``***``.

``mask_url`` is the one way a database or server URL is shown (``config check``, ``status``, the
daemon's start line): the password in ``user:pass@`` and in ``?password=`` alike.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

#: Loggers of third-party libraries held at WARNING at any verbosity: at DEBUG they log request
#: bodies and headers (requests_oauthlib logs the authorization code, the client secret and the
#: tokens it obtains; urllib3 and httpcore log URLs; imaplib logs the LOGIN command).
NOISY_LOGGERS: tuple[str, ...] = (
    "alembic",
    "caldav",
    "google.auth",
    "google_auth_httplib2",
    "google_auth_oauthlib",
    "googleapiclient",
    "httpcore",
    "httpx",
    "imapclient",
    "imaplib",
    "msal",
    "oauthlib",
    "requests",
    "requests_oauthlib",
    "urllib3",
)

#: Names whose values are credentials, wherever they appear as a key.
SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "sig",
    "signature",
)
_KEYS = "|".join(SECRET_KEYS)
_REDACTED = "***"

_PATTERNS = (
    # Authorization: Bearer abc / Basic abc (header lines and dict reprs)
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer|basic|token)?\s*[^\s'\",}]+"), r"\1" + _REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+(?!auth\b)[A-Za-z0-9\-._~+/]{8,}=*"), r"\1 " + _REDACTED),
    # "key": "value", 'key': 'value' (JSON, Python reprs)
    (re.compile(rf"(?i)(['\"](?:{_KEYS})['\"]\s*:\s*)(['\"])(?:(?!\2).)*\2"), r"\1\2" + _REDACTED + r"\2"),
    # key=value in bodies, query strings and log lines
    (re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_KEYS})=)[^&\s'\",;]+"), r"\1" + _REDACTED),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@'\"]*:)[^@\s'\"/]+@"), r"\1" + _REDACTED + "@"),
)


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _secret_key(name: str) -> bool:
    low = name.lower()
    return low in SECRET_KEYS or any(k in low for k in ("password", "secret", "token"))


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@:?#]*:)[^@/?#]*@")


def mask_url(url: str) -> str:
    """A URL fit to show: the password of its userinfo and every credential-like query parameter
    (``?password=``, ``?sslpassword=``, ``?token=``…) become ``***``; the rest is left exactly
    as written (``sqlite:////abs/path`` keeps its slashes)."""
    head, sep, query = url.partition("?")
    head = _USERINFO.sub(r"\1" + _REDACTED + "@", head)
    if sep:
        pairs = []
        for pair in query.split("&"):
            key, eq, _value = pair.partition("=")
            pairs.append(f"{key}={_REDACTED}" if eq and _secret_key(unquote_plus(key)) else pair)
        query = "&".join(pairs)
    return head + sep + query


__all__ = ["NOISY_LOGGERS", "SECRET_KEYS", "mask_url", "redact"]
