"""Thread-to-loop wake-ups: `call_from_thread` against asyncio's `call_soon_threadsafe`.

    .venv/bin/python -m benchmarks.wakeups                # ~30 s
    .venv/bin/python -m benchmarks.wakeups --impls asyncio,minireactor-epoll --repeats 3

How fast can another thread hand work to a sleeping event loop? Two
workloads, each measured in a fresh process pinned to one CPU (so the two
threads take turns on it, as they would on a busy machine, and the figure
does not depend on which cores the scheduler picks):

- pingpong: a worker thread calls `call_from_thread(cb)` and blocks until
  `cb` has run on the loop, then calls again. The loop is asleep in its
  backend's wait every time, so each call is a real wake-up: through the
  eventfd (select, poll, epoll) or the queue (threaded backend). Figure:
  wake-ups per second and CPU microseconds per wake-up (both threads).
- flood: the worker makes 100,000 calls as fast as it can; we time until
  the loop has run the last. Wake-ups coalesce (one pending is enough), so
  this measures the hand-off queue rather than the waker.

minireactor runs on each backend it has here; asyncio and uvloop use
`call_soon_threadsafe`. Ratios are to asyncio.

Read next: `minireactor/reactor.py` (`call_from_thread`, `_wake_pending`),
`minireactor/backends/waker.py` (`Waker`).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import importlib.util
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks.processes import PinnedProcess, pick_cpus, python_env
from benchmarks.report import spread

WORKLOADS = ("pingpong", "flood")
BASELINE = "asyncio"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def make_loop(impl: str) -> tuple[Callable[..., None], Callable[[], None], Callable[[], None]]:
    """(thread-safe schedule, run until stopped, stop) for `impl`."""
    if impl.startswith("minireactor-"):
        from minireactor import Reactor

        reactor = Reactor(backend=impl.removeprefix("minireactor-"))
        return reactor.call_from_thread, reactor.run, reactor.stop
    if impl == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        import asyncio

        loop = asyncio.new_event_loop()
    return loop.call_soon_threadsafe, loop.run_forever, loop.stop


def child(impl: str, workload: str, duration: float, count: int) -> dict[str, Any]:
    """One measurement in this process; returns its figures."""
    schedule, run, stop = make_loop(impl)
    result: dict[str, Any] = {}
    ran = threading.Semaphore(0)
    finished = [0]

    def pong() -> None:
        ran.release()

    def counted() -> None:
        finished[0] += 1
        if finished[0] == count:
            result["end"] = (time.perf_counter(), time.process_time())
            stop()

    def pingpong() -> None:
        calls, start = 0, (time.perf_counter(), time.process_time())
        deadline = start[0] + duration
        while time.perf_counter() < deadline:
            schedule(pong)
            ran.acquire()
            calls += 1
        result.update(calls=calls, start=start, end=(time.perf_counter(), time.process_time()))
        schedule(stop)

    def flood() -> None:
        result["start"] = (time.perf_counter(), time.process_time())
        for _ in range(count):
            schedule(counted)
        result["calls"] = count

    worker = threading.Thread(target=pingpong if workload == "pingpong" else flood)
    schedule(worker.start)  # start it once the loop runs
    run()
    worker.join()
    wall = result["end"][0] - result["start"][0]
    cpu = result["end"][1] - result["start"][1]
    calls = result["calls"]
    return {"calls": calls, "per_s": calls / wall, "cpu_us": cpu / calls * 1e6, "wall_s": wall}


def available_impls() -> tuple[list[str], dict[str, str]]:
    """Every implementation that can run here, and why the others cannot."""
    import minireactor

    impls = ["asyncio"]
    skipped: dict[str, str] = {}
    if importlib.util.find_spec("uvloop") is None:
        skipped["uvloop"] = "uvloop is not installed (pip install -e '.[peers]')"
    else:
        impls.append("uvloop")
    for backend in minireactor.available_backends():
        if backend == "asyncio":
            skipped["minireactor-asyncio"] = "needs a host asyncio loop"
            continue
        impls.append(f"minireactor-{backend}")
    return impls, skipped


def measure(impl: str, workload: str, args: argparse.Namespace, cpu: int) -> dict[str, Any]:
    """One measurement in a fresh process pinned to `cpu`."""
    argv = [sys.executable, "-m", "benchmarks.wakeups", "--child", impl, "--workload", workload]
    argv += ["--duration", str(args.duration), "--count", str(args.count)]
    with PinnedProcess(argv, cpu, python_env()) as proc:
        try:
            return dict(json.loads(proc.read_line(timeout=60 + args.duration)))
        except (TimeoutError, EOFError, json.JSONDecodeError) as exc:
            return {"error": f"{exc}: {proc.stderr_tail()}"}


def summarise(runs: list[dict[str, Any]], impls: list[str]) -> dict[str, dict[str, Any]]:
    """Median [min-max] of calls/s and CPU per call, with ratios to asyncio."""
    summary: dict[str, dict[str, Any]] = {}
    for workload in WORKLOADS:
        for impl in impls:
            ok = [r for r in runs if (r["workload"], r["impl"]) == (workload, impl)]
            ok = [r for r in ok if "error" not in r]
            if ok:
                entry = summary.setdefault(workload, {}).setdefault(impl, {})
                entry["per_s"] = spread([r["per_s"] for r in ok])
                entry["cpu_us"] = spread([r["cpu_us"] for r in ok])
        base = summary.get(workload, {}).get(BASELINE)
        for entry in summary.get(workload, {}).values():
            if base:
                entry["ratio_per_s"] = entry["per_s"]["median"] / base["per_s"]["median"]
                entry["ratio_cpu_us"] = entry["cpu_us"]["median"] / base["cpu_us"]["median"]
    return summary


def format_table(summary: dict[str, dict[str, Any]], title: str) -> str:
    """One line per (workload, implementation)."""
    header = f"{'workload':<10}{'impl':<22}{'calls/s [min-max]':>26}{'vs aio':>8}"
    header += f"{'CPU us/call [min-max]':>26}{'vs aio':>8}"
    lines = [title, f"medians [min-max]; 'vs aio' = median / {BASELINE}'s median", header]
    lines.append("-" * len(header))
    for workload, by_impl in summary.items():
        for impl, e in by_impl.items():
            rate, cpu = e["per_s"], e["cpu_us"]
            rate_cell = f"{rate['median']:,.0f} [{rate['min']:,.0f}-{rate['max']:,.0f}]"
            cpu_cell = f"{cpu['median']:.2f} [{cpu['min']:.2f}-{cpu['max']:.2f}]"
            lines.append(
                f"{workload:<10}{impl:<22}{rate_cell:>26}{e.get('ratio_per_s', 0):>7.2f}x"
                f"{cpu_cell:>26}{e.get('ratio_cpu_us', 0):>7.2f}x"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.wakeups",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add = parser.add_argument
    add("--impls", help="comma-separated: asyncio, uvloop, minireactor-<backend> (default all)")
    add("--workloads", default=",".join(WORKLOADS), help="pingpong, flood or both")
    add("--repeats", type=int, default=5, help="measurements of each (default 5)")
    add("--duration", type=float, default=0.5, help="seconds of ping-pong per run (default 0.5)")
    add("--count", type=int, default=100_000, help="calls per flood run (default 100,000)")
    add("--json", type=Path, help="where to write results (default benchmarks/results/...)")
    add("--child", help=argparse.SUPPRESS)
    add("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.duration <= 0 or args.count < 1:
        parser.error("need --repeats >= 1, --duration > 0, --count >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, interleaved; print the table and write JSON."""
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.workload, args.duration, args.count)), flush=True)
        return 0
    impls, skipped = available_impls()
    if args.impls:
        wanted = [i.strip() for i in args.impls.split(",") if i.strip()]
        unknown = [i for i in wanted if i not in impls and i not in skipped]
        if unknown:
            raise SystemExit(f"--impls: unknown {', '.join(unknown)}; known: {', '.join(impls)}")
        impls = [i for i in impls if i in wanted]
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    cpu = pick_cpus()[0]
    runs = []
    for repeat in range(args.repeats):
        for workload in workloads:
            for impl in impls:
                run = measure(impl, workload, args, cpu)
                run.update(impl=impl, workload=workload, repeat=repeat)
                runs.append(run)
                shown = run.get("error") or (
                    f"{run['per_s']:>10,.0f} calls/s  CPU {run['cpu_us']:6.2f} us/call"
                )
                print(f"[{repeat + 1}/{args.repeats}] {workload:<9} {impl:<22} {shown}", flush=True)
    summary = summarise(runs, impls)
    title = (
        f"wakeups: thread -> loop, pingpong {args.duration:g} s and flood x {args.count:,}; "
        f"{args.repeats} repeats, each in a fresh process on CPU {cpu}"
    )
    print()
    print(format_table(summary, title))
    path = args.json or RESULTS_DIR / f"wakeups-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv[1:],
        "cpu": cpu,
        "loadavg": os.getloadavg(),
        "skipped": skipped,
    }
    path.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=2) + "\n")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
