"""Write a generated ``World`` as Maildir folders (one file per message) and .ics calendars.

Files are written directly (``mailbox.Maildir.add`` costs a rename and a stat per message), with
deterministic names so the same seed gives byte-identical trees.
"""

from __future__ import annotations

import base64
import random
from datetime import timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

import icalendar

from kith.sample.model import Meeting, Msg, Person

FOLDERS = ("", "Sent", "Archive", "Junk", "Trash", "Drafts")


def make_maildirs(root: Path) -> None:
    for folder in FOLDERS:
        base = root if not folder else root / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)


def _addr(p: Person) -> str:
    return formataddr((p.name, p.address), charset="utf-8") if p.name else p.address


def _addrs(people: tuple[Person, ...]) -> str:
    return ", ".join(_addr(p) for p in people)


def _subject(text: str) -> str:
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return Header(text, "utf-8").encode()


class Bodies:
    """Message bodies: a few lines, or realistic sizes (median ~20 KB, 1 % with 0.5–2 MB attachments)."""

    def __init__(self, kind: str, rng: random.Random) -> None:
        self.kind = kind
        self.rng = rng
        blob = rng.randbytes(1_600_000)
        self.b64 = base64.encodebytes(blob)  # reused slices: fast to write, incompressible enough

    def body(self) -> bytes:
        text = b"Hi,\n\nthanks for your note. Let us talk about it this week.\n\nBest\n"
        if self.kind != "realistic":
            return text
        size = int(self.rng.lognormvariate(9.9, 0.6))  # median ~20 KB
        if self.rng.random() < 0.01:
            size = self.rng.randint(500_000, 2_000_000)
        start = self.rng.randrange(0, max(1, len(self.b64) - size))
        return text + b"\n--attachment (base64)--\n" + self.b64[start : start + size]


def render(msg: Msg, body: bytes) -> bytes:
    lines: list[str] = []
    ret = dict(msg.headers).get("Return-Path")
    lines.append(f"Return-Path: {ret if ret is not None else '<' + msg.sender.address + '>'}")
    lines.append(f"Message-ID: {msg.message_id}")
    if msg.broken != "nodate":
        tz = timezone(timedelta(minutes=msg.tz_minutes))
        lines.append(f"Date: {format_datetime(msg.date.astimezone(tz))}")
    lines.append(f"From: {_addr(msg.sender)}")
    lines.append(f"To: {_addrs(msg.to)}")
    if msg.cc:
        lines.append(f"Cc: {_addrs(msg.cc)}")
    if msg.bcc and msg.folder == "Sent":
        lines.append(f"Bcc: {_addrs(msg.bcc)}")
    subject = "=?x-unknown-charset?Q?Broken_headers?=" if msg.broken == "charset" else _subject(msg.subject)
    lines.append(f"Subject: {subject}")
    if msg.in_reply_to:
        lines.append(f"In-Reply-To: {msg.in_reply_to}")
    if msg.references:
        lines.append("References: " + "\n ".join(msg.references))
    lines += [f"{k}: {v}" for k, v in msg.headers if k != "Return-Path"]
    lines.append("MIME-Version: 1.0")
    lines.append("Content-Type: text/plain; charset=utf-8")
    return ("\n".join(lines) + "\n\n").encode("utf-8") + body


def write_message(root: Path, msg: Msg, n: int, seed: int, body: bytes) -> None:
    flags = "S"
    if msg.answered:
        flags = "RS"
    base = root if not msg.folder else root / f".{msg.folder}"
    name = f"{int(msg.date.timestamp())}.M{n}P{seed}.kithsample:2,{flags}"
    (base / "cur" / name).write_bytes(render(msg, body))


def write_calendar(path: Path, meetings: list[Meeting]) -> int:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//kith//sample//EN")
    cal.add("version", "2.0")
    for m in meetings:
        ev = icalendar.Event()
        ev.add("uid", m.uid)
        ev.add("dtstamp", m.start)
        ev.add("dtstart", m.start)
        ev.add("dtend", m.start + timedelta(minutes=m.minutes))
        ev.add("summary", m.summary)
        if m.weekly_count:
            ev.add("rrule", {"freq": "weekly", "count": m.weekly_count})
        if m.cancelled:
            ev.add("status", "CANCELLED")
        org = icalendar.vCalAddress(f"mailto:{m.organizer.address}")
        org.params["cn"] = icalendar.vText(m.organizer.name)
        ev.add("organizer", org)
        for i, a in enumerate(m.attendees):
            att = icalendar.vCalAddress(f"mailto:{a.address}")
            att.params["cn"] = icalendar.vText(a.name)
            att.params["partstat"] = icalendar.vText(m.my_partstat if i == 0 else "ACCEPTED")
            att.params["role"] = icalendar.vText("REQ-PARTICIPANT")
            ev.add("attendee", att, encode=0)
        cal.add_component(ev)
    path.write_bytes(cal.to_ical())
    return len(meetings)
