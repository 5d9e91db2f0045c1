"""A server model in a subprocess: `serve(model)` and the subprocess's entry point.

Each model (`servers.py`) runs in a process of its own, so it has its own GIL
and, on a pinned run, its own CPU: `serve()` starts `python -m minireactor.lab
server MODEL ...`, waits for its READY line (`procs.py`), yields the address
it accepts on, and stops it on leaving the block. `main()` is that
subprocess's side.

Read next: `load.py`, the load generator that measures these servers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .procs import Child, LabError, start_child
from .servers import SERVER_MODELS, WORKLOADS, check, run_server

__all__ = ["main", "pin", "serve", "server_process"]


@contextmanager
def serve(
    model: str,
    workload: str = "http",
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    workers: int | None = None,
    backend: str = "auto",
    cpu: int | None = None,
) -> Iterator[tuple[str, int]]:
    """Run a server model in a subprocess; yield its (host, port); stop it on exit.

    Args:
        workers: threads (thread_pool) or processes (prefork).
        backend: the minireactor backend (model "minireactor" only).
        cpu: pin the server to this CPU (Linux), e.g. 0, with the load on 1.

    Raises:
        LabError: unknown model or workload, port in use, or it failed to start.
    """
    with server_process(
        model, workload, port, host=host, workers=workers, backend=backend, cpu=cpu
    ) as child:
        yield child.address


@contextmanager
def server_process(
    model: str,
    workload: str = "http",
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    workers: int | None = None,
    backend: str = "auto",
    cpu: int | None = None,
) -> Iterator[Child]:
    """`serve`, yielding the `Child` (its `pid` too, e.g. to read its memory)."""
    check(model, workload)
    argv = [
        sys.executable,
        "-m",
        "minireactor.lab",
        "server",
        model,
        "--workload",
        workload,
        "--host",
        host,
        "--port",
        str(port),
        "--backend",
        backend,
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    with start_child(argv, f"{model} server") as child:
        yield child


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workload", default="http", choices=WORKLOADS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, help="thread_pool/prefork size")
    parser.add_argument("--backend", default="auto", help="minireactor backend")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (Linux)")


def pin(cpu: int | None) -> None:
    """Run this process on one CPU only (Linux), so server and load do not compete."""
    if cpu is not None:
        if not hasattr(os, "sched_setaffinity"):
            raise LabError("pinning to a CPU (--cpu) needs Linux")
        os.sched_setaffinity(0, {cpu})


def main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess started by `serve()`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab server")
    parser.add_argument("model", choices=SERVER_MODELS)
    add_arguments(parser)
    args = parser.parse_args(argv)

    def announce(address: tuple[str, int]) -> None:
        print(f"READY {address[0]} {address[1]}", flush=True)

    try:
        pin(args.cpu)
        run_server(
            args.model,
            args.workload,
            args.host,
            args.port,
            args.workers,
            args.backend,
            announce,
            watch_stdin=True,
        )
    except (LabError, OSError) as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
