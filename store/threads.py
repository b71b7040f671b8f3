"""The incremental analysis' reads and writes of mail facts and thread nodes.

Threads are a union-find flattened into ``thread_nodes`` (every Message-ID, seen or only
referenced, and provider thread id → its thread). A new message can join two stored threads:
the analysis decides the new roots (``kith.analysis.incremental``), these statements move the
stored nodes and facts to them and say whose contacts that touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from kith.store.tables import FACT, MESSAGE, NODE
from kith.store.upsert import chunks, upsert


def message_keys(conn: Connection, ids: Iterable[int]) -> list[str]:
    """The message keys of these message rows, sorted, once each."""
    keys: list[str] = []
    for chunk in chunks(sorted(ids)):
        keys += [k for (k,) in conn.execute(select(MESSAGE.c.message_key).where(MESSAGE.c.id.in_(chunk)))]
    return sorted(set(keys))


def inbound_senders(conn: Connection, threads: Sequence[str]) -> set[str]:
    """The senders of the mail to me in these threads."""
    out: set[str] = set()
    for chunk in chunks(threads):
        q = select(FACT.c.sender).where(FACT.c.thread_key.in_(chunk), ~FACT.c.outbound).distinct()
        out.update(s for (s,) in conn.execute(q))
    return out


def thread_keys(conn: Connection, nodes: Sequence[str]) -> dict[str, str]:
    """The stored thread of each of these nodes that has one."""
    existing: dict[str, str] = {}
    for chunk in chunks(nodes):
        existing.update(
            {a: b for a, b in conn.execute(select(NODE.c.node, NODE.c.thread_key).where(NODE.c.node.in_(chunk)))}
        )
    return existing


def merge_thread(conn: Connection, old_key: str, root: str) -> set[str]:
    """Move a stored thread's nodes and facts under ``root``; returns the senders in it now."""
    conn.execute(update(NODE).where(NODE.c.thread_key == old_key).values(thread_key=root))
    conn.execute(update(FACT).where(FACT.c.thread_key == old_key).values(thread_key=root))
    return {s for (s,) in conn.execute(select(FACT.c.sender).where(FACT.c.thread_key == root).distinct())}


def write_thread_nodes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store ``{"node", "thread_key"}`` rows (only what changed: rewriting a node as it is still
    dirties its pages, which SQLite writes to the WAL at the commit and again at the checkpoint)."""
    for chunk in chunks(rows, 5000):
        upsert(conn, NODE, list(chunk), keys=["node"], update=["thread_key"])


def set_broadcast(conn: Connection, verdicts: Iterable[tuple[str, bool]]) -> None:
    """Store the mail-merge verdict of these (message key, broadcast) facts."""
    for key, broadcast in verdicts:
        conn.execute(update(FACT).where(FACT.c.message_key == key).values(broadcast=broadcast))


__all__ = ["inbound_senders", "merge_thread", "message_keys", "set_broadcast", "thread_keys", "write_thread_nodes"]
