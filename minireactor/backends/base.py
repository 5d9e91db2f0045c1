"""The backend interface: the one question a backend answers.

A backend answers "which of my descriptors are ready?" and nothing else. It
knows nothing of sockets, protocols or timers; the reactor (`reactor.py`) asks
it once per loop pass, with a timeout, and dispatches what comes back.

The contract, shared by every backend in this package:

* `register(fd, events, handler)` starts watching `fd` for `events`
  (`READ`, `WRITE` or both); `handler` is an opaque object handed back with
  each event. `modify` changes the events, `unregister` forgets the fd.
* `poll(timeout)` waits at most `timeout` seconds (None: forever, 0: don't
  wait) and returns a list of `(handler, events)` pairs.
* `wakeup()` is the only thread-safe method: it makes a `poll` that is
  waiting (or the next one) return at once, so another thread can hand the
  reactor work (`Reactor.call_from_thread`).

Read next: `select.py`, the simplest backend, then `poll.py` and `epoll.py`.
"""

from __future__ import annotations

import abc
import contextlib
import os
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
    owns the *waker*: a descriptor that `wakeup()` makes readable, registered
    like any other so that a sleeping `poll()` returns.
    """

    name: ClassVar[str] = "base"

    def __init__(self) -> None:
        # Subclasses create their own structures first, then call this, which
        # registers the waker through their `register`.
        self._waker = Waker()
        self.register(self._waker.fileno(), READ, self._waker)

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
        """Wait up to `timeout` seconds; return the ready `(handler, events)` pairs.

        The waker's own events are consumed here and never returned.
        """

    def wakeup(self) -> None:
        """Make the current or next `poll()` return at once (thread-safe)."""
        self._waker.wake()

    def close(self) -> None:
        """Release the backend's own descriptors."""
        self._waker.close()


class Waker:
    """A descriptor another thread can make readable: eventfd, or a self-pipe.

    Linux's eventfd is one descriptor holding a counter; elsewhere a pipe does
    the same job with two. Writes never block: when the pipe is full, the
    reader is certainly going to wake up anyway.
    """

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self._read_fd = self._write_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
        self._closed = False

    def fileno(self) -> int:
        return self._read_fd

    def wake(self) -> None:
        """Make the read end readable; safe from any thread, never blocks."""
        # Full pipe (BlockingIOError): a wake-up is already pending. Closed
        # (OSError): the reactor is gone and there is nobody left to wake.
        with contextlib.suppress(OSError):
            os.write(self._write_fd, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    def drain(self) -> None:
        """Consume pending wake-ups (called by the backend on the loop thread)."""
        try:
            while os.read(self._read_fd, 4096):
                if self._read_fd == self._write_fd:
                    break  # eventfd: one read resets the counter
        except (BlockingIOError, OSError):
            pass  # nothing (more) to read

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)
