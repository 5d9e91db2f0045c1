"""Faults and overload on every backend: soak, shutdown under load, slow clients.

Each test here injects one fault and checks the outcome the reliability
report (RELIABILITY.md) promises. Counts are bounded, traffic stays on
loopback, and nothing waits on wall-clock speed except with wide margins.
"""

from __future__ import annotations

import selectors
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import open_fds, spin

from minireactor import Factory, Protocol, Reactor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.soak import run_soak  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def connection_budget(backend: str, wanted: int) -> int:
    """select(2) cannot watch descriptors past 1024: use fewer connections there."""
    return min(wanted, 400) if backend == "select" else wanted


def test_soak_5_seconds_mixed_load(backend: str) -> None:
    result = run_soak(backend, seconds=5.0)
    assert result.errors == []
    assert result.echo_rounds > 50 and result.http_requests > 50 and result.churn_connections > 50
    assert result.fds_after == result.fds_before
    assert result.rss_end - result.rss_warm < 8 * 2**20  # not growing once warm


class Goodbye(Protocol):
    """Writes a large answer, then close(): which promises to flush it."""

    size = 200 * 1024

    def connection_made(self, transport: Any) -> None:
        transport.write(b"x" * self.size)
        transport.close()


def test_stop_with_many_connections_and_timers_is_bounded_and_flushes(backend: str) -> None:
    count = connection_budget(backend, 1000)
    before = open_fds()
    reactor = Reactor(backend=backend, shutdown_timeout=10.0)
    port = reactor.listen_tcp(0, Factory.for_protocol(Goodbye), backlog=1024)
    clients = []
    for _ in range(count):
        c = socket.create_connection(port.address)
        c.setblocking(False)
        clients.append(c)
    for i in range(1000):
        reactor.call_later(1000 + i, print, "never")  # pending timers must not delay shutdown
    spin(reactor, lambda: len(reactor._connections) == count, 30)
    received = {c.fileno(): 0 for c in clients}
    eof: set[int] = set()

    def read_all() -> None:
        # The clients read only now, while the reactor shuts down: what close()
        # buffered must still arrive.
        sel = selectors.DefaultSelector()
        for c in clients:
            sel.register(c, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while len(eof) < count and time.monotonic() < deadline:
            for key, _ in sel.select(1.0):
                data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                if data:
                    received[key.fd] += len(data)
                else:
                    eof.add(key.fd)
                    sel.unregister(key.fileobj)
        sel.close()

    reader = threading.Thread(target=read_all)
    reactor.call_soon(reactor.stop)
    start = time.monotonic()
    reader.start()
    reactor.run()
    took = time.monotonic() - start
    reader.join()
    for c in clients:
        c.close()
    assert took < 10.0  # bounded by shutdown_timeout, not by the timers
    assert len(eof) == count
    assert all(n == Goodbye.size for n in received.values())
    assert open_fds() == before


def test_slowloris_does_not_starve_a_normal_client(backend: str) -> None:
    from minireactor.protocols.http import server_factory
    from minireactor.protocols.http_client import HTTPClient
    from minireactor.protocols.http_messages import Response

    trickling = connection_budget(backend, 500)
    reactor = Reactor(backend=backend)
    try:
        port = reactor.listen_tcp(
            0,
            server_factory(
                lambda request: Response(200, body=b"ok"), clock=reactor, header_timeout=2.0
            ),
            backlog=1024,
        )
        request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 100
        slow = []
        for _ in range(trickling):
            s = socket.create_connection(port.address)
            s.setblocking(False)
            slow.append(s)
        sent = [0]

        def trickle() -> None:  # one byte per connection per second
            for s in slow:
                try:
                    s.send(request[sent[0] : sent[0] + 1])
                except OSError:
                    pass  # cut off by the server: what we expect after 2 s
            sent[0] += 1
            if sent[0] < len(request):
                reactor.call_later(1.0, trickle)

        trickle()
        # Slowloris is about trickling, not the connect burst: measure once
        # the server holds every slow connection.
        spin(reactor, lambda: len(reactor._connections) >= trickling, 30)
        client = HTTPClient(reactor, timeout=5.0)
        latencies: list[float] = []
        failures: list[Any] = []
        url = f"http://127.0.0.1:{port.address[1]}/"

        def one() -> None:
            start = reactor.seconds()
            d = client.get(url)
            d.add_callbacks(lambda r: latencies.append(reactor.seconds() - start), failures.append)
            d.add_both(lambda _: reactor.call_later(0.1, one) if len(latencies) < 25 else None)

        one()
        spin(reactor, lambda: len(latencies) >= 25 or bool(failures), 30)
        assert not failures
        assert max(latencies) < 1.0  # served promptly throughout
        # ...and the trickling connections were cut off by the header timeout.
        spin(reactor, lambda: sent[0] >= 4, 10)
        closed = 0
        for s in slow:
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                closed += 1
                continue
            closed += data == b"" or data.startswith(b"HTTP/1.1 408")
        assert closed == trickling
        client.close()
        for s in slow:
            s.close()
    finally:
        reactor.close()
