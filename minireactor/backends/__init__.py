"""The backend registry: which backends exist, which work here, which to use.

Every backend answers the same question ("which descriptors are ready?",
see `base.py`) with a different system call. They are listed here best first;
`available_backends()` keeps those whose system call this machine has, and
`create_backend("auto")` takes the first, unless the environment variable
`MINIREACTOR_BACKEND` names another.

Read next: `waker.py`, then `../interface.py` (what transports ask of the core).
"""

from __future__ import annotations

import os

from ..errors import BackendError
from .asyncio_hosted import AsyncioHostedBackend
from .base import READ, READABLE, TROUBLE, WRITABLE, WRITE, Backend
from .epoll import EpollBackend
from .kqueue import KqueueBackend
from .poll import PollBackend
from .select import SelectBackend
from .threaded import ThreadedBackend
from .tk import TkBackend

# Best first: the O(ready) kernels, then poll, select, the thread emulation, and
# the ones hosted on another loop: asyncio's, and a Tk window's (never chosen by "auto"
# while select exists).
_ALL: list[type[Backend]] = [
    EpollBackend,
    KqueueBackend,
    PollBackend,
    SelectBackend,
    ThreadedBackend,
    AsyncioHostedBackend,  # available only while an asyncio loop runs in this thread
    TkBackend,  # available when tkinter imports and there is a display
]

__all__ = [
    "READ",
    "READABLE",
    "TROUBLE",
    "WRITABLE",
    "WRITE",
    "Backend",
    "available_backends",
    "backend_class",
    "create_backend",
]


def available_backends() -> list[str]:
    """Names of the backends usable on this machine, best first."""
    return [cls.name for cls in _ALL if cls.is_available()]


def backend_class(name: str) -> type[Backend]:
    """The class of the backend called `name`, checking that it works here.

    Raises:
        BackendError: the name is unknown or its system call is missing here.
    """
    for cls in _ALL:
        if cls.name == name:
            if not cls.is_available():
                why = getattr(cls, "unavailable_reason", lambda: None)()
                raise BackendError(
                    f"the {name!r} backend is not available on this machine"
                    + (f" ({why})" if why else "")
                    + f"; choose one of {available_backends()}"
                )
            return cls
    known = [cls.name for cls in _ALL]
    raise BackendError(f"unknown backend {name!r}; known backends are {known}")


def create_backend(name: str | Backend | type[Backend] = "auto") -> Backend:
    """A new backend: `name`, or for "auto" $MINIREACTOR_BACKEND or the best here.

    A `Backend` instance is used as it is, and a `Backend` subclass is
    instantiated: that is how a backend you wrote yourself (exercise 02)
    plugs into a `Reactor`.
    """
    if isinstance(name, Backend):
        return name
    if isinstance(name, type) and issubclass(name, Backend):
        return name()
    if not isinstance(name, str):
        raise BackendError(f"backend must be a name or a Backend, not {type(name).__name__}")
    if name == "auto":
        name = os.environ.get("MINIREACTOR_BACKEND") or available_backends()[0]
    return backend_class(name)()
