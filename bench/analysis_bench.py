"""Analysis speed: full rebuild at 10k → 100k → 1M messages (SQLite and PostgreSQL), peak RSS, and the
incremental recompute after syncing 1k new messages into the corpus.

Targets (issue 4): rebuild of 1M messages / 20k contacts ≤ 60 s on 2 cores with peak RSS ≤ 1 GB;
incremental after 1k new messages ≤ 2 s; near-linear scaling. Each step runs in its own process
so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import run_child, write_result

CHILD = """
import json, resource, sys, time
from pathlib import Path
from kith.config.load import load_config
from kith.store.engine import open_store
action, cfg, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
config = load_config(cfg)
store = open_store(url)
out = {}
if action in ("sync", "sync+analyze"):
    from kith.daemon.sync import sync_mailboxes
    t = time.perf_counter(); sync_mailboxes(config, store); out["sync_s"] = time.perf_counter() - t
if action in ("rebuild", "sync+analyze"):
    from kith.analysis.api import analyze
    from kith.sample import load_truth
    now = load_truth(cfg.parent / "sample" / "truth.json").now
    t = time.perf_counter()
    with store.session() as s:
        summary = analyze(s, config, now=now, rebuild=action == "rebuild")
    out["analyze_s"] = time.perf_counter() - t
    out["summary"] = summary
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
store.dispose()
print(json.dumps(out, default=str))
"""

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_schema(base: str, name: str) -> str | None:
    """A fresh schema on the local PostgreSQL, or None when there is none."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        eng = create_engine(base, connect_args={"connect_timeout": 3})
        with eng.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        eng.dispose()
        return (
            make_url(base).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
        )
    except Exception as exc:
        print(f"PostgreSQL not available ({exc}); skipping it")
        return None


def _drop_schema(base: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(base)
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    eng.dispose()


def one_size(work: Path, messages: int, contacts: int, url: str) -> dict[str, Any]:
    from kith.cli.demo_pipeline import write_demo_config
    from kith.sample import generate

    info = generate(work / "sample", seed=1, messages=messages, contacts=contacts)
    cfg = write_demo_config(work, info)
    inbox = sorted((info.mailboxes[0].path / "cur").iterdir())
    held = random.Random(1).sample(inbox, min(1000, len(inbox) // 5))
    stash = work / "held"
    stash.mkdir()
    for f in held:
        shutil.move(f, stash / f.name)
    sync, _ = run_child(CHILD, "sync", str(cfg), url)
    os.sync()
    rebuild, _ = run_child(CHILD, "rebuild", str(cfg), url)
    for f in held:
        shutil.move(stash / f.name, f)
    # the rebuild leaves a gigabyte of dirty pages at 1M messages: written back during the next
    # step, they made its time swing by 2x; each step is measured on a quiet disk
    os.sync()
    incremental, _ = run_child(CHILD, "sync+analyze", str(cfg), url)
    return {
        "messages": info.message_count,
        "contacts": rebuild["summary"].get("contacts"),
        "sync_s": round(sync["sync_s"], 2),
        "rebuild_s": round(rebuild["analyze_s"], 2),
        "rebuild_peak_rss_mb": round(rebuild["peak_rss_mb"]),
        # the contacts derived in a helper process (stores of OFFLOAD_MIN messages and more)
        "rebuild_helper_peak_rss_mb": rebuild["summary"].get("helper_peak_rss_mb"),
        "rebuild_msgs_per_s": round(info.message_count / rebuild["analyze_s"]),
        "new_messages": len(held),
        "incremental_mode": incremental["summary"].get("mode"),
        "incremental_s": round(incremental["analyze_s"], 2),
        "incremental_contacts": incremental["summary"].get("contacts"),
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="analysis_bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default=None, help="comma-separated message counts")
    ap.add_argument("--dialects", default="sqlite,postgresql")
    args = ap.parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000])
    )
    pg_base = os.environ.get("KITH_TEST_PG_URL", PG_DEFAULT)
    results: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgresql": []}
    for n in sizes:
        contacts = max(200, n // 50)
        for dialect in args.dialects.split(","):
            with tempfile.TemporaryDirectory(prefix=f"kith-ab-{n}-") as tmp:
                work = Path(tmp)
                url = f"sqlite:///{work / 'kith.db'}" if dialect == "sqlite" else _pg_schema(pg_base, f"kith_bench_{n}")
                if url is None:
                    continue
                try:
                    row = one_size(work, n, contacts, url)
                finally:
                    if dialect == "postgresql":  # a 1M schema is gigabytes in the shared test database
                        _drop_schema(pg_base, f"kith_bench_{n}")
                print(dialect, row, flush=True)
                results[dialect].append(row)
    scaling = {}
    for dialect, rows in results.items():
        if len(rows) >= 2:
            a, b = rows[0], rows[-1]
            scaling[dialect] = round((b["rebuild_s"] / a["rebuild_s"]) / (b["messages"] / a["messages"]), 2)
    write_result(
        "analysis" + ("_quick" if args.quick else "") + ("_" + args.sizes.replace(",", "_") if args.sizes else ""),
        {
            "targets": {"rebuild_1m_s": 60, "rebuild_peak_rss_mb": 1024, "incremental_1k_s": 2},
            "results": results,
            "scaling_time_ratio_per_size_ratio": scaling,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
