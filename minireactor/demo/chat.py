"""A chat server that a classroom joins with `nc HOST 8000` (or the web page).

Every line a student types is broadcast to everyone else: one reactor, one
thread, and as many connections as the class brings. Type `/help` to see the
commands: `/nick NAME`, `/who`, `/quit`.

`ChatProtocol` is one connection, a `LineReceiver`. It enforces the limits
in `ChatLimits` (line length, flood control), handles a big read a slice at a
time so one sender cannot hold up the loop, and turns slash commands into
calls on the `ChatRoom` (`room.py`), which holds everything else.

Read next: `room.py`, then `dashboard.py`, which serves this chat and a live
view of its loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..protocol import Factory
from ..protocols.basic import LineReceiver
from .room import (
    HELP,
    NICK_RULE,
    ChatError,
    ChatEvent,
    ChatLimits,
    ChatRoom,
    FloodError,
    TokenBucket,
    check_nick,
    clean_text,
)

__all__ = [
    "NICK_RULE",
    "ChatError",
    "ChatEvent",
    "ChatLimits",
    "ChatProtocol",
    "ChatRoom",
    "FloodError",
    "TokenBucket",
    "chat_factory",
    "check_nick",
    "clean_text",
]

SLICE = 2 * 1024
"""Bytes of one peer's input handled per pass of the loop (see `ChatProtocol.data_received`)."""


class ChatProtocol(LineReceiver):
    """One person on a terminal: lines in, commands and broadcasts out.

    nc sends "\\n" and telnet "\\r\\n"; splitting on "\\n" and dropping a
    trailing "\\r" serves both. Replies end in "\\r\\n", which both display.

    While the peer does not read (its window is full, `pause_writing`), lines
    for it are skipped and counted instead of piling up in our memory; when it
    reads again it is told how many it missed.

    Args:
        room: the room this connection joins.
        call_soon: the reactor's `call_soon`; with it, a big read is handled
            a slice at a time so that one sender cannot monopolise the loop.
    """

    delimiter = b"\n"

    def __init__(self, room: ChatRoom, call_soon: Callable[..., Any] | None = None) -> None:
        self.room = room
        self.nick = ""
        self._call_soon = call_soon
        self._backlog = bytearray()  # bytes read but not yet handled (see data_received)
        self._eof = False
        self.MAX_LENGTH = room.limits.max_line + 1  # room for telnet's "\r" before "\n"
        self._bucket = room.new_bucket()
        self._flooding = False  # told "slow down" and still over the limit
        self._paused = False
        self._skipped = 0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.room.is_full():
            self.tell(
                f"* the room is full ({self.room.limits.max_clients} people); try again later"
            )
            transport.close()
            return
        self.room.join(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.nick:
            self.room.leave(self)

    def tell(self, text: str) -> None:
        """Send one line to this person (skipped while they are not reading)."""
        if self._paused:
            self._skipped += 1
            return
        if self.transport is not None:
            self.transport.write(text.encode("utf-8", "replace") + b"\r\n")

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._skipped:
            skipped, self._skipped = self._skipped, 0
            self.tell(f"* you missed {skipped} lines while you were not reading")

    def line_length_exceeded(self, line: bytes) -> None:
        """Say what the limit is, then close (the rest of the line is never read)."""
        self.tell(
            f"* that line is longer than {self.room.limits.max_line} bytes, the limit; "
            "closing the connection. Split long text over several lines."
        )
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Handle at most `SLICE` bytes now; the rest on later passes of the loop.

        Discussion: one read can return 256 KiB, some 10,000 lines, and each
        line is written to every member. Handled at once, that could take
        the loop seconds, and nobody else would be served meanwhile. So we
        handle a slice, stop reading from this peer, and let the loop run
        everyone else before the next slice. While we are not reading, TCP
        makes the sender wait: a flood slows down the flooder, not the room.
        """
        if self._call_soon is None:
            super().data_received(data)
            return
        was_waiting = bool(self._backlog)
        self._backlog += data
        if not was_waiting:
            self._next_slice()

    def _next_slice(self) -> None:
        chunk = bytes(self._backlog[:SLICE])
        del self._backlog[:SLICE]
        super().data_received(chunk)
        if self.transport is None or self.transport.is_closing():
            self._backlog.clear()
        elif self._backlog:
            self.transport.pause_reading()
            assert self._call_soon is not None
            self._call_soon(self._next_slice)
        elif self._eof:
            self.transport.close()  # the peer finished sending; we finished reading
        elif not self.transport.is_reading():
            self.transport.resume_reading()

    def eof_received(self) -> bool | None:
        """The peer will send no more: close, once the lines it sent are handled."""
        self._eof = True
        return True if self._backlog else None

    def line_received(self, line: bytes) -> None:
        line = line.removesuffix(b"\r")
        if len(line) > self.room.limits.max_line:
            self.line_length_exceeded(line)
            return
        if not line.strip():
            return
        # Flood control comes before the (slower) decoding: a dropped line
        # should cost next to nothing.
        if not self._bucket.take():
            self.room.dropped += 1
            if not self._flooding:
                self._flooding = True
                self.tell(f"* {self.room.flood_message()}")
            return
        self._flooding = False
        text = clean_text(line.decode("utf-8", "replace"))
        if not text:
            return
        if text.startswith("/") and not text.startswith("//"):
            self._command(text)
        else:
            self.room.say(self, self.nick, text.removeprefix("/"))

    def _command(self, text: str) -> None:
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        if name == "/nick":
            try:
                self.room.rename(self, argument)
            except ChatError as exc:
                self.tell(f"* {exc}")
        elif name == "/who":
            nicks = self.room.nicks()
            shown = ", ".join(nicks[:40]) + (
                f" and {len(nicks) - 40} more" if len(nicks) > 40 else ""
            )
            self.tell(f"* {len(nicks)} here: {shown}")
        elif name == "/quit":
            self.tell("* bye")
            self.transport.close()
        elif name == "/help":
            self.tell(f"* {HELP}; start a line with // to send one that begins with /")
        else:
            self.tell(f"* unknown command {name}; {HELP}")


def chat_factory(room: ChatRoom, reactor: Any = None) -> Factory[ChatProtocol]:
    """A factory for `reactor.listen_tcp` whose connections all join `room`.

    With `reactor`, each connection's input is handled a slice at a time
    (see `ChatProtocol.data_received`); pass it when serving for real.
    """
    call_soon = None if reactor is None else reactor.call_soon
    return Factory.for_protocol(ChatProtocol, room, call_soon)
