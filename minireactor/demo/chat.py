"""A chat server that a classroom joins with `nc HOST 8000` (or the web page).

Every line a student types is broadcast to everyone else: one reactor, one
thread, and as many connections as the class brings. Type `/help` to see the
commands: `/nick NAME`, `/who`, `/quit`.

Three pieces, from the bottom up:

* `TokenBucket`: flood control. Each line costs a token; tokens come back at
  `rate` per second, up to `burst`. A student who floods is told so once and
  their extra lines are dropped, so one script cannot drown the room.
* `ChatRoom`: who is here and what was said. It does no I/O of its own: it
  calls each member's `tell()` and each listener (the dashboard) with a
  `ChatEvent`. It needs no reactor, so one room outlives a restart.
* `ChatProtocol`: one connection, a `LineReceiver`. It cleans what arrives
  (no terminal escape codes), enforces the limits in `ChatLimits`, and turns
  slash commands into calls on the room.

Read next: `dashboard.py`, which serves this room and a live view of the loop.
"""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import MiniReactorError
from ..protocol import Factory
from ..protocols.basic import LineReceiver

__all__ = [
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

NICK_RULE = "1-16 letters, digits, '_' or '-', starting with a letter"
_NICK = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,15}\Z")
SLICE = 2 * 1024
"""Bytes of one peer's input handled per pass of the loop (see `ChatProtocol.data_received`)."""
HELP = "commands: /nick NAME (rename), /who (who is here), /quit (leave), /help"


class ChatError(MiniReactorError, ValueError):
    """A request the room refuses (bad nick, text too long); the message says why."""


class FloodError(ChatError):
    """Someone sent more lines than flood control allows."""


@dataclass(frozen=True)
class ChatLimits:
    """The limits that keep one student from spoiling the room for everyone.

    Attributes:
        max_line: bytes per line, without the newline. A longer line closes
            the connection (with a message saying why).
        rate: lines per second each person may send, sustained (0: no limit).
        burst: lines that may arrive at once before `rate` applies.
        max_clients: connections at once; later ones are told the room is full.
        history: chat lines kept for people who open the web page later.
    """

    max_line: int = 512
    rate: float = 5.0
    burst: int = 10
    max_clients: int = 500
    history: int = 50


@dataclass(frozen=True)
class ChatEvent:
    """Something that happened in the room, for listeners such as the dashboard.

    Attributes:
        kind: "message" (someone spoke), "join", "leave", "nick" or "notice"
            (from the server).
        text: the line as the chat shows it, e.g. "<alice> hello".
        time: wall-clock seconds (`time.time()`), for display.
    """

    kind: str
    text: str
    time: float = field(default_factory=time.time)


class TokenBucket:
    """Allow `burst` actions at once, then `rate` per second.

    Args:
        rate: tokens added per second; 0 means no limit at all.
        burst: the most tokens the bucket holds (and its starting level).
        clock: returns seconds; `time.monotonic` unless a test passes a fake.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()

    def take(self) -> bool:
        """Spend one token; False (and nothing spent) if the bucket is empty."""
        if self.rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def check_nick(nick: str) -> str:
    """Return `nick` if it follows the rules.

    Raises:
        ChatError: it does not; the message states the rule.
    """
    if not _NICK.match(nick):
        raise ChatError(f"{nick!r} is not a nickname: use {NICK_RULE}")
    return nick


def clean_text(text: str) -> str:
    """`text` without control characters, and with tabs as spaces.

    A terminal obeys escape sequences (ESC [ 2 J clears the screen), so a
    chat that relays them lets one student scribble on everyone's terminal.
    Removing Unicode's control characters (category Cc) removes them all.
    """
    return "".join(
        " " if ch == "\t" else ch for ch in text if ch == "\t" or unicodedata.category(ch) != "Cc"
    ).strip()


class Member(Protocol):
    """What the room needs from a participant: a nick and a way to tell them things."""

    nick: str

    def tell(self, text: str) -> None: ...


class ChatRoom:
    """The people in the chat and what they say; no I/O of its own.

    Args:
        limits: see `ChatLimits`.
        clock: for flood control (`time.monotonic` unless a test passes a fake).

    Attributes:
        backend_name: shown in the welcome line; the server sets it.
        messages: chat lines broadcast so far (commands are not counted).
        dropped: lines dropped by flood control.
        history: the last `limits.history` events, oldest first.
    """

    def __init__(
        self, limits: ChatLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or ChatLimits()
        self.clock = clock
        self.backend_name = ""
        self.messages = 0
        self.dropped = 0
        self.history: deque[ChatEvent] = deque(maxlen=self.limits.history)
        self._members: dict[str, Member] = {}  # lower-case nick -> member
        self._guests = itertools.count(1)
        self._listeners: list[Callable[[ChatEvent], None]] = []
        # Web visitors have no connection to hang a bucket on: one per nick,
        # the least recently used forgotten first so the table stays small.
        self._web_buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    # -- membership --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._members)

    def nicks(self) -> list[str]:
        """Everyone's nickname, sorted without regard to case."""
        return sorted((m.nick for m in self._members.values()), key=str.lower)

    def is_full(self) -> bool:
        return len(self._members) >= self.limits.max_clients

    def join(self, member: Member) -> None:
        """Give `member` a guest name, welcome them and tell the others."""
        while True:
            nick = f"guest{next(self._guests)}"
            if nick not in self._members:
                break
        member.nick = nick
        self._members[nick] = member
        backend = f" on the {self.backend_name} backend" if self.backend_name else ""
        member.tell(
            f"* welcome to the minireactor chat{backend}. You are {nick}; {len(self)} here."
        )
        member.tell(f"* {HELP}")
        self._announce("join", f"* {nick} joined", skip=member)

    def leave(self, member: Member) -> None:
        """Forget `member` (it is harmless to leave twice) and tell the others."""
        if self._members.get(member.nick.lower()) is member:
            del self._members[member.nick.lower()]
            self._announce("leave", f"* {member.nick} left")

    def rename(self, member: Member, nick: str) -> None:
        """Change `member`'s nickname and tell everyone.

        Raises:
            ChatError: the name breaks the rules or someone has it.
        """
        check_nick(nick)
        holder = self._members.get(nick.lower())
        if holder is not None and holder is not member:
            raise ChatError(f"{nick} is taken; pick another name")
        old = member.nick
        del self._members[old.lower()]
        member.nick = nick
        self._members[nick.lower()] = member
        self._announce("nick", f"* {old} is now {nick}")

    # -- talking -------------------------------------------------------------------

    def say(self, member: Member | None, nick: str, text: str) -> None:
        """Broadcast "<nick> text" to every member except the speaker."""
        self.messages += 1
        self._announce("message", f"<{nick}> {text}", skip=member)

    def say_from_web(self, nick: str, text: str) -> None:
        """A line posted from the web page, shown as "<nick@web> text".

        "@" is not allowed in nicknames, so a web visitor cannot pass for
        someone on a terminal.

        Raises:
            ChatError: bad nick, empty or over-long text.
            FloodError: this nick is over the flood limit.
        """
        check_nick(nick)
        if len(text.encode()) > self.limits.max_line:
            raise ChatError(f"a message may be at most {self.limits.max_line} bytes")
        text = clean_text(text)
        if not text:
            raise ChatError("the message is empty")
        bucket = self._web_buckets.pop(nick.lower(), None) or self.new_bucket()
        self._web_buckets[nick.lower()] = bucket
        while len(self._web_buckets) > 1000:
            self._web_buckets.popitem(last=False)
        if not bucket.take():
            self.dropped += 1
            raise FloodError(self.flood_message())
        self.say(None, f"{nick}@web", text)

    def new_bucket(self) -> TokenBucket:
        """A flood-control bucket with this room's limits."""
        return TokenBucket(self.limits.rate, self.limits.burst, self.clock)

    def flood_message(self) -> str:
        limits = self.limits
        return (
            f"slow down: at most {limits.rate:g} lines per second (bursts of "
            f"{limits.burst}); your extra lines are dropped"
        )

    def notice(self, text: str) -> None:
        """Tell every member something from the server (a restart, say)."""
        self._announce("notice", text)

    # -- listeners -----------------------------------------------------------------

    def add_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        """Call `listener(event)` for every join, leave, rename and message."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _announce(self, kind: str, text: str, skip: Member | None = None) -> None:
        for member in list(self._members.values()):
            if member is not skip:
                member.tell(text)
        event = ChatEvent(kind, text)
        self.history.append(event)
        for listener in list(self._listeners):
            listener(event)


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
