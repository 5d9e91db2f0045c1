"""TCPTransport over a socket whose kernel the test scripts (kills tcp.py's mutants).

A real loopback connection is too generous to test the transport's corners:
the kernel takes every small write at once and never fails. `Kernel` is
that same connected socket with a scripted `send()` (take only `room` more
bytes, then say EAGAIN; or raise a chosen error) and `shutdown()`, so a
test decides exactly what is buffered, when it drains, and which system
call fails, and can then check the byte counts, the flow-control calls at
the exact marks, and that `connection_lost` receives the very exception.

Read next: `test_tcp_mutants.py` (the same, on ordinary connections).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import spin
from support import FlowRecorder

from minireactor import ConnectionLimitError, Reactor
from minireactor.tcp import TCPTransport
from minireactor.trace import Trace

pytestmark = pytest.mark.timeout(60)


class Kernel(socket.socket):
    """A connected socket whose `send()` and `shutdown()` do what the test says.

    `room`: how many more bytes `send()` takes before it raises EAGAIN (None:
    as many as the real kernel takes); `send_error` / `shutdown_error`: raised
    instead of the call; `shutdowns` counts the calls.
    """

    room: int | None = None
    send_error: OSError | None = None
    shutdown_error: OSError | None = None
    shutdowns = 0

    def send(self, data: Any, flags: int = 0) -> int:
        if self.send_error is not None:
            raise self.send_error
        if self.room is None:
            return super().send(data, flags)
        if self.room == 0:
            raise BlockingIOError(errno.EAGAIN, "scripted: the send buffer is full")
        sent = super().send(memoryview(data)[: self.room], flags)
        self.room -= sent
        return sent

    def shutdown(self, how: int) -> None:
        self.shutdowns += 1
        if self.shutdown_error is not None:
            raise self.shutdown_error
        super().shutdown(how)


class Recorder(FlowRecorder):
    """A FlowRecorder that can keep the connection open at EOF."""

    keep_open_at_eof = False

    def eof_received(self) -> bool | None:
        super().eof_received()
        return self.keep_open_at_eof


def loopback_pair() -> tuple[Kernel, socket.socket]:
    """A connected loopback TCP pair: the scripted end and a plain blocking peer."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        plain = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
    peer.settimeout(10)
    return Kernel(fileno=plain.detach()), peer


@dataclass
class Rig:
    """One scripted connection: the transport, its protocol, both ends, what on_lost got."""

    reactor: Reactor
    kernel: Kernel
    fd: int  # the kernel socket's descriptor number (fileno() says -1 once it is closed)
    peer: socket.socket
    protocol: Recorder
    transport: TCPTransport
    on_lost: list[BaseException | None] = field(default_factory=list)

    def read(self, n: int) -> bytes:
        """Exactly `n` bytes at the peer."""
        data = b""
        while len(data) < n:
            chunk = self.peer.recv(n - len(data))
            assert chunk, f"EOF after {data!r}"
            data += chunk
        return data

    def drain(self) -> None:
        """Let the kernel take everything and wait until the buffer is empty."""
        self.kernel.room = None
        spin(self.reactor, lambda: self.transport.get_write_buffer_size() == 0)

    def wait_lost(self) -> BaseException | str | None:
        spin(self.reactor, lambda: self.protocol.done)
        return self.protocol.lost


def make_rig(reactor: Reactor, protocol: Recorder | None = None) -> Rig:
    kernel, peer = loopback_pair()
    protocol = protocol or Recorder()
    on_lost: list[BaseException | None] = []
    fd = kernel.fileno()
    transport = TCPTransport(reactor, kernel, protocol, on_lost=on_lost.append)
    return Rig(reactor, kernel, fd, peer, protocol, transport, on_lost)


@pytest.fixture
def rig(reactor: Reactor) -> Iterator[Rig]:
    made = make_rig(reactor)
    yield made
    made.peer.close()


def writes(trace: Trace) -> list[tuple[str, str, int]]:
    return [(e.kind, e.name, e.extra["bytes"]) for e in trace.of_kind("write", "read")]


# -- what the tracer records ----------------------------------------------------


def test_a_write_the_kernel_takes_whole_is_sent_at_once_and_traced(rig: Rig) -> None:
    rig.transport.tracer = trace = Trace()
    rig.transport.write(b"hello")
    assert rig.transport.get_write_buffer_size() == 0  # the fast path: nothing buffered
    assert rig.read(5) == b"hello"
    assert writes(trace) == [("write", "Recorder", 5)]


def test_a_refused_write_is_buffered_whole_then_sent_and_traced(rig: Rig) -> None:
    rig.transport.tracer = trace = Trace()
    rig.kernel.room = 0
    rig.transport.write(b"abc")
    assert rig.transport.get_write_buffer_size() == 3  # not a byte counted as sent
    assert writes(trace) == [("write", "Recorder", 0)]
    rig.kernel.room = 2
    spin(rig.reactor, lambda: rig.transport.get_write_buffer_size() == 1)
    rig.drain()
    assert rig.read(3) == b"abc"
    for _ in range(3):  # drained: the writer is gone, no more (empty) sends
        rig.reactor.iterate(0.01)
    assert writes(trace) == [("write", "Recorder", n) for n in (0, 2, 1)]


def test_a_read_is_traced_with_the_protocol_and_the_byte_count(rig: Rig) -> None:
    rig.transport.tracer = trace = Trace()
    rig.peer.sendall(b"hey")
    spin(rig.reactor, lambda: rig.protocol.received == b"hey")
    assert writes(trace) == [("read", "Recorder", 3)]


# -- connection_lost gets the very exception -----------------------------------


def test_a_failed_send_in_write_is_what_connection_lost_and_on_lost_get(rig: Rig) -> None:
    error = BrokenPipeError(errno.EPIPE, "scripted")
    rig.kernel.send_error = error
    rig.transport.write(b"x")
    assert rig.wait_lost() is error
    assert rig.on_lost == [error]


def test_a_failed_send_of_the_buffer_is_what_connection_lost_gets(rig: Rig) -> None:
    rig.kernel.room = 0
    rig.transport.write(b"abc")
    error = ConnectionResetError(errno.ECONNRESET, "scripted")
    rig.kernel.send_error = error
    rig.kernel.room = None
    assert rig.wait_lost() is error


def test_a_failed_shutdown_is_what_connection_lost_gets(rig: Rig) -> None:
    error = OSError(errno.ENOTCONN, "scripted")
    rig.kernel.shutdown_error = error
    rig.transport.write_eof()
    assert rig.wait_lost() is error


def test_on_lost_gets_the_reason_of_an_abort(rig: Rig) -> None:
    error = ValueError("scripted")
    rig.transport.abort(error)
    assert rig.wait_lost() is error
    assert rig.on_lost == [error]


# -- flow control at the exact marks -----------------------------------------------


def test_pause_above_high_and_resume_once_at_low(rig: Rig) -> None:
    transport, calls = rig.transport, rig.protocol.calls
    transport.set_write_buffer_limits(high=10, low=4)
    rig.kernel.room = 0
    transport.write(b"a" * 10)  # at the high mark, not above it
    assert calls == []
    transport.write(b"b")
    assert calls == ["pause_writing"]
    rig.kernel.room = 7  # leaves exactly the low mark buffered
    spin(rig.reactor, lambda: transport.get_write_buffer_size() == 4)
    assert calls == ["pause_writing", "resume_writing"]
    rig.drain()  # the next drain is not another resume
    assert calls == ["pause_writing", "resume_writing"]
    assert rig.read(11) == b"a" * 10 + b"b"


def test_a_drain_without_a_pause_does_not_resume(rig: Rig) -> None:
    rig.transport.set_write_buffer_limits(high=10, low=4)
    rig.kernel.room = 0
    rig.transport.write(b"abc")
    rig.drain()
    assert rig.protocol.calls == []


def test_the_hard_limit_is_exact(rig: Rig) -> None:
    transport = rig.transport
    transport.max_buffer_size = 20
    transport.set_write_buffer_limits(high=10)
    rig.kernel.room = 0
    transport.write(b"a" * 11)
    transport.write(b"b" * 9)  # exactly the limit: kept
    assert transport.get_write_buffer_size() == 20 and not transport.is_closing()
    transport.write(b"c")
    assert transport.is_closing()
    assert isinstance(rig.wait_lost(), ConnectionLimitError)


# -- closing and half-closing ----------------------------------------------------------


def test_close_flushes_the_buffer_then_loses_the_connection_cleanly(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.kernel.room = 0
    rig.transport.write(b"abc")
    rig.transport.close()
    with caplog.at_level(logging.ERROR, logger="minireactor"):
        rig.kernel.room = None
        assert rig.wait_lost() is None
    assert rig.read(3) == b"abc" and rig.peer.recv(1) == b""
    assert rig.on_lost == [None]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_write_eof_waits_for_the_buffer_shuts_down_once_and_ignores_writes(rig: Rig) -> None:
    transport, kernel = rig.transport, rig.kernel
    kernel.room = 0
    transport.write(b"abc")
    transport.write_eof()
    transport.write(b"zzz")  # after write_eof: ignored
    assert transport.get_write_buffer_size() == 3 and kernel.shutdowns == 0
    rig.drain()
    assert kernel.shutdowns == 1
    assert rig.read(3) == b"abc" and rig.peer.recv(1) == b""
    transport.write_eof()  # again: nothing more to do
    transport.write(b"zzz")
    assert kernel.shutdowns == 1 and not transport.is_closing()
    rig.peer.sendall(b"still reading")
    spin(rig.reactor, lambda: rig.protocol.received == b"still reading")


def test_write_eof_after_close_does_not_shut_down(rig: Rig) -> None:
    rig.kernel.room = 0
    rig.transport.write(b"abc")
    rig.transport.close()
    rig.transport.write_eof()
    rig.kernel.room = None
    assert rig.wait_lost() is None
    assert rig.kernel.shutdowns == 0


def test_after_the_peers_eof_reading_stays_off_and_write_eof_closes(reactor: Reactor) -> None:
    protocol = Recorder()
    protocol.keep_open_at_eof = True
    rig = make_rig(reactor, protocol)
    transport = rig.transport
    rig.peer.shutdown(socket.SHUT_WR)
    spin(reactor, lambda: "eof_received" in protocol.events)
    assert not transport.is_reading() and not transport.is_closing()
    transport.pause_reading()
    transport.resume_reading()  # must not watch the finished side again
    assert not transport.is_reading()
    for _ in range(3):
        reactor.iterate(0.01)
    assert protocol.events.count("eof_received") == 1
    transport.write(b"bye")
    assert rig.read(3) == b"bye"
    transport.write_eof()  # both directions are now finished: close
    assert rig.wait_lost() is None
    assert rig.kernel.shutdowns == 1
    rig.peer.close()


# -- a lost transport leaves its old descriptor number alone -------------------------------


def _lost_and_reused(reactor: Reactor, pause_first: bool) -> tuple[Rig, Recorder, socket.socket]:
    """A lost transport, and a new one that the kernel gave the same descriptor number.

    Returns the lost rig, the new transport's protocol and the new peer.
    """
    old = make_rig(reactor)
    fd = old.fd
    kernel, peer = loopback_pair()  # made first, so it cannot take the number itself
    if pause_first:
        old.transport.pause_reading()
    old.transport.close()
    old.wait_lost()
    old.peer.close()
    with pytest.raises(OSError):
        os.fstat(fd)  # free now, so the next line takes nobody's descriptor
    reused = socket.socket(fileno=os.dup2(kernel.fileno(), fd))
    kernel.close()
    protocol = Recorder()
    TCPTransport(reactor, reused, protocol)
    return old, protocol, peer


def test_pause_reading_on_a_lost_transport_leaves_the_descriptor_alone(reactor: Reactor) -> None:
    old, protocol, peer = _lost_and_reused(reactor, pause_first=False)
    old.transport.pause_reading()
    peer.sendall(b"ping")
    spin(reactor, lambda: protocol.received == b"ping", timeout=5)
    peer.close()


def test_resume_reading_on_a_lost_transport_leaves_the_descriptor_alone(
        reactor: Reactor) -> None:
    old, protocol, peer = _lost_and_reused(reactor, pause_first=True)
    old.transport.resume_reading()
    peer.sendall(b"ping")
    spin(reactor, lambda: protocol.received == b"ping", timeout=5)
    peer.close()


# -- a raising protocol: the log names the method, connection_lost gets the error -------------


class Raises(Recorder):
    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method
        self.error = RuntimeError(f"scripted failure in {method}")

    def _maybe_raise(self, method: str) -> None:
        if method == self.method:
            raise self.error

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._maybe_raise("connection_made")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._maybe_raise("data_received")

    def eof_received(self) -> bool | None:
        super().eof_received()
        self._maybe_raise("eof_received")
        return None


@pytest.mark.parametrize("method", ["connection_made", "data_received", "eof_received"])
def test_a_raising_protocol_is_logged_by_method_and_ends_with_its_error(
        reactor: Reactor, method: str, caplog: pytest.LogCaptureFixture) -> None:
    protocol = Raises(method)
    with caplog.at_level(logging.ERROR, logger="minireactor"):
        rig = make_rig(reactor, protocol)
        rig.peer.sendall(b"x")
        rig.peer.shutdown(socket.SHUT_WR)
        assert rig.wait_lost() is protocol.error
    rig.peer.close()
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in records] == [f"Unhandled error in {protocol!r}.{method}"]
    assert records[0].exc_info is not None and records[0].exc_info[1] is protocol.error


def test_a_descriptor_the_reactor_cannot_watch_is_logged_and_closed(
        reactor: Reactor, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    error = OSError(errno.EMFILE, "scripted: no room for another descriptor")

    def refuse(fd: Any, callback: Any, *args: Any) -> None:
        raise error

    monkeypatch.setattr(reactor, "add_reader", refuse)
    with caplog.at_level(logging.ERROR, logger="minireactor"):
        rig = make_rig(reactor)
        assert rig.wait_lost() is error
    rig.peer.close()
    # The message as logged (the transport was still open); getMessage() now says "closed".
    fd, peer = rig.fd, rig.transport.get_extra_info("peername")
    assert caplog.text.splitlines()[-1].endswith(
        f" cannot watch <TCPTransport fd={fd} open peer={peer}>, closing it: {error}")
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.args == (rig.transport, error)


# -- the socket and the information -------------------------------------------------------


def test_names_and_nodelay_of_a_tcp_socket(rig: Rig) -> None:
    transport = rig.transport
    assert transport.get_extra_info("sockname") == rig.peer.getpeername()
    assert transport.get_extra_info("peername") == rig.peer.getsockname()
    assert transport.get_extra_info("socket") is rig.kernel
    assert rig.kernel.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_a_unix_socket_pair_works_without_tcp_options(reactor: Reactor) -> None:
    mine, theirs = socket.socketpair()
    protocol = Recorder()
    transport = TCPTransport(reactor, mine, protocol)
    transport.write(b"over unix")
    theirs.settimeout(10)
    assert theirs.recv(100) == b"over unix"
    theirs.sendall(b"back")
    spin(reactor, lambda: protocol.received == b"back")
    transport.close()
    assert protocol.events[0] == "connection_made"
    theirs.close()


def test_writing_text_says_what_to_do_word_for_word(rig: Rig) -> None:
    with pytest.raises(TypeError) as info:
        rig.transport.write("text")  # type: ignore[arg-type]
    assert str(info.value) == (
        "write() takes bytes, not str; encode text first, e.g. transport.write(text.encode())")
