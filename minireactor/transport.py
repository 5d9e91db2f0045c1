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

Every transport (`tcp.py`, `udp.py`, `stdio.py`, `tls.py`, `process.py`)
shares one closing state machine::

    open --close()--> closing --buffer flushed--> lost (the end told once)
    open/closing --abort(exc) or an error--> lost at the next pass

`close()` stops reading and lets the buffer drain; `abort()` drops the
buffer; either way `_connection_lost`, the single end path, runs once, on
a later pass (never from inside the call that asked for it): it tells the
protocol (`connection_lost`, or the transport's own word for it), closes
the descriptor, and the core no longer owns the transport. One exception:
a child process's `abort()` kills and reaps it there and then, so it ends
inside the call.

A subclass fills in hooks. Every transport: `_stop_reading`,
`_discard_buffer` and `_release`. Each step of the ending has a stream
socket's default, overridden where a transport ends differently:

* `_shut_down()`, what `close()` does after it stops reading (default:
  end once the buffer is flushed, asking `_buffered()`);
* `_end_now(exc)`, what `abort()` does after it drops the buffer
  (default: end at the next pass);
* `_tell_lost(exc)`, how the protocol hears of the end (default:
  `connection_lost(exc)`), and `_after_lost(exc)` (default: nothing).

TCP and UDP keep every default; stdio flushes through its pipe writer
(`_shut_down`); `tls.py` (close_notify, the TCP transport underneath, the
handshake) fills in all four, and `process.py` (stdin, signals, the exit
status) the first three.

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
        self._lost = False  # the end path ran: the protocol was told, the descriptor closed

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
        """End gracefully: stop reading, then `_shut_down()` (a stream: flush first). Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        self._shut_down()

    def abort(self, exc: BaseException | None = None) -> None:
        """End now, dropping anything still buffered; the protocol's end hears of `exc`."""
        self._force_close(exc)

    def is_closing(self) -> bool:
        return self._closing

    def get_protocol(self) -> Any:
        return self._protocol

    def _force_close(self, exc: BaseException | None) -> None:
        """abort(), or an error (the protocol's or the descriptor's): end now. Idempotent."""
        if self._lost:
            return
        self._discard_buffer()
        if not self._closing:
            self._closing = True
            self._stop_reading()
        self._end_now(exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        """The single end path, whichever way we got here: runs once."""
        if self._lost:
            return
        self._lost = True
        self._closing = True  # lost is closing too: is_closing() and write() agree
        self._stop_reading()
        self._discard_buffer()
        self._reactor.disown(self)
        try:
            self._tell_lost(exc)
        finally:
            self._release()
        self._after_lost(exc)

    # -- the hooks a transport fills in ------------------------------------------

    def _stop_reading(self) -> None:
        """Stop watching for input."""
        raise NotImplementedError

    def _discard_buffer(self) -> None:
        """Drop what is buffered, and stop waiting to write it."""
        raise NotImplementedError

    def _release(self) -> None:
        """Close the descriptor(s), after `_tell_lost`: the connection is gone."""
        raise NotImplementedError

    # -- the steps with a stream's default ---------------------------------------

    def _shut_down(self) -> None:
        """After close(): lose the connection now if nothing is buffered.

        Otherwise the writing side calls `_connection_lost` once it drains.
        """
        if not self._buffered():
            self._reactor.call_soon(self._connection_lost, None)

    def _buffered(self) -> bool:
        """True while written data waits for the kernel (asked by the default `_shut_down`)."""
        raise NotImplementedError

    def _end_now(self, exc: BaseException | None) -> None:
        """After abort() or an error: lose the connection at the next pass."""
        self._reactor.call_soon(self._connection_lost, exc)

    def _tell_lost(self, exc: BaseException | None) -> None:
        """Tell the protocol it is over: `connection_lost(exc)`."""
        self._tell("connection_lost", exc)

    def _after_lost(self, exc: BaseException | None) -> None:
        """Runs after the protocol was told and the descriptors released (default: nothing)."""
