"""Unix signal handlers for `minireactor.aio` (`loop.add_signal_handler`).

A Python signal handler runs between two bytecodes of the main thread,
whatever that thread is doing: far too early for asyncio callbacks. So we
use the standard trick, in three steps:

1. `signal.set_wakeup_fd(w)`: when a signal arrives, the C-level handler
   writes the signal number as one byte into the socket `w`.
2. The read end of that socket pair is watched by the reactor like any
   other descriptor, so a sleeping loop wakes up at once.
3. When it is readable, we read the signal numbers and queue each one's
   handler on the reactor's ready queue, where it runs like any callback.

`set_wakeup_fd` only works in the main thread; a loop running elsewhere
gets asyncio's RuntimeError when it tries to add a handler.

Read next: `loop.py`, which owns one `SignalHandlers`.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
import sys
import warnings
from asyncio.log import logger
from collections.abc import Callable
from typing import Any

from ..reactor import Reactor
from .compat import is_coroutine_callable
from .scheduler import Scheduler


def _ignore_signal(signum: int, frame: Any) -> None:
    """The Python-level handler: does nothing, the wakeup fd carries the news."""


class SignalHandlers:
    """The signal handlers of one loop, and the socket pair that delivers signals.

    Args:
        loop: the loop the handlers belong to.
        reactor: watches the socket pair.
        scheduler: the loop's ready queue, where an arrived signal's handler goes.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, reactor: Reactor, scheduler: Scheduler
    ) -> None:
        self._loop = loop
        self._reactor = reactor
        self._scheduler = scheduler
        self.handlers: dict[int, asyncio.Handle] = {}
        self._pair: tuple[socket.socket, socket.socket] | None = None

    def add(self, sig: int, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        """Run `callback(*args)` on the loop whenever `sig` arrives.

        Raises:
            TypeError: `callback` is a coroutine (schedule a task from a plain function).
            ValueError: `sig` is not a valid signal number.
            RuntimeError: not in the main thread, or `sig` cannot be caught.
        """
        if is_coroutine_callable(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        check_signal(sig)
        if self._loop.is_closed():
            raise RuntimeError("Event loop is closed")
        write_end = self._socket_pair()[1]
        try:
            # Raises ValueError outside the main thread: fail before changing anything.
            signal.set_wakeup_fd(write_end.fileno())
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc)) from None
        self.handlers[sig] = asyncio.Handle(callback, args, self._loop, None)
        try:
            signal.signal(sig, _ignore_signal)
            signal.siginterrupt(sig, False)  # restart interrupted system calls
        except OSError as exc:
            del self.handlers[sig]
            if not self.handlers:
                self._clear_wakeup_fd()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught") from None
            raise

    def remove(self, sig: int) -> bool:
        """Restore the default handling of `sig`; True if we had a handler for it."""
        check_signal(sig)
        if self.handlers.pop(sig, None) is None:
            return False
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, default)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught") from None
            raise
        if not self.handlers:
            self._clear_wakeup_fd()
        return True

    def close(self) -> None:
        """Remove every handler and release the socket pair."""
        if sys.is_finalizing():
            if self.handlers:
                warnings.warn(
                    f"Closing the loop {self._loop!r} on interpreter shutdown stage, "
                    f"skipping signal handlers removal",
                    ResourceWarning,
                    stacklevel=2,
                    source=self._loop,
                )
            self.handlers.clear()
        for sig in list(self.handlers):
            self.remove(sig)
        if self._pair is not None:
            self._reactor.remove_reader(self._pair[0])
            for sock in self._pair:
                sock.close()
            self._pair = None

    def _socket_pair(self) -> tuple[socket.socket, socket.socket]:
        if self._pair is None:
            read_end, write_end = socket.socketpair()
            read_end.setblocking(False)
            write_end.setblocking(False)  # the C handler must never block
            self._reactor.add_reader(read_end, self._read_signals)
            self._pair = (read_end, write_end)
        return self._pair

    def _read_signals(self) -> None:
        assert self._pair is not None
        try:
            data = self._pair[0].recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            handle = self.handlers.get(signum)
            if handle is None:
                continue  # removed after it arrived
            if handle.cancelled():
                self.remove(signum)
            else:
                self._scheduler.ready.append(handle)

    @staticmethod
    def _clear_wakeup_fd() -> None:
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError) as exc:
            logger.info("set_wakeup_fd(-1) failed: %s", exc)


def check_signal(sig: Any) -> None:
    """Raise TypeError or ValueError unless `sig` is a valid signal number."""
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}")
    if sig not in signal.valid_signals():
        raise ValueError(f"invalid signal number {sig}")
