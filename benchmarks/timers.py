"""Timer and ready-queue throughput: minireactor against asyncio (and uvloop, Twisted).

    .venv/bin/python -m benchmarks.timers                 # 5 repeats, about a minute
    .venv/bin/python -m benchmarks.timers --impls asyncio,minireactor --repeats 3

Two workloads, each run in a fresh process per measurement (so no heap, GC
or import state carries over), interleaved across implementations:

- call_later: schedule 100,000 timers with seeded random delays in
  [0, 50 ms), then run the loop until the last one has fired;
- call_soon: schedule 1,000,000 callbacks, then run until the last one.

Each measurement starts just before the first call is scheduled and ends
inside the last callback, so start-up and teardown are not counted. Wall time
and the process's CPU time are both reported; the CPU figure is the one to
compare on a shared machine. Twisted has no call_soon (its callLater(0) goes
through the timer heap), so it runs call_later only.

Read next: `echo.py`, the I/O benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python benchmarks/timers.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import importlib.util
import json
import random
import time
from collections.abc import Callable
from typing import Any

from benchmarks.processes import PinnedProcess, pick_cpus, python_env
from benchmarks.report import spread

IMPLS = ("asyncio", "uvloop", "twisted", "minireactor")
WORKLOADS = ("call_later", "call_soon")
BASELINE = "asyncio"


class Finish:
    """The callback every workload schedules: counts down, stops the loop at zero.

    The last call records the wall and CPU clocks, so the measurement ends the
    moment the work does, before the loop's own shutdown.
    """

    def __init__(self, count: int, stop: Callable[[], None]) -> None:
        self.left = count
        self.stop_loop = stop
        self.ended = (0.0, 0.0)

    def __call__(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.ended = (time.perf_counter(), time.process_time())
            self.stop_loop()


def make_loop(impl: str, backend: str) -> tuple[Any, Callable[[], None]]:
    """A fresh loop for `impl` and the function that runs it until stopped.

    The loop object is returned with a `call_later(delay, f)` and a
    `call_soon(f)` (or None) spelled the same way across implementations.
    """
    if impl == "minireactor":
        from minireactor import Reactor

        reactor = Reactor(backend=backend)
        return reactor, reactor.run
    if impl == "twisted":
        from twisted.internet import reactor

        twisted_reactor: Any = reactor  # a module attribute that is really the reactor
        adapter: Any = argparse.Namespace(
            call_later=twisted_reactor.callLater, call_soon=None, stop=twisted_reactor.stop
        )
        return adapter, twisted_reactor.run
    loop: asyncio.AbstractEventLoop
    if impl == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    return loop, loop.run_forever


def child(
    impl: str, workload: str, count: int, max_delay: float, seed: int, backend: str
) -> dict[str, Any]:
    """One measurement, in this process: schedule `count` calls, run until the last fires."""
    loop, run = make_loop(impl, backend)
    finish = Finish(count, loop.stop)
    rng = random.Random(seed)  # same delays for every implementation
    delays = [rng.uniform(0, max_delay) for _ in range(count)] if workload == "call_later" else []
    started = (time.perf_counter(), time.process_time())
    if workload == "call_later":
        for delay in delays:
            loop.call_later(delay, finish)
    else:
        for _ in range(count):
            loop.call_soon(finish)
    run()
    if finish.left:
        raise RuntimeError(f"{impl} stopped with {finish.left} calls still pending")
    return {"wall_s": finish.ended[0] - started[0], "cpu_s": finish.ended[1] - started[1]}


def available(impls: list[str]) -> tuple[list[str], dict[str, str]]:
    """The implementations importable here, and why the others are skipped."""
    runnable, skipped = [], {}
    for impl in impls:
        if impl not in IMPLS:
            raise SystemExit(f"--impls: unknown {impl!r}; choose from {', '.join(IMPLS)}")
        if impl != "asyncio" and importlib.util.find_spec(impl) is None:
            skipped[impl] = f"{impl} is not installed"
        else:
            runnable.append(impl)
    return runnable, skipped


def measure(impl: str, workload: str, args: argparse.Namespace, cpu: int) -> dict[str, Any]:
    """Run one measurement in a fresh process pinned to `cpu`; return its figures."""
    count = args.later if workload == "call_later" else args.soon
    argv = [sys.executable, "-m", "benchmarks.timers", "--child", impl, "--workload", workload]
    argv += ["--count", str(count), "--max-delay", str(args.max_delay), "--seed", str(args.seed)]
    argv += ["--backend", args.backend]
    with PinnedProcess(argv, cpu, python_env()) as proc:
        try:
            return dict(json.loads(proc.read_line(timeout=300)))
        except (TimeoutError, EOFError, json.JSONDecodeError) as exc:
            return {"error": f"{exc}: {proc.stderr_tail()}"}


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Median and min-max of wall and CPU seconds per (workload, impl), with ratios."""
    summary: dict[str, dict[str, Any]] = {}
    for workload in WORKLOADS:
        for impl in IMPLS:
            ok = [
                r
                for r in runs
                if (r["workload"], r["impl"]) == (workload, impl) and "error" not in r
            ]
            if not ok:
                continue
            entry = summary.setdefault(workload, {}).setdefault(impl, {})
            for key in ("wall_s", "cpu_s"):
                entry[key] = spread([r[key] for r in ok])
        base = summary.get(workload, {}).get(BASELINE)
        for entry in summary.get(workload, {}).values():
            if base:
                for key in ("wall_s", "cpu_s"):
                    entry[f"ratio_{key}"] = entry[key]["median"] / base[key]["median"]
    return summary


def format_table(summary: dict[str, dict[str, Any]], title: str) -> str:
    """The printed report: one line per (workload, implementation)."""
    header = f"{'workload':<12}{'impl':<13}"
    header += f"{'wall s [min-max]':>24}{'vs aio':>8}{'CPU s [min-max]':>24}{'vs aio':>8}"
    lines = [title, f"medians [min-max]; 'vs aio' = median / {BASELINE}'s median", header]
    lines.append("-" * len(header))
    for workload, by_impl in summary.items():
        for impl, e in by_impl.items():
            cells = []
            for key in ("wall_s", "cpu_s"):
                stat = e[key]
                ratio = e.get(f"ratio_{key}")
                cells.append(
                    f"{stat['median']:.3f} [{stat['min']:.3f}-{stat['max']:.3f}]".rjust(24)
                )
                cells.append(("" if ratio is None else f"{ratio:.2f}x").rjust(8))
            lines.append(f"{workload:<12}{impl:<13}{''.join(cells)}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.timers", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    add("--impls", default=",".join(IMPLS), help="comma-separated subset of " + ", ".join(IMPLS))
    add("--workloads", default=",".join(WORKLOADS), help="call_later, call_soon or both")
    add("--repeats", type=int, default=5, help="measurements of each (default 5)")
    add("--later", type=int, default=100_000, help="timers in call_later (default 100,000)")
    add("--soon", type=int, default=1_000_000, help="callbacks in call_soon (default 1,000,000)")
    add("--max-delay", type=float, default=0.05, help="timer delays are uniform in [0, this) s")
    add("--seed", type=int, default=1, help="seed of the random delays")
    add("--backend", default="auto", help="minireactor backend (default auto)")
    add("--json", type=Path, help="where to write results (default benchmarks/results/...)")
    add("--child", choices=IMPLS, help=argparse.SUPPRESS)  # internal: one measurement
    add("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    add("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.later < 1 or args.soon < 1 or args.max_delay < 0:
        parser.error("need --repeats, --later, --soon >= 1 and --max-delay >= 0")
    return args


def run_all(
    impls: list[str], workloads: list[str], args: argparse.Namespace, cpu: int
) -> list[dict[str, Any]]:
    """Every measurement, interleaved: for each repeat, each workload, each implementation."""
    runs = []
    for repeat in range(args.repeats):
        for workload in workloads:
            for impl in impls:
                if workload == "call_soon" and impl == "twisted":
                    continue  # Twisted has no call_soon; see the module docstring
                run = measure(impl, workload, args, cpu)
                run.update(impl=impl, workload=workload, repeat=repeat)
                runs.append(run)
                shown = run.get("error") or f"wall {run['wall_s']:.3f} s  CPU {run['cpu_s']:.3f} s"
                print(
                    f"[{repeat + 1}/{args.repeats}] {workload:<11} {impl:<12} {shown}", flush=True
                )
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, interleaved; print the table and write JSON."""
    args = parse_args(argv)
    if args.child:
        result = child(
            args.child, args.workload, args.count, args.max_delay, args.seed, args.backend
        )
        print(json.dumps(result), flush=True)
        return 0
    impls, skipped = available([i.strip() for i in args.impls.split(",") if i.strip()])
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    cpu = pick_cpus()[0]
    runs = run_all(impls, workloads, args, cpu)
    summary = summarise(runs)
    title = (
        f"timers: call_later x {args.later:,} (delays < {args.max_delay * 1000:g} ms), "
        f"call_soon x {args.soon:,}; {args.repeats} repeats, each in a fresh process on CPU {cpu}"
    )
    print()
    print(format_table(summary, title))
    path = (
        args.json
        or Path(__file__).resolve().parent
        / "results"
        / f"timers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv[1:], "skipped": skipped}
    path.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2) + "\n")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
