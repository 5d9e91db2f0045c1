"""The reactor's connection-making methods, one thin delegate each.

`Reactor` inherits these so that `reactor.listen_tcp(...)`,
`reactor.spawn_process(...)` and the rest read the way Twisted's do, while
each transport's real work stays in its own module (`tcp.py`, `unix.py`,
`udp.py`, `tls_endpoints.py`, `process.py`). Every method here checks that
it runs on the reactor thread, then hands over. Modules that need `ssl` or
`subprocess` are imported on first use, so `import minireactor` stays light.

Read next: `tcp.py`, then whichever transport you use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import ssl

    from .connector import Connector
    from .listener import Port
    from .process import ProcessTransport
    from .reactor import Reactor
    from .tls_endpoints import TLSConnector
    from .udp import UDPTransport
    from .unix import UnixConnector, UnixPort


class Endpoints:
    """Listening and connecting: TCP, Unix sockets, UDP, TLS, and child processes."""

    def _on_reactor_thread(self) -> Reactor:
        """This object as the `Reactor` it is, after checking the calling thread."""
        reactor = cast("Reactor", self)
        reactor._check_thread()
        return reactor

    def listen_tcp(
        self, port: int, factory: Any, interface: str = "127.0.0.1", backlog: int = 128
    ) -> Port:
        """Listen for TCP connections; each gets a protocol from `factory`.

        Args:
            port: the port number; 0 picks a free one (see `Port.address`).
            interface: the address to bind ("::1" for IPv6, "" for all).
            backlog: how many connections the kernel queues before we accept.

        Raises:
            AddressInUseError: the port is taken (the message suggests port 0).
        """
        from .listener import Port, bind_tcp

        reactor = self._on_reactor_thread()
        return Port(reactor, bind_tcp(port, interface, backlog), factory, backlog)

    def connect_tcp(self, host: str, port: int, factory: Any, timeout: float = 30.0) -> Connector:
        """Connect to (host, port); the outcome reaches `factory` (a ClientFactory)."""
        from .connector import Connector

        reactor = self._on_reactor_thread()
        return Connector(reactor, host, port, factory, timeout)

    def listen_unix(
        self,
        path: str | os.PathLike[str],
        factory: Any,
        mode: int = 0o660,
        backlog: int = 128,
    ) -> UnixPort:
        """Listen on a Unix socket at `path` (a stale file is replaced, a live one kept)."""
        from .unix import listen_unix

        reactor = self._on_reactor_thread()
        return listen_unix(reactor, path, factory, mode=mode, backlog=backlog)

    def connect_unix(
        self, path: str | os.PathLike[str], factory: Any, timeout: float = 30.0
    ) -> UnixConnector:
        """Connect to the Unix socket at `path`."""
        from .unix import connect_unix

        reactor = self._on_reactor_thread()
        return connect_unix(reactor, path, factory, timeout=timeout)

    def listen_udp(
        self,
        port: int,
        protocol: Any,
        interface: str = "127.0.0.1",
        reuse_address: bool = False,
    ) -> UDPTransport:
        """Bind a UDP socket; `protocol` (a DatagramProtocol) receives its datagrams."""
        from .udp import listen_udp

        reactor = self._on_reactor_thread()
        return listen_udp(reactor, port, protocol, interface, reuse_address=reuse_address)

    def listen_tls(
        self,
        port: int,
        factory: Any,
        ssl_context: ssl.SSLContext,
        interface: str = "127.0.0.1",
        backlog: int = 128,
    ) -> Port:
        """Listen for TLS connections: TCP, with `ssl_context` wrapped around each."""
        from .tls_endpoints import listen_tls

        reactor = self._on_reactor_thread()
        return listen_tls(reactor, port, factory, ssl_context, interface=interface, backlog=backlog)

    def connect_tls(
        self,
        host: str,
        port: int,
        factory: Any,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        timeout: float = 30.0,
    ) -> TLSConnector:
        """Connect with TLS; the certificate and host name are verified by default."""
        from .tls_endpoints import connect_tls

        reactor = self._on_reactor_thread()
        return connect_tls(
            reactor,
            host,
            port,
            factory,
            ssl_context=ssl_context,
            server_hostname=server_hostname,
            timeout=timeout,
        )

    def spawn_process(
        self,
        protocol: Any,
        argv: Sequence[str | os.PathLike[str]],
        env: Mapping[str, str] | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> ProcessTransport:
        """Run `argv` as a child process whose pipes feed `protocol` (a ProcessProtocol)."""
        from .process import spawn_process

        reactor = self._on_reactor_thread()
        return spawn_process(reactor, protocol, argv, env=env, path=path)
