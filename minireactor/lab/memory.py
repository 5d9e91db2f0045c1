"""Memory per open connection: the C10K question, measured.

A thread per connection costs a thread: a stack (mostly untouched, but
some pages of it are resident), the interpreter's thread state, and the
frames blocked in `recv`. An event loop costs one transport and one protocol
object per connection. `memory_per_connection` puts a number on each: it
starts a server model in its own process, opens N connections to it, makes
each one do an echo round trip (so the server has really accepted it and,
for "threads", started its thread), and reads the server's resident memory
(RSS) before and after:

    rows = memory_per_connection(("threads", "minireactor"), counts=(100, 1000))
    plots.memory_per_connection(rows)

Only models that hold every connection at once can be measured (threads,
asyncio, minireactor); iterative, thread_pool and prefork serve a bounded
number and would leave the rest waiting. Counts beyond this machine's
descriptor limit are skipped with a note rather than failing the run.

Read next: `servers.py` (the models) and `plots.py` (`memory_per_connection`).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterable
from typing import Any

from .load import idle_connections
from .procs import LabError, raise_fd_limit
from .servers import server_process

__all__ = ["MEMORY_MODELS", "memory_per_connection", "resident_bytes"]

MEMORY_MODELS = ("threads", "asyncio", "minireactor")
"""The server models that hold every connection open at once."""
_MESSAGE = b"ping\n"


def _proc_status(pid: int, field: str) -> int | None:
    """A "kB" field of /proc/PID/status in bytes; None without /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass  # not Linux, or the process is gone
    return None


def resident_bytes(pid: int) -> int:
    """The resident memory (RSS) of process `pid`, in bytes (Linux /proc, else `ps`).

    Raises:
        LabError: the process is gone, or neither /proc nor `ps` can tell.
    """
    rss = _proc_status(pid, "VmRSS")
    if rss is not None:
        return rss
    try:
        out = subprocess.run(
            ["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True
        ).stdout
        return int(out.strip()) * 1024
    except (OSError, subprocess.CalledProcessError, ValueError):
        raise LabError(f"cannot read the resident memory of process {pid}") from None


def _round_trip(sock: socket.socket) -> None:
    sock.sendall(_MESSAGE)
    got = b""
    while len(got) < len(_MESSAGE):
        chunk = sock.recv(64)
        if not chunk:
            raise LabError("the server closed a connection during the memory measurement")
        got += chunk


def _measure(model: str, count: int, backend: str) -> dict[str, Any]:
    with (
        server_process(model, "echo", backend=backend) as child,
        socket.create_connection(child.address, timeout=10.0) as warm,
    ):
        _round_trip(warm)  # the first connection's one-off costs stay in the baseline
        baseline = resident_bytes(child.pid)
        virtual_before = _proc_status(child.pid, "VmSize")
        with idle_connections(child.address, count) as socks:
            for sock in socks:  # each served once: accepted, its thread started
                _round_trip(sock)
            loaded = resident_bytes(child.pid)
            virtual_after = _proc_status(child.pid, "VmSize")
    virtual = None
    if virtual_before is not None and virtual_after is not None:
        virtual = round((virtual_after - virtual_before) / count)
    return {
        "model": model,
        "connections": count,
        "baseline_bytes": baseline,
        "rss_bytes": loaded,
        "per_connection_bytes": round((loaded - baseline) / count),
        "virtual_per_connection_bytes": virtual,
        "note": "",
    }


def memory_per_connection(
    models: Iterable[str] = ("threads", "minireactor"),
    counts: Iterable[int] = (100, 1000, 5000),
    backend: str = "auto",
) -> list[dict[str, Any]]:
    """Resident memory per open connection, for each model at each count.

    Args:
        models: among MEMORY_MODELS.
        counts: numbers of open connections (each measured in a fresh server).
        backend: the minireactor model's backend.

    Returns:
        One row per (model, count): "model", "connections", "baseline_bytes"
        (the server with one connection), "rss_bytes" (with `connections`
        more), "per_connection_bytes" (resident), "virtual_per_connection_bytes"
        (address space reserved, e.g. a thread's whole stack; Linux only, else
        None) and "note" (why a count was skipped; its figures are then None).

    Raises:
        LabError: a model that cannot hold every connection, or a failed run.
    """
    models, counts = list(models), list(counts)
    bad = [m for m in models if m not in MEMORY_MODELS]
    if bad or any(n < 1 for n in counts):
        raise LabError(
            f"memory_per_connection measures {', '.join(MEMORY_MODELS)} at counts >= 1; "
            f"got models {models} and counts {counts}"
        )
    limit = raise_fd_limit(max(counts) + 1024) - 64  # this process holds the client ends
    rows = []
    for model in models:
        for count in counts:
            if count > limit:
                note = f"skipped: {count} connections exceed this process's descriptor limit"
                rows.append(_skipped(model, count, f"{note} ({limit + 64})"))
                continue
            rows.append(_measure(model, count, backend))
    return rows


def _skipped(model: str, count: int, note: str) -> dict[str, Any]:
    names = ("baseline_bytes", "rss_bytes", "per_connection_bytes", "virtual_per_connection_bytes")
    figures = dict.fromkeys(names)
    return {"model": model, "connections": count, **figures, "note": note}
