"""The whole benchmark suite in one command (about 5 minutes).

    .venv/bin/python -m benchmarks                       # everything
    .venv/bin/python -m benchmarks --only http,idle      # some sections
    .venv/bin/python -m benchmarks --list                # what each section runs
    .venv/bin/python -m benchmarks --quick               # seconds: checks it all runs

Each section is one of the benchmark modules, run in turn with settings
shortened so the suite fits in about five minutes (each module alone runs
longer by default; its command is printed). Every section keeps the
method: fresh pinned processes, peers interleaved within each repeat,
medians of 5 repeats with min-max, ratios to a peer of the same run. The
JSON of each section goes to `benchmarks/results/suite-<time>/`, with
`suite.json` holding the targets and where everything is. Figures:
`benchmarks.plots.suite_figures(that directory)`, or `--plots` to save PNGs.

Read next: `README.md` (method, figures), then any section's module.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import echo, http, idle, timers, wakeups

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Section:
    """One part of the suite: a module's main() and the arguments it gets here."""

    name: str
    about: str
    main: Callable[[list[str] | None], int]
    argv: list[str]
    quick: list[str]  # what --quick uses instead: a few seconds, for smoke tests

    def command(self, quick: bool = False) -> str:
        """The equivalent command line, to run this section alone."""
        module = self.main.__module__
        return " ".join(["python -m", module, *(self.quick if quick else self.argv)])


SECTIONS = [
    Section(
        "echo",
        "echo 1/10/100 KiB x 10/100 connections: asyncio, uvloop, minireactor (epoll)",
        echo.main,
        [
            "--servers",
            "asyncio-protocol,uvloop-protocol,minireactor-epoll",
            "--size",
            "1k,10k,100k",
            "--connections",
            "10,100",
            "--duration",
            "0.4",
            "--warmup",
            "0.15",
        ],
        [
            "--servers",
            "asyncio-protocol,minireactor-epoll",
            "--size",
            "1k",
            "--connections",
            "4",
            "--duration",
            "0.2",
            "--warmup",
            "0.05",
        ],
    ),
    Section(
        "streams",
        "asyncio streams echo on the stdlib loop (as shipped and with 64 KiB reads, the "
        "baseline), minireactor.aio and uvloop",
        echo.main,
        [
            "--servers",
            "asyncio-streams,asyncio64k-streams,minireactor.aio-streams,uvloop-streams",
            "--baseline",
            "asyncio64k-streams",
            "--duration",
            "0.6",
            "--warmup",
            "0.2",
        ],
        [
            "--servers",
            "asyncio64k-streams,minireactor.aio-streams",
            "--baseline",
            "asyncio64k-streams",
            "--connections",
            "4",
            "--duration",
            "0.2",
            "--warmup",
            "0.05",
        ],
    ),
    Section(
        "http",
        'HTTP/1.1 keep-alive "hello": minireactor, aiohttp, twisted.web, http.server',
        http.main,
        ["--duration", "1", "--warmup", "0.3"],
        [
            "--servers",
            "minireactor,http-server",
            "--connections",
            "4",
            "--duration",
            "0.2",
            "--warmup",
            "0.05",
        ],
    ),
    Section(
        "timers",
        "100,000 call_later (random delays) and 1,000,000 call_soon",
        timers.main,
        [],
        ["--impls", "asyncio,minireactor", "--later", "2000", "--soon", "5000"],
    ),
    Section(
        "idle",
        "10 active echo connections among 0/1,000/5,000 idle, per backend",
        idle.main,
        ["--duration", "0.5", "--warmup", "0.2"],
        ["--backends", "epoll,select", "--idle", "0,100", "--duration", "0.2", "--warmup", "0.05"],
    ),
    Section(
        "wakeups",
        "call_from_thread wake-ups per backend vs call_soon_threadsafe",
        wakeups.main,
        ["--duration", "0.25", "--count", "50000"],
        ["--impls", "asyncio,minireactor-epoll", "--duration", "0.05", "--count", "2000"],
    ),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    names = ", ".join(s.name for s in SECTIONS)
    parser.add_argument("--only", help=f"comma-separated sections (default all: {names})")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per section (default 5)")
    parser.add_argument("--quick", action="store_true", help="tiny runs (seconds), 1 repeat")
    parser.add_argument("--out", type=Path, help="results directory (default results/suite-...)")
    parser.add_argument("--plots", action="store_true", help="also save PNG figures (matplotlib)")
    parser.add_argument("--list", action="store_true", help="list the sections and their commands")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("need --repeats >= 1")
    return args


def chosen(args: argparse.Namespace) -> list[Section]:
    """The sections --only and --skip leave, in suite order."""
    known = {s.name for s in SECTIONS}
    only = {n.strip() for n in (args.only or ",".join(known)).split(",") if n.strip()}
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = (only | skip) - known
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(sorted(unknown))}; known: {known}")
    return [s for s in SECTIONS if s.name in only and s.name not in skip]


def targets(out: Path) -> dict[str, Any]:
    """The issue's targets, read back from the sections' JSON (those that ran)."""
    found: dict[str, Any] = {}

    def load(name: str) -> dict[str, Any] | None:
        path = out / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    if (doc := load("http")) is not None:
        found["http"] = doc.get("targets", {})
    if (doc := load("idle")) is not None:
        share = doc.get("retained", {}).get("epoll", {}).get("5000")
        found["idle_epoll_5000_retained"] = share
    if (doc := load("streams")) is not None:
        entry = doc["summary"].get("1024", {}).get("minireactor.aio-streams", {})
        found["streams_aio_vs_stdlib_req_per_s"] = entry.get("ratio_req_per_s")
        found["streams_aio_vs_stdlib_cpu"] = entry.get("ratio_server_total_us")
    return found


def format_targets(found: dict[str, Any]) -> str:
    """The suite's closing lines: each target, measured ratio, met or not."""
    lines = ["targets (ratios from this run; see each section for spread and noise):"]
    for group, by_peer in found.get("http", {}).items():
        for peer, c in by_peer.items():
            lines.append(
                f"  http [{group}] minireactor req/s = {c['req_per_s_ratio']:.2f}x {peer} "
                f"(goal {c['target_req_per_s_ratio']:g}x: {'met' if c['met'] else 'NOT met'})"
            )
    share = found.get("idle_epoll_5000_retained")
    if share is not None:
        verdict = "met" if share >= idle.TARGET_RETAINED else "NOT met"
        lines.append(
            f"  idle: epoll keeps {share:.0%} of its 0-idle req/s at 5,000 idle ({verdict})"
        )
    ratio = found.get("streams_aio_vs_stdlib_req_per_s")
    if ratio is not None:
        verdict = "met" if ratio >= 1.0 else "NOT met"
        cpu = found.get("streams_aio_vs_stdlib_cpu") or 0.0
        lines.append(
            f"  streams: minireactor.aio req/s = {ratio:.2f}x stdlib asyncio (both 64 KiB reads) "
            f"(goal 1.0x: {verdict}); CPU per request {cpu:.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections in turn; write suite.json; print the targets."""
    args = parse_args(argv)
    sections = chosen(args)
    if args.list:
        for s in sections:
            print(f"{s.name:<8} {s.about}\n         {s.command()} --repeats {args.repeats}")
        return 0
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out: Path = args.out or RESULTS_DIR / f"suite-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    repeats = ["--repeats", "1" if args.quick else str(args.repeats)]
    status: dict[str, Any] = {}
    started = time.monotonic()
    # Each section pins this process to its client's CPU; give the next one
    # the full set back, or it would see one CPU and put server and client on it.
    cpus = os.sched_getaffinity(0)
    for section in sections:
        os.sched_setaffinity(0, cpus)
        section_argv = [*(section.quick if args.quick else section.argv), *repeats]
        print(
            f"\n=== {section.name}: {section.about}\n    {section.command(args.quick)}", flush=True
        )
        begun = time.monotonic()
        code = section.main([*section_argv, "--json", str(out / f"{section.name}.json")])
        status[section.name] = {
            "exit_status": code,
            "seconds": round(time.monotonic() - begun, 1),
            "argv": section_argv,
        }
    found = targets(out)
    document = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv[1:],
        "seconds": round(time.monotonic() - started, 1),
        "sections": status,
        "targets": found,
    }
    (out / "suite.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"\n=== suite done in {document['seconds']:.0f} s; results in {out}")
    print(format_targets(found))
    if args.plots:
        from benchmarks import plots

        for name, figure in plots.suite_figures(out).items():
            figure.savefig(out / f"{name}.png", dpi=110)
        print(f"figures saved as {out}/*.png")
    return 1 if any(s["exit_status"] for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
