"""Soak: a bounded mixed load on one reactor, checked for loss, leaks and growth.

    python -m benchmarks.soak                    # 60 s on every backend
    python -m benchmarks.soak --seconds 10 --backends epoll

One reactor serves and drives, at the same time and for a fixed time:

* echo clients sending random payloads (1 B to 256 KiB) and checking the
  SHA-256 of what comes back, so any byte lost, duplicated or reordered is
  caught;
* HTTP/1.1 keep-alive clients (minireactor's client and server), checking
  every status and body;
* churn: clients that connect, send a line and close, as fast as they can.

At the end it checks: zero errors, every byte accounted for, the process's
descriptors back to their count before the run, and memory (RSS) not
growing once warm (the second half of the run against the first). The test
suite runs a 5-second version of this on every backend
(tests/test_hardening.py); figures from long runs go in RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from minireactor import ClientFactory, Factory, Protocol, Reactor, available_backends
from minireactor.protocols.http import server_factory
from minireactor.protocols.http_client import HTTPClient
from minireactor.protocols.http_messages import Response


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class SoakResult:
    backend: str
    seconds: float
    echo_rounds: int = 0
    echo_bytes: int = 0
    http_requests: int = 0
    churn_connections: int = 0
    errors: list[str] = field(default_factory=list)
    fds_before: int = 0
    fds_after: int = 0
    rss_warm: int = 0
    rss_end: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.fds_after == self.fds_before


class Echo(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class EchoClient(Protocol):
    """Sends a random payload, checks the echo's digest, repeats until told to stop."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.rng = random.Random(soak.rng.random())

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        size = self.rng.choice([1, 100, 1024, 16 * 1024, 256 * 1024])
        payload = self.rng.randbytes(size)
        self.expected, self.remaining, self.size = hashlib.sha256(payload).digest(), size, size
        self.got = hashlib.sha256()
        self.transport.write(payload)

    def data_received(self, data: bytes) -> None:
        if len(data) > self.remaining:
            self.soak.error(f"echo: {len(data) - self.remaining} bytes more than sent")
        self.got.update(data)
        self.remaining -= len(data)
        if self.remaining <= 0:
            if self.got.digest() != self.expected:
                self.soak.error("echo: payload came back different")
            self.soak.result.echo_rounds += 1
            self.soak.result.echo_bytes += self.size
            if self.soak.running:
                self.send()
            else:
                self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if exc is not None or self.soak.running:
            self.soak.error(f"echo connection lost early: {exc!r}")
        self.soak.finished()


class Churn(Protocol):
    def connection_made(self, transport: Any) -> None:
        transport.write(b"hello\n")
        transport.close()


class Soak:
    """Drives one reactor through the mixed load for `seconds`."""

    def __init__(self, reactor: Reactor, seconds: float, seed: int = 1) -> None:
        self.reactor = reactor
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.running = True
        self.pending = 0  # clients that must finish before we stop
        self.result = SoakResult(reactor.backend_name, seconds)

    def error(self, message: str) -> None:
        if len(self.result.errors) < 20:
            self.result.errors.append(message)

    def finished(self) -> None:
        self.pending -= 1
        if not self.running and self.pending <= 0:
            self.reactor.stop()

    def start(self, echo_clients: int = 10, http_clients: int = 5) -> None:
        r = self.reactor
        echo = r.listen_tcp(0, Factory.for_protocol(Echo))
        http = r.listen_tcp(0, server_factory(self.hello, clock=r))
        churn = r.listen_tcp(0, Factory.for_protocol(Echo))
        self.ports = [echo, http, churn]
        client_factory = ClientFactory.for_protocol(EchoClient, self)
        for _ in range(echo_clients):
            self.pending += 1
            r.connect_tcp(*echo.address, client_factory)
        self.http = HTTPClient(r, timeout=10.0)
        self.base = f"http://{http.address[0]}:{http.address[1]}"
        for i in range(http_clients):
            self.pending += 1
            self.get(i)
        self.churn_address = churn.address
        self.churn()
        r.call_later(self.seconds / 2, self.warm)
        r.call_later(self.seconds, self.wind_down)

    def hello(self, request: Any) -> Response:
        return Response(200, body=b"hello " + request.path.encode())

    def get(self, i: int) -> None:
        path = f"/item/{self.rng.randrange(10**6)}"
        d = self.http.get(self.base + path)

        def check(response: Response) -> None:
            if response.status != 200 or response.body != b"hello " + path.encode():
                self.error(f"http: {response.status} {response.body[:40]!r}")
            self.result.http_requests += 1

        d.add_callbacks(check, lambda f: self.error(f"http: {f!r}"))
        d.add_both(lambda _: self.get(i) if self.running else self.finished())

    def churn(self) -> None:
        if not self.running:
            return
        self.result.churn_connections += 1
        self.reactor.connect_tcp(*self.churn_address, ClientFactory.for_protocol(Churn))
        self.reactor.call_later(0.002, self.churn)

    def warm(self) -> None:
        self.result.rss_warm = rss_bytes()

    def wind_down(self) -> None:
        self.running = False
        self.result.rss_end = rss_bytes()
        # Echo clients close after their current round; HTTP loops end after
        # their current request. A deadline makes sure a bug cannot hang us.
        self.reactor.call_later(10.0, self.timeout)

    def timeout(self) -> None:
        self.error(f"{self.pending} clients did not finish within 10 s of the end")
        self.reactor.stop()


def run_soak(backend: str, seconds: float, seed: int = 1) -> SoakResult:
    """Run the soak on `backend` for `seconds`; returns what was counted."""
    fds_before = open_fds()
    reactor = Reactor(backend=backend)
    soak = Soak(reactor, seconds, seed)
    reactor.call_when_running(soak.start)
    reactor.run()
    soak.http.close()
    soak.result.fds_before = fds_before
    soak.result.fds_after = open_fds()
    return soak.result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backends", default=",".join(available_backends()))
    parser.add_argument("--json", action="store_true", help="one JSON object per backend")
    args = parser.parse_args(argv)
    failed = False
    for backend in args.backends.split(","):
        result = run_soak(backend, args.seconds)
        failed |= not result.ok
        if args.json:
            print(json.dumps(asdict(result) | {"ok": result.ok}))
            continue
        growth = (result.rss_end - result.rss_warm) / 2**20
        print(
            f"{backend:9} {result.seconds:5.0f} s  echo {result.echo_rounds:7d} rounds "
            f"{result.echo_bytes / 2**20:8.1f} MiB  http {result.http_requests:7d}  "
            f"churn {result.churn_connections:6d}  errors {len(result.errors)}  "
            f"fds {result.fds_before}->{result.fds_after}  RSS growth once warm {growth:+.1f} MiB"
        )
        for error in result.errors:
            print("   ", error)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
