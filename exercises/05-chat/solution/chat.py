"""Exercise 05 - chat: reference solution.

The factory holds the one piece of shared state (nickname -> protocol); each
protocol is a two-state machine: waiting for a nickname, then chatting.
Leaving is handled in `connection_lost` only, so a /quit, a closed socket and
a reset all take the same path and nobody is announced twice.
"""

from __future__ import annotations

from minireactor import Factory
from minireactor.protocols.basic import LineReceiver


class ChatFactory(Factory["ChatProtocol"]):
    """Shared state: who is connected, by nickname."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol = ChatProtocol
        self.users: dict[bytes, ChatProtocol] = {}


class ChatProtocol(LineReceiver):
    """One client. First line: a nickname. Then messages, /who, /quit."""

    factory: ChatFactory

    def connection_made(self, transport: object) -> None:
        super().connection_made(transport)
        self.nick: bytes | None = None
        self.send_line(b"WELCOME nickname?")

    def line_received(self, line: bytes) -> None:
        if self.nick is None:
            self._choose_nick(line.strip())
        elif line == b"/quit":
            self.send_line(b"BYE")
            self.transport.close()
        elif line == b"/who":
            self.send_line(b"USERS " + b" ".join(sorted(self.factory.users)))
        else:
            self._broadcast(b"<" + self.nick + b"> " + line)

    def _choose_nick(self, nick: bytes) -> None:
        if not nick or b" " in nick:
            self.send_line(b"ERROR nickname must be one word; nickname?")
        elif nick in self.factory.users:
            self.send_line(b"ERROR nickname taken; nickname?")
        else:
            self.nick = nick
            self.factory.users[nick] = self
            self.send_line(b"HELLO " + nick)
            self._broadcast(b"* " + nick + b" joined")

    def _broadcast(self, line: bytes) -> None:
        for nick, user in self.factory.users.items():
            if nick != self.nick:
                user.send_line(line)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.nick is not None and self.factory.users.get(self.nick) is self:
            del self.factory.users[self.nick]
            self._broadcast(b"* " + self.nick + b" left")
