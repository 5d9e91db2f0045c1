"""Fault injection, measured: slow clients and shutdown under load.

    python -m benchmarks.faults                  # every backend
    python -m benchmarks.faults --backends epoll --slow 500 --connections 1000
    python -m benchmarks.faults --only slow_bodies --backends epoll

Each experiment injects one fault into a real reactor on loopback and
measures the outcome RELIABILITY.md reports:

* `slowloris`: N connections trickle an HTTP request head one byte a
  second while a normal client sends requests; we measure the normal
  client's latency (p50, p99, max) and check that the header timeout cut
  every slow connection off.
* `slow_bodies`: N connections send a request head at once, then trickle
  its body one byte a second ("slow POST"); we measure the normal client's
  latency and when each slow connection got its 408, which the body
  deadline (`ServerLimits.body_timeout` plus 1 s per `body_min_rate` bytes)
  must send then: not before, and not much later.
* `shutdown_under_load`: `stop()` with N open connections, each of which
  has just written 200 KiB and called `close()` (a promise to flush),
  1,000 pending timers and a busy thread; we measure how long shutdown
  takes and check that every byte promised was delivered.

tests/test_hardening.py runs both with assertions; this command prints the
figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import selectors
import socket
import statistics
import threading
import time
from typing import Any

from minireactor import Factory, Protocol, Reactor, available_backends
from minireactor.protocols.http import server_factory
from minireactor.protocols.http_client import HTTPClient
from minireactor.protocols.http_messages import Response
from minireactor.tcp import TCPTransport


def _connections(reactor: Reactor) -> int:
    """How many TCP connections `reactor` owns now (ports and helpers not counted)."""
    return sum(isinstance(r, TCPTransport) for r in reactor.lifecycle.owned())


def connection_budget(backend: str, wanted: int) -> int:
    """select(2) cannot watch descriptors past 1024: use fewer connections there.

    That is the select backend, and the tk backend's native mode too (Tcl's
    notifier is select(2)).
    """
    return min(wanted, 400) if backend in ("select", "tk") else wanted


def _spin(reactor: Reactor, until: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        reactor.iterate(0.05)


def _normal_client(reactor: Reactor, port: int, requests: int) -> tuple[list[float], list[Any]]:
    """A well-behaved client's `requests` GETs, one after another 0.1 s apart, beside the attack.

    Returns their latencies in seconds and any failures (it stops at the
    first); the client's connection is closed when they are done.
    """
    client = HTTPClient(reactor, timeout=5.0)
    latencies: list[float] = []
    failures: list[Any] = []
    url = f"http://127.0.0.1:{port}/"

    def one() -> None:
        began = time.monotonic()
        d = client.get(url)
        d.add_callbacks(lambda r: latencies.append(time.monotonic() - began), failures.append)
        d.add_both(lambda _: reactor.call_later(0.1, one) if len(latencies) < requests else None)

    one()
    _spin(reactor, lambda: len(latencies) >= requests or bool(failures), 60)
    client.close()
    return latencies, failures


def _latency_ms(latencies: list[float]) -> dict[str, float | None]:
    """The normal client's p50, p99 and worst latency in ms (None without requests)."""
    ordered = sorted(latencies)
    if not ordered:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "max_ms": 1000 * ordered[-1],
    }


def raise_fd_limit(wanted: int) -> None:
    """Raise RLIMIT_NOFILE's soft limit to `wanted` (as far as the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


class _CutOffWatch:
    """Watches client sockets from a thread: when each got its first byte, and what."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.first: dict[int, tuple[float, bytes]] = {}  # fileno -> (time, first bytes)
        self._sockets = sockets
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:
            for s in self._sockets:
                sel.register(s, selectors.EVENT_READ)
            while not self._stop.is_set() and len(sel.get_map()):
                for key, _ in sel.select(0.1):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""  # a reset: recorded as a cut-off with no answer
                    self.first.setdefault(key.fd, (time.monotonic(), data))
                    if not data or data.startswith(b"HTTP/"):
                        sel.unregister(sock)  # the answer (or the close) came: done

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def slowloris(
    backend: str, slow: int = 500, requests: int = 25, header_timeout: float = 2.0
) -> dict[str, Any]:
    """A normal client's latency while `slow` connections trickle a header.

    Records when each slow connection got its 408, from the moment its first
    byte went out: the header deadline must answer then, not later.
    """
    slow = connection_budget(backend, slow)
    raise_fd_limit(2 * slow + 256)
    reactor = Reactor(backend=backend)
    sockets: list[socket.socket] = []
    try:
        app = server_factory(
            lambda request: Response(200, body=b"ok"), clock=reactor, header_timeout=header_timeout
        )
        port = reactor.listen_tcp(0, app, backlog=1024)
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        for _ in range(slow):
            s = socket.create_connection(port.address)
            s.setblocking(False)
            sockets.append(s)
        sent = [0]
        watch = _CutOffWatch(sockets)
        started = time.monotonic()  # the first byte goes out now, to every connection

        def trickle() -> None:  # one byte per connection per second
            for s in sockets:
                with contextlib.suppress(OSError):  # cut off by the server: as it should be
                    s.send(head[sent[0] : sent[0] + 1])
            sent[0] += 1
            if sent[0] < len(head):
                reactor.call_later(1.0, trickle)

        trickle()
        # Slowloris is about trickling, not the connect burst: measure once
        # the server holds every slow connection.
        _spin(reactor, lambda: _connections(reactor) >= slow, 30)
        latencies, failures = _normal_client(reactor, port.address[1], requests)
        _spin(reactor, lambda: sent[0] > header_timeout + 2, 30)
        watch.stop()
        cut = [when - started for when, _ in watch.first.values()]
        answered_408 = sum(data.startswith(b"HTTP/1.1 408") for _, data in watch.first.values())
        return {
            "backend": backend,
            "slow_connections": slow,
            "requests": len(latencies),
            "failures": len(failures),
            **_latency_ms(latencies),
            "slow_cut_off": len(cut),
            "answered_408": answered_408,
            "cut_min_s": min(cut) if cut else None,
            "cut_max_s": max(cut) if cut else None,
        }
    finally:
        for s in sockets:
            s.close()
        reactor.close()


def slow_bodies(
    backend: str,
    slow: int = 500,
    requests: int = 25,
    body_timeout: float = 2.0,
    min_rate: float = 500.0,
    trickle_for: float | None = None,
) -> dict[str, Any]:
    """A normal client's latency while `slow` connections trickle a request body.

    Each slow connection's 408 must come `body_timeout` s (plus 1 s per
    `min_rate` bytes received, a few ms here) after its head: we record
    when, from the moment its head was sent. The trickle goes on for
    `trickle_for` s (default: twice the deadline), so a deadline that each
    byte moved later would show as connections never cut off.
    """
    slow = connection_budget(backend, slow)
    raise_fd_limit(2 * slow + 256)
    trickle_for = 2 * body_timeout + 2 if trickle_for is None else trickle_for
    reactor = Reactor(backend=backend)
    sockets: list[socket.socket] = []
    watch: _CutOffWatch | None = None
    try:
        app = server_factory(
            lambda request: Response(200, body=b"ok"),
            clock=reactor,
            idle_timeout=trickle_for + 10,  # only the body deadline may cut them off
            body_timeout=body_timeout,
            body_min_rate=min_rate,
        )
        port = reactor.listen_tcp(0, app, backlog=1024)
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        for _ in range(slow):
            s = socket.create_connection(port.address)
            s.setblocking(False)
            sockets.append(s)
        _spin(reactor, lambda: _connections(reactor) >= slow, 30)
        watch = _CutOffWatch(sockets)
        head_sent: dict[int, float] = {}
        for s in sockets:
            s.send(head)
            head_sent[s.fileno()] = time.monotonic()
        start = time.monotonic()

        def trickle() -> None:  # one body byte per connection per second
            for s in sockets:
                if s.fileno() not in watch.first:
                    with contextlib.suppress(OSError):  # cut off by the server: as it should be
                        s.send(b"x")
            if time.monotonic() - start < trickle_for:
                reactor.call_later(1.0, trickle)

        reactor.call_later(1.0, trickle)
        latencies, failures = _normal_client(reactor, port.address[1], requests)
        _spin(
            reactor,
            lambda: len(watch.first) >= slow or time.monotonic() - start > trickle_for,
            trickle_for + 30,
        )
        watch.stop()
        cut = [when - head_sent[fd] for fd, (when, _) in watch.first.items()]
        answered_408 = sum(data.startswith(b"HTTP/1.1 408") for _, data in watch.first.values())
        return {
            "backend": backend,
            "slow_connections": slow,
            "requests": len(latencies),
            "failures": len(failures),
            **_latency_ms(latencies),
            "body_timeout_s": body_timeout,
            "slow_cut_off": len(cut),
            "answered_408": answered_408,
            "cut_min_s": min(cut) if cut else None,
            "cut_max_s": max(cut) if cut else None,
        }
    finally:
        if watch is not None:
            watch.stop()
        for s in sockets:
            s.close()
        reactor.close()


class Goodbye(Protocol):
    """Writes a large answer, then close(): which promises to flush it."""

    size = 200 * 1024

    def connection_made(self, transport: Any) -> None:
        transport.write(b"x" * self.size)
        transport.close()


def shutdown_under_load(backend: str, connections: int = 1000) -> dict[str, Any]:
    """Time `stop()` with many connections flushing, timers pending and a thread busy."""
    count = connection_budget(backend, connections)
    reactor = Reactor(backend=backend, shutdown_timeout=10.0)
    port = reactor.listen_tcp(0, Factory.for_protocol(Goodbye), backlog=1024)
    clients = []
    for _ in range(count):
        c = socket.create_connection(port.address)
        c.setblocking(False)
        clients.append(c)
    for i in range(1000):
        reactor.call_later(1000 + i, print, "never")  # must not delay shutdown
    release = threading.Event()
    reactor.call_in_thread(release.wait, 2.0)  # a busy worker thread
    _spin(reactor, lambda: _connections(reactor) == count, 30)
    received = {c.fileno(): 0 for c in clients}
    finished: set[int] = set()

    def read_all() -> None:
        # The clients start reading only now, while the reactor shuts down:
        # what close() buffered must still arrive.
        with selectors.DefaultSelector() as sel:
            for c in clients:
                sel.register(c, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while len(finished) < count and time.monotonic() < deadline:
                for key, _ in sel.select(1.0):
                    data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                    if data:
                        received[key.fd] += len(data)
                    else:
                        finished.add(key.fd)
                        sel.unregister(key.fileobj)

    reader = threading.Thread(target=read_all)
    reactor.call_soon(reactor.stop)
    start = time.monotonic()
    reader.start()
    reactor.run()
    took = time.monotonic() - start
    reader.join()
    release.set()
    for c in clients:
        c.close()
    return {
        "backend": backend,
        "connections": count,
        "shutdown_s": took,
        "closed_cleanly": len(finished),
        "all_bytes_delivered": all(n == Goodbye.size for n in received.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(available_backends()))
    parser.add_argument("--slow", type=int, default=500, help="trickling connections")
    parser.add_argument("--connections", type=int, default=1000, help="for shutdown")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only", choices=["slowloris", "slow_bodies", "shutdown"], help="run one experiment"
    )
    args = parser.parse_args(argv)
    experiments = {
        "slowloris": lambda backend: slowloris(backend, args.slow),
        "slow_bodies": lambda backend: slow_bodies(backend, args.slow),
        "shutdown": lambda backend: shutdown_under_load(backend, args.connections),
    }
    chosen = [args.only] if args.only else list(experiments)
    for backend in args.backends.split(","):
        for result in (experiments[name](backend) for name in chosen):
            print(
                json.dumps(result)
                if args.json
                else "  ".join(f"{k}={_fmt(v)}" for k, v in result.items())
            )
    return 0


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
