"""Text helpers every room may use (like kith.errors, this imports nothing of kith).

Text from strangers made safe to store, print and put in a header. Mail headers, display names and calendar fields are written by anyone. ``clean_text`` removes
what must never travel further: NUL (PostgreSQL refuses it), lone surrogates (no database can
store one), and C0/C1 control characters (CR/LF break a header kith writes; ESC and the other
controls drive a terminal: colours, cursor moves, OSC 52 clipboard writes). TAB, CR and LF
become a space. The connector boundary applies it to every record
(``kith.connectors.sanitize``); the CLI and the report apply it again to what they print or
send, so that data stored by an older kith cannot reach a terminal or a header either.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, and the surrogate range (only lone surrogates can occur in a ``str``).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_AS_SPACE = frozenset("\t\n\r")


def _replace(m: re.Match[str]) -> str:
    return " " if m.group(0) in _AS_SPACE else ""


def clean_text(text: str) -> str:
    """``text`` without NUL, lone surrogates or C0/C1 controls (TAB, CR, LF become a space).

    ``str.isprintable`` is the fast path: it is False for every character removed here (and
    for a few harmless ones, such as a no-break space, which the slow path then keeps).
    """
    if text.isprintable():
        return text
    return UNSAFE.sub(_replace, text)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 mailbox``, ``2 mailboxes``: the count with the word in the right number."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def is_clean(text: str) -> bool:
    return text.isprintable() or UNSAFE.search(text) is None


#: What a terminal must not receive from data: as ``UNSAFE``, but line breaks and tabs of a
#: multi-line text (the report's text version) are layout, not data.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def terminal_text(text: str) -> str:
    """``text`` fit for a terminal: every control character but LF and TAB removed (a CR would
    let a line overwrite itself), lone surrogates too."""
    if text.isprintable():
        return text
    return _TERMINAL_UNSAFE.sub("", text)


__all__ = ["UNSAFE", "clean_text", "is_clean", "plural", "terminal_text"]
