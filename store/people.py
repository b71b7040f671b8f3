"""Looking people up by what a user types: a name (case and accents ignored) or an address.

The matching is Python's, not the database's: SQLite and PostgreSQL fold case and accents
differently (and SQLite not at all beyond ASCII), and one person's contacts are at most tens of
thousands of short rows, read in one statement.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection, select

from kith.store.derived import Contact

CONTACT = Contact.__table__


def fold(text: str) -> str:
    """``Dörte  Ćosta`` -> ``dorte costa``: compatibility forms, no accents, case-folded, one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def named(conn: Connection, query: str, *, limit: int = 20) -> list[tuple[str, str]]:
    """(address, name) of the people whose name holds every word of ``query``, best match first:
    exact names, then names starting with it, then the rest; automated senders last."""
    words = fold(query).split()
    if not words:
        return []
    found = []
    rows = conn.execute(select(CONTACT.c.address, CONTACT.c.name, CONTACT.c.automated).where(CONTACT.c.name != ""))
    for address, name, automated in rows:
        folded = fold(name or "")
        tokens = folded.split()
        if all(any(t.startswith(w) for t in tokens) for w in words):
            rank = 0 if folded == " ".join(words) else 1 if folded.startswith(words[0]) else 2
            found.append((bool(automated), rank, folded, address, name))
    found.sort()
    return [(address, name) for *_, address, name in found[:limit]]


__all__ = ["fold", "named"]
