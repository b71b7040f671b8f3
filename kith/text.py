"""Small text helpers every room may use (like kith.errors, it imports nothing of kith)."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 mailbox``, ``2 mailboxes``: the count with the word in the right number."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


__all__ = ["plural"]
