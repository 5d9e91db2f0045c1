"""The transport skeleton: calling the protocol, closing, aborting, losing the connection.

Who catches what (the true rule, in two halves):

* the loop core (`core.py`) catches whatever a callback it runs raises,
  logs it, and goes on with the next callback: a broken callback never
  stops the loop;
* a transport catches what *its protocol* raises (`_tell`, or inline on a
  hot path with `_protocol_failed`), logs it, and closes *only that
  connection*, whose state is now unknown. Datagram sockets and child
  processes, where the next event does not depend on the last, only log
  (`closes_on_protocol_error = False`).

Every transport (`tcp.py`, `udp.py`, `stdio.py`; `tls.py` and
`process.py` for the protocol calls) shares one closing state machine::

    open --close()--> closing --buffer flushed--> lost (connection_lost once)
    open/closing --abort(exc) or an error--> lost at the next pass

`close()` stops reading and lets the buffer drain; `abort()` drops the
buffer; either way `connection_lost` runs once, on a later pass (never from
inside the call that asked for it), after which the descriptor is closed
and the core no longer owns the transport. A subclass fills in five hooks
(`_stop_reading`, `_buffered`, `_discard_buffer`, `_release`, and
optionally `_after_lost`).

Read next: `tcp.py`, the stream transport.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .interface import Loop

log = logging.getLogger("minireactor")


class Transport:
    """What every transport shares; see the module docstring for the rule and the states."""

    closes_on_protocol_error: ClassVar[bool] = True
    """Close the connection when its protocol raises (False: log it and go on)."""

    def __init__(self, reactor: Loop, protocol: Any) -> None:
        self._reactor = reactor
        self._protocol = protocol
        self._closing = False  # close() or abort() was called: no more writes
        self._lost = False  # connection_lost has been called

    # -- calling the protocol -------------------------------------------------

    def _tell(self, method: str, *args: Any) -> Any:
        """Call a protocol method; what it raises is logged and (see the rule) closes us."""
        try:
            return getattr(self._protocol, method)(*args)
        except Exception as exc:
            self._protocol_failed(method, exc)
            return None

    def _protocol_failed(self, method: str, exc: Exception) -> None:
        """A protocol method raised: log it and close this connection only."""
        log.error("Unhandled error in %r.%s", self._protocol, method, exc_info=exc)
        if self.closes_on_protocol_error and method != "connection_lost":
            self._force_close(exc)

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Stop reading, flush what is buffered, then close. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        self._close_when_flushed()

    def abort(self, exc: BaseException | None = None) -> None:
        """Close now, dropping anything still buffered; `connection_lost` receives `exc`."""
        self._force_close(exc)

    def is_closing(self) -> bool:
        return self._closing

    def get_protocol(self) -> Any:
        return self._protocol

    def _close_when_flushed(self) -> None:
        """After close(): lose the connection now if nothing is buffered.

        Otherwise the writing side calls `_connection_lost` once it drains.
        """
        if not self._buffered():
            self._reactor.call_soon(self._connection_lost, None)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._discard_buffer()
        if not self._closing:
            self._closing = True
            self._stop_reading()
        self._reactor.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._stop_reading()
        self._discard_buffer()
        self._reactor.disown(self)
        try:
            self._tell("connection_lost", exc)
        finally:
            self._release()
        self._after_lost(exc)

    # -- the hooks a transport fills in ------------------------------------------

    def _stop_reading(self) -> None:
        """Stop watching for input."""
        raise NotImplementedError

    def _buffered(self) -> bool:
        """True while written data waits for the kernel."""
        raise NotImplementedError

    def _discard_buffer(self) -> None:
        """Drop what is buffered, and stop waiting to write it."""
        raise NotImplementedError

    def _release(self) -> None:
        """Close the descriptor(s), after `connection_lost`: the connection is gone."""
        raise NotImplementedError

    def _after_lost(self, exc: BaseException | None) -> None:
        """Runs after `connection_lost` (the default: nothing)."""
