"""Graded tests for exercise 05 (chat): protocol behaviour on in-memory
transports, then one conversation over real TCP."""

from __future__ import annotations

from typing import Any

from chat import ChatFactory

from minireactor import Reactor
from minireactor.grader.testing import Background, connect, expect, points, recv_until
from minireactor.testing import StringTransport


class Room:
    """A ChatFactory with clients on StringTransports."""

    def __init__(self) -> None:
        self.factory = ChatFactory()
        self.transports: dict[str, StringTransport] = {}

    def connect(self, name: str) -> StringTransport:
        transport = StringTransport()
        transport.connect(self.factory.build_protocol(("192.0.2.1", 1)))
        self.transports[name] = transport
        return transport

    def join(self, name: str) -> StringTransport:
        transport = self.connect(name)
        transport.receive(name.encode() + b"\r\n")
        return transport

    def heard(self, name: str) -> list[bytes]:
        """The lines `name` received since last asked."""
        transport = self.transports[name]
        lines = transport.value().split(b"\r\n")[:-1]
        transport.clear()
        return lines


@points(2)
def test_greeting_and_nickname() -> None:
    room = Room()
    alice = room.connect("alice")
    expect(room.heard("alice"), [b"WELCOME nickname?"], "the greeting")
    alice.receive(b"alice\r\n")
    expect(room.heard("alice"), [b"HELLO alice"], "the reply to a nickname")
    expect(sorted(room.factory.users), [b"alice"], "factory.users")


@points(2)
def test_a_taken_nickname_is_refused() -> None:
    room = Room()
    room.join("alice")
    second = room.connect("second")
    room.heard("second")
    second.receive(b"alice\r\n")
    expect(room.heard("second"), [b"ERROR nickname taken; nickname?"], "a taken nickname")
    second.receive(b"bob\r\n")
    expect(room.heard("second"), [b"HELLO bob"], "then a free one")


@points(2)
def test_messages_go_to_the_others_only() -> None:
    room = Room()
    for name in ("alice", "bob", "carol"):
        room.join(name)
    for name in ("alice", "bob", "carol"):
        room.heard(name)
    room.transports["alice"].receive(b"hi all\r\n")
    expect(room.heard("bob"), [b"<alice> hi all"], "what bob heard")
    expect(room.heard("carol"), [b"<alice> hi all"], "what carol heard")
    expect(room.heard("alice"), [], "what alice heard (not her own message)")


@points(2)
def test_joining_and_leaving_are_announced() -> None:
    room = Room()
    room.join("alice")
    room.heard("alice")
    carol = room.join("carol")
    expect(room.heard("alice"), [b"* carol joined"], "what alice heard when carol joined")
    carol.lose_connection()
    expect(room.heard("alice"), [b"* carol left"], "what alice heard when carol's line dropped")
    expect(sorted(room.factory.users), [b"alice"], "factory.users after carol left")


@points(1)
def test_quit_and_who() -> None:
    room = Room()
    room.join("alice")
    bob = room.join("bob")
    room.heard("alice")
    room.heard("bob")
    bob.receive(b"/who\r\n")
    expect(room.heard("bob"), [b"USERS alice bob"], "/who")
    bob.receive(b"/quit\r\n")
    expect(room.heard("bob"), [b"BYE"], "/quit")
    expect(bob.closing, True, "whether /quit closed the connection")
    bob.lose_connection()
    expect(room.heard("alice"), [b"* bob left"], "what alice heard (once)")


@points(1)
def test_a_conversation_over_tcp() -> None:
    reactor = Reactor()
    port = reactor.listen_tcp(0, ChatFactory())

    def conversation() -> Any:
        with connect(port.address) as alice, connect(port.address) as bob:
            recv_until(alice, b"\r\n")
            alice.sendall(b"alice\r\n")
            recv_until(alice, b"\r\n")
            recv_until(bob, b"\r\n")
            bob.sendall(b"bob\r\n")
            recv_until(bob, b"\r\n")
            recv_until(alice, b"\r\n")  # * bob joined
            bob.sendall(b"hello alice\r\n")
            return recv_until(alice, b"\r\n")

    worker = Background(conversation).start(settle=0)
    deadline = reactor.seconds() + 5
    while worker.alive and reactor.seconds() < deadline:
        reactor.iterate(0.02)
    worker.check()
    expect(worker.result, b"<bob> hello alice\r\n", "what alice received over TCP")
    reactor.close()
