"""The reactor's hot path in one process: echo round trips over socketpairs.

Ten socketpairs on one Reactor: one end of each echoes, the other sends 1 KiB
and sends again when all of it has come back, until N round trips are done.
No load client, no second process: what is measured is the loop core (wait,
dispatch), the TCP transport (recv, send) and the two protocols. Its use is
instruction counts, which a busy machine does not disturb:

    valgrind --tool=callgrind python -m benchmarks.hot_path 2000
    valgrind --tool=callgrind python -m benchmarks.hot_path 10000

(difference of the two totals) / 8000 = instructions per round trip. Without
valgrind it prints the CPU time per round trip, for a rough look.
"""

from __future__ import annotations

import argparse
import socket
import time
from typing import Any

from minireactor import Protocol, Reactor
from minireactor.tcp import TCPTransport

MESSAGE = b"x" * 1024
PAIRS = 10


class Echo(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Ping(Protocol):
    """Sends MESSAGE, waits for all of it, sends again; stops the reactor after the last."""

    def __init__(self, reactor: Reactor, left: list[int]) -> None:
        self.reactor, self.left, self.got = reactor, left, 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(MESSAGE)

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got < len(MESSAGE):
            return
        self.got = 0
        self.left[0] -= 1
        if self.left[0] <= 0:
            self.reactor.stop()
        else:
            self.transport.write(MESSAGE)


def run(round_trips: int, backend: str) -> float:
    """Run `round_trips` echoes; returns the process CPU seconds they took."""
    reactor = Reactor(backend=backend)
    left = [round_trips]

    def start() -> None:
        for _ in range(PAIRS):
            a, b = socket.socketpair()
            TCPTransport(reactor, a, Echo())
            TCPTransport(reactor, b, Ping(reactor, left))

    reactor.call_when_running(start)
    begin = time.process_time()
    reactor.run()
    return time.process_time() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("round_trips", type=int, nargs="?", default=20_000)
    parser.add_argument("--backend", default="epoll")
    args = parser.parse_args()
    cpu = run(args.round_trips, args.backend)
    print(f"{args.backend}: {cpu / args.round_trips * 1e6:.2f} us CPU per round trip")


if __name__ == "__main__":
    main()
