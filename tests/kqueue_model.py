"""A model of kqueue(2) for Linux, so that `kqueue.py` is tested where the kernel has none.

`minireactor/backends/kqueue.py` runs only where `select.kqueue` exists
(macOS, the BSDs); on Linux its tests used to skip, so nothing here could
tell a seeded bug in it from the real thing. `install(monkeypatch)` gives
that module this stand-in for its `select`: the same names (`kqueue`,
`kevent`, the `KQ_*` constants) with the behaviour kqueue(2) documents and
CPython's `select.kqueue` passes through, built on poll(2):

* interest is per (descriptor, filter): EVFILT_READ and EVFILT_WRITE are
  two registrations, added and deleted by `kevent` change records, applied
  in order before any wait. Deleting one that is not there fails (ENOENT);
  adding for a closed descriptor fails (EBADF). With no room for events
  (`max_events == 0`) a failed change raises `OSError`, as the kernel
  returns -1 then; with room, it comes back as an EV_ERROR event (its
  errno in `data`) and the call returns without waiting.
* a wait returns one event per ready (descriptor, filter), at most
  `max_events` of them; a hang-up sets EV_EOF. With `max_events == 0` it
  does not wait at all: FreeBSD's `kqueue_scan` returns at once when
  there is no room for an event (`if (maxevents == 0) goto done`).
* `max_events < 0` and a negative timeout are ValueErrors; a closed kqueue
  refuses `control`; `close()` may be repeated; `fileno()` is one real
  descriptor (for leak counts).

It is a model, not the kernel: a descriptor closed while registered is only
noticed when it is next used (the kernel drops its filters at close(2)), and
the events come in registration order. The real kernel's answer is
`pytest tests/test_backends.py -k kqueue` on a Mac; this file is for the
seeded bugs and the laws above. Read next: `test_kqueue_model.py`.
"""

from __future__ import annotations

import errno
import math
import os
import select as real_select
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest

KQ_FILTER_READ = -1
KQ_FILTER_WRITE = -2
KQ_EV_ADD = 0x0001
KQ_EV_DELETE = 0x0002
KQ_EV_ERROR = 0x4000
KQ_EV_EOF = 0x8000

_POLL_FOR = {KQ_FILTER_READ: real_select.POLLIN, KQ_FILTER_WRITE: real_select.POLLOUT}
# What poll(2) says, as each filter fires: a hang-up or an error ends a read
# (recv() says which) and a write (send() fails), as on the BSDs.
_FIRES = {
    KQ_FILTER_READ: real_select.POLLIN | real_select.POLLHUP | real_select.POLLERR,
    KQ_FILTER_WRITE: real_select.POLLOUT | real_select.POLLHUP | real_select.POLLERR,
}


class kevent:  # the name select.kevent has
    """A change record or an event: `select.kevent`'s fields."""

    def __init__(
        self,
        ident: Any,
        filter: int = KQ_FILTER_READ,  # select.kevent's keyword
        flags: int = KQ_EV_ADD,
        fflags: int = 0,
        data: int = 0,
        udata: int = 0,
    ) -> None:
        self.ident = ident if isinstance(ident, int) else ident.fileno()
        self.filter = filter
        self.flags = flags
        self.fflags = fflags
        self.data = data
        self.udata = udata

    def __repr__(self) -> str:
        return f"kevent(ident={self.ident}, filter={self.filter}, flags={self.flags:#x})"


class kqueue:  # the name select.kqueue has
    """A kernel event queue: interest in (descriptor, filter) pairs, and waits on them."""

    def __init__(self) -> None:
        self._fd: int | None = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self._interest: dict[tuple[int, int], None] = {}  # ordered, like the kernel's list
        self.changes: list[kevent] = []  # every change record applied, for tests to read

    @property
    def closed(self) -> bool:
        return self._fd is None

    def fileno(self) -> int:
        if self._fd is None:
            raise ValueError("I/O operation on closed kqueue object")
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._interest.clear()

    def control(
        self, changelist: Iterable[kevent] | None, max_events: int, timeout: float | None = None
    ) -> list[kevent]:
        if self._fd is None:
            raise ValueError("I/O operation on closed kqueue object")
        if max_events < 0:
            raise ValueError(f"Length of eventlist must be 0 or positive, got {max_events}")
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be positive or None")
        failed = []
        for change in changelist or ():
            try:
                self._apply(change)
            except OSError as exc:
                if max_events == 0:
                    raise  # no room to report it: kevent() returns -1
                failed.append(kevent(change.ident, change.filter, KQ_EV_ERROR, data=exc.errno or 0))
        if failed:
            return failed[:max_events]  # the errors are the answer; no wait follows
        if max_events == 0:
            return []  # no room for an event: the kernel does not wait
        return self._wait(max_events, timeout)

    def _apply(self, change: kevent) -> None:
        key = (change.ident, change.filter)
        if change.filter not in _POLL_FOR:
            raise OSError(errno.EINVAL, f"filter {change.filter} is not modelled")
        try:
            os.fstat(change.ident)
        except OSError:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF)) from None
        self.changes.append(change)
        if change.flags & KQ_EV_DELETE:
            if key not in self._interest:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            del self._interest[key]
        elif change.flags & KQ_EV_ADD:
            self._interest[key] = None

    def _wait(self, max_events: int, timeout: float | None) -> list[kevent]:
        for fd, kfilter in list(self._interest):
            try:
                os.fstat(fd)
            except OSError:  # closed: the kernel dropped its filters at close(2)
                del self._interest[fd, kfilter]
        poller = real_select.poll()
        masks: dict[int, int] = {}
        for fd, kfilter in self._interest:
            masks[fd] = masks.get(fd, 0) | _POLL_FOR[kfilter]
        for fd, mask in masks.items():
            poller.register(fd, mask)
        # poll(2) counts milliseconds: round up, so a wait never ends early.
        ready = dict(poller.poll(None if timeout is None else math.ceil(timeout * 1000)))
        events = []
        for fd, kfilter in self._interest:
            revents = ready.get(fd, 0)
            if revents & _FIRES[kfilter]:
                eof = KQ_EV_EOF if revents & real_select.POLLHUP else 0
                events.append(kevent(fd, kfilter, eof))
        return events[:max_events]


def module() -> SimpleNamespace:
    """What `kqueue.py` sees as `select` under the model."""
    return SimpleNamespace(
        kqueue=kqueue,
        kevent=kevent,
        KQ_FILTER_READ=KQ_FILTER_READ,
        KQ_FILTER_WRITE=KQ_FILTER_WRITE,
        KQ_EV_ADD=KQ_EV_ADD,
        KQ_EV_DELETE=KQ_EV_DELETE,
        KQ_EV_ERROR=KQ_EV_ERROR,
        KQ_EV_EOF=KQ_EV_EOF,
    )


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `minireactor.backends.kqueue` use the model (where the real one is missing)."""
    from minireactor.backends import kqueue as kqueue_backend

    monkeypatch.setattr(kqueue_backend, "select", module())
