"""The echo benchmark: every peer's echo server under the same C load client.

    .venv/bin/python -m benchmarks.echo                       # everything, ~4 minutes
    .venv/bin/python -m benchmarks.echo --servers asyncio,minireactor --repeats 3

For each message size, repeat R times: for each server in turn, start the
server pinned to one CPU, start the C client pinned to another, let it warm
up, then read the server's CPU counters (/proc) when the client opens its
measured window and again when it closes it. Peers are interleaved (one run
of each, then again), so a change in the machine's load touches all of them
alike. The result: requests/s and latency from the client, server CPU time
per request (user and total) from /proc, medians with min-max, ratios to
asyncio's Protocol server, all written to JSON and printed as a table.

Read next: `report.py` (the table), `procstat.py` (the CPU counters),
`benchmarks/README.md` (the method and what each figure means).
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python benchmarks/echo.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import datetime
import fnmatch
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks import report
from benchmarks.build import BuildError, ensure_built
from benchmarks.processes import REPO_ROOT, PinnedProcess, pick_cpus, python_env
from benchmarks.procstat import TICKS_PER_SECOND, CpuLoad, CpuTimes, cpu_load, process_cpu
from benchmarks.servers import BASELINE, ServerSpec, catalog

RESULTS_DIR = Path(__file__).resolve().parent / "results"
UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


class RunError(Exception):
    """One run failed (server did not start, died, or served nothing)."""


@dataclass(frozen=True)
class Config:
    """What every run shares."""

    connections: tuple[int, ...]  # each count is a group of runs of its own
    duration: float
    warmup: float
    server_cpu: int
    client_cpu: int
    startup_timeout: float = 30.0


def parse_size(text: str) -> int:
    """'1k' -> 1024, '100k' -> 102400, '1m' -> 1048576, '512' -> 512 (k = KiB)."""
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = text[-1] if text and text[-1] in UNITS else ""
    try:
        value = int(float(text.removesuffix(unit)) * UNITS[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: use e.g. 1k, 10k, 100k") from None
    if not 1 <= value <= 64 * 1024 * 1024:
        raise argparse.ArgumentTypeError(f"size {text!r} must be between 1 B and 64 MiB")
    return value


def parse_sizes(text: str) -> list[int]:
    """A comma-separated list of sizes: '1k,10k,100k'."""
    return [parse_size(part) for part in text.split(",") if part.strip()]


def parse_counts(text: str) -> list[int]:
    """A comma-separated list of connection counts: '10,100'."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad count {text!r}: use e.g. 100 or 10,100") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"connection counts must be >= 1, got {text!r}")
    return counts


def group_key(size: int, connections: int, cfg: Config) -> str:
    """The summary key of runs of one size and connection count.

    With one connection count (the usual case) it is the size alone, "1024",
    as it always was; with several, "1024x100" (bytes x connections).
    """
    return str(size) if len(cfg.connections) == 1 else f"{size}x{connections}"


def group_title(key: str) -> str:
    """The heading of a group's block in the table."""
    size, _, connections = key.partition("x")
    return f"message size {size} B" + (f", {connections} connections" if connections else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.echo", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add = parser.add_argument
    add("--servers", help="comma-separated names or patterns (asyncio, minireactor-*); default all")
    add("--repeats", type=int, default=5, help="runs of each server (default 5)")
    add("--duration", type=float, default=3.0, help="measured seconds per run (default 3)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each run (default 1)")
    add("--connections", type=parse_counts, default=[100], help="connections: 100 or 10,100")
    add("--size", type=parse_sizes, default=[1024], help="message size(s): 1k or 1k,10k,100k")
    add("--json", type=Path, help="where to write results (default benchmarks/results/...)")
    add("--server-cpu", type=int, help="CPU for the server (default: first usable)")
    add("--client-cpu", type=int, help="CPU for the client (default: second usable)")
    add("--baseline", default=BASELINE, help=f"the server ratios divide by (default {BASELINE})")
    add("--list", action="store_true", help="list the servers and whether they can run here")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("need --repeats >= 1, --duration > 0, --warmup >= 0")
    return args


def _matches(name: str, pattern: str) -> bool:
    """Whether a --servers pattern selects the server `name`.

    A pattern matches exactly, as a glob (``minireactor-*``), or as the part
    before a dash (``asyncio`` selects both asyncio servers). A placeholder
    entry such as ``minireactor`` (not importable yet) matches any pattern
    for its family, so the run reports why it was skipped.
    """
    return (
        fnmatch.fnmatch(name, pattern)
        or name.startswith(pattern + "-")
        or pattern.split("-")[0] == name
    )


def select_servers(patterns: str | None) -> tuple[list[ServerSpec], dict[str, str]]:
    """The servers to run and those skipped (name -> reason), in catalogue order.

    Raises:
        SystemExit: a pattern matched no server at all (the message lists them).
    """
    specs = catalog()
    wanted = [p.strip() for p in (patterns or "*").split(",") if p.strip()]
    unmatched = [p for p in wanted if not any(_matches(s.name, p) for s in specs)]
    if unmatched:
        known = ", ".join(spec.name for spec in specs)
        raise SystemExit(f"--servers: {', '.join(unmatched)} matched no server; known: {known}")
    chosen = [spec for spec in specs if any(_matches(spec.name, p) for p in wanted)]
    runnable = [spec for spec in chosen if spec.skip_reason is None]
    skipped = {spec.name: spec.skip_reason for spec in chosen if spec.skip_reason is not None}
    return runnable, skipped


def _expect(line: str, wanted: str, who: PinnedProcess) -> None:
    if line != wanted:
        raise RunError(f"expected {wanted!r} from the client, got {line!r}: {who.stderr_tail()}")


def _start_server(spec: ServerSpec, cfg: Config) -> tuple[PinnedProcess, int]:
    """Start `spec` pinned to the server CPU; return it and the port it announced."""
    server = PinnedProcess([*spec.argv, "--port", "0"], cfg.server_cpu, python_env())
    try:
        line = server.read_line(cfg.startup_timeout)
        if not line.startswith("READY "):
            raise RunError(f"{spec.name} printed {line!r} instead of 'READY <port>'")
        return server, int(line.split()[1])
    except (TimeoutError, EOFError) as exc:
        detail = f"{exc}; stderr: {server.stderr_tail()}"
        server.stop()
        raise RunError(f"{spec.name} did not start: {detail}") from None
    except BaseException:  # RunError, or Ctrl-C while waiting: never leave it running
        server.stop()
        raise


def measure(
    spec: ServerSpec, size: int, connections: int, cfg: Config, client_bin: Path
) -> dict[str, Any]:
    """One echo run of `size`-byte messages on `connections`; see `measure_window`."""

    def client_argv(port: int) -> list[str]:
        argv = [str(client_bin), "--port", str(port), "--size", str(size)]
        argv += ["--connections", str(connections)]
        return [*argv, "--duration", str(cfg.duration), "--warmup", str(cfg.warmup)]

    return measure_window(spec, cfg, client_argv)


def measure_window(
    spec: ServerSpec, cfg: Config, client_argv: Callable[[int], list[str]]
) -> dict[str, Any]:
    """One run: a fresh server, the client's warm-up, then the measured window.

    The server's CPU counters are read when the client prints START and STOP,
    so start-up, connection set-up and warm-up are never counted. The HTTP
    and idle-connection benchmarks run their own clients through this too:
    any client that prints START, STOP and the JSON counts of
    `c/echo_client.c` fits.

    Args:
        spec: the server to start.
        cfg: durations and CPUs.
        client_argv: the client's command, given the port the server announced.

    Raises:
        RunError: the server failed to start, died, or served no request.
    """
    server, port = _start_server(spec, cfg)
    with server:
        with PinnedProcess(client_argv(port), cfg.client_cpu) as client:
            try:
                _expect(client.read_line(cfg.warmup + 30), "START", client)
                before = _snapshot(server, client, cfg)
                _expect(client.read_line(cfg.duration + 30), "STOP", client)
                after = _snapshot(server, client, cfg)
                counts = json.loads(client.read_line(30))
            except (TimeoutError, EOFError, FileNotFoundError, ValueError) as exc:
                raise RunError(f"{exc}; server stderr: {server.stderr_tail()}") from None
        if not server.alive():
            raise RunError(f"{spec.name} exited during the run: {server.stderr_tail()}")
    return derive(counts, Snapshot.delta(after, before))


@dataclass(frozen=True)
class Snapshot:
    """The counters read at each edge of the measured window (or their difference)."""

    wall: float
    server: CpuTimes
    client: CpuTimes
    server_cpu: CpuLoad
    client_cpu: CpuLoad

    @staticmethod
    def delta(after: Snapshot, before: Snapshot) -> Snapshot:
        """What happened between two snapshots."""
        return Snapshot(
            after.wall - before.wall,
            after.server - before.server,
            after.client - before.client,
            CpuLoad(
                after.server_cpu.busy - before.server_cpu.busy,
                after.server_cpu.steal - before.server_cpu.steal,
            ),
            CpuLoad(
                after.client_cpu.busy - before.client_cpu.busy,
                after.client_cpu.steal - before.client_cpu.steal,
            ),
        )


def _snapshot(server: PinnedProcess, client: PinnedProcess, cfg: Config) -> Snapshot:
    return Snapshot(
        time.monotonic(),
        process_cpu(server.pid),
        process_cpu(client.pid),
        cpu_load(cfg.server_cpu),
        cpu_load(cfg.client_cpu),
    )


def derive(counts: dict[str, Any], window: Snapshot) -> dict[str, Any]:
    """The figures of one run from the client's counts and the counters over the window.

    Raises:
        RunError: no request completed in the window.
    """
    requests = counts["requests"]
    if requests == 0:
        raise RunError(f"no request completed in the window ({counts['errors']} errors)")
    return {
        "requests": requests,
        "errors": counts["errors"] + counts["stalled"],
        "failed_connections": counts["errors"],
        "stalled_connections": counts["stalled"],
        "bytes": counts["bytes"],
        "duration_s": counts["duration_s"],
        "req_per_s": requests / counts["duration_s"],
        "p50_us": counts["p50_us"],
        "p90_us": counts["p90_us"],
        "p99_us": counts["p99_us"],
        "p999_us": counts["p999_us"],
        "server_user_us": window.server.user / requests * 1e6,
        "server_total_us": window.server.total / requests * 1e6,
        "server_cpu_pct": window.server.total / window.wall * 100,
        "client_cpu_pct": window.client.total / window.wall * 100,
        # Noise: other processes' work on the server's CPU, and hypervisor steal.
        "server_cpu_others_pct": (window.server_cpu.busy - window.server.total) / window.wall * 100,
        "server_cpu_steal_pct": window.server_cpu.steal / window.wall * 100,
        "client_cpu_steal_pct": window.client_cpu.steal / window.wall * 100,
        "server_cpu_s": asdict(window.server),
        "client_cpu_s": asdict(window.client),
    }


def metadata(args: argparse.Namespace, cfg: Any, prog: str = "benchmarks.echo") -> dict[str, Any]:
    """What the JSON records about the machine and the run, to judge the figures later."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", prog, *sys.argv[1:]]),
        "commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": model,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "loadavg_start": os.getloadavg(),
        "clock_ticks_per_s": TICKS_PER_SECOND,
        "config": asdict(cfg),
        "repeats": args.repeats,
        "sizes": getattr(args, "size", None),
    }


def progress(done: int, total: int, spec: ServerSpec, label: str, run: dict[str, Any]) -> str:
    """One line per run, printed as the benchmark goes; `label` says which group it is in."""
    head = f"[{done:>3}/{total}] {label:>9}  {spec.name:<22}"
    if "error" in run:
        return f"{head} FAILED: {run['error']}"
    return (
        f"{head}{run['req_per_s']:>10,.0f} req/s  CPU {run['server_total_us']:6.2f} us/req "
        f"(user {run['server_user_us']:5.2f})  p99 {run['p99_us']:8.0f} us  "
        f"srv {run['server_cpu_pct']:3.0f}%  cli {run['client_cpu_pct']:3.0f}%  "
        f"others {run['server_cpu_others_pct']:3.0f}%  steal {run['server_cpu_steal_pct']:2.0f}%"
        + (
            f"  ERRORS: {run['failed_connections']} failed, {run['stalled_connections']} stalled"
            if run["errors"]
            else ""
        )
    )


def run_all(specs: list[ServerSpec], args: argparse.Namespace, cfg: Config) -> list[dict[str, Any]]:
    """Every run, interleaved: for each size, connection count and repeat, each server once."""
    client_bin = ensure_built("echo_client")
    if any(spec.name == "c-epoll" for spec in specs):
        ensure_built("echo_server")
    runs = []
    total = len(args.size) * len(cfg.connections) * args.repeats * len(specs)
    for size in args.size:
        for connections in cfg.connections:
            group = group_key(size, connections, cfg)
            for repeat in range(args.repeats):
                for spec in specs:
                    try:
                        run = measure(spec, size, connections, cfg, client_bin)
                    except RunError as exc:
                        run = {"error": str(exc)}
                    run.update(server=spec.name, size=size, connections=connections, repeat=repeat)
                    run["group"] = group
                    runs.append(run)
                    label = f"{size}B x{connections}"
                    print(progress(len(runs), total, spec, label, run), flush=True)
    return runs


def make_config(args: argparse.Namespace) -> Config:
    """The shared run settings, with the CPUs chosen when not given."""
    server_cpu, client_cpu = pick_cpus()
    return Config(
        connections=tuple(args.connections),
        duration=args.duration,
        warmup=args.warmup,
        server_cpu=server_cpu if args.server_cpu is None else args.server_cpu,
        client_cpu=client_cpu if args.client_cpu is None else args.client_cpu,
    )


def print_plan(
    specs: list[ServerSpec], skipped: dict[str, str], args: argparse.Namespace, cfg: Config
) -> None:
    """Say what will run, what is skipped and why, and how long it should take."""
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    if cfg.server_cpu == cfg.client_cpu:
        print(f"warning: server and client share CPU {cfg.server_cpu}; expect contention")
    groups = len(args.size) * len(cfg.connections)
    runs = groups * args.repeats * len(specs)
    minutes = runs * (args.duration + args.warmup + 0.5) / 60
    print(
        f"{len(specs)} servers x {args.repeats} repeats x {groups} size/connection groups "
        f"= {runs} runs, "
        f"about {minutes:.1f} min; server on CPU {cfg.server_cpu}, client on CPU {cfg.client_cpu}"
    )


def write_report(
    runs: list[dict[str, Any]],
    specs: list[ServerSpec],
    skipped: dict[str, str],
    meta: dict[str, Any],
    args: argparse.Namespace,
) -> Path:
    """Print the table and write the JSON document; return its path."""
    summaries = report.summarise(runs, [spec.name for spec in specs])
    for summary in summaries.values():
        report.add_ratios(summary, args.baseline)
    cfg = meta["config"]
    counts = ",".join(str(c) for c in cfg["connections"])
    title = (
        f"echo: {counts} connections, {args.repeats} repeats x "
        f"{cfg['duration']:g} s (+{cfg['warmup']:g} s warm-up); "
        f"server CPU {cfg['server_cpu']}, client CPU {cfg['client_cpu']}"
    )
    print()
    short = "aio" if args.baseline == BASELINE else "base"
    print(
        report.format_table(summaries, title, args.baseline, short=short, group_title=group_title)
    )
    path: Path = args.json or RESULTS_DIR / f"echo-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "skipped": skipped, "summary": summaries, "runs": runs}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (0 unless nothing could run)."""
    args = parse_args(argv)
    if args.list:
        for spec in catalog():
            print(f"{spec.name:<22} {spec.skip_reason or spec.about}")
        return 0
    specs, skipped = select_servers(args.servers)
    cfg = make_config(args)
    print_plan(specs, skipped, args, cfg)
    if not specs:
        print("no server to run", file=sys.stderr)
        return 1
    # The harness mostly waits on the client's output; keep it off the server's CPU.
    os.sched_setaffinity(0, {cfg.client_cpu})
    meta = metadata(args, cfg)
    try:
        runs = run_all(specs, args, cfg)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 2
    meta["loadavg_end"] = os.getloadavg()
    path = write_report(runs, specs, skipped, meta, args)
    print(f"\nresults written to {path}")
    return 1 if all("error" in run for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
