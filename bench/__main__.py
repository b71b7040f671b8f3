"""`make bench`: run every benchmark module present, each writing bench/results/NAME.json.

``python -m bench [--quick] [names...]``; --quick uses small sizes for a smoke run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

#: module -> (full-size arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "store_bench": ([], ["--messages", "20000"]),
    "maildir_bench": ([], ["--messages", "10000"]),
    "imap_bench": ([], ["--quick"]),
    "analysis_bench": ([], ["--quick"]),
    "gmail_bench": ([], ["--quick"]),
    "graph_bench": ([], ["--quick"]),
    "graph_batching": ([], ["--quick"]),
    "daemon_bench": ([], ["--quick"]),
    "first_flags_bench": ([], ["--quick"]),
    "web_bench": ([], ["--quick"]),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    failed = []
    for name, (full, quick) in BENCHES.items():
        if args.names and name not in args.names and name.removesuffix("_bench") not in args.names:
            continue
        try:
            mod = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                continue
            raise
        print(f"== {name}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            mod.main(quick if args.quick else full)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name} took {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
