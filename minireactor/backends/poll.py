"""The `poll` backend: poll(2), select without the size limit.

Instead of fixed bitmaps, poll(2) takes an array of (fd, wanted events)
entries, so any descriptor number works. The cost model is unchanged, though:
the kernel still walks the whole array on every call, so each wait is
O(watched fds) no matter how few are ready. Python's `select.poll` object
keeps the array for us between calls; we only tell it what changed.

Events come back as bit masks. POLLIN and POLLOUT mean readable and writable;
POLLHUP (the peer hung up), POLLERR (an error is pending) and POLLNVAL (not an
open descriptor) are always reported, wanted or not. We pass the kernel's
list on untouched: those three are minireactor's TROUBLE bits (base.py), on
which the core runs both callbacks, so whichever runs next calls recv() or
send() and learns the actual error from the operating system.

Read next: `epoll.py`, which makes the wait O(ready fds).
"""

from __future__ import annotations

import contextlib
import select
from typing import Any

from .base import Backend


class PollBackend(Backend):
    """Readiness by poll(2): no descriptor limit, still O(n) per wait.

    `EpollBackend` (epoll.py) inherits everything here: the two differ only
    in the kernel object (`_new_poller`) and how a timeout is passed (`_wait`).
    """

    name = "poll"

    def __init__(self) -> None:
        self._poller = self._new_poller()
        self._registered: set[int] = set()

    @classmethod
    def is_available(cls) -> bool:
        return hasattr(select, "poll")

    def _new_poller(self) -> Any:
        return select.poll()

    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        # poll(2) counts in milliseconds; round up so a timer due in 0.3 ms
        # is not polled with 0 ms in a busy loop.
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return self._poller.poll(ms)  # type: ignore[no-any-return]

    def register(self, fd: int, events: int) -> None:
        if fd in self._registered:
            raise KeyError(f"descriptor {fd} is already registered")
        self._poller.register(fd, events)  # READ/WRITE equal POLLIN/POLLOUT (EPOLLIN/EPOLLOUT)
        self._registered.add(fd)

    def modify(self, fd: int, events: int) -> None:
        self._poller.modify(fd, events)

    def unregister(self, fd: int) -> None:
        self._registered.remove(fd)
        # epoll raises OSError when the descriptor was closed before it was
        # unregistered; closing it already removed it from the interest list.
        with contextlib.suppress(OSError):
            self._poller.unregister(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # The kernel's own answer, untouched: POLLIN, POLLOUT and the trouble
        # flags are minireactor's READ, WRITE and TROUBLE (base.py).
        return self._wait(timeout)
