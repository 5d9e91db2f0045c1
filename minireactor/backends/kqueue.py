"""The `kqueue` backend: kqueue(2), the BSD and macOS readiness queue.

kqueue is epoll's older cousin, found on macOS and the BSDs (where many
students' laptops are). Like epoll it keeps the interest list in the kernel
and returns only what is ready, so a wait is O(ready fds). Unlike epoll, it
thinks in *filters*, not event masks: reading and writing are two separate
registrations (EVFILT_READ and EVFILT_WRITE) of the same descriptor, each
added or deleted with a `kevent` change record. `modify` therefore computes
which of the two filters to add and which to delete.

An EV_EOF flag on a filter means the peer hung up (or the socket has an
error); we still report plain "readable" or "writable", so recv() returns
b"" or send() raises the error, as on every other backend. A change the
kernel refuses (adding a closed descriptor) raises OSError from `control`:
we give it no room to report the error as an EV_ERROR event instead.

A wait always offers room for at least one event: with none, kevent(2)
returns at once (FreeBSD's `kqueue_scan`: `if (maxevents == 0) goto done`),
so a backend watching nothing would not sleep its timeout but spin.

This file runs wherever `select.kqueue` exists, and `auto` prefers it on
macOS. On Linux, `tests/test_kqueue_model.py` tests it against a model of
kqueue(2) (`tests/kqueue_model.py`).

Read next: `threaded.py`, readiness emulated with one thread per descriptor.
"""

from __future__ import annotations

import contextlib
import select as _select_module
from typing import Any

from .base import READ, WRITE, Backend

# The type stubs declare kqueue only when type-checking for macOS/BSD; this
# file is checked on Linux too, so we look the names up without static types.
select: Any = _select_module


class KqueueBackend(Backend):
    """Readiness by kqueue(2): read and write filters, O(ready) waits."""

    name = "kqueue"

    def __init__(self) -> None:
        self._kqueue = select.kqueue()
        self._events: dict[int, int] = {}  # fd -> the filters it has (READ, WRITE)

    @classmethod
    def is_available(cls) -> bool:
        return hasattr(select, "kqueue")

    def register(self, fd: int, events: int) -> None:
        if fd in self._events:
            raise KeyError(f"descriptor {fd} is already registered")
        self._events[fd] = 0
        try:
            self.modify(fd, events)
        except OSError:  # a closed descriptor, say: as with epoll, it is not registered
            del self._events[fd]
            raise

    def modify(self, fd: int, events: int) -> None:
        old = self._events[fd]
        changes = []
        for flag, kfilter in ((READ, select.KQ_FILTER_READ), (WRITE, select.KQ_FILTER_WRITE)):
            if events & flag and not old & flag:
                changes.append(select.kevent(fd, kfilter, select.KQ_EV_ADD))
            elif old & flag and not events & flag:
                changes.append(select.kevent(fd, kfilter, select.KQ_EV_DELETE))
        if changes:
            self._kqueue.control(changes, 0, 0)
        self._events[fd] = events

    def unregister(self, fd: int) -> None:
        # A descriptor closed before it is unregistered lost its filters at
        # close(2); deleting them then fails (EBADF, or ENOENT if the number
        # was reused), and there is nothing left to delete.
        with contextlib.suppress(OSError):
            self.modify(fd, 0)
        del self._events[fd]

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        # Each descriptor can come back twice (once per filter): merge them.
        max_events = max(1, 2 * len(self._events))  # 0 would not wait (see above)
        merged: dict[int, int] = {}
        for kev in self._kqueue.control(None, max_events, timeout):
            mask = READ if kev.filter == select.KQ_FILTER_READ else WRITE
            merged[kev.ident] = merged.get(kev.ident, 0) | mask
        events = self._events
        return [(fd, mask) for fd, mask in merged.items() if fd in events]

    def close(self) -> None:
        self._kqueue.close()
