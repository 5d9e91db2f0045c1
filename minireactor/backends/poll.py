"""The `poll` backend: poll(2), select without the size limit.

Instead of fixed bitmaps, poll(2) takes an array of (fd, wanted events)
entries, so any descriptor number works. The cost model is unchanged, though:
the kernel still walks the whole array on every call, so each wait is
O(watched fds) no matter how few are ready. Python's `select.poll` object
keeps the array for us between calls; we only tell it what changed.

Events come back as bit masks. POLLIN and POLLOUT mean readable and writable;
POLLHUP (the peer hung up), POLLERR (an error is pending) and POLLNVAL (not an
open descriptor) are always reported, wanted or not. We report all three as
"readable and writable", so whichever callback runs next calls recv() or
send() and learns the actual error from the operating system.

Read next: `epoll.py`, which makes the wait O(ready fds).
"""

from __future__ import annotations

import select
from typing import Any

from .base import READ, WRITE, Backend

_TROUBLE = select.POLLHUP | select.POLLERR | select.POLLNVAL


class PollBackend(Backend):
    """Readiness by poll(2): no descriptor limit, still O(n) per wait."""

    name = "poll"

    def __init__(self) -> None:
        self._poller = select.poll()
        self._handlers: dict[int, Any] = {}
        super().__init__()

    @classmethod
    def is_available(cls) -> bool:
        return hasattr(select, "poll")

    def register(self, fd: int, events: int, handler: Any) -> None:
        if fd in self._handlers:
            raise KeyError(f"descriptor {fd} is already registered")
        self._handlers[fd] = handler
        self._poller.register(fd, events)  # READ/WRITE equal POLLIN/POLLOUT

    def modify(self, fd: int, events: int) -> None:
        self._poller.modify(fd, events)

    def unregister(self, fd: int) -> None:
        del self._handlers[fd]
        self._poller.unregister(fd)

    def poll(self, timeout: float | None) -> list[tuple[Any, int]]:
        # poll(2) counts in milliseconds; round up so a timer due in 0.3 ms
        # is not polled with 0 ms in a busy loop.
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        ready = []
        handlers = self._handlers
        for fd, flags in self._poller.poll(ms):
            handler = handlers[fd]
            if handler is self._waker:
                self._waker.drain()
                continue
            events = flags & (READ | WRITE)
            if flags & _TROUBLE:
                events = READ | WRITE
            ready.append((handler, events))
        return ready
