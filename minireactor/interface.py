"""The loop core's small interface: what a transport may ask of its reactor.

Transports (`transport.py`, `tcp.py`, `udp.py`, `stdio.py`, `process.py`,
`tls.py`, the listeners and connectors) are written against `Loop`, not
against `Reactor`: they only schedule callbacks, watch descriptors, and have
the core own them until they close. `LoopCore` (core.py), and so every
`Reactor`, satisfies it; a test double only needs these methods.

`Resource` is what the core owns (`Loop.own`): anything with `close()`
(graceful; it calls `disown` once gone) and `abort()` (at once). See
`lifecycle.py` for when each is called.

Read next: `transport.py`, the skeleton every transport shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .timers import DelayedCall
    from .trace import Trace


class Resource(Protocol):
    """Something a core owns and closes at shutdown (see lifecycle.py)."""

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Loop(Protocol):
    """The part of the loop core that transports use."""

    tracer: Trace | None
    """The `Trace` being recorded, or None; transports report bytes to it."""

    def seconds(self) -> float: ...

    def call_soon(self, func: Callable[..., Any], *args: Any) -> None: ...

    def call_later(self, delay: float, func: Callable[..., Any], *args: Any) -> DelayedCall: ...

    def call_from_thread(self, func: Callable[..., Any], *args: Any) -> None: ...

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None: ...

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None: ...

    def remove_reader(self, fd: Any) -> bool: ...

    def remove_writer(self, fd: Any) -> bool: ...

    def own(self, resource: Resource) -> None: ...

    def disown(self, resource: Resource) -> None: ...

    def shared(self, kind: type[Any], make: Callable[[], Any]) -> Any: ...

    @property
    def running(self) -> bool: ...
