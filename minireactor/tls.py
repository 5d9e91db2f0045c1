"""TLS: encryption as a layer between a TCP transport and your protocol.

TLS is a protocol *for* the TCP transport (it receives ciphertext through
`data_received`) and a transport *for* your protocol (you `write` plaintext).
`TLSTransport` is that one object with two faces (composition, not a
subclass of `TCPTransport`)::

    your protocol  <-- plaintext -->  TLSTransport  <-- ciphertext -->  TCPTransport

Your protocol's `connection_made` comes after a successful handshake. A
failed one reaches a client's factory as `client_connection_failed(connector,
ssl.SSLError)`; a server logs it and drops the connection. Later errors
arrive as `connection_lost(ssl.SSLError)`.

Layer: a transport wrapping `tcp.py`'s. Read `tcp.py` first; `tls_endpoints.py` next.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .errors import ConnectTimeoutError
from .transport import Transport

if TYPE_CHECKING:
    from .interface import Loop
    from .timers import DelayedCall

log = logging.getLogger("minireactor")

CHUNK = 256 * 1024
"""Plaintext encrypted (or decrypted) per call, to bound each step's memory."""

__all__ = ["TLSTransport"]


class TLSTransport(Transport):
    """One TLS session over one TCP connection.

    Discussion: why `ssl.MemoryBIO`? An `ssl.SSLSocket` reads and writes its
    socket itself, so it must own the descriptor and fits a blocking world
    best. An `ssl.SSLObject` over two memory "BIOs" does no I/O at all: we
    put received bytes into `incoming`, ask it to decrypt, and send what it
    leaves in `outgoing`. TLS becomes pure computation on bytes and runs
    over whatever moves them: every backend, threaded included, unchanged.

    Closing: TLS ends a session with a *close_notify* alert, which ends both
    directions, so there is no half-close (`can_write_eof()` is False); a
    close_notify received is `eof_received()`. The states are the
    skeleton's (transport.py), and so are `close()` and `abort()`; the
    hooks say how a session ends. `_shut_down` (close) sends close_notify,
    then closes TCP; `_end_now` (abort, or an error in the protocol) aborts
    TCP. Either way the TCP transport's `connection_lost` arrives here and
    is the session's end: the skeleton's `_connection_lost`, run once.
    `_tell_lost` says `connection_lost` to the protocol, or
    `handshake_failed` to whoever is waiting if the handshake never
    finished; `_after_lost` calls `on_lost` (after a handshake only).

    Args:
        reactor: the reactor (for the handshake timer and shutdown tracking).
        context: the `ssl.SSLContext` (certificates, verification).
        server_side: True on the accepting side.
        server_hostname: the name the server's certificate must match (clients).
        make_protocol: builds the user's protocol once the handshake succeeded.
        handshake_failed: told why, if the handshake fails.
        handshake_timeout: seconds allowed for the handshake.
    """

    def __init__(
        self,
        reactor: Loop,
        context: ssl.SSLContext,
        server_side: bool,
        server_hostname: str | None,
        make_protocol: Callable[[], Any],
        handshake_failed: Callable[[BaseException], None],
        handshake_timeout: float,
    ) -> None:
        super().__init__(reactor, None)  # the protocol comes when the handshake succeeds
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj = context.wrap_bio(
            self._incoming, self._outgoing, server_side, server_hostname
        )
        self._make_protocol = make_protocol
        self._handshake_failed = handshake_failed
        self._handshake_timeout = handshake_timeout
        self._timer: DelayedCall | None = None
        self._tcp: Any = None
        self._error: BaseException | None = None  # why we end, if not cleanly
        self._reading_paused = False
        self._tcp_paused = False
        self.on_lost: Callable[[BaseException | None], None] | None = None

    # -- the protocol face: the TCP transport calls these -------------------

    def connection_made(self, transport: Any) -> None:
        self._tcp = transport
        # At shutdown the reactor should close *us* (close_notify first).
        self._reactor.disown(transport)
        self._reactor.own(self)
        if self._closing:  # closed or aborted before TCP came: end, no handshake
            transport.abort()
            return
        self._timer = self._reactor.call_later(self._handshake_timeout, self._timed_out)
        self._handshake()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._protocol is None:
            self._handshake()
        else:
            self._decrypt()

    def eof_received(self) -> bool | None:
        """TCP ended without (or after) close_notify."""
        if self._protocol is None:
            self._error = self._error or ConnectionResetError(
                "the peer closed the connection during the TLS handshake"
            )
            return None
        if self._closing:
            return None
        return self._tell("eof_received")  # type: ignore[no-any-return]

    def connection_lost(self, exc: BaseException | None) -> None:
        """TCP is gone, however it went: the session ends (our reason first, if we had one)."""
        self._connection_lost(self._error or exc)

    def pause_writing(self) -> None:
        self._tcp_paused = True
        if self._protocol is not None:
            self._tell("pause_writing")

    def resume_writing(self) -> None:
        self._tcp_paused = False
        if self._protocol is not None:
            self._tell("resume_writing")

    # -- the handshake --------------------------------------------------------

    def _handshake(self) -> None:
        try:
            self._sslobj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()  # our next handshake message; then wait for theirs
            return
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self._flush()  # the alert tells the peer why
            self._fail(exc)
            return
        self._flush()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            self._protocol = self._make_protocol()
        except Exception as exc:
            log.exception("building the protocol for a TLS connection failed")
            self._fail(exc)
            return
        self._tell("connection_made", self)
        if self._tcp_paused:
            self._tell("pause_writing")
        self._decrypt()  # application data may have come with the last handshake bytes

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(ConnectTimeoutError(f"TLS handshake not done after {self._handshake_timeout} s"))

    def _fail(self, exc: BaseException) -> None:
        """End the session because of `exc`: close TCP (it flushes any alert we queued).

        No close_notify: the session failed. `exc` is the reason the end reports.
        """
        if self._error is None:
            self._error = exc
        self._closing = True
        self._tcp.close()  # flushes an alert we may have queued

    # -- reading --------------------------------------------------------------

    def _decrypt(self) -> None:
        """Hand every complete record's plaintext to the protocol."""
        while not (self._reading_paused or self._closing or self._lost):
            try:
                data = self._sslobj.read(CHUNK)
            except ssl.SSLWantReadError:
                break  # needs more ciphertext
            except ssl.SSLZeroReturnError:
                self._close_notify_received()
                break
            except ssl.SSLError as exc:
                self._flush()
                self._fail(exc)
                return
            if not data:
                break
            self._tell("data_received", data)
        self._flush()  # reading may produce output (TLS 1.3 key updates)

    def _close_notify_received(self) -> None:
        if self._closing:
            return
        if not self._tell("eof_received"):
            self.close()

    def pause_reading(self) -> None:
        """Stop calling `data_received` until `resume_reading()`."""
        self._reading_paused = True
        self._tcp.pause_reading()

    def resume_reading(self) -> None:
        """Undo `pause_reading()`; plaintext already decrypted-able comes first."""
        if self._reading_paused:
            self._reading_paused = False
            self._tcp.resume_reading()
            self._reactor.call_soon(self._decrypt)

    def is_reading(self) -> bool:
        return not self._reading_paused and bool(self._tcp.is_reading())

    # -- writing --------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt `data` and send it.

        Raises:
            TypeError: `data` is not bytes-like (encode text first).
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}; encode text first")
        if not data or self._closing:
            return
        view = memoryview(data)
        try:
            while view:
                written = self._sslobj.write(view[:CHUNK])
                view = view[written:]
                self._flush()
        except ssl.SSLError as exc:
            self._fail(exc)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Write each chunk in turn (joined first: fewer, fuller records)."""
        self.write(b"".join(chunks))

    def _flush(self) -> None:
        """Send whatever the TLS machine wants sent."""
        data = self._outgoing.read()
        if data and self._tcp is not None:
            self._tcp.write(data)

    def write_eof(self) -> None:
        """Not possible (no half-close in TLS): raises NotImplementedError."""
        raise NotImplementedError(
            "TLS cannot half-close a connection: its close_notify alert ends both directions. "
            "Call close() when you are done (can_write_eof() is False for TLS)"
        )

    def can_write_eof(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """The TCP transport's marks (they count ciphertext)."""
        self._tcp.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """Ciphertext bytes not yet taken by the kernel."""
        return int(self._tcp.get_write_buffer_size())

    # -- closing: the skeleton's hooks (transport.py) ---------------------------

    def _shut_down(self) -> None:
        """close(): what is written, then close_notify, then close TCP (it flushes first).

        While still handshaking there is no session to close: just close TCP.
        """
        if self._protocol is not None:
            # unwrap() queues our close_notify, then raises SSLWantReadError
            # because theirs has not come: we need not wait for it.
            with contextlib.suppress(ssl.SSLError):
                self._sslobj.unwrap()
            self._flush()
        if self._tcp is not None:
            self._tcp.close()

    def _end_now(self, exc: BaseException | None) -> None:
        """abort() or a protocol error: abort TCP at once, without close_notify.

        `exc` is kept as the reason (unless one came first); TCP's
        `connection_lost` then ends the session with it.
        """
        self._error = self._error or exc
        if self._tcp is not None:  # (else connection_made will abort it)
            self._tcp.abort()

    def _tell_lost(self, exc: BaseException | None) -> None:
        """`connection_lost` after a handshake; before one, `handshake_failed`."""
        if self._protocol is not None:
            self._tell("connection_lost", exc)
        else:
            self._handshake_failed(
                exc or ConnectionResetError("the connection closed before the TLS handshake")
            )

    def _after_lost(self, exc: BaseException | None) -> None:
        """`on_lost` (a client's `client_connection_lost`), after a handshake only."""
        if self._protocol is not None and self.on_lost is not None:
            self.on_lost(exc)

    def _release(self) -> None:
        """The TCP transport closes its own socket; we only stop the handshake timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stop_reading(self) -> None:
        """Nothing to do: `_decrypt` stops once closing, and TCP stops when closed."""

    def _discard_buffer(self) -> None:
        """Nothing to do: ciphertext goes to TCP at once (`_flush`); its abort drops it."""

    # -- information ----------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """TLS details ('peercert', 'cipher', 'version', 'ssl_object') or the TCP transport's."""
        if name == "ssl_object":
            return self._sslobj
        if name in ("peercert", "cipher", "version"):
            method = "getpeercert" if name == "peercert" else name
            return getattr(self._sslobj, method)()
        return self._tcp.get_extra_info(name, default) if self._tcp is not None else default

    def __repr__(self) -> str:
        side = "server" if self._sslobj.server_side else "client"
        state = "handshaking" if self._protocol is None else "open"
        state = "closed" if self._lost else "closing" if self._closing else state
        return f"<TLSTransport {side} {state}>"
