"""Tests for minireactor/demo/chat.py: the classroom chat server.

Most tests play the peers with `StringTransport` and a fake `Clock` (exact and
instant); the last ones use real loopback sockets on every backend.
"""

from __future__ import annotations

import socket

import pytest
from conftest import spin

from minireactor import Reactor
from minireactor.demo.chat import (
    ChatError,
    ChatEvent,
    ChatLimits,
    ChatProtocol,
    ChatRoom,
    FloodError,
    TokenBucket,
    chat_factory,
    check_nick,
    clean_text,
)
from minireactor.testing import Clock, StringTransport


def join(room: ChatRoom) -> tuple[ChatProtocol, StringTransport]:
    transport = StringTransport()
    protocol = ChatProtocol(room)
    transport.connect(protocol)
    return protocol, transport


def lines(transport: StringTransport) -> list[str]:
    """The lines written since the last call (then forgotten)."""
    text = transport.value().decode()
    transport.clear()
    assert text == "" or text.endswith("\r\n")
    return text.split("\r\n")[:-1]


@pytest.fixture
def room() -> ChatRoom:
    return ChatRoom(ChatLimits(rate=0))  # no flood control unless a test wants it


def test_join_welcomes_with_a_guest_name_and_tells_the_others(room: ChatRoom) -> None:
    room.backend_name = "epoll"
    _, a = join(room)
    welcome = lines(a)
    assert welcome[0] == (
        "* welcome to the minireactor chat on the epoll backend. You are guest1; 1 here."
    )
    assert "/nick NAME" in welcome[1]
    _, b = join(room)
    assert "You are guest2; 2 here." in lines(b)[0]
    assert lines(a) == ["* guest2 joined"]


def test_a_line_is_broadcast_to_everyone_else(room: ChatRoom) -> None:
    _, a = join(room)
    _, b = join(room)
    _, c = join(room)
    for t in (a, b, c):
        lines(t)
    a.receive(b"hello everyone\r\n")  # telnet's line end
    assert lines(a) == []
    assert lines(b) == lines(c) == ["<guest1> hello everyone"]
    assert room.messages == 1


def test_lines_may_arrive_in_pieces_and_empty_lines_are_ignored(room: ChatRoom) -> None:
    _, a = join(room)
    _, b = join(room)
    lines(b)
    a.receive(b"hel")
    a.receive(b"lo\n\n   \nsecond\n")
    assert lines(b) == ["<guest1> hello", "<guest1> second"]


def test_nick_renames_and_announces(room: ChatRoom) -> None:
    alice, a = join(room)
    _, b = join(room)
    lines(a), lines(b)
    a.receive(b"/nick alice\n")
    assert alice.nick == "alice"
    assert lines(a) == lines(b) == ["* guest1 is now alice"]
    a.receive(b"hi\n")
    assert lines(b) == ["<alice> hi"]


@pytest.mark.parametrize("bad", ["", "1abc", "has space", "x" * 17, "dash!", "é"])
def test_nick_rules_are_explained(room: ChatRoom, bad: str) -> None:
    _, a = join(room)
    lines(a)
    a.receive(f"/nick {bad}\n".encode())
    (reply,) = lines(a)
    assert reply.endswith(
        "is not a nickname: use 1-16 letters, digits, '_' or '-', starting with a letter"
    )


def test_a_taken_nick_is_refused_whatever_its_case(room: ChatRoom) -> None:
    _, a = join(room)
    bob, b = join(room)
    a.receive(b"/nick Alice\n")
    lines(b)
    b.receive(b"/nick aLiCe\n")
    assert lines(b) == ["* aLiCe is taken; pick another name"]
    assert bob.nick == "guest2"


def test_who_lists_everyone(room: ChatRoom) -> None:
    _, a = join(room)
    join(room)
    join(room)
    a.receive(b"/nick zed\n")
    lines(a)
    a.receive(b"/who\n")
    assert lines(a) == ["* 3 here: guest2, guest3, zed"]


def test_quit_says_bye_closes_and_the_others_see_it_leave(room: ChatRoom) -> None:
    _, a = join(room)
    _, b = join(room)
    a.receive(b"/nick alice\n")
    lines(a), lines(b)
    a.receive(b"/quit\nnot sent\n")
    assert lines(a) == ["* bye"]
    assert a.closing
    a.lose_connection()
    assert lines(b) == ["* alice left"]
    assert len(room) == 1
    assert room.messages == 0


def test_help_unknown_commands_and_double_slash(room: ChatRoom) -> None:
    _, a = join(room)
    _, b = join(room)
    lines(a), lines(b)
    a.receive(b"/help\n/dance\n//not a command\n")
    help_line, unknown = lines(a)
    assert "/who" in help_line and "//" in help_line
    assert unknown.startswith("* unknown command /dance; commands: /nick NAME")
    assert lines(b) == ["<guest1> /not a command"]


def test_an_over_long_line_closes_the_connection_with_a_message() -> None:
    room = ChatRoom(ChatLimits(max_line=20))
    _, a = join(room)
    _, b = join(room)
    lines(a), lines(b)
    a.receive(b"x" * 21 + b"\nafter\n")
    assert lines(a) == [
        "* that line is longer than 20 bytes, the limit; closing the connection. "
        "Split long text over several lines."
    ]
    assert a.closing
    a.lose_connection()
    assert lines(b) == ["* guest1 left"]  # the long line and what followed were not sent


def test_an_endless_line_without_newline_is_cut_off_early() -> None:
    room = ChatRoom(ChatLimits(max_line=20))
    _, a = join(room)
    lines(a)
    a.receive(b"y" * 100)  # no newline at all: no need to wait for one
    assert "longer than 20 bytes" in lines(a)[0]
    assert a.closing


def test_a_line_of_exactly_the_limit_is_accepted() -> None:
    room = ChatRoom(ChatLimits(max_line=20, rate=0))
    _, a = join(room)
    _, b = join(room)
    lines(b)
    a.receive(b"z" * 20 + b"\r\n")
    assert lines(b) == ["<guest1> " + "z" * 20]
    assert not a.closing


def test_flood_control_drops_extra_lines_and_says_so_once() -> None:
    clock = Clock()
    room = ChatRoom(ChatLimits(rate=2, burst=3), clock=clock.seconds)
    _, a = join(room)
    _, b = join(room)
    lines(a), lines(b)
    a.receive(b"".join(b"line %d\n" % i for i in range(8)))
    assert lines(b) == ["<guest1> line 0", "<guest1> line 1", "<guest1> line 2"]
    assert lines(a) == [
        "* slow down: at most 2 lines per second (bursts of 3); your extra lines are dropped"
    ]
    assert room.dropped == 5
    clock.advance(0.5)  # one token back
    a.receive(b"calm again\nand again\n")
    assert lines(b) == ["<guest1> calm again"]
    assert len(lines(a)) == 1  # flooding again: told again, once


def test_control_characters_are_removed() -> None:
    assert clean_text("\x1b[2Jhi\x07 there\tyou\r") == "[2Jhi there you"
    assert clean_text("caf\u00e9 \u263a") == "caf\u00e9 \u263a"


def test_invalid_utf8_is_replaced_not_fatal(room: ChatRoom) -> None:
    _, a = join(room)
    _, b = join(room)
    lines(b)
    a.receive(b"\xff\xfebad bytes\n")
    assert lines(b) == ["<guest1> \ufffd\ufffdbad bytes"]


def test_a_full_room_turns_newcomers_away() -> None:
    room = ChatRoom(ChatLimits(max_clients=1))
    join(room)
    newcomer, t = join(room)
    assert lines(t) == ["* the room is full (1 people); try again later"]
    assert t.closing
    t.lose_connection()
    assert len(room) == 1 and newcomer.nick == ""


def test_a_reader_that_stops_reading_misses_lines_and_is_told(room: ChatRoom) -> None:
    slow, s = join(room)
    _, a = join(room)
    lines(s)
    slow.pause_writing()
    a.receive(b"one\ntwo\n")
    assert lines(s) == []
    slow.resume_writing()
    assert lines(s) == ["* you missed 2 lines while you were not reading"]


def test_web_lines_are_marked_and_checked() -> None:
    clock = Clock()
    room = ChatRoom(ChatLimits(rate=1, burst=1, max_line=10), clock=clock.seconds)
    _, a = join(room)
    lines(a)
    room.say_from_web("bob", "hi\x1b")
    assert lines(a) == ["<bob@web> hi"]
    with pytest.raises(FloodError, match="slow down"):
        room.say_from_web("bob", "again")
    with pytest.raises(ChatError, match="not a nickname"):
        room.say_from_web("bob@web", "hi")
    with pytest.raises(ChatError, match="at most 10 bytes"):
        room.say_from_web("carol", "x" * 11)
    with pytest.raises(ChatError, match="empty"):
        room.say_from_web("carol", " \x07 ")


def test_listeners_and_history_see_every_event(room: ChatRoom) -> None:
    seen: list[ChatEvent] = []
    room.add_listener(seen.append)
    _, a = join(room)
    a.receive(b"hi\n")
    a.lose_connection()
    assert [(e.kind, e.text) for e in seen] == [
        ("join", "* guest1 joined"),
        ("message", "<guest1> hi"),
        ("leave", "* guest1 left"),
    ]
    assert list(room.history) == seen


def test_token_bucket_refills_at_its_rate_and_zero_means_unlimited() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock.seconds)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.advance(0.1)
    assert [bucket.take(), bucket.take()] == [True, False]
    unlimited = TokenBucket(rate=0, burst=1, clock=clock.seconds)
    assert all(unlimited.take() for _ in range(1000))
    assert check_nick("a-b_9") == "a-b_9"


def test_a_big_read_is_handled_a_slice_at_a_time() -> None:
    clock = Clock()
    room = ChatRoom(ChatLimits(rate=0))
    transport = StringTransport()
    flooder = ChatProtocol(room, call_soon=clock.call_soon)
    transport.connect(flooder)
    _, other = join(room)
    lines(other)
    data = b"".join(b"line %05d\n" % i for i in range(3000))  # 33 KB: five slices
    transport.receive(data)
    first = lines(other)
    assert 0 < len(first) < 1000  # one slice handled now...
    assert not transport.reading  # ...and no more reading until the rest is done
    transport.receive_eof()  # the peer is done sending: we still owe it the rest
    assert not transport.closing
    clock.advance(0)  # later passes of the loop
    rest = lines(other)
    assert first + rest == [f"<guest1> line {i:05d}" for i in range(3000)]
    assert transport.closing  # and now the connection closes


# -- real sockets, every backend ------------------------------------------------------


class Peer:
    """A student's nc: a plain socket, read without blocking while the reactor spins."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.sock.setblocking(False)
        self.received = b""
        self.eof = False

    def pump(self) -> None:
        try:
            while data := self.sock.recv(65536):
                self.received += data
            self.eof = True
        except BlockingIOError:
            pass

    def wait_for(self, reactor: Reactor, text: str) -> None:
        def seen() -> bool:
            self.pump()
            return text.encode() in self.received

        spin(reactor, seen, timeout=5)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.timeout(20)
def test_chat_over_loopback(reactor: Reactor) -> None:
    room = ChatRoom(ChatLimits(max_line=50))
    port = reactor.listen_tcp(0, chat_factory(room))
    a, b = Peer(port.address), Peer(port.address)
    try:
        a.wait_for(reactor, "You are guest")
        b.wait_for(reactor, "You are guest")
        a.sock.sendall(b"/nick alice\nhello over tcp\n")
        b.wait_for(reactor, "<alice> hello over tcp\r\n")
        b.sock.sendall(b"/who\n")
        b.wait_for(reactor, "* 2 here: alice, guest")
        a.sock.sendall(b"x" * 60 + b"\n")
        a.wait_for(reactor, "longer than 50 bytes")
        spin(reactor, lambda: (a.pump(), a.eof)[1], timeout=5)
        b.wait_for(reactor, "* alice left")
        assert len(room) == 1
    finally:
        a.close()
        b.close()


@pytest.mark.timeout(20)
def test_a_flood_over_loopback_arrives_whole(reactor: Reactor) -> None:
    room = ChatRoom(ChatLimits(rate=0))
    port = reactor.listen_tcp(0, chat_factory(room, reactor))
    sender, receiver = Peer(port.address), Peer(port.address)
    try:
        receiver.wait_for(reactor, "You are guest2")
        payload = b"".join(b"flood %05d\n" % i for i in range(5000))  # 60 KB
        sender.sock.setblocking(True)
        sender.sock.sendall(payload)
        sender.sock.shutdown(socket.SHUT_WR)
        receiver.wait_for(reactor, "<guest1> flood 04999\r\n")
        assert receiver.received.count(b"<guest1> flood") == 5000
        receiver.wait_for(reactor, "* guest1 left")
    finally:
        sender.close()
        receiver.close()


@pytest.mark.timeout(20)
def test_quit_over_loopback_closes_the_socket(reactor: Reactor) -> None:
    room = ChatRoom()
    port = reactor.listen_tcp(0, chat_factory(room))
    peer = Peer(port.address)
    try:
        peer.wait_for(reactor, "You are guest1")
        peer.sock.sendall(b"/quit\n")
        peer.wait_for(reactor, "* bye\r\n")
        spin(reactor, lambda: (peer.pump(), peer.eof)[1] and len(room) == 0, timeout=5)
    finally:
        peer.close()
