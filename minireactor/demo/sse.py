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

On the server an SSE response is a `ResponseStream`
(`protocols/http_stream.py`): the handler answers with one and keeps
writing frames to it; the HTTP server sends them chunked. `EventStream`
adds the frame format and hangs up on a browser that stopped reading.

Read next: `dashboard.py`, which streams the loop's numbers with this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..protocols.http import Request, ResponseStream

__all__ = ["EventStream", "format_event"]

log = logging.getLogger("minireactor.demo")

# A browser that keeps the stream open but stops reading (a laptop lid
# closed) would make us buffer every frame; past this we hang up on it.
MAX_STREAM_BUFFER = 256 * 1024

_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store"}


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
    """One open event stream: frames go out on the request's `ResponseStream`.

    Answer the GET with `response` (a handler may return it), then `send`.

    Attributes:
        request: the GET request that opened the stream.
        response: the streaming response that carries the frames.
        closed: the browser went away or we hung up; `send` does nothing then.
        on_close: called once, with this stream, when it closes.
    """

    def __init__(self, request: Request, retry_ms: int = 1000) -> None:
        self.request = request
        self.response = ResponseStream(200, _HEADERS)
        self.response.on_close = self._closed
        self.on_close: Callable[[EventStream], None] | None = None
        # The retry field tells the browser how soon to reconnect if we go.
        self.response.write(f"retry: {retry_ms}\n\n".encode())

    @property
    def closed(self) -> bool:
        return self.response.closed

    def send(self, event: str, data: str) -> None:
        """Send one event (dropped, and the stream closed, if the browser stopped reading)."""
        self.send_raw(format_event(event, data))

    def send_raw(self, frame: bytes) -> None:
        """Send a frame made once by `format_event` for many streams."""
        if self.response.get_write_buffer_size() > MAX_STREAM_BUFFER:
            log.info("closing an event stream whose reader stopped reading")
            self.response.abort()
            return
        self.response.write(frame)

    def close(self) -> None:
        """End the stream (the browser will try to reconnect)."""
        self.response.end()

    def _closed(self, response: ResponseStream) -> None:
        if self.on_close is not None:
            self.on_close(self)
