"""Helper processes: start one, wait until it accepts, stop it, leave nothing behind.

The local internet and every server model run in child processes, so that
what we measure does not share a GIL (or a CPU) with the code doing the
measuring. They all follow one small protocol (the load generator's
processes are simpler: they run, print their JSON result and exit; see
`load.py`):

1. The child binds its socket, then prints one line, `READY host port`, or
   `ERROR message` if it cannot start (a port in use, a bad option).
2. The child stops when its stdin reaches end of file, which happens when we
   close our end, or when our process dies for any reason. No orphans.
3. If it does not stop within a few seconds, SIGTERM, then SIGKILL.

This file also holds the lab's error type (`LabError`: one clear line for the
command line) and `require`, which turns a missing optional dependency into
an error naming the extra to install.

Read next: `internet.py` and `servers.py`, the two users of `start_child`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import selectors
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "Child",
    "LabError",
    "MissingDependency",
    "child_env",
    "raise_fd_limit",
    "require",
    "start_child",
]


class LabError(Exception):
    """Something the user can fix (the message says how); printed as one line by the CLI."""


class MissingDependency(LabError, ImportError):
    """An optional library is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or explain which extra to install.

    Raises:
        MissingDependency: with a `pip install 'minireactor[extra]'` hint.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{module} is not installed; install it with: pip install 'minireactor[{extra}]'"
        ) from exc


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's descriptor limit towards `wanted` (thousands of sockets need it)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def child_env() -> dict[str, str]:
    """Our environment, plus what a child needs to import this very minireactor."""
    env = dict(os.environ)
    # Works from a source checkout too, where minireactor is not installed.
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


@dataclass
class Child:
    """A running helper process and the address it listens on."""

    process: subprocess.Popen[bytes]
    address: tuple[str, int]
    name: str

    @property
    def pid(self) -> int:
        return self.process.pid


def _read_ready_line(proc: subprocess.Popen[bytes], name: str, timeout: float) -> str:
    """Wait for the child's first line of output, failing clearly if it never comes."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                raise LabError(f"the {name} did not start within {timeout:g} s")
            chunk = os.read(proc.stdout.fileno(), 1)  # byte by byte: leave later output unread
            if not chunk:
                break
            line += chunk
    return line.decode(errors="replace").strip()


def stop_child(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Close the child's stdin (its signal to stop), then insist if it lingers."""
    if proc.stdin is not None and not proc.stdin.closed:
        # If it is already gone, closing the broken pipe fails harmlessly.
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextmanager
def start_child(argv: list[str], name: str, timeout: float = 30.0) -> Iterator[Child]:
    """Run `argv`, wait for its READY line, yield it, and stop it on exit.

    Raises:
        LabError: the child printed ERROR, exited, or stayed silent too long.
    """
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=child_env()
    )
    try:
        line = _read_ready_line(proc, name, timeout)
        if not line.startswith("READY "):
            message = line[6:] if line.startswith("ERROR ") else f"exited with code {proc.wait()}"
            raise LabError(f"the {name} could not start: {message}")
        _, host, port = line.split()
        yield Child(proc, (host, int(port)), name)
    finally:
        stop_child(proc)
