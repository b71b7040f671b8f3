"""Folding text for people search: one rule for what is stored and what is typed.

"Zoë", "zoe" and "ZOE" must find the same person, on SQLite and PostgreSQL alike, without an
extension (``unaccent``) or a collation that only one dialect has. So the analysis stores each
contact's name and addresses folded (``search_key``) and the search folds what was typed the
same way (``fold``) before a plain ``LIKE``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

#: Letters that carry no combining mark to strip but that people type without their stroke.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str) -> str:
    """Lower case without accents: NFKD, combining marks dropped, case folded, a few letters mapped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.translate(_LETTERS).split())


def search_key(name: str, addresses: Iterable[str]) -> str:
    """What a contact is found by: its name and every address, folded, one space apart."""
    return " ".join([fold(name), *sorted({fold(a) for a in addresses if a})])


def like_pattern(query: str) -> str | None:
    """The ``LIKE`` pattern for a typed query (``\\`` escapes), or None when nothing is left."""
    folded = fold(query)
    if not folded:
        return None
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


__all__ = ["fold", "like_pattern", "search_key"]
