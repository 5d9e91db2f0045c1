"""`minireactor.run(main)`: the one named entry point for a one-off program.

It makes a fresh `Reactor`, calls `main(reactor, *args)` once the loop
runs, and runs the loop until the result `main` promised arrives (a plain
value, a Deferred, or an `async def`'s result, through
`defer.maybe_deferred`); then the reactor stops, shuts down and closes,
even if something failed. No global reactor: call it as often as you like.

Layer: the top of the library, above `reactor.py` and `defer/`, which it
joins. Read next: `defer/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .defer import Deferred, maybe_deferred
from .defer.deferred import _is_error
from .reactor import Reactor

__all__ = ["run"]


def run(main: Callable[..., Any], *args: Any, backend: str = "auto") -> Any:
    """Run `main(reactor, *args)` on a fresh reactor and return its result.

    `main` may be a plain function, an `async def`, or return a Deferred;
    the reactor runs until that result arrives, then stops and closes (it is
    closed even if something fails). An error is raised here, with its
    original traceback.

    Raises:
        Whatever `main` raised; RuntimeError if the reactor was stopped by
        someone else before `main` finished (its work is cancelled).
    """
    reactor = Reactor(backend=backend)
    outcome: list[Any] = []
    pending: list[Deferred[Any]] = []

    def finish(result: Any) -> None:
        outcome.append(result)
        reactor.stop()

    def start() -> None:
        d = maybe_deferred(main, reactor, *args)
        pending.append(d)
        d.add_both(finish)

    try:
        reactor.call_when_running(start)
        reactor.run()
    finally:
        reactor.close()
    if not outcome:
        if pending:
            pending[0].cancel()
        raise RuntimeError("the reactor was stopped before main() finished; its work was cancelled")
    if _is_error(outcome[0]):
        raise outcome[0]
    return outcome[0]
