"""Threads: provider thread ids where they exist, else the References/In-Reply-To graph.

Both go into one union-find over *nodes*: every Message-ID (also one only referenced, never
seen: a missing middle message still joins its neighbours) and every provider thread id. A
broken or hostile References header can only merge threads, never lose a message. The map
node → thread key is stored flattened (``thread_nodes``), so adding messages later merges
components with a few lookups instead of a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

MAX_REFERENCES = 50  # a References header longer than this is truncated to its last entries


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller name wins: thread keys do not depend on the order messages arrive in
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> Iterator[tuple[str, str]]:
        for node in list(self.parent):
            yield node, self.find(node)


def message_nodes(
    message_key: str, in_reply_to: str | None, references: Iterable[str] | None, thread_id: str | None, mailbox_id: int
) -> list[str]:
    """The nodes one message joins: itself first."""
    nodes = [message_key]
    refs = [r.strip() for r in (references or ()) if r and r.strip()][-MAX_REFERENCES:]
    nodes += refs
    if in_reply_to and in_reply_to.strip():
        nodes.append(in_reply_to.strip())
    if thread_id:
        nodes.append(f"thread:{mailbox_id}:{thread_id}")
    return list(dict.fromkeys(n[:1000] for n in nodes))


__all__ = ["MAX_REFERENCES", "UnionFind", "message_nodes"]
