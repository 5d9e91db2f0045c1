"""Deferreds: a result that is not there yet, and the coroutine glue built on them.

Everything in this package is built from one class, `Deferred`: a promise
that someone will call `callback(result)` or `errback(exc)` later. Reading
order: `deferred.py` (the class: the callback chain, errors, cancellation,
timeouts, asyncio futures; `succeed`, `fail`), `combinators.py`
(`DeferredList`, `gather`, `defer_later`, `sleep`), then `coroutines.py`
(`ensure_deferred`: how `await` works on top of callbacks; `maybe_deferred`).
`minireactor.run(main)`, the one-liner that runs a `main` on a fresh
reactor, is in `../main.py`. Import from
here: `from minireactor.defer import Deferred, gather`.

Layer: above the transports; it never imports the reactor: the only
thing it needs from a "reactor" is `call_later` and `seconds`, so the test
clock in `testing.py` works too. Read next: `task.py` (LoopingCall).
"""

from __future__ import annotations

from asyncio import CancelledError

from .combinators import DeferredList, defer_later, gather, sleep
from .coroutines import _CoroutineRunner as _CoroutineRunner  # notebook 06 reads its source
from .coroutines import ensure_deferred, maybe_deferred
from .deferred import AlreadyCalledError, Deferred, fail, succeed

__all__ = [
    "AlreadyCalledError",
    "CancelledError",
    "Deferred",
    "DeferredList",
    "defer_later",
    "ensure_deferred",
    "fail",
    "gather",
    "maybe_deferred",
    "sleep",
    "succeed",
]
