"""The `select` backend: the oldest readiness call, select(2).

Each call hands the kernel three bitmaps (read, write, error) with one bit per
descriptor *number*, and gets back the bits that are ready. Cost model: every
call scans all watched descriptors twice, once in Python building the lists and
once in the kernel, so it is O(watched fds) per wait even when one is ready.
With 1,000 idle connections and 10 busy ones, 99% of that work is wasted.

The limit: the bitmaps are a fixed FD_SETSIZE bits (1024 on Linux and macOS).
A descriptor numbered 1024 or more cannot be expressed at all, so `register`
refuses it with a clear error instead of failing later in the loop.

Read next: `poll.py`, which removes the limit but keeps the O(n) scan.
"""

from __future__ import annotations

import select

from ..errors import FileDescriptorTooLarge
from .base import READ, WRITE, Backend

FD_SETSIZE = 1024
"""Descriptors numbered at or above this cannot be watched by select(2)."""


class SelectBackend(Backend):
    """Readiness by select(2): simple, portable, O(n), at most FD_SETSIZE fds."""

    name = "select"

    def __init__(self) -> None:
        self._readers: set[int] = set()
        self._writers: set[int] = set()
        self._registered: set[int] = set()

    def register(self, fd: int, events: int) -> None:
        if fd >= FD_SETSIZE:
            raise FileDescriptorTooLarge(
                f"the select backend cannot watch descriptor {fd}: select(2) only handles "
                f"descriptors below FD_SETSIZE={FD_SETSIZE}. Use Reactor(backend='poll') or "
                f"backend='epoll', which have no such limit."
            )
        if fd in self._registered:
            raise KeyError(f"descriptor {fd} is already registered")
        self._registered.add(fd)
        self.modify(fd, events)

    def modify(self, fd: int, events: int) -> None:
        if events & READ:
            self._readers.add(fd)
        else:
            self._readers.discard(fd)
        if events & WRITE:
            self._writers.add(fd)
        else:
            self._writers.discard(fd)

    def unregister(self, fd: int) -> None:
        self._registered.remove(fd)
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # Descriptors with an error condition show up as readable or writable:
        # the following recv() or send() reports the error itself.
        readable, writable, _ = select.select(self._readers, self._writers, (), timeout)
        events: dict[int, int] = {}
        for fd in readable:
            events[fd] = READ
        for fd in writable:
            events[fd] = events.get(fd, 0) | WRITE
        return list(events.items())
