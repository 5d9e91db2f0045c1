"""minireactor.aio: asyncio running on a minireactor reactor.

Use it wherever asyncio accepts a loop factory::

    import asyncio
    import minireactor.aio

    with asyncio.Runner(loop_factory=minireactor.aio.new_event_loop) as runner:
        runner.run(main())

or install it for code that calls `asyncio.new_event_loop()` itself::

    asyncio.set_event_loop_policy(minireactor.aio.EventLoopPolicy())

Every asyncio API above the engine works unchanged: tasks, streams, servers,
TLS, subprocesses, executors. `loop.reactor` is the reactor underneath, so
minireactor protocols (`reactor.listen_tcp`) and asyncio code can share one
loop.

Reading order: `loop.py` (what is ours, what is inherited), `handles.py`,
`transports.py`, `datagram.py`, `servers.py`, `sockets.py`, `signals.py`.
"""

from __future__ import annotations

import asyncio

from ..reactor import Reactor
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


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event-loop policy whose `new_event_loop()` makes a `MiniReactorEventLoop`.

    Child watchers and the current-loop bookkeeping are asyncio's defaults.
    Policies are deprecated from Python 3.14 on: prefer `loop_factory=`.
    """

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        self.backend = backend

    def new_event_loop(self) -> MiniReactorEventLoop:
        return MiniReactorEventLoop(backend=self.backend)
