"""The derived tables through a rebuild: emptied, bulk-loaded, given their indexes, analysed.

On SQLite the bulk-loaded tables' secondary indexes are dropped for the load (before the
emptying, which then has fewer B-trees to clear: measured 4.2 s against 0.95 s for a million
interactions) and built again once their table is loaded: one sort per index instead of a random
B-tree insert per row. On PostgreSQL the rebuild loads bare copies instead (``kith.store.swap``)
and these calls act on them. The rebuild itself is ``kith.analysis.rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Index, Table, delete, func, select, text

from kith.store.swap import Staging
from kith.store.tables import CONTACT, CONTACT_ADDRESS, FACT, FLAG, INTERACTION, MESSAGE, NODE, STAT
from kith.store.upsert import upsert_tuples

#: Tables whose PostgreSQL statistics a rebuild refreshes (the store's and its own bulk loads).
ANALYZED = (
    "messages",
    "message_participants",
    "message_locations",
    "mail_facts",
    "thread_nodes",
    "interactions",
    "contacts",
    "contact_addresses",
    "contact_stats",
)
#: Tables whose secondary indexes are rebuilt after the load rather than kept during it: the
#: facts and nodes (loaded first), then the interactions.
FACT_TABLES = (FACT, NODE)
INTERACTION_TABLES = (INTERACTION,)
BULK_TABLES = (*FACT_TABLES, *INTERACTION_TABLES)
NODE_COLUMNS = ("node", "thread_key")


def _indexes(conn: Connection, tables: tuple[Table, ...]) -> list[Index]:
    """The secondary indexes a bulk load of ``tables`` drops and builds again (SQLite only)."""
    if conn.dialect.name != "sqlite":
        return []
    return [ix for t in tables for ix in sorted(t.indexes, key=lambda i: str(i.name))]


def clear_derived(conn: Connection, staging: Staging | None) -> None:
    """Empty the derived tables, the bulk-loaded ones after their indexes are dropped (or the
    staged copies, which are all that the rebuild's statements reach).

    A DELETE comes first: the SQLite driver begins a transaction only at a change of data, so a
    DROP INDEX before any would commit on its own, and a rebuild that failed would leave the
    indexes gone for every later incremental run.
    """
    if staging is not None:
        staging.empty(conn)
        return
    conn.execute(delete(STAT))
    for ix in _indexes(conn, BULK_TABLES):
        ix.drop(conn, checkfirst=True)
    for table in (INTERACTION, CONTACT_ADDRESS, CONTACT, FACT, NODE):
        conn.execute(delete(table))


def loaded(conn: Connection, staging: Staging | None, tables: tuple[Table, ...]) -> None:
    """Give tables just loaded their indexes (and, staged, their keys and foreign keys)."""
    if staging is not None:
        staging.loaded(conn, [t.name for t in tables])
    for ix in _indexes(conn, tables):
        ix.create(conn)


def write_nodes(conn: Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Bulk-insert (node, thread key) rows into the emptied thread nodes."""
    upsert_tuples(conn, NODE, NODE_COLUMNS, rows, keys=())


def analyze_tables(conn: Connection) -> None:
    """PostgreSQL: planner statistics for what was just bulk-loaded.

    Until autovacuum gets to them (a minute or more), PostgreSQL plans the next incremental run
    as if these tables were empty and scans them whole (measured at 1M messages: an incremental
    run took 22 s before the ANALYZE, 9.9 s after). Staged copies are analysed before the swap:
    their statistics go with them, and the swap's locks are not held meanwhile.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))


def flagged_contacts(conn: Connection) -> set[str]:
    """The addresses of every contact with a stored flag (of any state)."""
    return {a for (a,) in conn.execute(select(FLAG.c.contact_address).distinct())}


def has_written(conn: Connection) -> bool:
    """PostgreSQL: this transaction has written something (it has a transaction id)."""
    return conn.execute(text("SELECT txid_current_if_assigned() IS NULL")).scalar() is not True


def message_id_range(conn: Connection) -> tuple[int | None, int | None]:
    """The lowest and highest message row id (None, None in an empty store)."""
    lo, hi = conn.execute(select(func.min(MESSAGE.c.id), func.max(MESSAGE.c.id))).one()
    return lo, hi


def read_only(conn: Connection) -> Connection:
    """A rebuild helper's connection, before its first statement: on SQLite one that refuses to
    write; on PostgreSQL one that reads a single snapshot (REPEATABLE READ)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only=ON")
        return conn
    return conn.execution_options(isolation_level="REPEATABLE READ")


__all__ = [
    "ANALYZED",
    "BULK_TABLES",
    "FACT_TABLES",
    "INTERACTION_TABLES",
    "analyze_tables",
    "clear_derived",
    "flagged_contacts",
    "has_written",
    "loaded",
    "message_id_range",
    "read_only",
    "write_nodes",
]
