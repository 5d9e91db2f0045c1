"""Every difference between the Python versions `minireactor.aio` runs on, in one place.

The rest of `minireactor.aio` is written once, for every supported CPython
(3.11 and newer); what asyncio changed between versions is answered here,
each with the versions it concerns:

* `Server._attach` / `_detach` take the transport from 3.13 on (the server
  keeps its clients for `close_clients()`); before, they took nothing.
* `create_unix_server(cleanup_socket=True)` (3.13): the server removes its
  socket file when it closes, unless something replaced the file meanwhile.
* Child processes: up to 3.13 the event-loop policy's child watcher reaps
  them, as on asyncio's own loop (3.11 uses what the watcher's `__enter__`
  returns, 3.12 the watcher); child watchers were removed in 3.14, where
  asyncio's loop waits itself, and so does ours (`subprocesses.py`).
* Policies are deprecated from 3.14 (CPython gh-127949): merely naming
  `asyncio.DefaultEventLoopPolicy` warns there, so our policy class is built
  only when someone asks for it (`policy_class`).
* `asyncio.iscoroutinefunction` is deprecated from 3.14: `inspect`'s is used.

The asyncio internals the package relies on, and why, are listed in
docs/asyncio-conformance.md. Nothing here imports the rest of the package.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import warnings
from typing import Any

PY313 = sys.version_info >= (3, 13)
PY314 = sys.version_info >= (3, 14)
UNIX = sys.platform != "win32"
"""False on Windows, where pipes, subprocesses, signals and Unix sockets are not supported."""

HAS_CHILD_WATCHERS = hasattr(asyncio, "get_child_watcher")
"""True up to 3.13: asyncio's policy reaps child processes through a child watcher."""

USE_WHAT_WATCHER_ENTER_RETURNS = sys.version_info < (3, 12)
"""3.11 uses `with watcher as w: w.add_child_handler(...)`; 3.12-3.13 use `watcher` itself.

The same object for asyncio's own watchers; only a test double tells them apart.
"""


def require_unix(method: str) -> None:
    """Raise NotImplementedError for a Unix-only feature on Windows, naming an alternative."""
    if not UNIX:
        raise NotImplementedError(
            f"loop.{method}() is not supported by minireactor.aio on Windows (it needs Unix "
            f"pipes, signals or sockets); use asyncio's default ProactorEventLoop for it"
        )


def server_attach(server: Any, transport: Any) -> None:
    """Count a new connection of an `asyncio.Server` (it waits for them in wait_closed)."""
    if PY313:
        server._attach(transport)
    else:
        server._attach()


def server_detach(server: Any, transport: Any) -> None:
    """The connection `transport` of an `asyncio.Server` has closed."""
    if PY313:
        server._detach(transport)
    else:
        server._detach()


def is_coroutine_callable(callback: Any) -> bool:
    """True for a coroutine or coroutine function (refused as signal handlers)."""
    return inspect.iscoroutine(callback) or inspect.iscoroutinefunction(callback)


def policy_child_watcher() -> Any:
    """The policy's child watcher (3.11-3.13 only), without 3.12's deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_child_watcher()


def default_policy_base() -> type[Any]:
    """asyncio's default policy class, to subclass; named only when a policy is wanted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.14: the name itself warns
        base: type[Any] = asyncio.DefaultEventLoopPolicy
    return base


def warn_policy_deprecated() -> None:
    """From 3.14, say that policies are deprecated, as asyncio does for its own."""
    if PY314:
        warnings.warn(
            "minireactor.aio.EventLoopPolicy is deprecated like asyncio's policies (removal "
            "in Python 3.16); use asyncio.run(main(), loop_factory=minireactor.aio."
            "new_event_loop) or asyncio.Runner(loop_factory=...)",
            DeprecationWarning,
            stacklevel=3,
        )
