"""The backend interface: the one question a backend answers.

A backend answers "which of my descriptors are ready?" and nothing else. It
knows nothing of sockets, protocols, timers or wake-ups; the loop core
(`../core.py`) asks it once per pass, with a timeout, and dispatches what
comes back. The core's waker (`waker.py`) is registered like any other
reader, so a backend never needs to know it exists.

The contract, shared by every backend in this package:

* `register(fd, events)` starts watching `fd` for `events` (`READ`,
  `WRITE` or both); `modify` changes the events, `unregister` forgets the fd.
* `poll(timeout)` waits at most `timeout` seconds (None: forever, 0: don't
  wait) and returns a list of `(fd, events)` pairs. `events` holds `READ`,
  `WRITE`, or any of the `TROUBLE` bits (an error or a hang-up), which the
  core answers by running both callbacks: the next read or write says what
  went wrong.
* `close()` releases the backend's own descriptors.

Discussion: why `(fd, events)` and not the callback to run? A backend
that handed back callbacks would need its own table from descriptor to
callback, beside the core's (`../descriptors.py`), and a Python loop over
every event to translate one into the other. Answering in descriptor
numbers lets poll(2) and epoll(7) return the kernel's own list untouched
(READ, WRITE and TROUBLE are the kernel's POLLIN, POLLOUT and
POLLERR/POLLHUP/POLLNVAL values), and the core looks each number up once,
as it dispatches. That cut the instructions per echo round trip by 6 %.

A backend that lets *another* loop do the waiting (asyncio's, Tk's) is a
`HostedBackend` (`hosted.py`), which adds one documented hook, `host()`.

Read next: `select.py`, the simplest backend, then `poll.py` and `epoll.py`.
"""

from __future__ import annotations

import abc
from typing import ClassVar

READ = 1
"""Interest in (or readiness for) reading."""
WRITE = 4
"""Interest in (or readiness for) writing."""
TROUBLE = 8 | 16 | 32
"""Readiness bits meaning an error or a hang-up: the core runs both callbacks."""
READABLE = READ | TROUBLE
"""Readiness on which the core runs a descriptor's reader."""
WRITABLE = WRITE | TROUBLE
"""Readiness on which the core runs a descriptor's writer."""
# These are the values of POLLIN, POLLOUT and POLLERR | POLLHUP | POLLNVAL
# (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP are the same numbers) on Linux and
# the BSDs, so the poll and epoll backends return what the kernel said; the
# select and kqueue backends translate explicitly. tests/test_backends.py
# checks the equality on the machine it runs on.


class Backend(abc.ABC):
    """Watches descriptors and reports which are ready.

    Subclasses set `name` and implement the abstract methods. The base class
    has no state and no `__init__`: a subclass sets up what it needs.
    """

    name: ClassVar[str] = "base"

    @classmethod
    def is_available(cls) -> bool:
        """True when this backend's system call exists on this machine."""
        return True

    @abc.abstractmethod
    def register(self, fd: int, events: int) -> None:
        """Watch `fd` for `events` (it must not be registered yet)."""

    @abc.abstractmethod
    def modify(self, fd: int, events: int) -> None:
        """Change the events watched on an already registered `fd`."""

    @abc.abstractmethod
    def unregister(self, fd: int) -> None:
        """Stop watching `fd` (it must be registered)."""

    @abc.abstractmethod
    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to `timeout` seconds; return the ready `(fd, events)` pairs."""

    def close(self) -> None:  # noqa: B027 - most backends have nothing of their own to release
        """Release the backend's own descriptors (the default: there are none)."""
