"""Server-Sent Events: a live stream from server to browser over plain HTTP.

An SSE response is an ordinary HTTP response that never ends. Its type is
`text/event-stream` and its body is a series of small text frames::

    event: stats
    data: {"connections": 3, "messages_per_s": 12.5}
    <empty line: the frame ends here>

In the browser, `new EventSource("/events")` parses the frames and calls a
handler per event name. If the connection drops, it reconnects by itself
(after the `retry:` delay the server suggested), which is exactly what a
dashboard wants when its server restarts on another backend.

Why not WebSocket? A WebSocket is a two-way, framed protocol: an Upgrade
handshake with a SHA-1 key, masked binary frames, ping/pong, close frames.
The dashboard only needs the server to talk; the page talks back with
ordinary POST requests. SSE needs nothing but a response we do not finish.

minireactor's HTTP server writes whole responses (`Content-Length` first),
so streaming is added here: `StreamingHTTPProtocol` lets a route take over
the connection. It writes the head itself, then frames as they come; the
body ends when the connection closes, which HTTP/1.1 allows for a response
that says `Connection: close` (RFC 9112 section 6.3).

Read next: `dashboard.py`, which streams the loop's numbers with this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..protocols.http import HTTPServerProtocol, Request, ServerLimits

__all__ = ["EventStream", "StreamingHTTPProtocol", "format_event"]

log = logging.getLogger("minireactor.demo")

# A browser that keeps the stream open but stops reading (a laptop lid
# closed) would make us buffer every frame; past this we hang up on it.
MAX_STREAM_BUFFER = 256 * 1024

_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)


def format_event(event: str, data: str) -> bytes:
    """One SSE frame: `event: NAME`, one `data:` line per line of `data`, a blank line.

    A newline inside `data` would end the field early, so each line of it
    gets its own `data:` field; the browser joins them back with newlines.

    Raises:
        ValueError: the event name contains a line break.
    """
    if "\n" in event or "\r" in event:
        raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
    lines = [f"event: {event}"]
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


class EventStream:
    """One open event stream: frames go straight to the HTTP connection.

    Created by `StreamingHTTPProtocol`, which writes the response head.

    Attributes:
        request: the GET request that opened the stream.
        closed: the browser went away or we hung up; `send` does nothing then.
        on_close: called once, with this stream, when it closes.
    """

    def __init__(self, transport: Any, request: Request, retry_ms: int = 1000) -> None:
        self.transport = transport
        self.request = request
        self.closed = False
        self.on_close: Callable[[EventStream], None] | None = None
        # The retry field tells the browser how soon to reconnect if we go.
        transport.write(_HEAD + f"retry: {retry_ms}\n\n".encode())

    def send(self, event: str, data: str) -> None:
        """Send one event (dropped, and the stream closed, if the browser stopped reading)."""
        self.send_raw(format_event(event, data))

    def send_raw(self, frame: bytes) -> None:
        """Send a frame made once by `format_event` for many streams."""
        if self.closed:
            return
        if self.transport.get_write_buffer_size() > MAX_STREAM_BUFFER:
            log.info("closing an event stream whose reader stopped reading")
            self.transport.abort()
            self.lost()
            return
        self.transport.write(frame)

    def close(self) -> None:
        """End the stream (the browser will try to reconnect)."""
        if not self.closed:
            self.transport.close()
            self.lost()

    def lost(self) -> None:
        """Mark the stream closed and tell `on_close` (once)."""
        if not self.closed:
            self.closed = True
            if self.on_close is not None:
                self.on_close(self)


class StreamingHTTPProtocol(HTTPServerProtocol):
    """An HTTP/1.1 server protocol where some paths open an event stream.

    Requests for any other path go to `handler`, as with `HTTPServerProtocol`.

    Args:
        handler: answers ordinary requests (see `protocols/http.py`).
        streams: maps a path (e.g. "/events") to a function that receives
            each new `EventStream` opened by a GET of that path.
        clock: the reactor, for the server's timeouts.
        limits: the server's limits.

    Discussion: the request that opens a stream is never answered through
    `request.respond()`, so the server protocol regards it as in progress
    for as long as the connection lives: it sets no idle timeout and reads
    no further requests from this connection. That is what we want; the
    stream owns the connection until one side closes it.
    """

    def __init__(
        self,
        handler: Callable[[Request], Any],
        streams: dict[str, Callable[[EventStream], None]],
        *,
        clock: Any = None,
        limits: ServerLimits | None = None,
    ) -> None:
        super().__init__(self._route, clock=clock, limits=limits)
        self._app = handler
        self._streams = streams
        self.stream: EventStream | None = None

    def _route(self, request: Request) -> Any:
        opener = self._streams.get(request.path)
        if opener is None or request.method != "GET" or self.transport is None:
            return self._app(request)
        self.stream = EventStream(self.transport, request)
        opener(self.stream)
        return None  # answered by the stream, never by respond()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.stream is not None:
            self.stream.lost()
        super().connection_lost(exc)
