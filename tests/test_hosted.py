"""The hosted-backend hook (backends/hosted.py) with a host that is not asyncio.

A hosted backend lets another loop (asyncio's, Tk's) do the waiting through
three hooks. `ManualHost` is the smallest such loop: a selector, a list of
"soon" calls and a list of timers, turned by the test. If a reactor runs TCP
and timers on it and shuts down cleanly, the hook is general, not asyncio's.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import Echo

from minireactor import Factory, Reactor
from minireactor.backends.base import READ, WRITE
from minireactor.backends.hosted import Cancel, HostedBackend
from minireactor.errors import BackendError

pytestmark = pytest.mark.timeout(60)


class _Timer:
    def __init__(self, due: float, func: Callable[[], Any]) -> None:
        self.due, self.func, self.cancelled = due, func, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualHost(HostedBackend):
    """A host loop in a few lines, shaped like Tk's (file handlers, after, after_idle)."""

    name = "manual-host"

    def __init__(self) -> None:
        super().__init__()
        self.selector = selectors.DefaultSelector()
        self.soon: list[Callable[[], Any]] = []
        self.timers: list[_Timer] = []

    def _host_watch(self, fd: int, old: int, new: int) -> None:
        mask = (selectors.EVENT_READ if new & READ else 0) | (
            selectors.EVENT_WRITE if new & WRITE else 0
        )
        if old and mask:
            self.selector.modify(fd, mask)
        elif mask:
            self.selector.register(fd, mask)
        elif old:
            self.selector.unregister(fd)

    def _host_call_soon(self, func: Callable[[], Any]) -> None:
        self.soon.append(func)

    def _host_call_later(self, delay: float, func: Callable[[], Any]) -> Cancel:
        timer = _Timer(time.monotonic() + delay, func)
        self.timers.append(timer)
        return timer

    def turn(self, timeout: float = 0.01) -> None:
        """One turn of the host: wait for its descriptors, then run what is due."""
        if self.selector.get_map():
            for key, mask in self.selector.select(0 if self.soon else timeout):
                if mask & selectors.EVENT_READ:
                    self._note(key.fd, READ)
                if mask & selectors.EVENT_WRITE:
                    self._note(key.fd, WRITE)
        soon, self.soon = self.soon, []
        for func in soon:
            func()
        now = time.monotonic()
        due = [t for t in self.timers if t.due <= now and not t.cancelled]
        self.timers = [t for t in self.timers if t.due > now and not t.cancelled]
        for timer in due:
            timer.func()


def turn_until(host: ManualHost, until: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the host loop did not get there in time"
        host.turn()


def test_a_reactor_rides_on_a_host_that_is_not_asyncio() -> None:
    host = ManualHost()
    reactor = Reactor(backend=host)
    reactor.start()  # returns at once: the host loop drives the passes
    fired: list[str] = []
    reactor.call_later(0.05, fired.append, "timer")  # work added from outside a pass
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    client = socket.create_connection(port.address)
    client.setblocking(False)
    client.sendall(b"hello host")
    received = bytearray()

    def echoed() -> bool:
        with contextlib.suppress(BlockingIOError):  # nothing back yet
            received.extend(client.recv(100))
        return received == b"hello host" and fired == ["timer"]

    turn_until(host, echoed)
    reactor.call_soon(reactor.stop)
    turn_until(host, lambda: reactor.closed)
    assert not host.selector.get_map()  # every descriptor handed back to the host
    client.close()


def test_start_refuses_a_backend_that_waits_by_itself(backend: str) -> None:
    if backend == "tk":
        pytest.skip("tk waits by itself in run() and is hosted by start(): test_tk_backend.py")
    reactor = Reactor(backend=backend)
    try:
        with pytest.raises(BackendError, match="call run"):
            reactor.start()
    finally:
        reactor.close()
