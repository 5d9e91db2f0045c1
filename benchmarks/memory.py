"""Memory per open connection (the C10K lesson): a thread per connection against event loops.

    .venv/bin/python -m benchmarks.memory                    # 100 / 1,000 / 5,000, ~1 minute
    .venv/bin/python -m benchmarks.memory --counts 100,1000 --repeats 3 --json

Each measurement is a fresh echo server process (`minireactor.lab.memory`):
one warm connection, its resident memory read (the baseline), then N more
connections opened and each served once (so a thread-per-connection server
has really started N threads), and the resident memory read again. Reported:
the median (min-max) resident bytes per connection, and the address space
reserved per connection (Linux: VmSize), where a thread's whole stack shows.
The models take turns within each repeat. Memory does not depend on the
machine's load the way timings do, so the figures move little between runs.

Read next: `minireactor/lab/memory.py` (what runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import statistics
import time
from typing import Any

from minireactor.lab.memory import MEMORY_MODELS, memory_per_connection


def _median(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="threads,asyncio,minireactor")
    parser.add_argument("--counts", default="100,1000,5000")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    counts = [int(c) for c in args.counts.split(",") if c]
    unknown = set(models) - set(MEMORY_MODELS)
    if unknown:
        parser.error(f"--models must be among {', '.join(MEMORY_MODELS)}, not {sorted(unknown)}")
    started = time.time()
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeats):
        for model in models:  # the models take turns within each repeat
            runs += memory_per_connection((model,), counts)
    table = []
    for model in models:
        for count in counts:
            mine = [r for r in runs if r["model"] == model and r["connections"] == count]
            table.append(
                {
                    "model": model,
                    "connections": count,
                    "resident_per_connection": _median(
                        [r["per_connection_bytes"] for r in mine if r["per_connection_bytes"]
                         is not None]
                    ),
                    "virtual_per_connection": _median(
                        [r["virtual_per_connection_bytes"] for r in mine
                         if r["virtual_per_connection_bytes"] is not None]
                    ),
                    "notes": sorted({r["note"] for r in mine if r["note"]}),
                }
            )  # fmt: skip
    if args.json:
        print(json.dumps({"args": vars(args), "table": table, "runs": runs}, indent=2))
        return 0
    print(f"{args.repeats} repeat(s), {time.time() - started:.0f} s")
    print(f"{'model':12} {'connections':>11} {'resident/conn':>14} {'virtual/conn':>13}")
    for row in table:
        res, virt = row["resident_per_connection"], row["virtual_per_connection"]
        resident = f"{res['median'] / 1024:10.1f} KiB" if res else "           -"
        virtual = f"{virt['median'] / 1024:9.0f} KiB" if virt else "          -"
        notes = "  " + "; ".join(row["notes"]) if row["notes"] else ""
        print(f"{row['model']:12} {row['connections']:>11,} {resident:>14} {virtual:>13}{notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
