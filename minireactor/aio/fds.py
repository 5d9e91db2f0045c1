"""Descriptors of one loop: readers and writers on the reactor, and who owns each descriptor.

asyncio's `add_reader(fd, callback, *args)` keeps a `Handle` per descriptor;
replacing or removing the callback cancels the old handle (a copy of it may
already be queued). We keep those handles here and ask the reactor to call
`Scheduler.run_io(handle)` when the descriptor is ready.

Two promises asyncio keeps that a plain descriptor table would break:

* A socket *object* that has been closed has `fileno() == -1`. asyncio's
  selector still finds its registration by the object, so `remove_reader`
  returns True. We remember which object each descriptor was registered
  with and look it up the same way.
* A descriptor used by a transport cannot be watched by user code
  (`RuntimeError`), until the transport closes: `transports` maps each
  descriptor to its transport, weakly.

`wait_ready` is the one pattern every `sock_*` coroutine uses: try the
operation, and while it would block, retry each time the socket is ready.

Read next: `sockets.py` (the `sock_*` coroutines).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from ..reactor import Reactor
from .scheduler import Scheduler

_T = TypeVar("_T")


def fileno_of(fileobj: Any) -> int:
    """The descriptor number of an int or of an object with `fileno()` (may be -1 if closed)."""
    if isinstance(fileobj, int):
        return fileobj
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"Invalid file object: {fileobj!r}") from None


class Descriptors:
    """The readers, writers and transports of one loop, on its reactor.

    Args:
        reactor: the reactor that watches the descriptors.
        scheduler: runs the handles (`run_io`) when the reactor says "ready".
    """

    def __init__(self, reactor: Reactor, scheduler: Scheduler) -> None:
        self.reactor = reactor
        self._scheduler = scheduler
        self._readers: dict[int, tuple[asyncio.Handle, Any]] = {}
        self._writers: dict[int, tuple[asyncio.Handle, Any]] = {}
        self.transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

    def ensure_no_transport(self, fd: Any) -> None:
        """Raise RuntimeError if a transport (still open) owns descriptor `fd`."""
        transport = self.transports.get(fileno_of(fd))
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    def add_reader(self, fd: Any, handle: asyncio.Handle) -> asyncio.Handle:
        """Run `handle` whenever `fd` is readable; returns it."""
        self._watch(self._readers, self.reactor.add_reader, fd, handle)
        return handle

    def add_writer(self, fd: Any, handle: asyncio.Handle) -> asyncio.Handle:
        """Run `handle` whenever `fd` is writable; returns it."""
        self._watch(self._writers, self.reactor.add_writer, fd, handle)
        return handle

    def remove_reader(self, fd: Any) -> bool:
        return self._unwatch(self._readers, self.reactor.remove_reader, fd)

    def remove_writer(self, fd: Any) -> bool:
        return self._unwatch(self._writers, self.reactor.remove_writer, fd)

    def _watch(
        self,
        table: dict[int, tuple[asyncio.Handle, Any]],
        reactor_add: Callable[..., None],
        fd: Any,
        handle: asyncio.Handle,
    ) -> None:
        fileno = fileno_of(fd)
        if fileno < 0:
            raise ValueError(f"Invalid file descriptor: {fileno}")
        old = table.get(fileno)
        table[fileno] = (handle, fd)
        reactor_add(fileno, functools.partial(self._scheduler.run_io, handle))
        if old is not None:
            old[0].cancel()  # replaced: a copy of it may still be queued

    def _unwatch(
        self,
        table: dict[int, tuple[asyncio.Handle, Any]],
        reactor_remove: Callable[[int], bool],
        fd: Any,
    ) -> bool:
        fileno = self._lookup(table, fd)
        entry = table.pop(fileno, None)
        if entry is None:
            return False
        # OSError: the descriptor was closed before it was unwatched; the
        # kernel has already forgotten it, which is all we wanted.
        with contextlib.suppress(OSError):
            reactor_remove(fileno)
        entry[0].cancel()
        return True

    @staticmethod
    def _lookup(table: dict[int, tuple[asyncio.Handle, Any]], fd: Any) -> int:
        """The descriptor `fd` was registered as; for a closed socket, found by the object."""
        fileno = fileno_of(fd)
        if fileno >= 0:
            return fileno
        for registered, (_, obj) in table.items():
            if obj is fd:
                return registered
        raise ValueError(f"Invalid file descriptor: {fileno}")

    def close(self) -> None:
        """Forget every reader and writer (the loop is closing)."""
        for table, remove in (
            (self._readers, self.reactor.remove_reader),
            (self._writers, self.reactor.remove_writer),
        ):
            for fileno, (handle, _) in list(table.items()):
                with contextlib.suppress(OSError, RuntimeError):
                    remove(fileno)
                handle.cancel()
            table.clear()

    async def wait_ready(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        writing: bool,
        attempt: Callable[[], _T],
    ) -> _T:
        """Retry `attempt()` each time `sock` is ready, until it stops blocking."""
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        fut: asyncio.Future[_T] | None = loop.create_future()
        fd = sock.fileno()
        self.ensure_no_transport(fd)
        handle = asyncio.Handle(_attempt_into, (fut, attempt), loop, None)
        if writing:
            self.add_writer(fd, handle)
        else:
            self.add_reader(fd, handle)
        assert fut is not None
        fut.add_done_callback(functools.partial(self._done_waiting, fd, writing, handle))
        try:
            return await fut
        finally:
            # Break the cycle exception -> traceback -> this frame -> fut ->
            # exception, so that a failure is freed without the GC (asyncio
            # does the same).
            fut = None
            handle.cancel()

    def _done_waiting(self, fd: int, writing: bool, handle: asyncio.Handle, _: Any) -> None:
        # Someone else may have replaced our callback meanwhile: only remove
        # the watch if it is still ours.
        table = self._writers if writing else self._readers
        entry = table.get(fd)
        if entry is not None and entry[0] is handle:
            if writing:
                self.remove_writer(fd)
            else:
                self.remove_reader(fd)


def _attempt_into(fut: asyncio.Future[Any] | None, attempt: Callable[[], Any]) -> None:
    """Try once more; resolve `fut` unless the operation would still block."""
    assert fut is not None
    if fut.done():
        return  # cancelled: the done-callback removes the watch
    try:
        result = attempt()
    except (BlockingIOError, InterruptedError):
        return  # spurious wake-up: keep waiting
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(result)
    finally:
        fut = None  # the exception's traceback holds this frame: no cycle through fut
