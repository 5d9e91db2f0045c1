"""Graded tests for exercise 02 (poll-backend): the backend alone, then real TCP
through a minireactor Reactor running on it."""

from __future__ import annotations

import socket
import threading
from typing import Any

from poll_backend import PollBackend

from minireactor import Factory, Protocol, Reactor
from minireactor.backends.base import READ, WRITE
from minireactor.backends.waker import Waker
from minireactor.grader.testing import Background, connect, expect, points, recv_until


def reactor_on_student_backend() -> Reactor:
    """A Reactor whose backend is the student's PollBackend."""
    return Reactor(backend=PollBackend())


def spin(reactor: Reactor, until: Any, timeout: float = 5.0) -> None:
    deadline = reactor.seconds() + timeout
    while not until():
        if reactor.seconds() > deadline:
            raise AssertionError(f"the reactor did not get there within {timeout} s")
        reactor.iterate(0.02)


class Echo(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool | None:
        self.transport.write(b"bye")
        return None  # close our side too, after flushing


def events_of(result: list[tuple[int, int]], fd: int) -> int:
    return sum(events for ready, events in result if ready == fd)


@points(2)
def test_register_modify_unregister() -> None:
    backend = PollBackend()
    left, right = socket.socketpair()
    backend.register(left.fileno(), READ)
    expect(backend.poll(0), [], "poll(0) with nothing to read")
    right.send(b"x")
    expect(events_of(backend.poll(1), left.fileno()) & READ, READ, "READ reported for data")
    backend.modify(left.fileno(), READ | WRITE)
    expect(
        events_of(backend.poll(0), left.fileno()), READ | WRITE, "events after modify(READ|WRITE)"
    )
    backend.unregister(left.fileno())
    expect(backend.poll(0), [], "poll(0) after unregister")
    backend.close()
    left.close()
    right.close()


@points(1)
def test_wakeup_from_another_thread() -> None:
    # The reactor's waker is just a reader to a backend: poll(None) must return with it.
    backend = PollBackend()
    waker = Waker()
    backend.register(waker.fileno(), READ)
    threading.Timer(0.05, waker.wake).start()
    expect(backend.poll(None), [(waker.fileno(), READ)], "poll(None) woken by another thread")
    backend.unregister(waker.fileno())
    backend.close()
    waker.close()


@points(1)
def test_hang_up_is_reported() -> None:
    backend = PollBackend()
    left, right = socket.socketpair()
    backend.register(left.fileno(), READ)
    right.close()
    expect(events_of(backend.poll(1), left.fileno()) & READ, READ, "READ after the peer hung up")
    backend.close()
    left.close()


@points(2)
def test_echo_through_a_reactor() -> None:
    reactor = reactor_on_student_backend()
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))

    def client() -> bytes:
        with connect(port.address) as sock:
            sock.sendall(b"hello poll\n")
            return recv_until(sock, b"\n")

    worker = Background(client).start(settle=0)
    spin(reactor, lambda: not worker.alive)
    worker.check()
    expect(worker.result, b"hello poll\n", "the echo")
    reactor.close()


@points(2)
def test_many_clients_at_once() -> None:
    reactor = reactor_on_student_backend()
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    replies: dict[int, bytes] = {}

    def client(i: int) -> None:
        with connect(port.address) as sock:
            sock.sendall(b"%d\n" % i)
            replies[i] = recv_until(sock, b"\n")

    workers = [Background(client, i).start(settle=0) for i in range(20)]
    spin(reactor, lambda: not any(w.alive for w in workers))
    for w in workers:
        w.check()
    expect(replies, {i: b"%d\n" % i for i in range(20)}, "the replies of 20 clients")
    reactor.close()


@points(2)
def test_half_close() -> None:
    reactor = reactor_on_student_backend()
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))

    def client() -> bytes:
        with connect(port.address) as sock:
            sock.sendall(b"last")
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(100):
                data += chunk
            return data

    worker = Background(client).start(settle=0)
    spin(reactor, lambda: not worker.alive)
    worker.check()
    expect(worker.result, b"lastbye", "what a half-closing client gets before EOF")
    reactor.close()
