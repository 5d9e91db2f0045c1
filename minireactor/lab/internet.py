"""Internet in a box: a local HTTP/1.1 server that plays "the internet", reproducibly.

`internet(seed=1, latency=0.1, error_rate=0.1)` starts a server on loopback
whose pages (`/site/0`, `/site/1`, ...) answer slowly, fail sometimes, and
link to each other, all decided by `pages.py` from the seed and the path.
Every fetch strategy in the lab runs against it, so runs are comparable and
repeatable, unlike the real internet.

How it is built, and why:

* It is a minireactor `Reactor` serving `HTTPServerProtocol`; latency is a
  `reactor.call_later` per request, not a sleeping thread, so 2,000 slow
  requests cost 2,000 timers and 2,000 sockets, nothing more.
* It runs in its own **subprocess** (`python -m minireactor.lab.internet`).
  In a thread, it would share the GIL with the code being measured: a
  thread-pool fetcher with 100 threads would slow the server down and we
  would measure ourselves. A process has its own interpreter and, on a
  multi-core machine, its own CPU. The monotonic clock is system-wide, so
  server and client timestamps can be compared directly.
* The subprocess stops when its stdin closes, so it never outlives the
  program that started it.

Control endpoints (not counted in the statistics): `/_stats`, `/_log`,
`/_reset`, `/_config`.

Read next: `fetch.py`, the strategies that download from it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..protocols.http import HTTPServerProtocol, Request, Response, ServerLimits
from ..reactor import Reactor
from .pages import SiteConfig, fate, page_body, page_number
from .procs import Child, LabError, raise_fd_limit, start_child

__all__ = ["Internet", "internet", "serve_forever"]


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


class Internet:
    """A handle on a running local internet (see `internet()`)."""

    def __init__(self, base_url: str, config: SiteConfig, child: Child | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config
        self._child = child

    @classmethod
    def attach(cls, base_url: str, timeout: float = 5.0) -> Internet:
        """A handle on a local internet someone else started (reads its /_config)."""
        try:
            data = _get_json(base_url.rstrip("/") + "/_config", timeout)
        except (OSError, ValueError) as exc:
            raise LabError(
                f"no local internet answers at {base_url} ({exc}); start one with: "
                f"minireactor internet"
            ) from None
        data["errors"] = tuple(data["errors"])
        return cls(base_url, SiteConfig(**data))

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.base_url.split("//", 1)[1].rpartition(":")
        return host, int(port)

    def urls(self, n: int, start: int = 0) -> list[str]:
        """`n` distinct page URLs: /site/start ... /site/start+n-1."""
        return [f"{self.base_url}/site/{i}" for i in range(start, start + n)]

    def fate(self, url: str) -> Any:
        """What the server will do with `url` (a `pages.Fate`), without asking it."""
        return fate(self.config, "/" + url.split("//", 1)[-1].split("/", 1)[-1])

    def body(self, url: str) -> bytes:
        """The body a successful fetch of `url` returns."""
        number = page_number("/" + url.split("//", 1)[-1].split("/", 1)[-1])
        if number is None:
            raise ValueError(f"{url} is not a page of this internet (/site/N)")
        return page_body(self.config, number)

    def stats(self) -> dict[str, Any]:
        """Server-side counts: served, requests, in_flight, peak_in_flight, outcomes."""
        return dict(_get_json(self.base_url + "/_stats"))

    def log(self) -> list[Exchange]:
        """Every request since the last reset, with server-side start and end times."""
        rows = _get_json(self.base_url + "/_log")
        return [Exchange(path, start, end, outcome) for path, start, end, outcome in rows]

    def reset(self) -> None:
        """Zero the statistics (between runs)."""
        _get_json(self.base_url + "/_reset")

    def __repr__(self) -> str:
        return f"<Internet {self.base_url} {self.config}>"


def _get_json(url: str, timeout: float = 10.0) -> Any:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return json.loads(response.read())


def _cli_args(config: SiteConfig, host: str, port: int, backend: str) -> list[str]:
    args = ["--host", host, "--port", str(port), "--backend", backend]
    for key, value in config.to_dict().items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        args += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return args


@contextmanager
def internet(
    seed: int = 1,
    latency: float | str = 0.1,
    error_rate: float = 0.0,
    size: int = 2048,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    bandwidth: float | None = None,
    errors: tuple[str, ...] | list[str] | str = ("500", "reset", "timeout"),
    sites: int = 1000,
    links: int = 5,
    backend: str = "auto",
) -> Iterator[Internet]:
    """Start a local internet in a subprocess; stop it on leaving the block.

    Example::

        with internet(seed=1, latency="exp:0.1", error_rate=0.1) as net:
            report = fetch_all(net.urls(100), strategy="asyncio")

    Raises:
        ValueError: a bad setting (the message says which and why).
        LabError: the server could not start (for example, the port is taken).
    """
    if isinstance(errors, str):
        errors = tuple(e for e in errors.split(",") if e)
    config = SiteConfig(seed, latency, error_rate, tuple(errors), size, bandwidth, sites, links)
    argv = [
        sys.executable,
        "-m",
        "minireactor.lab",
        "internet",
        *_cli_args(config, host, port, backend),
    ]
    with start_child(argv, "local internet") as child:
        yield Internet(f"http://{child.address[0]}:{child.address[1]}", config, child)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `minireactor internet` (also used by the subprocess)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--latency", default="0.1", help="seconds, or uniform:A:B, exp:M, pareto:S:A"
    )
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--errors", default="500,reset,timeout", help="kinds of failure to mix")
    parser.add_argument("--size", type=int, default=2048, help="page size in bytes, exactly")
    parser.add_argument("--bandwidth", type=float, default=None, help="bytes/s per response")
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--links", type=int, default=5)
    parser.add_argument("--backend", default="auto")


def config_from_args(args: argparse.Namespace) -> SiteConfig:
    latency: float | str = args.latency
    with contextlib.suppress(ValueError):  # not a number: a spec that SiteConfig checks
        latency = float(args.latency)
    errors = tuple(e for e in str(args.errors).split(",") if e)
    return SiteConfig(
        args.seed,
        latency,
        args.error_rate,
        errors,
        args.size,
        args.bandwidth,
        args.sites,
        args.links,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess started by `internet()`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab internet")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)

        def announce(address: tuple[str, int]) -> None:
            print(f"READY {address[0]} {address[1]}", flush=True)

        serve_forever(config, args.host, args.port, args.backend, announce, watch_stdin=True)
    except (OSError, ValueError) as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
