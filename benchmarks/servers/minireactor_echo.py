"""Echo server on minireactor, on any backend it offers.

    python -m benchmarks.servers.minireactor_echo --backend epoll --port 0

Written only against minireactor's public API: a `Protocol` whose
`data_received` writes the bytes back, a `Factory`, `listen_tcp`, `run`.
Compare it with `EchoProtocol` in `asyncio_echo.py`: the method names are
the same, which is the point. TCP_NODELAY is set in `connection_made` so the
socket options match asyncio's.

Read next: `common.py`; the harness is `benchmarks/echo.py`.
"""

from __future__ import annotations

from typing import Any

import minireactor
from benchmarks.servers.common import announce, make_parser, set_nodelay
from minireactor import Factory, Protocol, Reactor


class Echo(Protocol):
    """Writes back every chunk it receives."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        set_nodelay(transport.get_extra_info("socket"))

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def main() -> None:
    """Entry point: listen on the chosen backend and run until SIGTERM."""
    parser = make_parser("Echo server on minireactor.", minireactor.available_backends())
    args = parser.parse_args()
    reactor = Reactor(backend=args.backend)
    port = reactor.listen_tcp(
        args.port, Factory.for_protocol(Echo), interface=args.host, backlog=args.backlog
    )
    announce(port.address[1])
    reactor.run()


if __name__ == "__main__":
    main()
