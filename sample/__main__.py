"""python -m kith.sample OUT [--seed N] [--messages N] [--bodies small|realistic]"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from kith.sample import generate

ap = argparse.ArgumentParser(prog="python -m kith.sample")
ap.add_argument("out", type=Path)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--messages", type=int, default=2000)
ap.add_argument("--bodies", choices=("small", "realistic"), default="small")
args = ap.parse_args()
start = time.perf_counter()
info = generate(args.out, seed=args.seed, messages=args.messages, bodies=args.bodies)
print(
    json.dumps(
        {
            "root": str(info.root),
            "messages": info.message_count,
            "events": info.event_count,
            "seconds": round(time.perf_counter() - start, 2),
            "truth": str(info.truth_path),
        }
    )
)
