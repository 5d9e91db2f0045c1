"""The load generator: many clients, closed or open loop, every response checked.

    result = load(("127.0.0.1", 8000), protocol="http", clients=50, duration=2.0)
    result = load(address, protocol="http", clients=50, duration=2.0, rate=2000)

Two ways to apply load, and why both matter:

* **Closed loop** (`rate=None`): each of `clients` connections sends a
  request, waits for the answer, sends the next. Throughput is whatever the
  server sustains. But when the server stalls, the clients stall with it and
  stop sending: the slow period produces few samples, so the latency
  percentiles hide it ("coordinated omission", Gil Tene's term).
* **Open loop** (`rate=R`): requests are *due* at fixed times, R per second,
  whatever the server does; a free connection takes the oldest due request,
  and latency is measured from when it was due, not when it could finally
  be sent. A stall now shows up in every request that waited behind it.

By default the generator runs in its own subprocess (`processes=1`; more to
use more CPUs; `cpu=` pins them), so it never shares a GIL with the server
or with your notebook. This file is the front door: `load` checks its
arguments and writes them down once as a `LoadPlan`, picks the engine and
fans the clients out over processes (each gets its share of the plan as
JSON), and `main` is the entry point of one such process.

Read next: `load_plan.py` (what a load asks for), `load_python.py` (the
generator itself), `load_native.py` (the C client), `load_result.py` (what
a run returns), then `plots.py` (latency CDFs, throughput curves).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict

from .load_native import _run_c, _use_c
from .load_plan import LoadPlan
from .load_python import _Engine
from .load_result import LoadResult
from .load_result import percentile as percentile  # re-exported: `from .load import percentile`
from .procs import LabError, child_env, raise_fd_limit

__all__ = ["LoadResult", "load"]


def load(
    address: tuple[str, int],
    protocol: str = "http",
    clients: int = 50,
    duration: float = 2.0,
    rate: float | None = None,
    *,
    path: str = "/",
    size: int = 64,
    timeout: float = 5.0,
    keepalive: bool = True,
    processes: int = 1,
    cpu: int | None = None,
    engine: str = "auto",
    idle: int = 0,
) -> LoadResult:
    """Load a server and measure it; every response is checked.

    Args:
        address: (host, port) of the server.
        protocol: "http" (GET `path`) or "echo" (`size`-byte messages).
        clients: connections (closed loop: also the requests in flight).
        duration: seconds of load.
        rate: requests per second for an open loop; None for a closed loop.
        timeout: seconds before an unanswered request counts as a timeout.
        keepalive: reuse connections (False: one connection per request).
        processes: generator processes (0: run in this thread).
        cpu: pin the generator processes to this CPU (Linux).
        engine: "python" (the generator in `load_python.py`), "c" (the lean C
            client, `native.py`: closed loop and keep-alive only), or "auto":
            C for a closed-loop echo load when a C compiler is at hand, Python
            otherwise. The Python generator tops out near 30k echoes/s on one
            CPU, below what the faster Python servers sustain; the C client
            goes past 150k, so the server, not the generator, is measured.
        idle: also hold this many connections open and silent during the run
            (a crowd of idle users: the cost select and poll pay per descriptor,
            and the memory a thread per connection pays). They are not counted
            in `clients`.

    Raises:
        LabError: bad arguments, or engine="c" where it cannot run.
    """
    if protocol not in ("http", "echo") or clients < 1 or duration <= 0:
        raise LabError("load needs protocol 'http' or 'echo', clients >= 1 and duration > 0")
    if rate is not None and rate <= 0:
        raise LabError(f"rate must be positive requests/s (or None for a closed loop), got {rate}")
    if idle < 0:
        raise LabError(f"idle must be a number of connections >= 0, got {idle}")
    plan = LoadPlan(
        address=(str(address[0]), int(address[1])),  # a list (from JSON) works too
        protocol=protocol,
        clients=clients,
        duration=duration,
        rate=rate,
        path=path,
        size=size,
        timeout=timeout,
        keepalive=keepalive,
    )
    _check_reachable(plan.address)
    with ExitStack() as stack:
        if idle:
            stack.enter_context(idle_connections(plan.address, idle))
        if _use_c(engine, plan):
            result = _run_c(plan, cpu)
        elif processes <= 0:
            raise_fd_limit()
            result = _Engine(plan).run()
        else:
            result = _run_processes(plan, processes, cpu)
    return result


@contextmanager
def idle_connections(address: tuple[str, int], count: int) -> Iterator[list[socket.socket]]:
    """Open `count` connections to `address` that send nothing; close them on leaving.

    Raises:
        LabError: the descriptors ran out or the server refused (says how many opened).
    """
    limit = raise_fd_limit(count + 1024)
    if count + 64 > limit:
        raise LabError(
            f"{count} idle connections need more descriptors than this process may open "
            f"({limit}); ask for fewer, or raise the hard limit (ulimit -Hn)"
        )
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            try:
                socks.append(socket.create_connection(address, timeout=5.0))
            except OSError as exc:
                raise LabError(
                    f"opened only {len(socks)} of {count} idle connections ({exc}); "
                    "the server or this machine ran out of descriptors: ask for fewer"
                ) from None
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _check_reachable(address: tuple[str, int]) -> None:
    """Fail with one clear sentence if nothing listens at `address`."""
    try:
        socket.create_connection(address, timeout=3.0).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise LabError(
            f"cannot connect to {address[0]}:{address[1]} ({reason}); is a server running? "
            f"Start one with: minireactor serve --port {address[1]}"
        ) from None


def _run_processes(plan: LoadPlan, processes: int, cpu: int | None) -> LoadResult:
    """Run `plan` in `processes` generator processes at once and merge their results."""
    processes = min(processes, plan.clients)
    procs = [
        subprocess.Popen(
            _child_argv(plan.share(i, processes), cpu), stdout=subprocess.PIPE, env=child_env()
        )
        for i in range(processes)
    ]
    result = LoadResult(plan.protocol, 0, plan.duration, None if plan.rate is None else 0.0)
    for proc in procs:
        out, _ = proc.communicate(timeout=plan.duration + plan.timeout + 60)
        if proc.returncode != 0:
            raise LabError(f"a load generator process failed (exit code {proc.returncode})")
        data = json.loads(out)
        result.merge(LoadResult(**data))
    return result


def _child_argv(plan: LoadPlan, cpu: int | None) -> list[str]:
    """The command line of one generator process; `main` reads it with `_child_parser`.

    The plan goes as one JSON argument rather than a flag per field, so a
    field added to `LoadPlan` reaches the process with nothing here to change.
    """
    argv = [sys.executable, "-m", "minireactor.lab", "load", plan.to_json()]
    return argv if cpu is None else [*argv, "--cpu", str(cpu)]


def _child_parser() -> argparse.ArgumentParser:
    """What `main` reads: the plan's JSON (`LoadPlan.to_json`) and `--cpu`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab load")
    parser.add_argument("plan", type=LoadPlan.from_json, help="the LoadPlan, as JSON")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to a CPU")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of one generator process: prints its LoadResult as JSON."""
    args = _child_parser().parse_args(argv)
    from .server_process import pin

    pin(args.cpu)
    # The parent chose the Python generator (it runs the C client itself).
    result = load(**asdict(args.plan), processes=0, engine="python")
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
