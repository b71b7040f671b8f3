"""Folder roles from names, for providers without SPECIAL-USE (RFC 6154) or local folders.

Names are compared case-insensitively on their last path component, after the usual prefixes
(``INBOX.``, ``INBOX/``, ``[Gmail]/``, ``[Google Mail]/``) are removed.
"""

from __future__ import annotations

from collections.abc import Mapping

from kith.connectors.base import Role

WELL_KNOWN: dict[str, Role] = {
    "inbox": Role.INBOX,
    "sent": Role.SENT,
    "sent items": Role.SENT,
    "sent messages": Role.SENT,
    "sent mail": Role.SENT,
    "sent-mail": Role.SENT,
    "gesendet": Role.SENT,
    "envoyés": Role.SENT,
    "archive": Role.ARCHIVE,
    "archives": Role.ARCHIVE,
    "all mail": Role.ALL,
    "junk": Role.JUNK,
    "junk e-mail": Role.JUNK,
    "junk email": Role.JUNK,
    "spam": Role.JUNK,
    "bulk mail": Role.JUNK,
    "trash": Role.TRASH,
    "deleted items": Role.TRASH,
    "deleted messages": Role.TRASH,
    "bin": Role.TRASH,
    "papierkorb": Role.TRASH,
    "drafts": Role.DRAFTS,
    "draft": Role.DRAFTS,
    "entwürfe": Role.DRAFTS,
}

_PREFIXES = ("inbox.", "inbox/", "[gmail]/", "[google mail]/")


def role_for_name(name: str, overrides: Mapping[str, str] | None = None) -> Role:
    """The role a folder called ``name`` plays; ``overrides`` (from config) win."""
    if overrides and name in overrides:
        return Role(overrides[name])
    low = name.strip().lower()
    if low == "inbox":
        return Role.INBOX
    for prefix in _PREFIXES:
        if low.startswith(prefix):
            low = low[len(prefix) :]
            break
    return WELL_KNOWN.get(low, WELL_KNOWN.get(low.rsplit("/", 1)[-1].rsplit(".", 1)[-1], Role.OTHER))


__all__ = ["WELL_KNOWN", "role_for_name"]
