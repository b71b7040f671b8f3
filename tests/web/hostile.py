"""Mail whose headers attack the pages: markup, attribute breakouts, bidi overrides, huge names.

Written straight into a sample Maildir before the sync, so the names and subjects reach the web
app exactly as a hostile sender would put them: through the connector, the store and the
analysis. Each is a personal message to me, days old, unanswered: it lands on Today.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

#: (display name, address, subject)
HOSTILE = (
    ('<script>alert("name")</script>', "script@hostile.example", "<script>document.title='pwned'</script>"),
    ('"onmouseover=alert(1) x="', "quote@hostile.example", '"><img src=x onerror=alert(2)>'),
    ("\u202egnp.exe Mallory", "rtl@hostile.example", "Invoice \u202efdp.exe"),
    ("Z" * 10_000, "huge@hostile.example", "S" * 10_000),
)


def write_hostile(maildir: Path, me: str, now: datetime) -> list[str]:
    """Write the messages into ``maildir/cur``; returns their Message-IDs."""
    ids = []
    for i, (name, address, subject) in enumerate(HOSTILE):
        mid = f"<hostile-{i}@hostile.example>"
        lines = [
            f"From: {Header(name, 'utf-8').encode()} <{address}>",
            f"To: {me}",
            f"Subject: {Header(subject, 'utf-8').encode()}",
            f"Date: {format_datetime(now - timedelta(days=5 + i))}",
            f"Message-ID: {mid}",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "hostile",
            "",
        ]
        raw = "\r\n".join(lines).replace("\n ", "\r\n ").replace("\r\r\n", "\r\n")
        (maildir / "cur" / f"hostile-{i}.eml:2,S").write_bytes(raw.encode())
        ids.append(mid)
    return ids


__all__ = ["HOSTILE", "write_hostile"]
