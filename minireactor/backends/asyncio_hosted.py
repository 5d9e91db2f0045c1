"""The `asyncio` backend: minireactor hosted on an asyncio loop that is already running.

Jupyter's kernel runs an asyncio loop, and a notebook cell must return for
the next one to run: a cell cannot call `reactor.run()`, which blocks until
`stop()`. So the asyncio loop waits and the reactor rides on it, through the
hosted-backend hook of `hosted.py`: descriptors are watched with
`loop.add_reader` / `add_writer`, passes run from `loop.call_soon`, and the
next timer is one `loop.call_later`.

So a server started in one cell keeps serving while later cells run, and
`reactor.stop()` in a later cell shuts it down on the loop's next turn. A
hosted reactor never calls `run()`: `Reactor.start()` returns at once.

Read next: `__init__.py` (the registry); `../jupyter.py` is the one-liner
for notebooks that uses this backend.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from .base import READ, WRITE
from .hosted import Cancel, HostedBackend

if TYPE_CHECKING:
    import asyncio


class AsyncioHostedBackend(HostedBackend):
    """Readiness reported by a running asyncio loop; reactor passes scheduled on it.

    Args:
        loop: the host loop; by default the one running in this thread.

    Raises:
        BackendError: no asyncio loop is running here (and none was given).
    """

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            import asyncio  # here, not at the top: a plain reactor never needs it

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise BackendError(
                    "the 'asyncio' backend hosts minireactor on an asyncio loop that is already "
                    "running (as in Jupyter): create the Reactor inside a coroutine or a notebook "
                    "cell, or choose another backend (minireactor.available_backends())"
                ) from None
        super().__init__()
        self.loop = loop

    @classmethod
    def is_available(cls) -> bool:
        """True while an asyncio loop runs in this thread (there is something to host on)."""
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return False  # not even imported, so certainly not running
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def _host_watch(self, fd: int, old: int, new: int) -> None:
        if new & READ and not old & READ:
            self.loop.add_reader(fd, self._note, fd, READ)
        elif old & READ and not new & READ:
            self.loop.remove_reader(fd)
        if new & WRITE and not old & WRITE:
            self.loop.add_writer(fd, self._note, fd, WRITE)
        elif old & WRITE and not new & WRITE:
            self.loop.remove_writer(fd)

    def _host_call_soon(self, func: Callable[[], Any]) -> None:
        self.loop.call_soon(func)

    def _host_call_later(self, delay: float, func: Callable[[], Any]) -> Cancel:
        return self.loop.call_later(delay, func)

    def _host_time(self) -> float:
        return self.loop.time()
