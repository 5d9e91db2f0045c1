"""The backend interface: the one question a backend answers.

A backend answers "which of my descriptors are ready?" and nothing else. It
knows nothing of sockets, protocols, timers or wake-ups; the loop core
(`../core.py`) asks it once per pass, with a timeout, and dispatches what
comes back. The core's waker (`waker.py`) is registered like any other
reader, so a backend never needs to know it exists.

The contract, shared by every backend in this package:

* `register(fd, events, handler)` starts watching `fd` for `events`
  (`READ`, `WRITE` or both); `handler` is an opaque object handed back with
  each event. `modify` changes the events, `unregister` forgets the fd.
* `poll(timeout)` waits at most `timeout` seconds (None: forever, 0: don't
  wait) and returns a list of `(handler, events)` pairs.
* `close()` releases the backend's own descriptors.

A backend that lets *another* loop do the waiting (asyncio's, Tk's) is a
`HostedBackend` (`hosted.py`), which adds one documented hook, `host()`.

Read next: `select.py`, the simplest backend, then `poll.py` and `epoll.py`.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

READ = 1
"""Interest in (or readiness for) reading; also reported for errors and hang-ups."""
WRITE = 4
"""Interest in (or readiness for) writing."""
# READ and WRITE have the same values as POLLIN and POLLOUT, which makes the
# poll and epoll backends easier to read; the select and kqueue backends
# translate explicitly.


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
    def register(self, fd: int, events: int, handler: Any) -> None:
        """Watch `fd` for `events`, reporting readiness with `handler`."""

    @abc.abstractmethod
    def modify(self, fd: int, events: int) -> None:
        """Change the events watched on an already registered `fd`."""

    @abc.abstractmethod
    def unregister(self, fd: int) -> None:
        """Stop watching `fd` (it must be registered)."""

    @abc.abstractmethod
    def poll(self, timeout: float | None) -> list[tuple[Any, int]]:
        """Wait up to `timeout` seconds; return the ready `(handler, events)` pairs."""

    def close(self) -> None:  # noqa: B027 - most backends have nothing of their own to release
        """Release the backend's own descriptors (the default: there are none)."""
