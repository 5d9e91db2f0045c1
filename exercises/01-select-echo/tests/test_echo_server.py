"""Graded tests for exercise 01 (select-echo): real sockets on 127.0.0.1."""

from __future__ import annotations

import array
import socket
import struct
import threading

from echo_server import serve

from minireactor.grader.testing import Background, connect, expect, points, recv_exactly


class Server:
    """The student's serve() running in a thread, with a way to stop it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.stop = threading.Event()
        self.worker = Background(serve, self.listener, self.stop.is_set).start()

    def close(self) -> None:
        self.stop.set()
        self.worker.join(5)
        self.listener.close()


def echo(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return recv_exactly(sock, len(data))


@points(2)
def test_echoes_one_client() -> None:
    server = Server()
    with connect(server.address) as client:
        expect(echo(client, b"hello, select\n"), b"hello, select\n", "the echo")
        expect(echo(client, b"again"), b"again", "a second message on the same connection")
    server.close()


@points(2)
def test_an_idle_client_does_not_block_the_others() -> None:
    server = Server()
    idle = connect(server.address)  # connected, never sends: a blocking server hangs here
    clients = [connect(server.address) for _ in range(8)]
    for round_ in range(3):
        for i, client in enumerate(clients):
            message = f"client {i} round {round_}\n".encode()
            expect(echo(client, message), message, f"client {i}'s echo")
    expect(echo(idle, b"late"), b"late", "the idle client's echo, when it finally speaks")
    for sock in [idle, *clients]:
        sock.close()
    server.close()


@points(2, timeout=20)
def test_large_payload_is_echoed_completely_and_in_order() -> None:
    server = Server()
    # 32 MiB: more than the kernel's buffers on both sides can hold, so the
    # server must buffer some itself, and one send() cannot take all of it.
    payload = array.array("I", range(8 * 1024 * 1024)).tobytes()  # numbered, so order shows
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # a small window
    client.settimeout(5)
    client.connect(server.address)
    with client:
        # Send it all before reading any: the echo cannot fit in the kernel's
        # buffers, so the server's send() takes only part of what it is given
        # (or raises BlockingIOError) and it must keep the rest for later.
        sender = Background(client.sendall, payload).start(settle=0)
        sender.join(10)
        received = recv_exactly(client, len(payload))
    expect(len(received), len(payload), "bytes echoed")
    assert received == payload, "the echoed bytes differ from those sent (order or content)"
    server.close()


@points(1)
def test_survives_a_client_that_resets() -> None:
    server = Server()
    rude = connect(server.address)
    rude.sendall(b"bye")
    # SO_LINGER with timeout 0: close() sends a reset instead of a clean FIN.
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    with connect(server.address) as client:
        expect(echo(client, b"still there?"), b"still there?", "a later client's echo")
    server.worker.check()
    server.close()


@points(2)
def test_half_close_gets_the_rest_then_eof() -> None:
    server = Server()
    with connect(server.address) as client:
        client.sendall(b"last words")
        client.shutdown(socket.SHUT_WR)  # "I have finished sending"
        expect(recv_exactly(client, 10), b"last words", "the echo after a half-close")
        expect(client.recv(100), b"", "then the server closes (recv returns b'')")
    server.close()


@points(1)
def test_stop_returns_and_closes_clients() -> None:
    server = Server()
    client = connect(server.address)
    expect(echo(client, b"x"), b"x", "the echo")
    server.stop.set()
    server.worker.join(3)
    expect(client.recv(100), b"", "a client of a stopped server sees the connection close")
    client.close()
    server.listener.close()
