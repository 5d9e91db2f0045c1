"""The reactor: the loop core plus the ways to make connections.

`Reactor` is what users create. It *is* a `LoopCore` (core.py: the loop,
scheduling, descriptors, start-up, shutdown, what it owns) and adds, as a
facade, one thin method per way to make a connection: `listen_tcp`,
`connect_tcp`, `listen_unix`, `connect_unix`, `listen_udp`, `listen_tls`,
`connect_tls`, `spawn_process`. Each checks that it runs on the reactor
thread, then hands over to its transport's module, imported *downward*
and on first use (so `import minireactor` stays light: no `ssl`, no
`subprocess`). It also gives every reactor a lazily made thread pool
(`threads.py`) and the system event triggers (`triggers.py`).

Transports never import this file: they are written against the core's
small interface (`interface.Loop`).

Reading order: core.py, then this file, then `transport.py` and `tcp.py`
(the README's "Reading order" has the whole path).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .core import LoopCore

if TYPE_CHECKING:
    import ssl

    from .connector import Connector
    from .listener import Port
    from .process import ProcessTransport
    from .threads import ThreadPool
    from .tls_endpoints import TLSConnector
    from .udp import UDPTransport
    from .unix import UnixConnector, UnixPort

DEFAULT_THREAD_POOL_SIZE = 10


class Reactor(LoopCore):
    """An event loop over one pluggable backend, with TCP, UDP, Unix, TLS and processes.

    Takes `LoopCore`'s arguments: `backend` ("auto", a name from
    `minireactor.available_backends()`, or a `Backend`), `shutdown_timeout`,
    `slow_callback_duration` and `trace`.
    """

    _thread_pool_size = DEFAULT_THREAD_POOL_SIZE

    # -- system event triggers (triggers.py, run by lifecycle.py) --------------

    def call_when_running(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` once the reactor is running (now, if it is)."""
        if self._running:
            self.call_soon(func, *args)
        else:
            self.lifecycle.triggers.add("after", "startup", func, args)

    def add_system_event_trigger(
        self, phase: str, event: str, func: Callable[..., Any], *args: Any
    ) -> Any:
        """Run `func(*args)` in `phase` ("before"/"during"/"after") of `event`.

        `event` is "startup" or "shutdown". Returns a handle for
        `remove_system_event_trigger`.
        """
        return self.lifecycle.triggers.add(phase, event, func, args)

    def remove_system_event_trigger(self, handle: Any) -> None:
        """Cancel a trigger added by `add_system_event_trigger`."""
        self.lifecycle.triggers.remove(handle)

    @property
    def shutdown_timeout(self) -> float:
        """Seconds a shutdown waits for triggers and connections before aborting them."""
        return self.lifecycle.shutdown_timeout

    # -- threads (threads.py) ------------------------------------------------

    @property
    def thread_pool(self) -> ThreadPool:
        """This reactor's worker threads (see threads.py), created on first use."""
        from .threads import ThreadPool  # on first use: threads.py imports defer/ and asyncio

        return self.lifecycle.shared(ThreadPool, lambda: ThreadPool(self, self._thread_pool_size))

    def call_in_thread(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` in a worker thread; errors are logged.

        For the result, use `minireactor.threads.defer_to_thread`, which
        returns a Deferred fired back on the reactor thread.
        """
        self.thread_pool.submit(func, *args)

    def suggest_thread_pool_size(self, n: int) -> None:
        """Allow at most `n` worker threads (default 10)."""
        from .threads import ThreadPool

        self._thread_pool_size = n
        pool = self.lifecycle.find_shared(ThreadPool)
        if pool is not None:
            pool.resize(n)

    # -- making connections: one delegate per transport ------------------------

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

        self._check_thread()
        return Port(self, bind_tcp(port, interface, backlog), factory, backlog)

    def connect_tcp(self, host: str, port: int, factory: Any, timeout: float = 30.0) -> Connector:
        """Connect to (host, port); the outcome reaches `factory` (a ClientFactory)."""
        from .connector import Connector

        self._check_thread()
        return Connector(self, host, port, factory, timeout)

    def listen_unix(
        self,
        path: str | os.PathLike[str],
        factory: Any,
        mode: int = 0o660,
        backlog: int = 128,
    ) -> UnixPort:
        """Listen on a Unix socket at `path` (a stale file is replaced, a live one kept)."""
        from .unix import listen_unix

        self._check_thread()
        return listen_unix(self, path, factory, mode=mode, backlog=backlog)

    def connect_unix(
        self, path: str | os.PathLike[str], factory: Any, timeout: float = 30.0
    ) -> UnixConnector:
        """Connect to the Unix socket at `path`."""
        from .unix import connect_unix

        self._check_thread()
        return connect_unix(self, path, factory, timeout=timeout)

    def listen_udp(
        self,
        port: int,
        protocol: Any,
        interface: str = "127.0.0.1",
        reuse_address: bool = False,
    ) -> UDPTransport:
        """Bind a UDP socket; `protocol` (a DatagramProtocol) receives its datagrams."""
        from .udp import listen_udp

        self._check_thread()
        return listen_udp(self, port, protocol, interface, reuse_address=reuse_address)

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

        self._check_thread()
        return listen_tls(self, port, factory, ssl_context, interface=interface, backlog=backlog)

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

        self._check_thread()
        return connect_tls(
            self,
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

        self._check_thread()
        return spawn_process(self, protocol, argv, env=env, path=path)
