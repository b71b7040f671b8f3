"""Store ingest: messages/second from parsed records into SQLite and PostgreSQL, and as a ratio.

Records are built in memory first (not timed) so the figure is the store alone: upserts of
messages, participants and locations, batch by batch, each batch one transaction.

Absolute msg/s moves with the machine (14.9k one day, 23k another on the same code), so each
run also measures its **floor** (issue 28): the very rows the ingest wrote (messages,
participants, locations and the analysis queue, read back from its database, not timed) inserted
into a fresh database with the same schema and indexes, batch by batch, each batch one
transaction, by the bare driver: ``sqlite3`` ``executemany`` of a plain INSERT, PostgreSQL
``COPY``. What the ingest does beyond that (keys, lookups, conflict handling, the cursor) is the
ratio ``ingest_s / floor_s``; target <= 1.3 on both dialects.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import write_result
from kith.connectors.base import Address, Batch, MessageRecord, Role, Stream
from kith.store.engine import open_store, sqlite_url
from kith.store.ingest import apply_batch
from kith.store.state import ensure_mailbox, ensure_streams

PG_URL = os.environ.get("KITH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def records(n: int) -> list[MessageRecord]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        out.append(
            MessageRecord(
                provider_key=str(i),
                message_id=f"<{i}.{uuid.uuid4().hex[:8]}@bench.example>",
                date=t0 + timedelta(minutes=i),
                subject=f"Re: project update {i % 977}",
                from_=Address(f"person{i % 2000}@example.com", f"Person {i % 2000}"),
                to=(Address("me@example.com", "Me"),),
                cc=(Address(f"cc{i % 97}@example.org"),) if i % 3 == 0 else (),
                in_reply_to=f"<{i - 1}@bench.example>" if i % 2 else None,
                references=(f"<{i - 1}@bench.example>",) if i % 2 else (),
                flags=frozenset({"\\Seen"}),
                size=4000,
            )
        )
    return out


#: The tables the ingest writes, each with the column that ties a row to its batch's messages.
FLOOR_TABLES = (
    ("messages", "id"),
    ("message_participants", "message_id"),
    ("message_locations", "message_id"),
    ("analysis_queue", "message_id"),
)


Tables = list[tuple[str, list[str], list[list[tuple[Any, ...]]]]]


def written_rows(raw: Any, batch: int) -> Tables:
    """Every row the ingest wrote, per table, split into the ingest's batches (by message id:
    batch k's messages have ids k*batch+1 ... (k+1)*batch, in the order they were inserted)."""
    cur = raw.cursor()
    out = []
    for table in ("mailboxes", "streams"):  # what the rows refer to: inserted before the clock starts
        cur.execute(f"SELECT * FROM {table}")
        out.append((table, [d[0] for d in cur.description], [[tuple(r) for r in cur.fetchall()]]))
    for table, by in FLOOR_TABLES:
        cur.execute(f"SELECT * FROM {table} ORDER BY {by}")
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        at = cols.index(by)
        groups: dict[int, list[tuple[Any, ...]]] = {}
        for r in rows:
            groups.setdefault((int(r[at]) - 1) // batch, []).append(tuple(r))
        out.append((table, cols, [groups[k] for k in sorted(groups)]))
    cur.close()
    return out


def quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def floor_sqlite(path: Path, tables: Tables) -> float:
    """Seconds to insert ``tables`` batch by batch with plain ``executemany``, one transaction a
    batch, on a connection of the store's own engine (the same pragmas: WAL, foreign keys...)."""
    store = open_store(sqlite_url(path))  # the same schema and indexes
    raw = store.engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()
        for table, cols, (rows,) in tables[:2]:
            cur.executemany(f"INSERT INTO {table} ({quoted(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        driver.commit()
        tables = tables[2:]
        sqls = [f"INSERT INTO {t} ({quoted(c)}) VALUES ({', '.join('?' * len(c))})" for t, c, _ in tables]
        batches = max(len(g) for _, _, g in tables)
        start = time.perf_counter()
        for k in range(batches):
            for sql, (_, _, groups) in zip(sqls, tables, strict=True):
                if k < len(groups):
                    cur.executemany(sql, groups[k])
            driver.commit()
        return time.perf_counter() - start
    finally:
        raw.close()
        store.dispose()


def floor_postgresql(url: str, tables: Tables) -> float:
    """Seconds to COPY ``tables`` batch by batch into the same schema (emptied first), one
    transaction a batch."""
    store = open_store(url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(t for t, _, _ in tables[2:])}")
        raw = store.engine.raw_connection()
        try:
            driver = raw.driver_connection
            tables = tables[2:]  # mailboxes and streams: the ones the ingest used are still there
            batches = max(len(g) for _, _, g in tables)
            start = time.perf_counter()
            for k in range(batches):
                with driver.cursor() as cur:
                    for table, cols, groups in tables:
                        if k < len(groups):
                            with cur.copy(f"COPY {table} ({quoted(cols)}) FROM STDIN") as copy:
                                for r in groups[k]:
                                    copy.write_row(r)
                driver.commit()
            return time.perf_counter() - start
        finally:
            raw.close()
    finally:
        store.dispose()


def with_floor(result: dict[str, Any], floor_s: float) -> dict[str, Any]:
    return {
        **result,
        "floor_s": round(floor_s, 3),
        "floor_msg_per_s": round(result["messages"] / floor_s),
        "ratio_to_floor": round(result["seconds"] / floor_s, 2),
        "target_ratio": 1.3,
        "ratio_ok": result["seconds"] / floor_s <= 1.3,
    }


def ingest(url: str, recs: list[MessageRecord], batch: int, rows: Tables | None = None) -> dict[str, Any]:
    """Ingest ``recs`` into a fresh store; ``rows`` (if given) receives what the first pass wrote."""
    store = open_store(url)
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "bench", "maildir")
        (st,) = ensure_streams(conn, mb, [Stream("INBOX", Role.INBOX)])
    start = time.perf_counter()
    for i in range(0, len(recs), batch):
        with store.engine.begin() as conn:
            apply_batch(conn, st.ref, Batch(upserts=tuple(recs[i : i + batch]), cursor={"i": i}))
    first = time.perf_counter() - start
    if rows is not None:
        raw = store.engine.raw_connection()
        try:
            rows += written_rows(raw.driver_connection, batch)
        finally:
            raw.close()
    # the same batches again: what a crash-and-resume costs (idempotent upserts, no new rows)
    start = time.perf_counter()
    for i in range(0, min(len(recs), 20_000), batch):
        with store.engine.begin() as conn:
            apply_batch(conn, st.ref, Batch(upserts=tuple(recs[i : i + batch])))
    again = time.perf_counter() - start
    store.dispose()
    return {
        "messages": len(recs),
        "batch": batch,
        "seconds": round(first, 3),
        "msg_per_s": round(len(recs) / first),
        "reapply_msg_per_s": round(min(len(recs), 20_000) / again),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5, help="SQLite runs; the fastest is reported")
    args = ap.parse_args(argv)
    recs = records(args.messages)
    out: dict[str, Any] = {"target_sqlite_msg_per_s": 20_000}
    # the fastest of five fresh databases: on a shared 2-core machine one run of the same code
    # varied from 11k to 19k msg/s within minutes (and 17k to 27k back to back on another day);
    # the least disturbed run is the store's speed
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            runs.append(ingest(sqlite_url(Path(d) / "bench.db"), recs, args.batch))
    out["sqlite"] = {**max(runs, key=lambda r: r["msg_per_s"]), "runs_msg_per_s": [r["msg_per_s"] for r in runs]}
    # the floor: the rows of one ingest, into fresh databases, as often (fastest kept alike)
    with tempfile.TemporaryDirectory() as d:
        tables: Tables = []
        ingest(sqlite_url(Path(d) / "rows.db"), recs, args.batch, tables)
        floors = [floor_sqlite(Path(d) / f"floor{i}.db", tables) for i in range(args.repeat)]
    out["sqlite"] = with_floor(out["sqlite"], min(floors))
    schema = f"kith_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(PG_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        try:
            pg_rows: Tables = []
            pg = ingest(url, recs, args.batch, pg_rows)
            out["postgresql"] = with_floor(pg, floor_postgresql(url, pg_rows))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    except Exception as exc:  # no server: say so in the result rather than fail the whole bench
        out["postgresql"] = {"skipped": f"{type(exc).__name__}: {exc}"[:300]}
    write_result("store_ingest", out)
    return out


if __name__ == "__main__":
    main()
