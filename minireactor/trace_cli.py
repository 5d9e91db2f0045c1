"""`minireactor trace`: record a whole script's reactors to a trace file.

    minireactor trace -o trace.json -- python my_server.py --port 8000

runs the command with $MINIREACTOR_TRACE_FILE set, so every `Reactor` the
script creates records into one trace (see `trace.py`), written when the
script exits. Open the file in Perfetto (ui.perfetto.dev, which runs in the
browser without uploading it) or chrome://tracing. Add `--plot FILE.png` for
a timeline picture as well.

Read next: `trace.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .trace import TRACE_ENV, Event, timeline


def add_subcommands(subparsers: Any) -> None:
    """Add `trace` to the `minireactor` command (see cli.py's PLUGINS)."""
    parser = subparsers.add_parser(
        "trace",
        help="run a script with every reactor traced to a file",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("-o", "--output", default="trace.json", help="trace file to write")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the timeline to FILE.png")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = [c for c in args.command if c != "--"] if args.command else []
    if not command:
        print(
            "minireactor trace: error: give a command after --, e.g. "
            "minireactor trace -o t.json -- python script.py",
            file=sys.stderr,
        )
        return 2
    output = Path(args.output).resolve()
    output.unlink(missing_ok=True)
    env = {**os.environ, TRACE_ENV: str(output)}
    try:
        status = subprocess.call(command, env=env)
    except FileNotFoundError:
        print(f"minireactor trace: error: no such program: {command[0]}", file=sys.stderr)
        return 127
    if not output.exists():
        print(
            f"minireactor trace: the command created no reactor, so {output} was not written",
            file=sys.stderr,
        )
        return status or 1
    events = json.loads(output.read_text())["traceEvents"]
    complete = [e for e in events if e.get("ph") == "X"]
    print(f"minireactor trace: {len(complete)} events written to {output}", file=sys.stderr)
    if args.plot:
        _plot(events, args.plot)
    return status


def _plot(events: list[dict[str, Any]], path: str) -> None:
    """Draw a saved trace with the same renderer as `Trace.plot`."""
    import matplotlib

    matplotlib.use("Agg")
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M"}
    records = [
        Event(
            e["cat"],
            e["name"],
            e["ts"] / 1e6,
            (e["ts"] + e["dur"]) / 1e6,
            names.get(e["tid"], str(e["tid"])),
            e.get("args", {}),
        )
        for e in events
        if e.get("ph") == "X"
    ]
    figure = timeline(records, origin=0.0, title="minireactor trace")
    figure.savefig(path, dpi=100, bbox_inches="tight")
