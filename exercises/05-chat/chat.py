"""Exercise 05 - chat: a chat server (nicknames, broadcast, quitting) on minireactor.

Builds on minireactor's own `LineReceiver` (lines end with b"\\r\\n"). Read
README.md first; check with `minireactor grade chat`.
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
        raise NotImplementedError("connection_made: greet with b'WELCOME nickname?'")

    def line_received(self, line: bytes) -> None:
        raise NotImplementedError("line_received: nickname first, then messages (README)")

    def connection_lost(self, exc: BaseException | None) -> None:
        raise NotImplementedError("connection_lost: forget this user, tell the others")
