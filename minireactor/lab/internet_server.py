"""The local internet's server: what runs in the child process `internet()` starts.

`serve_forever(config)` is a minireactor `Reactor` serving `SiteProtocol`
(an `HTTPServerProtocol`) until SIGINT/SIGTERM, or until stdin closes.
`Site` decides each answer with `pages.fate` and keeps the statistics;
latency is a `reactor.call_later` per request, not a sleeping thread, so
2,000 slow requests cost 2,000 timers and 2,000 sockets, nothing more.
`Throttle` wraps a transport to play a slow link (`bandwidth`). Control
endpoints (not counted in the statistics): `/_stats`, `/_log`, `/_reset`,
`/_config`.

It sits between `pages.py`, the model it plays, and `internet.py`, which
starts it in a subprocess and holds the handle the parent uses.

Read next: `fetch.py`, the strategies that download from it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any

from ..protocols.http import HTTPServerProtocol, Request, Response, ServerLimits
from ..reactor import Reactor
from .pages import SiteConfig, fate, page_body, page_number
from .procs import raise_fd_limit

__all__ = ["Exchange", "Site", "SiteProtocol", "Throttle", "serve_forever"]


class Throttle:
    """A transport wrapper that sends at most `rate` bytes per second.

    Composition, not inheritance: it wraps any transport (as TLS would) and
    hands each write to the real transport in slices, one slice per tick.
    The protocol above cannot tell the difference, except that big pages
    take `size / rate` seconds to arrive, as on a slow link.
    """

    TICK = 0.01

    def __init__(self, transport: Any, rate: float, reactor: Reactor) -> None:
        self._inner = transport
        self._reactor = reactor
        self._per_tick = max(1, int(rate * self.TICK))
        self._queue = bytearray()
        self._closing = False
        self._timer: Any = None

    def write(self, data: bytes) -> None:
        self._queue += data
        if self._timer is None:
            self._pump()

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def _pump(self) -> None:
        self._timer = None
        chunk = bytes(self._queue[: self._per_tick])
        del self._queue[: self._per_tick]
        self._inner.write(chunk)
        if self._queue:
            self._timer = self._reactor.call_later(self.TICK, self._pump)
        elif self._closing:
            self._inner.close()

    def close(self) -> None:
        self._closing = True
        if not self._queue:
            self._inner.close()

    def abort(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._inner.abort()

    def is_closing(self) -> bool:
        return self._closing or bool(self._inner.is_closing())

    def pause_reading(self) -> None:
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        self._inner.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)


@dataclass
class Exchange:
    """One request as the server saw it (times on the system-wide monotonic clock)."""

    path: str
    start: float
    end: float | None = None
    outcome: str = "pending"  # ok, 500, reset, timeout, 404, or "gone" (client left first)
    timer: Any = None


class Site:
    """Decides and schedules the answer to each request; keeps the statistics."""

    def __init__(self, config: SiteConfig, reactor: Reactor) -> None:
        self.config = config
        self.reactor = reactor
        self.reset()

    def reset(self) -> None:
        self.served = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.outcomes: dict[str, int] = {}
        self.log: list[Exchange] = []

    def stats(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "requests": len(self.log),
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "outcomes": dict(self.outcomes),
        }

    def handle(self, proto: SiteProtocol, request: Request) -> Response | None:
        path = request.target.split("?", 1)[0]
        if path.startswith("/_"):
            return self._control(path)
        ex = Exchange(path, self.reactor.seconds())
        self.log.append(ex)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        number = page_number(path)
        if number is None:
            self.finish(ex, "404")
            return Response(404, body=f"no page at {path}; try /site/0\n")
        f = fate(self.config, path)
        proto.exchanges.append(ex)
        if f.kind == "ok":
            body = page_body(self.config, number)
            ex.timer = self.reactor.call_later(f.delay, self._answer, proto, request, ex, body)
        elif f.kind == "500":
            ex.timer = self.reactor.call_later(f.delay, self._fail_500, proto, request, ex)
        elif f.kind == "reset":
            ex.timer = self.reactor.call_later(f.delay, self._reset, proto, ex)
        # "timeout": never answer; the exchange ends when the client gives up.
        return None

    def finish(self, ex: Exchange, outcome: str) -> None:
        if ex.end is not None:
            return
        ex.end = self.reactor.seconds()
        ex.outcome = outcome
        self.in_flight -= 1
        self.served += outcome != "gone"
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _answer(self, proto: SiteProtocol, request: Request, ex: Exchange, body: bytes) -> None:
        self.finish(ex, "ok")
        proto.exchanges.remove(ex)
        request.respond(Response(200, {"Content-Type": "text/html; charset=utf-8"}, body))

    def _fail_500(self, proto: SiteProtocol, request: Request, ex: Exchange) -> None:
        self.finish(ex, "500")
        proto.exchanges.remove(ex)
        request.respond(Response(500, body=b"internal server error (seeded)\n"))

    def _reset(self, proto: SiteProtocol, ex: Exchange) -> None:
        self.finish(ex, "reset")
        proto.exchanges.remove(ex)
        transport = proto.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger on, timeout zero: close() sends RST instead of FIN, so
            # the client sees "connection reset by peer", as from a crashed server.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def _control(self, path: str) -> Response:
        if path == "/_stats":
            data: Any = self.stats()
        elif path == "/_log":
            data = [[e.path, e.start, e.end, e.outcome] for e in self.log]
        elif path == "/_reset":
            self.reset()
            data = {"reset": True}
        elif path == "/_config":
            data = self.config.to_dict()
        else:
            return Response(404, body=b"control endpoints: /_stats /_log /_reset /_config\n")
        return Response(200, {"Content-Type": "application/json"}, json.dumps(data))


class SiteProtocol(HTTPServerProtocol):
    """The HTTP server protocol, plus bookkeeping for requests still waiting."""

    def __init__(self, site: Site) -> None:
        # No idle or header timeouts: only lab clients connect, and each timer
        # costs a little on every connection of a 2,000-connection burst.
        limits = ServerLimits(idle_timeout=None, header_timeout=None)
        super().__init__(
            self._handle, clock=site.reactor, limits=limits, server_header="minireactor-lab"
        )
        self.site = site
        self.exchanges: list[Exchange] = []

    def _handle(self, request: Request) -> Response | None:
        return self.site.handle(self, request)

    def connection_made(self, transport: Any) -> None:
        bandwidth = self.site.config.bandwidth
        if bandwidth is not None:
            transport = Throttle(transport, bandwidth, self.site.reactor)
        super().connection_made(transport)

    def eof_received(self) -> bool | None:
        # Our clients never half-close while waiting: EOF means they gave up
        # (timed out). Stop the work and close, so "in flight" stays honest.
        self._abandon()
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._abandon()
        super().connection_lost(exc)

    def _abandon(self) -> None:
        for ex in self.exchanges:
            if ex.timer is not None and ex.timer.active():
                ex.timer.cancel()
            self.site.finish(ex, "gone")
        self.exchanges.clear()


class _SiteFactory:
    def __init__(self, site: Site) -> None:
        self.site = site

    def build_protocol(self, addr: Any) -> SiteProtocol:
        return SiteProtocol(self.site)


def serve_forever(
    config: SiteConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    backend: str = "auto",
    announce: Any = None,
    watch_stdin: bool = False,
) -> None:
    """Run the local internet in this process until SIGINT/SIGTERM (or stdin closes).

    Args:
        announce: called with the bound (host, port) once accepting.
        watch_stdin: stop when stdin reaches end of file (set by `internet()`).
    """
    raise_fd_limit()
    reactor = Reactor(backend=backend)
    site = Site(config, reactor)
    listening = reactor.listen_tcp(port, _SiteFactory(site), interface=host, backlog=4096)

    def stop(*_: Any) -> None:
        reactor.call_from_thread(reactor.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if watch_stdin:

        def stdin_ready() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                reactor.remove_reader(sys.stdin.fileno())
                reactor.stop()

        reactor.add_reader(sys.stdin.fileno(), stdin_ready)
    if announce is not None:
        announce(listening.address)
    reactor.run()
