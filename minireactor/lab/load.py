"""The load generator: many clients on one `selectors` loop, closed or open loop.

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

The generator must be faster than the servers it measures, so it is written
lean: non-blocking sockets, one `selectors` loop, no framework, responses
checked with a few byte comparisons. By default it runs in its own
subprocess (`processes=1`; more to use more CPUs; `cpu=` pins them), so it
never shares a GIL with the server or with your notebook. Every response is
verified against what the handler should have said.

Read next: `plots.py` (latency CDFs, throughput curves).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from . import native
from .handlers import expected_body
from .procs import LabError, child_env, raise_fd_limit

__all__ = ["LoadResult", "load"]

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, nearest rank; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    """What a load run measured.

    Attributes:
        requests: responses received and verified correct.
        errors: wrong responses, refused or broken connections.
        timeouts: requests with no answer within the timeout.
        unsent: open loop only: requests still waiting for a connection at the end.
        latencies: seconds, one per verified response (open loop: from when it was due).
        error_samples: the first few error messages, to see what went wrong.
        engine: which generator ran: "python" or "c" (see `load`'s `engine`).
    """

    protocol: str
    clients: int
    duration: float
    rate: float | None = None
    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    unsent: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)
    engine: str = "python"

    @property
    def throughput(self) -> float:
        """Verified responses per second."""
        return self.requests / self.duration if self.duration > 0 else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p90(self) -> float:
        return percentile(self.latencies, 90)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def max(self) -> float:
        return max(self.latencies, default=math.nan)

    def summary(self) -> dict[str, Any]:
        """One row: throughput, latency percentiles in milliseconds, error counts."""
        return {
            "clients": self.clients,
            "rate": self.rate,
            "requests": self.requests,
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.p50 * 1000, 2),
            "p90_ms": round(self.p90 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "max_ms": round(self.max * 1000, 2),
            "errors": self.errors,
            "timeouts": self.timeouts,
            "engine": self.engine,
        }

    def merge(self, other: LoadResult) -> None:
        """Add another process's counts and latencies to these."""
        self.clients += other.clients
        self.rate = None if self.rate is None else self.rate + (other.rate or 0)
        self.requests += other.requests
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.unsent += other.unsent
        self.latencies += other.latencies
        self.error_samples = (self.error_samples + other.error_samples)[:5]


class _Client:
    """One connection of the generator and the request it has in flight."""

    __slots__ = ("buf", "connected", "due", "events", "need", "out", "sent_at", "sock")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.connected = False
        self.due: float | None = None  # when the request in flight (or waiting to go) was due
        self.sent_at = 0.0
        self.buf = bytearray()
        self.out = b""
        self.need: int | None = None  # bytes of the whole response, once the head is known
        self.events = 0  # what the selector watches for on `sock`


class _Engine:
    """The selectors loop behind `load()` (one process, one thread)."""

    def __init__(
        self,
        address: tuple[str, int],
        protocol: str,
        clients: int,
        duration: float,
        rate: float | None,
        path: str,
        size: int,
        timeout: float,
        keepalive: bool,
    ):
        self.address, self.protocol, self.rate = address, protocol, rate
        self.duration, self.timeout, self.keepalive = duration, timeout, keepalive
        if protocol == "http":
            host = f"{address[0]}:{address[1]}"
            self.request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            self.expected = expected_body(path)
        else:
            self.request = (b"0123456789abcdef" * (size // 16 + 1))[:size]
            self.expected = self.request
        self.sel = selectors.DefaultSelector()
        self.clients = [_Client() for _ in range(clients)]
        self.idle: deque[_Client] = deque()
        self.backlog: deque[float] = deque()  # open loop: due times not yet sent
        self.resting: list[tuple[float, _Client]] = []  # clients pausing after an error
        self.result = LoadResult(protocol, clients, duration, rate)

    # -- connections ---------------------------------------------------------

    def _connect(self, c: _Client) -> None:
        c.sock = sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.connected = False
        sock.connect_ex(self.address)  # EINPROGRESS: completion is reported as writable
        c.events = selectors.EVENT_WRITE
        self.sel.register(sock, c.events, c)

    def _close(self, c: _Client) -> None:
        if c.sock is not None:
            self.sel.unregister(c.sock)
            c.sock.close()
            c.sock = None
        c.connected, c.need = False, None
        c.buf.clear()

    def _fail(self, c: _Client, message: str, now: float, timeout: bool = False) -> None:
        """Count a failed request; rest the client briefly so a dead server is not hammered."""
        if timeout:
            self.result.timeouts += 1
        else:
            self.result.errors += 1
        if len(self.result.error_samples) < 5:
            self.result.error_samples.append(message)
        self._close(c)
        c.due = None
        self.resting.append((now + 0.01, c))

    # -- requests -----------------------------------------------------------------

    def _dispatch(self, c: _Client, due: float) -> None:
        """Send a request due at `due` on `c`, connecting first if needed."""
        c.due = due
        if c.sock is None:
            self._connect(c)
        elif c.connected:
            self._send(c)

    def _send(self, c: _Client) -> None:
        assert c.sock is not None
        c.sent_at = time.monotonic()
        c.buf.clear()
        c.need = None
        c.out = self.request
        self._flush(c)

    def _flush(self, c: _Client) -> None:
        assert c.sock is not None
        try:
            sent = c.sock.send(c.out)
        except BlockingIOError:
            sent = 0
        except OSError as exc:  # the server closed or reset the connection
            self._fail(c, f"send failed: {exc}", time.monotonic())
            return
        c.out = c.out[sent:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        if events != c.events:  # a system call saved on almost every request
            c.events = events
            self.sel.modify(c.sock, events, c)

    def _complete(self, c: _Client) -> bool:
        """True once `c.buf` holds the whole response (and sets c.need)."""
        if self.protocol == "echo":
            c.need = len(self.expected)
            return len(c.buf) >= c.need
        if c.need is None:
            end = c.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            length = _LENGTH.search(c.buf, 0, end)
            c.need = end + 4 + (int(length.group(1)) if length else 0)
        return len(c.buf) >= c.need

    def _finished(self, c: _Client, now: float) -> None:
        """A whole response is in: verify it, record its latency, move on."""
        assert c.need is not None and c.due is not None
        data = bytes(c.buf)
        if self.protocol == "http":
            head_end = data.find(b"\r\n\r\n")
            good = data[9:12] == b"200" and data[head_end + 4 : c.need] == self.expected
            must_close = _CLOSE.search(data, 0, head_end + 2) is not None
        else:
            good, must_close = data == self.expected, False
        if not good:
            self._fail(c, f"unexpected response: {data[:80]!r}", now)
            return
        self.result.requests += 1
        self.result.latencies.append(now - c.due)
        c.due = None
        if must_close or not self.keepalive:
            self._close(c)
        self._next(c, now)

    def _next(self, c: _Client, now: float) -> None:
        if self.rate is None:
            self._dispatch(c, now)  # closed loop: the next request goes at once
        else:
            self.idle.append(c)

    # -- events ----------------------------------------------------------------------

    def _on_event(self, c: _Client, mask: int, now: float) -> None:
        sock = c.sock
        assert sock is not None
        if not c.connected:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._fail(c, f"connect failed: {errno.errorcode.get(err, err)}", now)
                return
            c.connected = True
            self._send(c)
            return
        if mask & selectors.EVENT_WRITE and c.out:
            self._flush(c)
            if c.sock is None:
                return  # the send failed and the client was reset
        if mask & selectors.EVENT_READ:
            try:
                data = sock.recv(262144)
            except OSError as exc:
                self._fail(c, f"receive failed: {exc}", now)
                return
            if not data:
                self._fail(c, "the server closed the connection mid-request", now)
                return
            c.buf += data
            if self._complete(c):
                self._finished(c, now)

    def _check_timeouts(self, now: float) -> None:
        for c in self.clients:
            if c.due is not None and c.sock is not None and now - c.sent_at > self.timeout:
                self._fail(c, f"no answer within {self.timeout} s", now, timeout=True)
        waking = [c for when, c in self.resting if when <= now]
        self.resting = [(when, c) for when, c in self.resting if when > now]
        for c in waking:
            self._next(c, now)

    def run(self) -> LoadResult:
        start = now = time.monotonic()
        end = start + self.duration
        arrivals = 0
        next_check = start
        for c in self.clients:
            self._next(c, now)
        while now < end:
            if self.rate is not None:  # open loop: requests fall due on schedule
                while start + arrivals / self.rate <= now:
                    self.backlog.append(start + arrivals / self.rate)
                    arrivals += 1
                while self.backlog and self.idle:
                    self._dispatch(self.idle.popleft(), self.backlog.popleft())
                wait = min(0.05, max(0.0, start + arrivals / self.rate - now))
            else:
                wait = 0.05
            for key, mask in self.sel.select(wait):
                self._on_event(key.data, mask, time.monotonic())
            now = time.monotonic()
            if now >= next_check:
                self._check_timeouts(now)
                next_check = now + 0.02
        self.result.unsent = len(self.backlog)
        for c in self.clients:
            self._close(c)
        self.sel.close()
        return self.result


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
        engine: "python" (this module's generator), "c" (the lean C client,
            `native.py`: closed loop and keep-alive only), or "auto": C for a
            closed-loop echo load when a C compiler is at hand, Python
            otherwise. The Python generator tops out near 30k echoes/s on one
            CPU, below what the faster Python servers sustain; the C client
            goes past 150k, so the server, not the generator, is measured.

    Raises:
        LabError: bad arguments, or engine="c" where it cannot run.
    """
    if protocol not in ("http", "echo") or clients < 1 or duration <= 0:
        raise LabError("load needs protocol 'http' or 'echo', clients >= 1 and duration > 0")
    if rate is not None and rate <= 0:
        raise LabError(f"rate must be positive requests/s (or None for a closed loop), got {rate}")
    address = (str(address[0]), int(address[1]))  # a list (from JSON) works too
    _check_reachable(address)
    if _use_c(engine, protocol, rate, keepalive):
        return _run_c(address, protocol, clients, duration, path, size, cpu)
    if processes <= 0:
        raise_fd_limit()
        here = _Engine(address, protocol, clients, duration, rate, path, size, timeout, keepalive)
        return here.run()
    return _run_processes(
        address, protocol, clients, duration, rate, path, size, timeout, keepalive, processes, cpu
    )


def _use_c(engine: str, protocol: str, rate: float | None, keepalive: bool) -> bool:
    """Decide between the C and the Python generator (see `load`'s `engine`)."""
    if engine not in ("auto", "c", "python"):
        raise LabError(f"engine must be 'auto', 'c' or 'python', not {engine!r}")
    if engine == "python":
        return False
    closed_keepalive = rate is None and keepalive
    if engine == "c":
        if not closed_keepalive:
            raise LabError(
                "the C load client runs closed loops on kept-alive connections only: "
                "use engine='python' for rate= or keepalive=False"
            )
        return True
    return closed_keepalive and protocol == "echo" and native.gcc_path() is not None


def _run_c(
    address: tuple[str, int],
    protocol: str,
    clients: int,
    duration: float,
    path: str,
    size: int,
    cpu: int | None,
) -> LoadResult:
    """Run the C client (`native.py`) and read its report into a LoadResult."""
    try:
        binary = native.ensure_built("echo_client" if protocol == "echo" else "http_client")
    except native.BuildError as exc:
        raise LabError(str(exc)) from None
    argv = [str(binary), "--host", address[0], "--port", str(address[1])]
    argv += ["--connections", str(clients), "--duration", str(duration), "--warmup", "0"]
    if protocol == "echo":
        argv += ["--size", str(size)]
    else:
        argv += ["--path", path, "--expect", expected_body(path).decode("latin-1")]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, preexec_fn=pin, check=False
    )
    if proc.returncode != 0:
        raise LabError(f"the C load client failed: {proc.stderr.strip() or proc.returncode}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    result = LoadResult(protocol, clients, float(data["duration_s"]), engine="c")
    result.requests = int(data["requests"])
    result.errors = int(data["errors"]) + int(data["stalled"])
    for micros, count in data["hist"]:  # bucket midpoints: the histogram's resolution
        result.latencies.extend([micros / 1e6] * count)
    return result


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


def _run_processes(
    address: tuple[str, int],
    protocol: str,
    clients: int,
    duration: float,
    rate: float | None,
    path: str,
    size: int,
    timeout: float,
    keepalive: bool,
    processes: int,
    cpu: int | None,
) -> LoadResult:
    processes = min(processes, clients)
    procs = []
    for i in range(processes):
        share = clients // processes + (i < clients % processes)
        argv = [
            sys.executable,
            "-m",
            "minireactor.lab",
            "load",
            address[0],
            str(address[1]),
            "--protocol",
            protocol,
            "--clients",
            str(share),
            "--duration",
            str(duration),
            "--path",
            path,
            "--size",
            str(size),
            "--timeout",
            str(timeout),
        ]
        if rate is not None:
            argv += ["--rate", str(rate / processes)]
        if not keepalive:
            argv.append("--no-keepalive")
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, env=child_env()))
    result = LoadResult(protocol, 0, duration, None if rate is None else 0.0)
    for proc in procs:
        out, _ = proc.communicate(timeout=duration + timeout + 60)
        if proc.returncode != 0:
            raise LabError(f"a load generator process failed (exit code {proc.returncode})")
        data = json.loads(out)
        result.merge(LoadResult(**data))
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of one generator process: prints its LoadResult as JSON."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab load")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--protocol", default="http")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--path", default="/")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--no-keepalive", action="store_true")
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args(argv)
    from .servers import pin

    pin(args.cpu)
    result = load(
        (args.host, args.port),
        args.protocol,
        args.clients,
        args.duration,
        args.rate,
        path=args.path,
        size=args.size,
        timeout=args.timeout,
        keepalive=not args.no_keepalive,
        processes=0,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
