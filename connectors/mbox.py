"""mbox files: one file, or a folder of them (one stream per file).

The stdlib ``mailbox.mbox`` reads every message whole; kith wants headers only, so the file is
scanned once for ``From `` separator lines and only each header block is parsed. An mbox only
grows at its end in normal use: the cursor keeps the size and a digest of the bytes just before
the end, and a pull that finds them unchanged parses only what was appended. Anything else
(compaction, edits) falls back to a full scan diffed against the keys the store holds.

Provider keys are digests of each header block (with a counter for identical ones), so they
survive a rewrite of the file that moves messages around.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from kith.config.mailboxes import MailboxBase, MboxMailbox
from kith.connectors.base import (
    JSON,
    SKIPPED_BY_DEFAULT,
    BaseSource,
    Batch,
    Connector,
    Known,
    MessageRecord,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.headers import parse_date, parse_header_bytes
from kith.connectors.maildir import MAX_HEADER_BYTES
from kith.connectors.roles import role_for_name
from kith.errors import ConfigError, CursorExpired, TransientError

_TAIL = 4096


def _files(root: Path) -> dict[str, Path]:
    if root.is_file():
        return {"INBOX" if role_for_name(root.stem) is Role.OTHER else root.stem: root}
    if root.is_dir():
        return {
            p.relative_to(root).as_posix(): p
            for p in sorted(root.rglob("*"))
            # regular files only: a FIFO would block the read, a link lead outside the folder
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
        }
    return {}


def scan(path: Path, start: int = 0) -> Iterator[tuple[int, bytes, datetime | None]]:
    """(offset, header block, arrival time) for every message that begins at or after ``start``.

    The arrival time is the date of the ``From `` separator line (the envelope line the local
    delivery agent writes, RFC 4155), the fallback when a message's own Date is not trusted.
    """
    with open(path, "rb") as fh:
        fh.seek(start)
        offset = start
        header: list[bytes] | None = None
        arrived: datetime | None = None
        msg_start = start
        size = 0
        prev_blank = True
        in_header = False
        for line in fh:
            if line.startswith(b"From ") and prev_blank:
                if header is not None:
                    yield msg_start, b"".join(header), arrived
                msg_start, header, size, in_header = offset, [], 0, True
                arrived = envelope_date(line)
            elif in_header and header is not None:
                if line in (b"\n", b"\r\n"):
                    in_header = False
                elif size < MAX_HEADER_BYTES:
                    header.append(line)
                    size += len(line)
            prev_blank = line in (b"\n", b"\r\n")
            offset += len(line)
        if header is not None:
            yield msg_start, b"".join(header), arrived


def envelope_date(line: bytes) -> datetime | None:
    """The asctime date that ends a ``From sender Sat Jan  3 01:05:34 1996`` line (as UTC: the
    line has no zone, and a few hours do not matter to an arrival-time fallback)."""
    words = line.decode("latin-1").split()
    if len(words) < 7:
        return None
    problems: list[str] = []
    return parse_date(" ".join(words[2:7]), problems)


def _tail_digest(path: Path, size: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(max(0, size - _TAIL))
        return hashlib.sha1(fh.read(min(size, _TAIL))).hexdigest()


class MboxSource(BaseSource):
    def __init__(self, config: MboxMailbox) -> None:
        self.config = config
        self._files: dict[str, Path] = {}

    def streams(self) -> list[Stream]:
        if not self.config.path.exists():
            raise ConfigError(f"{self.config.name}: mbox path {self.config.path} does not exist")
        self._files = _files(self.config.path)
        include = {Role(r) for r in self.config.include_roles}
        out = []
        for name in sorted(self._files):
            role = role_for_name(Path(name).stem if name != "INBOX" else name, self.config.roles)
            if name in self.config.exclude or (role in SKIPPED_BY_DEFAULT and role not in include):
                continue
            out.append(Stream(name=name, role=role, display_name=name))
        return out

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        if not self._files:
            self._files = _files(self.config.path)
        path = self._files.get(stream.name)
        if path is None:
            raise CursorExpired(f"mbox {stream.name!r} no longer exists")
        try:
            st = path.stat()
        except OSError as exc:
            raise TransientError(f"cannot read {path}: {exc.strerror}") from exc
        identity = f"{st.st_dev}:{st.st_ino}"
        state = {
            "identity": identity,
            "size": st.st_size,
            "mtime": st.st_mtime_ns,
            "tail": _tail_digest(path, st.st_size),
            "seen": {},
        }
        if cursor is not None:
            if cursor.get("identity") != identity:
                raise CursorExpired(f"mbox {stream.name!r} was replaced")
            if cursor.get("size") == st.st_size and cursor.get("mtime") == st.st_mtime_ns:
                return
            old = int(cursor.get("size", 0))
            if 0 < old <= st.st_size and _tail_digest(path, old) == cursor.get("tail"):
                state["seen"] = dict(cursor.get("seen", {}))
                yield from self._read(path, old, state, {}, deletions=False)
                return
        yield from self._read(path, 0, state, known(), deletions=True)

    def _read(self, path: Path, start: int, state: JSON, known: dict, *, deletions: bool) -> Iterator[Batch]:
        seen: dict[str, int] = state["seen"]
        listed: set[str] = set()
        upserts: list[MessageRecord] = []
        problems: list[Problem] = []
        for offset, head, arrived in scan(path, start):
            digest = hashlib.sha1(head).hexdigest()[:24]
            n = seen.get(digest, 0) if start else sum(1 for k in listed if k.startswith(digest))
            seen[digest] = n + 1
            key = f"{digest}.{n}"
            listed.add(key)
            if key in known:
                continue
            if not head.strip():
                problems.append(Problem(key, f"message at byte {offset} has no header"))
                continue
            upserts.append(parse_header_bytes(head, key, received=arrived))
            if len(upserts) >= self.config.batch_size:
                yield Batch(upserts=tuple(upserts), problems=tuple(problems))
                upserts, problems = [], []
        gone = tuple(k for k in known if k not in listed) if deletions else ()
        # 'seen' counts identical header blocks so appended duplicates get fresh keys
        state["seen"] = seen if len(seen) < 200_000 else {}
        yield Batch(upserts=tuple(upserts), problems=tuple(problems), deletions=gone, cursor=state)


def make_source(mailbox: MailboxBase, *, state_dir: Path) -> MboxSource:
    if not isinstance(mailbox, MboxMailbox):
        raise ConfigError(f'{mailbox.name}: not a mailbox of kind "mbox"')
    return MboxSource(mailbox)


#: What the mbox connector can do: read local files (no authorization, no sending).
CONNECTOR = Connector(make_source=make_source)


__all__ = ["CONNECTOR", "MboxSource", "make_source", "scan"]
