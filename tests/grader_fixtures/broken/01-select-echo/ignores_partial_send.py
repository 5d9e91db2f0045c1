# Grader fixture: send() once and forget the bytes it did not take.
# expect-fail: test_large_payload_is_echoed_completely_and_in_order
"""Exercise 01 - select-echo: reference solution.

One thread, one select() loop. Every socket is non-blocking; each client has
an output buffer. A client is in the write set only while its buffer holds
data, so select() does not report "writable" in a busy loop. When a client
half-closes (recv returns b""), we flush what it sent and then close.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable


def serve(listener: socket.socket, should_stop: Callable[[], bool], tick: float = 0.05) -> None:
    """Echo every byte each client sends back to it, until `should_stop()` is true."""
    listener.setblocking(False)
    pending: dict[socket.socket, bytearray] = {}  # client -> bytes not yet sent back
    finished: set[socket.socket] = set()  # clients that sent EOF: close once flushed
    try:
        while not should_stop():
            writers = [c for c, buf in pending.items() if buf]
            readable, writable, _ = select.select([listener, *pending], writers, [], tick)
            for sock in readable:
                if sock is listener:
                    _accept(listener, pending)
                else:
                    _read(sock, pending, finished)
            for sock in writable:
                if sock in pending:
                    _write(sock, pending)
            for sock in [c for c in finished if c in pending and not pending[c]]:
                _drop(sock, pending, finished)
    finally:
        for sock in list(pending):
            sock.close()


def _accept(listener: socket.socket, pending: dict[socket.socket, bytearray]) -> None:
    try:
        client, _ = listener.accept()
    except BlockingIOError:  # another wake-up took it; nothing to do
        return
    client.setblocking(False)
    pending[client] = bytearray()


def _read(sock: socket.socket, pending: dict[socket.socket, bytearray],
          finished: set[socket.socket]) -> None:
    if sock in finished:
        return  # already at EOF; we only flush now
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return
    except ConnectionError:
        _drop(sock, pending, finished)
        return
    if data:
        pending[sock] += data
    else:
        finished.add(sock)  # half-close: echo the rest, then close


def _write(sock: socket.socket, pending: dict[socket.socket, bytearray]) -> None:
    try:
        sent = sock.send(pending[sock])
    except BlockingIOError:
        return
    except ConnectionError:
        pending[sock].clear()
        sock.close()
        del pending[sock]
        return
    del sent
    pending[sock].clear()  # wrong: drops what send() did not take


def _drop(sock: socket.socket, pending: dict[socket.socket, bytearray],
          finished: set[socket.socket]) -> None:
    pending.pop(sock, None)
    finished.discard(sock)
    sock.close()
