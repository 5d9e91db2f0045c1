"""minireactor in Jupyter: one line to get a reactor that runs beside your cells.

A notebook's kernel already runs an asyncio loop, and `reactor.run()` would
block the notebook until `stop()`. Instead::

    import minireactor.jupyter
    reactor = minireactor.jupyter.start()          # returns at once, already running

    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))   # cell 2: keeps serving
    ...                                                         # cells 3, 4, ...: use it
    reactor.stop()                                              # last cell: clean shutdown

The reactor runs on the kernel's loop through the `asyncio` backend
(`backends/asyncio_hosted.py`), so everything (timers, servers, clients,
`call_from_thread`) works between cells. Call it from a cell or from a
coroutine: it needs that running loop.

Read next: `backends/asyncio_hosted.py`, which explains how the reactor rides
on the asyncio loop.
"""

from __future__ import annotations

import asyncio

from .errors import BackendError
from .reactor import Reactor

__all__ = ["start"]


def start(*, shutdown_timeout: float = 5.0) -> Reactor:
    """A new, started reactor hosted on the asyncio loop running here.

    Raises:
        BackendError: no asyncio loop is running (call it from a notebook cell
            or a coroutine; in a plain script use `Reactor().run()`).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise BackendError(
            "minireactor.jupyter.start() hosts the reactor on an asyncio loop that is already "
            "running: call it in a notebook cell or a coroutine. In a plain script, use "
            "Reactor().run() (or minireactor.run(main)) instead"
        ) from None
    reactor = Reactor(backend="asyncio", shutdown_timeout=shutdown_timeout)
    reactor.start()
    return reactor
