"""Streaming responses: bodies written piece by piece, chunked on the wire."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import spin
from test_http import asyncio_server

from minireactor import Reactor
from minireactor.protocols.http import (
    HTTPServerProtocol,
    Request,
    Response,
    ResponseStream,
    server_factory,
)
from minireactor.protocols.http_parser import ResponseParser
from minireactor.testing import Clock, StringTransport

GET = b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"


class Server:
    """An HTTP server protocol on a StringTransport whose /stream answers with a stream."""

    def __init__(self) -> None:
        self.streams: list[ResponseStream] = []
        self.closed: list[ResponseStream] = []
        self.handled: list[str] = []
        self.clock = Clock()
        self.protocol = HTTPServerProtocol(self.handle, clock=self.clock)
        self.transport = StringTransport()
        self.transport.connect(self.protocol)

    def handle(self, request: Request) -> Response:
        self.handled.append(request.path)
        if request.path != "/stream":
            return Response(200, body=b"plain " + request.path.encode())
        stream = ResponseStream(200, {"Content-Type": "text/plain"})
        stream.on_close = self.closed.append
        self.streams.append(stream)
        return stream

    def responses(self, method: str = "GET") -> list[Response]:
        parser = ResponseParser()
        parser.feed(self.transport.value())
        if self.transport.closing:
            parser.feed_eof()
        out = []
        while (response := parser.next_response(method)) is not None:
            out.append(response)
        return out


def test_pieces_go_out_chunked_and_the_connection_carries_on() -> None:
    server = Server()
    server.protocol.data_received(GET + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    [stream] = server.streams
    head = server.transport.value().decode()
    assert "Transfer-Encoding: chunked" in head and "Content-Length" not in head
    assert server.responses() == []  # the body is not finished: nothing complete yet
    stream.write(b"hello ")
    stream.write(b"")  # ignored: an empty chunk would end the body
    stream.write(b"world")
    assert b"6\r\nhello \r\n5\r\nworld\r\n" in server.transport.value()
    assert not server.closed
    stream.end()
    first, second = server.responses()
    assert first.body == b"hello world" and second.body == b"plain /next"  # in order
    assert server.closed == [stream] and stream.closed and not server.transport.closing
    stream.write(b"too late")  # dropped
    assert b"too late" not in server.transport.value()


def test_written_and_ended_before_the_handler_returns() -> None:
    server = Server()

    def handler(request: Request) -> Response:
        stream = ResponseStream()
        stream.write(b"all at once")
        stream.end()
        return stream

    server.protocol.handler = handler
    server.protocol.data_received(GET)
    [response] = server.responses()
    assert response.status == 200 and response.body == b"all at once"


def test_http_1_0_streams_until_close() -> None:
    server = Server()
    server.protocol.data_received(b"GET /stream HTTP/1.0\r\n\r\n")
    [stream] = server.streams
    stream.write(b"no chunks in 1.0")
    head, _, body = server.transport.value().partition(b"\r\n\r\n")
    assert b"Connection: close" in head and b"chunked" not in head
    assert body == b"no chunks in 1.0" and not server.transport.closing
    stream.end()
    assert server.transport.closing  # the close marks the end of the body


def test_head_gets_the_head_only() -> None:
    server = Server()
    server.protocol.data_received(b"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    [stream] = server.streams
    assert stream.closed and server.closed == [stream]
    [response] = server.responses("HEAD")
    assert response.status == 200 and response.body == b""


def test_the_client_leaving_closes_the_stream() -> None:
    server = Server()
    server.protocol.data_received(GET)
    [stream] = server.streams
    server.transport.lose_connection(ConnectionResetError())
    assert server.closed == [stream] and stream.closed
    stream.write(b"nobody is there")  # dropped, no error
    stream.end()


def test_abort_drops_the_connection_and_its_pipelined_requests() -> None:
    server = Server()
    server.protocol.data_received(GET + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    [stream] = server.streams
    stream.write(b"partial")
    stream.abort()
    assert server.transport.aborted and server.closed == [stream]
    assert server.handled == ["/stream"]  # nobody is left to answer /next


def test_abort_before_the_head_went_out() -> None:
    server = Server()

    def handler(request: Request) -> Response:
        stream = ResponseStream()
        stream.abort()
        return stream

    server.protocol.handler = handler
    server.protocol.data_received(GET)
    assert server.transport.aborted


def test_flow_control_reaches_the_stream() -> None:
    server = Server()
    server.protocol.data_received(GET)
    [stream] = server.streams
    resumed: list[bool] = []
    stream.on_resume = lambda: resumed.append(True)
    server.protocol.pause_writing()
    assert stream.paused
    server.protocol.resume_writing()
    assert not stream.paused and resumed == [True]


def test_misuse_is_refused() -> None:
    stream = ResponseStream()
    with pytest.raises(TypeError, match="bytes"):
        stream.write("text")  # type: ignore[arg-type]
    server = Server()
    server.protocol.handler = lambda request: stream
    server.protocol.data_received(GET)
    other = Server()
    other.protocol.handler = lambda request: stream  # the same stream for a second request
    other.protocol.data_received(GET)
    assert other.responses()[0].status == 500


# -- on real sockets, every backend ----------------------------------------------------------


@contextmanager
def ticking_server(reactor: Reactor, pieces: int) -> Iterator[tuple[str, int]]:
    """/stream sends `pieces` numbered lines, one per reactor pass, then ends."""

    def handler(request: Request) -> Any:
        stream = ResponseStream(200, {"Content-Type": "text/plain"})

        def tick(i: int) -> None:
            if i == pieces:
                stream.end()
            else:
                stream.write(f"line {i}\n".encode())
                reactor.call_later(0.001, tick, i + 1)

        tick(0)
        return stream

    port = reactor.listen_tcp(0, server_factory(handler, clock=reactor))
    try:
        yield port.address
    finally:
        port.stop_listening()


@pytest.mark.timeout(30)
def test_urllib_reads_a_stream_twice_on_one_server(reactor: Reactor) -> None:
    bodies: list[bytes] = []
    with ticking_server(reactor, 50) as (host, port):

        def fetch_twice() -> None:
            for _ in range(2):
                with urllib.request.urlopen(f"http://{host}:{port}/stream", timeout=10) as reply:
                    bodies.append(reply.read())

        worker = threading.Thread(target=fetch_twice)
        worker.start()
        spin(reactor, lambda: not worker.is_alive(), timeout=20)
        worker.join()
    expected = "".join(f"line {i}\n" for i in range(50)).encode()
    assert bodies == [expected, expected]


@pytest.mark.timeout(30)
def test_the_same_stream_on_asyncio() -> None:
    def handler(request: Request) -> Any:
        loop = asyncio.get_running_loop()
        stream = ResponseStream()
        for i in range(20):
            loop.call_later(0.001 * i, stream.write, f"line {i}\n".encode())
        loop.call_later(0.03, stream.end)
        return stream

    with asyncio_server(handler) as (host, port):
        for _ in range(2):
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=10) as reply:
                assert reply.read() == "".join(f"line {i}\n" for i in range(20)).encode()
