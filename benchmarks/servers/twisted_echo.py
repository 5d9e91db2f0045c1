"""Echo server on Twisted (epoll reactor by default), the project's ancestor.

    python -m benchmarks.servers.twisted_echo --backend epoll --port 0

Twisted's global reactor must be chosen before anything imports
`twisted.internet.reactor`, so the choice happens first thing in `main()`.
Twisted does not set TCP_NODELAY by default; we set it so every peer is
measured with the same socket options. Needs the `peers` extra
(`pip install -e .[peers]`); the harness skips this server without it.

Read next: `threads_echo.py`.
"""

from __future__ import annotations

import importlib
from typing import Any

from benchmarks.servers.common import announce, make_parser

REACTOR_MODULES = {
    "epoll": "twisted.internet.epollreactor",
    "poll": "twisted.internet.pollreactor",
    "select": "twisted.internet.selectreactor",
}


def main() -> None:
    """Entry point: install the chosen reactor, listen, run."""
    args = make_parser("Echo server on Twisted.", list(REACTOR_MODULES)).parse_args()
    importlib.import_module(REACTOR_MODULES[args.backend]).install()

    from twisted.internet import protocol, reactor  # after install(), on purpose

    class Echo(protocol.Protocol):
        """Writes back every chunk it receives (Twisted's camelCase method names)."""

        def connectionMade(self) -> None:
            tcp: Any = self.transport  # typed as the narrower ITransport
            tcp.setTcpNoDelay(True)

        def dataReceived(self, data: bytes) -> None:
            tcp: Any = self.transport
            tcp.write(data)

    the_reactor: Any = reactor
    port = the_reactor.listenTCP(
        args.port, protocol.Factory.forProtocol(Echo), backlog=args.backlog, interface=args.host
    )
    the_reactor.callWhenRunning(announce, port.getHost().port)
    the_reactor.run()


if __name__ == "__main__":
    main()
