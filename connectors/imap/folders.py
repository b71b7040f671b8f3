"""Which IMAP folders to sync, and what role each plays.

Roles come, in this order, from the mailbox config (``roles``), the server's SPECIAL-USE
attributes (RFC 6154: ``\\Sent``, ``\\Archive``, ``\\All``, ``\\Junk``, ``\\Trash``,
``\\Drafts``), and the folder's name (``kith.connectors.roles``: "Sent Items", "INBOX.Sent"…),
because many servers still do not announce SPECIAL-USE. Junk, trash and drafts are not
interactions and are skipped unless ``include_roles`` names them.

Gmail (capability ``X-GM-EXT-1``) exposes each label as a folder, so the same message would be
fetched once per label; kith syncs ``[Gmail]/All Mail`` alone and reads labels with
``X-GM-LABELS`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kith.config.mailboxes import ImapMailbox
from kith.connectors.base import SKIPPED_BY_DEFAULT, Role, Stream
from kith.connectors.roles import role_for_name

SPECIAL_USE: dict[bytes, Role] = {
    b"\\sent": Role.SENT,
    b"\\archive": Role.ARCHIVE,
    b"\\all": Role.ALL,
    b"\\junk": Role.JUNK,
    b"\\trash": Role.TRASH,
    b"\\drafts": Role.DRAFTS,
}
#: Folders that cannot be selected, or are virtual views of other folders (RFC 6154 \Flagged).
SKIP_ATTRS = frozenset({b"\\noselect", b"\\nonexistent", b"\\flagged"})
GMAIL_ALL_NAMES = ("[Gmail]/All Mail", "[Google Mail]/All Mail")


@dataclass(frozen=True, slots=True)
class Folder:
    name: str
    attrs: frozenset[bytes]
    delimiter: str | None


def parse_list(entries: Iterable[tuple[Sequence[bytes], bytes | None, str]]) -> list[Folder]:
    """imapclient ``list_folders()`` output → folders (attributes lower-cased)."""
    out = []
    for attrs, delim, name in entries:
        out.append(
            Folder(
                name=str(name),
                attrs=frozenset(a.lower() for a in attrs),
                delimiter=delim.decode() if isinstance(delim, bytes) else delim,
            )
        )
    return out


def role_of(folder: Folder, overrides: dict[str, str] | None = None) -> Role:
    if overrides and folder.name in overrides:
        return Role(overrides[folder.name])
    if folder.name.upper() == "INBOX":
        return Role.INBOX
    for attr in folder.attrs:
        role = SPECIAL_USE.get(attr)
        if role is not None:
            return role
    return role_for_name(folder.name)


def select_streams(folders: list[Folder], mailbox: ImapMailbox, *, gmail: bool) -> list[Stream]:
    """The streams to sync, INBOX first, then by name."""
    if gmail:
        return _gmail_streams(folders, mailbox)
    include = {Role(r) for r in mailbox.include_roles}
    wanted = set(mailbox.folders)
    out = []
    for folder in folders:
        if folder.attrs & SKIP_ATTRS:
            continue
        if wanted and folder.name not in wanted:
            continue
        if folder.name in mailbox.exclude:
            continue
        role = role_of(folder, mailbox.roles)
        if role in SKIPPED_BY_DEFAULT and role not in include and folder.name not in wanted:
            continue
        out.append(Stream(name=folder.name, role=role, display_name=folder.name))
    out.sort(key=lambda s: (s.role is not Role.INBOX, s.name))
    return out


def _gmail_streams(folders: list[Folder], mailbox: ImapMailbox) -> list[Stream]:
    chosen = next((f for f in folders if b"\\all" in f.attrs), None)
    if chosen is None:
        chosen = next((f for f in folders if f.name in GMAIL_ALL_NAMES), None)
    if chosen is None or chosen.name in mailbox.exclude:
        return []
    return [Stream(name=chosen.name, role=Role.ALL, display_name="All Mail")]


__all__ = ["GMAIL_ALL_NAMES", "SKIP_ATTRS", "SPECIAL_USE", "Folder", "parse_list", "role_of", "select_streams"]
