"""The chat room: who is here, what they said, and the rules they live by.

No sockets and no reactor here, only the state of the room and its rules,
so all of it can be tried in a REPL and tested without I/O:

* `ChatLimits`: line length, flood rate and burst, room size, history.
* `TokenBucket`: flood control. Each line costs a token; tokens come back at
  `rate` per second, up to `burst`.
* `check_nick`, `clean_text`: what a nickname may be, and what a line may
  contain (no control characters: no terminal escape codes).
* `ChatRoom`: members, broadcasts and counters. It calls each member's
  `tell()` and each listener (the dashboard) with a `ChatEvent`; needing no
  reactor, one room outlives a restart of the server.

Read next: `chat.py`, the protocol that connects a terminal to a room.
"""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import MiniReactorError

__all__ = [
    "HELP",
    "NICK_RULE",
    "ChatError",
    "ChatEvent",
    "ChatLimits",
    "ChatRoom",
    "FloodError",
    "Member",
    "TokenBucket",
    "check_nick",
    "clean_text",
]

NICK_RULE = "1-16 letters, digits, '_' or '-', starting with a letter"
_NICK = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,15}\Z")
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
