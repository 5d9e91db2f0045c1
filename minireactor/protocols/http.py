"""An HTTP/1.1 server protocol: requests in, your handler's responses out.

`HTTPServerProtocol` is an ordinary stream protocol (asyncio's method names),
so the same class serves on minireactor and on asyncio's own loop::

    def hello(request: Request) -> Response:
        return Response(200, body="hello")

    reactor.listen_tcp(8080, server_factory(hello, clock=reactor))
    await loop.create_server(lambda: HTTPServerProtocol(hello, clock=loop), port=8080)

A handler answers in one of three ways, none of which blocks the loop:

* return a `Response`: answered at once;
* return None and call `request.respond(response)` later (from a timer,
  after another fetch, ...);
* return a `Deferred` that fires with the Response, or be an `async def`
  (run with `defer.ensure_deferred`, so it awaits Deferreds, e.g.
  `await defer.sleep(reactor, 0.1)`).

Any of these can be a `ResponseStream` (`http_stream.py`), whose body the
handler goes on writing piece by piece, sent chunked. Requests on one connection
are answered strictly in order: the next pipelined request is handed over
only after the previous one is answered (RFC 9112 section 9.3.2).

The bytes-to-requests work is done by `http_parser.RequestParser`; this file
adds what needs a connection and a clock: keep-alive, error answers, flow
control and the timeouts (`http_timeouts.py`) that stop idle or deliberately
slow ("slowloris", "slow POST") clients from holding connections forever.

Read next: `http_writer.py` (responses onto the wire), `http_stream.py`
(streaming bodies), then the other side: `http_client_protocol.py` (one
client connection) and `http_client.py` (the client on top).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..defer import Deferred, ensure_deferred
from ..protocol import Factory, Protocol
from .http_messages import (
    Headers,
    HTTPError,
    HTTPParseError,
    Request,
    Response,
    status_has_body,
)
from .http_parser import RequestParser
from .http_stream import ResponseStream
from .http_timeouts import Clock, LazyTimer, RequestDeadline, ServerLimits, clock_time
from .http_writer import ResponseWriter, error_answer

__all__ = [
    "HTTPError",
    "HTTPParseError",
    "HTTPServerProtocol",
    "Handler",
    "Headers",
    "Request",
    "Response",
    "ResponseStream",
    "ServerLimits",
    "server_factory",
]

logger = logging.getLogger("minireactor.http")

#: A handler returns the Response; or None and calls request.respond() later;
#: or a Deferred / coroutine that produces the Response.
Handler = Callable[
    [Request], "Response | Deferred[Response] | Coroutine[Any, Any, Response] | None"
]

# While a handler is busy, pipelined bytes wait in the parser; past this many
# we stop reading from the socket so a client cannot queue unbounded work.
_PIPELINE_BUFFER_LIMIT = 64 * 1024


class HTTPServerProtocol(Protocol):
    """Serves HTTP/1.1 on one connection by calling `handler` for each request.

    Args:
        handler: called with each `Request`; returns a `Response`, None (and
            answers later with `request.respond(...)`), a Deferred, or a
            coroutine. If it raises or its Deferred fails, the client gets a
            500 and the error is logged.
        clock: arms the timeouts (a minireactor Reactor or an asyncio loop;
            timers use its `seconds()` or `time()`). Without one there are
            no timeouts.
        limits: sizes and timeouts; see `ServerLimits`.
        date_header: add a Date header to each response (RFC 9110 6.6.1).
        server_header: value of the Server header, or None for none.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        clock: Clock | None = None,
        limits: ServerLimits | None = None,
        date_header: bool = True,
        server_header: str | None = "minireactor",
    ) -> None:
        self.handler = handler
        self.limits = limits = limits or ServerLimits()
        self._now = clock_time(clock)
        self._writer = ResponseWriter(date_header, server_header)
        self._parser = RequestParser(
            max_head_bytes=limits.max_head_bytes, max_body_bytes=limits.max_body_bytes
        )
        self.transport: Any = None
        self._current: Request | None = None  # the request being handled
        self._stream: ResponseStream | None = None  # its streaming response, while it streams
        self._processing = False  # inside _process(): respond() must not re-enter it
        self._closing = False  # the connection will close after what is written
        self._eof = False  # the client finished sending
        self._write_paused = False
        self._read_paused = False
        # Timeouts: what the client owes and by when (http_timeouts.py).
        self._deadline = RequestDeadline(limits)
        self._timer: LazyTimer | None = None
        if clock is not None:
            self._timer = LazyTimer(clock, self._now, self._on_timeout)

    # -- the protocol callbacks ------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._update_deadline()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # after an error or "Connection: close", ignore the rest
        self._parser.feed(data)
        if self._current is None:
            self._process()
        else:
            self._update_flow()  # busy: just buffer, within limits

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._current is not None:
            return True  # half-close: keep our side open to send the pending answer
        return None  # nothing owed: let the transport close

    def connection_lost(self, exc: BaseException | None) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        if self._current is not None:
            self._current._responder = None  # a late respond() has nowhere to go
            self._current = None
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream._lost()
        self.transport = None

    def pause_writing(self) -> None:
        # The client is not reading its responses; stop producing more.
        self._write_paused = True
        if self._stream is not None:
            self._stream.paused = True
        self._update_flow()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._stream is not None:
            self._stream._resume()
        self._process()

    # -- requests in, responses out ----------------------------------------------

    def _process(self) -> None:
        """Answer the buffered requests in order, one at a time.

        Stops when the buffer holds no complete request, while a handler is
        still working on one, or while the transport's buffer is full.
        """
        self._processing = True
        parser = self._parser
        try:
            while self._current is None and not self._closing and not self._write_paused:
                try:
                    request = parser.next_request()
                except HTTPParseError as exc:
                    self._send_error(exc.status, str(exc))
                    return
                if request is None:
                    break
                self._dispatch(request)
        finally:
            self._processing = False
        if self._closing:
            return
        if self._current is None:
            if self._eof:
                self._close()  # the client is done and everything is answered
                return
            if parser.expects_continue:
                # The client waits for this before sending a large body.
                parser.expects_continue = False
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._update_flow()
        self._update_deadline()

    def _dispatch(self, request: Request) -> None:
        """Hand one request to the handler; write its response if it gave one."""
        self._current = request
        self._deadline.update("busy", 0, 0.0)  # the next request gets fresh deadlines
        request._responder = self._respond
        try:
            response = self.handler(request)
        except Exception as exc:
            self._handler_failed(exc, request)
            return
        if isinstance(response, Response):
            request.respond(response)
        elif inspect.iscoroutine(response) or isinstance(response, Deferred):
            later = ensure_deferred(response)
            later.add_callbacks(request.respond, self._handler_failed, errback_args=(request,))
        elif response is not None:
            self._handler_failed(TypeError(f"a handler returned {response!r}"), request)

    def _handler_failed(self, exc: BaseException, request: Request) -> None:
        """The handler raised (or its Deferred failed): log it and answer 500."""
        logger.error("HTTP handler %r failed on %r", self.handler, request, exc_info=exc)
        if self._current is request:  # not answered before it failed
            request._responder = None
            self._send_error(500, "the server failed while handling this request")

    def _respond(self, request: Request, response: Response) -> None:
        """Write `response` (called by `request.respond`)."""
        if request is not self._current or self.transport is None:
            return  # the connection is gone
        request._responder = None
        fields = response._headers  # None: the handler set no header (no object built)
        connection = None if fields is None else fields._map.get("connection")
        keep_alive = request.keep_alive and (
            connection is None or "close" not in connection.lower()
        )
        if isinstance(response, ResponseStream):
            self._start_stream(request, response, keep_alive)
            return
        self._current = None
        try:
            self._writer.write(self.transport, request, response, keep_alive)
        except HTTPError as exc:
            logger.error("HTTP handler %r gave an invalid response: %s", self.handler, exc)
            self._send_error(500, "the server produced an invalid response")
            return
        if not keep_alive:
            self._close()
        elif not self._processing:
            self._process()  # an answer given later: continue with pipelined requests

    def _start_stream(self, request: Request, stream: ResponseStream, keep_alive: bool) -> None:
        """Write a streaming response's head; its body follows as the handler writes it.

        The request stays current until the stream ends, so no timeout runs
        and pipelined requests wait. HTTP/1.0 has no chunked encoding: there
        the body runs until we close the connection.
        """
        keep_alive = keep_alive and request.version == "HTTP/1.1"
        try:
            if stream.used:
                raise HTTPError("a ResponseStream answers one request: make one per request")
            self._writer.write(self.transport, request, stream, keep_alive, streaming=True)
        except HTTPError as exc:
            self._current = None
            logger.error("HTTP handler %r gave an invalid response: %s", self.handler, exc)
            self._send_error(500, "the server produced an invalid response")
            return
        self._stream = stream
        bodyless = request.method == "HEAD" or not status_has_body(stream.status)
        finished = functools.partial(self._stream_ended, request, stream, keep_alive)
        stream._open(self.transport, keep_alive, bodyless, finished)

    def _stream_ended(self, request: Request, stream: ResponseStream, keep_alive: bool) -> None:
        """A streaming response's body is complete: go on with the connection."""
        if self._stream is stream:
            self._stream = None
        if request is not self._current or self.transport is None:
            return
        if self.transport.is_closing():  # aborted: connection_lost will tidy up
            return
        self._current = None
        if not keep_alive:
            self._close()
        elif not self._processing:
            self._process()

    def _send_error(self, status: int, message: str) -> None:
        """Answer with an error status and close: the stream can't be trusted now."""
        self._current = None
        self._closing = True
        if self.transport is None:
            return
        self.transport.write(error_answer(status, message))
        self._linger()

    def _linger(self) -> None:
        """Close after an error answer without letting a reset destroy it.

        Closing a socket whose input still holds unread bytes makes the
        kernel send RST instead of FIN (RFC 1122 4.2.2.13), and a client that
        receives RST may discard the answer it has not read yet: it sees
        "connection reset" instead of our 408. A client that is mid-request
        is likely to send more after our answer, so instead of closing we
        end our half (write_eof: FIN after the answer is flushed), keep
        reading and dropping whatever arrives, and close when the client
        closes or `linger_timeout` runs out. nginx calls this
        "lingering close".
        """
        transport = self.transport
        linger = self.limits.linger_timeout
        if self._timer is None or linger is None or not transport.can_write_eof():
            self._close()
            return
        self._closing = True  # data_received drops input from now on
        self._timer.set(self._now() + linger)  # _on_timeout closes, as _closing is set
        transport.write_eof()
        if self._read_paused:  # we must read to see the client's FIN
            self._read_paused = False
            transport.resume_reading()

    def _close(self) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()  # flushes what is written, then closes

    # -- flow control and timeouts -------------------------------------------------

    def _update_flow(self) -> None:
        """Stop reading while we cannot keep up; read again once we can."""
        busy = self._current is not None and self._parser.buffered > _PIPELINE_BUFFER_LIMIT
        should_pause = (self._write_paused or busy) and not self._closing
        if should_pause != self._read_paused and self.transport is not None:
            self._read_paused = should_pause
            if should_pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def _update_deadline(self) -> None:
        """Set the deadline that matches what we are waiting for."""
        if self._timer is None or self._closing:
            return
        parser = self._parser
        phase = "busy" if self._current is not None else parser.phase
        self._timer.set(self._deadline.update(phase, parser.body_received, self._now()))

    def _on_timeout(self) -> None:
        message = None if self._closing else self._deadline.expired_message()
        if message is None:
            self._close()  # idle between requests, or the linger is over: nothing to answer
        else:
            self._send_error(408, message)


def server_factory(
    handler: Handler,
    *,
    clock: Clock | None = None,
    date_header: bool = True,
    server_header: str | None = "minireactor",
    **limits: Any,
) -> Factory[HTTPServerProtocol]:
    """A Factory of `HTTPServerProtocol`s for `reactor.listen_tcp`.

    Example: `reactor.listen_tcp(8080, server_factory(app, clock=reactor,
    max_body_bytes=10_000_000))`.

    Args:
        handler, clock, date_header, server_header: as for `HTTPServerProtocol`.
        **limits: fields of `ServerLimits` (max_head_bytes, max_body_bytes,
            idle_timeout, header_timeout, body_timeout, body_min_rate,
            linger_timeout).

    Raises:
        TypeError: a keyword is not a `ServerLimits` field.
    """
    return Factory.for_protocol(
        HTTPServerProtocol,
        handler,
        clock=clock,
        limits=ServerLimits(**limits),
        date_header=date_header,
        server_header=server_header,
    )
