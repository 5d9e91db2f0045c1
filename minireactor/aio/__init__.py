"""minireactor.aio: asyncio running on a minireactor reactor.

Use it wherever asyncio accepts a loop factory::

    import asyncio
    import minireactor.aio

    with asyncio.Runner(loop_factory=minireactor.aio.new_event_loop) as runner:
        runner.run(main())

or, on Python 3.12 and later, `asyncio.run(main(), loop_factory=minireactor.aio.new_event_loop)`.
For code that calls `asyncio.new_event_loop()` itself there is a policy
(policies are deprecated from Python 3.14; prefer a loop factory)::

    asyncio.set_event_loop_policy(minireactor.aio.EventLoopPolicy())

Every asyncio API above the engine works unchanged: tasks, streams, servers,
TLS, subprocesses, executors. `loop.reactor` is the reactor underneath, so
minireactor protocols (`reactor.listen_tcp`) and asyncio code can share one
loop.

Reading order: `loop.py` (what is ours, what is inherited), `scheduler.py`,
`fds.py`, `transport_base.py`, `transports.py`, `datagram.py`, `servers.py`,
`sockets.py`, `unixsockets.py`, `subprocesses.py`, `signals.py`, `sendfile.py`;
`compat.py` holds every difference between Python versions.
"""

from __future__ import annotations

import functools
from typing import Any

from ..reactor import Reactor
from . import compat
from .loop import MiniReactorEventLoop

__all__ = ["EventLoopPolicy", "MiniReactorEventLoop", "new_event_loop"]


def new_event_loop(
    backend: str = "auto", *, reactor: Reactor | None = None
) -> MiniReactorEventLoop:
    """A new asyncio event loop on a new reactor (or on `reactor`).

    Args:
        backend: "auto" (best here, or $MINIREACTOR_BACKEND), "epoll", "kqueue",
            "poll" or "select".
        reactor: share this reactor instead of making one.
    """
    return MiniReactorEventLoop(reactor, backend=backend)


def __getattr__(name: str) -> Any:
    """`EventLoopPolicy`, built on first use: on 3.14 even naming asyncio's base warns."""
    if name == "EventLoopPolicy":
        compat.warn_policy_deprecated()
        return _policy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _policy_class() -> type[Any]:
    base = compat.default_policy_base()

    class EventLoopPolicy(base):  # type: ignore[valid-type,misc]
        """An event-loop policy whose `new_event_loop()` makes a `MiniReactorEventLoop`.

        Child watchers (up to 3.13) and the current-loop bookkeeping are
        asyncio's defaults. Policies are deprecated from Python 3.14 on:
        prefer `loop_factory=`.
        """

        def __init__(self, backend: str = "auto") -> None:
            super().__init__()
            self.backend = backend

        def new_event_loop(self) -> MiniReactorEventLoop:
            return MiniReactorEventLoop(backend=self.backend)

    EventLoopPolicy.__module__ = __name__
    return EventLoopPolicy
