"""The descriptor table: which callbacks the core wants run for each descriptor.

The loop core (`core.py`) keeps one `Descriptors`. For every watched
descriptor it holds an `FdWatch` (a reader callback, a writer callback, or
both) and keeps the backend's registration in step: the first callback
registers the descriptor, the last one removed unregisters it, anything in
between is a `modify`. A backend answers in descriptor numbers; the core
looks each one up in `watches` as it dispatches.

Discussion: can a descriptor number be trusted for a whole pass? Not
quite. Between the wait and the dispatch of its events, a callback may
close descriptor 7 and accept a new connection that gets number 7 again;
the event the kernel reported was for the old one. So every descriptor
unregistered after the wait is noted in `dropped` (emptied when the next
wait returns), and the core skips its events for the rest of the pass. A
descriptor that is still ready is reported again by the next wait (every
backend is level-triggered), so skipping never loses an event. And a
number that is not in `watches` at all is skipped too: epoll(7) watches
the open file, not the number, so a descriptor closed while a duplicate
of it lives on (in a child process, say) can still be reported.

Read next: `lifecycle.py` (`core.py`'s `_dispatch` runs what a ready
`FdWatch` holds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .backends import READ, WRITE, Backend


class FdWatch:
    """What the core wants done when one descriptor is ready."""

    __slots__ = ("fd", "reader", "writer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        # Callables taking no arguments: add_reader(fd, f, *args) stores
        # partial(f, *args), so dispatch is one plain call per event.
        self.reader: Callable[[], Any] | None = None
        self.writer: Callable[[], Any] | None = None

    def events(self) -> int:
        return (READ if self.reader else 0) | (WRITE if self.writer else 0)


def fileno(fd: Any) -> int:
    """Accept a descriptor number or any object with a `fileno()` method."""
    return fd if isinstance(fd, int) else int(fd.fileno())


class Descriptors:
    """The watched descriptors of one core, kept registered with its backend."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.watches: dict[int, FdWatch] = {}  # read-only outside this class
        self.dropped: set[int] = set()  # unregistered since the last wait (see above)

    def __len__(self) -> int:
        return len(self.watches)

    def watch_for(self, fd: int) -> FdWatch | None:
        """The watch an event for `fd` goes to: None if dropped since the wait, or not ours.

        `LoopCore._dispatch` inlines this (it runs once per event).
        """
        return None if fd in self.dropped else self.watches.get(fd)

    def set_reader(self, fd: int, callback: Callable[[], Any]) -> None:
        watch = self.watches.get(fd) or FdWatch(fd)
        watch.reader = callback
        self._update(watch)

    def set_writer(self, fd: int, callback: Callable[[], Any]) -> None:
        watch = self.watches.get(fd) or FdWatch(fd)
        watch.writer = callback
        self._update(watch)

    def remove_reader(self, fd: int) -> bool:
        watch = self.watches.get(fd)
        if watch is None or watch.reader is None:
            return False
        watch.reader = None
        self._update(watch)
        return True

    def remove_writer(self, fd: int) -> bool:
        watch = self.watches.get(fd)
        if watch is None or watch.writer is None:
            return False
        watch.writer = None
        self._update(watch)
        return True

    def _update(self, watch: FdWatch) -> None:
        """Tell the backend what we now want from `watch.fd`."""
        events = watch.events()
        registered = self.watches.get(watch.fd)
        if registered is None:
            if events:
                self._backend.register(watch.fd, events)
                self.watches[watch.fd] = watch
        elif not events:
            del self.watches[watch.fd]
            self.dropped.add(watch.fd)
            self._backend.unregister(watch.fd)
        else:
            self._backend.modify(watch.fd, events)

    def clear(self) -> None:
        """Unregister every descriptor (the core is closing)."""
        for fd in list(self.watches):
            self._backend.unregister(fd)
        self.watches.clear()
