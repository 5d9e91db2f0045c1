"""Exercise 02 - poll-backend: reference solution.

`select.poll()` keeps the watched set in the kernel call's argument array for
us; we keep the registered fds, to refuse a second `register`. READ and
WRITE equal POLLIN and POLLOUT on Linux (translated anyway), but the
flags that come back can also say POLLHUP, POLLERR or POLLNVAL, which poll
reports whether we asked or not. We translate those into "readable and
writable": the transport's next recv() or send() then meets the real error.
"""

from __future__ import annotations

import math
import select

from minireactor.backends.base import READ, WRITE, Backend

_TROUBLE = select.POLLHUP | select.POLLERR | select.POLLNVAL


class PollBackend(Backend):
    """Readiness by poll(2)."""

    name = "student-poll"

    def __init__(self) -> None:
        self._poller = select.poll()
        self._registered: set[int] = set()

    def register(self, fd: int, events: int) -> None:
        if fd in self._registered:
            raise KeyError(f"fd {fd} is already registered; use modify()")
        self._poller.register(fd, self._to_poll(events))
        self._registered.add(fd)

    def modify(self, fd: int, events: int) -> None:
        self._poller.modify(fd, self._to_poll(events))

    def unregister(self, fd: int) -> None:
        self._poller.unregister(fd)
        self._registered.remove(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # poll() takes milliseconds; round up so a short timeout is not 0 (a busy loop).
        ms = None if timeout is None else math.ceil(max(0.0, timeout) * 1000)
        try:
            ready = self._poller.poll(ms)
        except InterruptedError:  # a signal arrived; the reactor will just call again
            return []
        return [(fd, self._from_poll(flags)) for fd, flags in ready]

    @staticmethod
    def _to_poll(events: int) -> int:
        return (select.POLLIN if events & READ else 0) | (select.POLLOUT if events & WRITE else 0)

    @staticmethod
    def _from_poll(flags: int) -> int:
        if flags & _TROUBLE:
            return READ | WRITE
        return (READ if flags & select.POLLIN else 0) | (WRITE if flags & select.POLLOUT else 0)
