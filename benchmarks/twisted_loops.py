"""One Twisted program on three loops: Twisted's epoll reactor, asyncio's, minireactor.aio.

    .venv/bin/python -m benchmarks.twisted_loops                  # 5 repeats, about 30 s
    .venv/bin/python -m benchmarks.twisted_loops --repeats 3 --cpu 1

Each measurement is a fresh process (`minireactor.lab.twisted_loops`):
Twisted's echo server and its clients in one thread, `clients` connections
each doing `messages` 64-byte round trips. The loops take turns within each
repeat, so drift hits them alike. The timing starts after the imports and
the reactor's installation. Server and client share one thread here (that
is the point: one loop under both), so `--cpu` pins the whole process to one
CPU rather than splitting them. Reported: medians (min-max) of round trips
per second, and each loop's ratio to Twisted's own reactor.

Read next: `minireactor/lab/twisted_loops.py` (what runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import time

from benchmarks.report import spread
from minireactor.lab.twisted_loops import TWISTED_LOOPS, run_in_a_process


def measure(loop: str, clients: int, messages: int, cpu: int | None) -> float:
    """Round trips per second of one fresh-process run on `loop`."""
    result = run_in_a_process(loop, clients, messages, cpu)
    return float(result["round_trips"] / result["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--cpu", type=int, default=None, help="pin each run to this CPU")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {loop: [] for loop in TWISTED_LOOPS}
    started = time.time()
    for _ in range(args.repeats):
        for loop in TWISTED_LOOPS:
            rates[loop].append(measure(loop, args.clients, args.messages, args.cpu))
    summary = {loop: spread(values) for loop, values in rates.items()}
    base = summary["twisted"]["median"]
    if args.json:
        print(json.dumps({"args": vars(args), "round_trips_per_s": summary}, indent=2))
        return 0
    print(f"{args.clients} clients x {args.messages} round trips, {args.repeats} repeats, "
          f"{time.time() - started:.0f} s")  # fmt: skip
    for loop, s in summary.items():
        print(
            f"{loop:12} {s['median']:9,.0f} round trips/s ({s['min']:,.0f}-{s['max']:,.0f})"
            f"  {s['median'] / base:.2f}x Twisted's reactor"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
