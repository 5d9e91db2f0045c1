"""The waker: a descriptor another thread can make readable.

The loop core (`../core.py`) owns one and registers it with its backend like
any other reader; `call_from_thread` writes to it so that a sleeping `poll()`
returns, and the reader callback (`drain`) consumes the wake-ups. The
threaded backend also uses one per watcher thread, to interrupt its poll(2).

Linux's eventfd is one descriptor holding a counter; elsewhere a pipe does
the same job with two. Writes never block: when the pipe is full, the
reader is certainly going to wake up anyway. A wake-up after `close()` does
nothing: the descriptor's number may already belong to another file, which
must not receive our bytes (a lock makes "closed?" and the write one step).

Read next: `../interface.py`, what transports ask of the core.
"""

from __future__ import annotations

import contextlib
import os
import threading


class Waker:
    """A descriptor another thread can make readable: eventfd, or a self-pipe."""

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self._read_fd = self._write_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
        self._closed = False
        self._lock = threading.Lock()  # wake() from any thread vs close()

    def fileno(self) -> int:
        return self._read_fd

    def wake(self) -> None:
        """Make the read end readable; safe from any thread, never blocks."""
        with self._lock:
            if self._closed:
                return  # nobody left to wake, and the number may be another file's now
            # Full pipe: a wake-up is already pending.
            with contextlib.suppress(BlockingIOError):
                os.write(self._write_fd, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    def drain(self) -> None:
        """Consume pending wake-ups (the reader callback, on the loop thread)."""
        try:
            while os.read(self._read_fd, 4096):
                if self._read_fd == self._write_fd:
                    break  # eventfd: one read resets the counter
        except (BlockingIOError, OSError):
            pass  # nothing (more) to read

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._read_fd)
            if self._write_fd != self._read_fd:
                os.close(self._write_fd)
