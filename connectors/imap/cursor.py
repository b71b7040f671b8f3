"""The per-folder sync position an IMAP pull leaves behind (opaque JSON to the store).

Fields, and why each is there:

- ``uidvalidity``: UIDs mean nothing under another UIDVALIDITY (RFC 3501 §2.3.1.1); a change
  raises ``CursorExpired`` and the folder is pulled again from scratch.
- ``last_uid``: every message with a UID up to here is in the store. New mail is ``> last_uid``.
- ``uidnext``, ``exists``, ``modseq``: the folder's UIDNEXT, message count and HIGHESTMODSEQ
  (RFC 7162) when ``last_uid`` was reached. If STATUS reports the same three, nothing changed
  and the pull ends after one command, whatever the folder's size. ``exists`` also detects
  expunges on servers without QRESYNC (fewer messages than expected → compare UID SEARCH).
- ``full``: present while an initial sync is under way (its target UIDNEXT), so a crash resumes
  it at ``last_uid`` instead of starting over.
- ``flags_hash``: without CONDSTORE, a digest of the flags of the newest messages, so a pass that
  finds them unchanged writes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from kith.errors import CursorExpired

VERSION = 1


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int = 0
    uidnext: int | None = None
    exists: int | None = None
    modseq: int | None = None
    full: int | None = None
    flags_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["v"] = VERSION
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Cursor | None:
        if data is None:
            return None
        try:
            if data.get("v") != VERSION:
                raise ValueError("version")
            return cls(
                uidvalidity=int(data["uidvalidity"]),
                last_uid=int(data.get("last_uid", 0)),
                uidnext=_int(data.get("uidnext")),
                exists=_int(data.get("exists")),
                modseq=_int(data.get("modseq")),
                full=_int(data.get("full")),
                flags_hash=data.get("flags_hash"),
            )
        except (KeyError, TypeError, ValueError):
            raise CursorExpired("the stored IMAP cursor is from another version of kith") from None

    def but(self, **changes: Any) -> Cursor:
        return replace(self, **changes)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


__all__ = ["VERSION", "Cursor"]
