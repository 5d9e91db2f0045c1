"""Hidden tests for exercise 01: many clients, and no threads or frameworks."""

from __future__ import annotations

import socket
import sys
import threading

import echo_server
from echo_server import serve

from minireactor.grader.testing import Background, connect, expect, points, recv_exactly


@points(1)
def test_fifty_clients() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    stop = threading.Event()
    worker = Background(serve, listener, stop.is_set).start()
    clients = [connect(listener.getsockname()) for _ in range(50)]
    for i, client in enumerate(clients):
        client.sendall(b"%03d" % i)
    for i, client in enumerate(clients):
        expect(recv_exactly(client, 3), b"%03d" % i, f"client {i}'s echo")
    threads_while_serving = threading.active_count()
    for client in clients:
        client.close()
    stop.set()
    worker.join(5)
    listener.close()
    expect(threads_while_serving, 2, "threads while serving 50 clients (test + server: no "
           "thread per client)")


@points(1)
def test_select_and_nothing_else() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    worker = Background(serve, listener, stop.is_set).start()
    with connect(listener.getsockname()) as client:
        client.sendall(b"ping")
        expect(recv_exactly(client, 4), b"ping", "the echo")
    stop.set()
    worker.join(5)
    listener.close()
    frameworks = {"asyncio", "selectors", "socketserver", "minireactor", "threading"}
    used = sorted(
        name for name, value in vars(echo_server).items()
        if getattr(value, "__name__", name).split(".")[0] in frameworks
        and type(value) is type(sys)
    )
    expect(used, [], "modules echo_server.py imports besides socket and select")
