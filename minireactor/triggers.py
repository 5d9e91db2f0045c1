"""System event triggers: code that runs when a reactor starts or stops.

Twisted's idea: an event ("startup" or "shutdown") happens in three phases,
"before", "during" and "after", and any code can hook a phase with
`Reactor.add_system_event_trigger(phase, event, f, *args)`. A thread pool
joins its workers *before* shutdown; a server might log *after* it.

A "before" trigger may return a Deferred (anything with `add_both`); the
reactor keeps running until those have fired, or until its shutdown timeout
runs out, before it moves on to "during".

Read next: `backends/base.py` (`lifecycle.py` fires these from `run()`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

PHASES = ("before", "during", "after")
EVENTS = ("startup", "shutdown")


class Triggers:
    """The registered triggers of one reactor, by (phase, event)."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._by_key: dict[tuple[str, str], dict[int, tuple[Callable[..., Any], tuple[Any, ...]]]]
        self._by_key = {(p, e): {} for p in PHASES for e in EVENTS}

    def add(self, phase: str, event: str, func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """Register `func(*args)`; return a handle for `remove`.

        Raises:
            ValueError: an unknown phase or event.
        """
        if (phase, event) not in self._by_key:
            raise ValueError(
                f"unknown trigger ({phase!r}, {event!r}): phase must be one of {PHASES} "
                f"and event one of {EVENTS}"
            )
        handle = (phase, event, next(self._ids))
        self._by_key[phase, event][handle[2]] = (func, args)
        return handle

    def remove(self, handle: Any) -> None:
        """Forget a trigger registered by `add`.

        Raises:
            ValueError: the handle is not a registered trigger.
        """
        try:
            phase, event, ident = handle
            del self._by_key[phase, event][ident]
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"{handle!r} is not a registered system event trigger") from None

    def take(self, phase: str, event: str) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
        """Remove and return the triggers of one phase, in registration order."""
        calls = list(self._by_key[phase, event].values())
        self._by_key[phase, event].clear()
        return calls
