"""Hostile bytes against whole protocols: nothing may escape into the reactor.

The parsers have their own fuzz tests (test_http_parser.py, test_basic.py);
these feed the complete HTTP server protocol — what the lab's servers and the
internet in a box run — random and mutated input in random chunks, and check
that it never raises, that it accepts exactly the requests the parser
accepts from the same bytes fed whole (a 200 for each, in order) and rejects
the rest with one well-formed error answer from the expected set, and that
after an error it half-closes and answers nothing more. `python -m
benchmarks.fuzz` runs them (and the parser fuzzers) with many more examples.
"""

from __future__ import annotations

from typing import Any

from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minireactor.protocols.http import HTTPServerProtocol
from minireactor.protocols.http_messages import HTTPParseError, Response
from minireactor.protocols.http_parser import RequestParser, ResponseParser
from minireactor.testing import Clock, StringTransport

VALID = (
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
)
ERRORS = {400, 413, 431, 501, 505}  # 408 needs time to pass, which these tests never let


def serve(chunks: list[bytes]) -> StringTransport:
    """Feed `chunks` to a fresh server protocol; returns its transport."""

    def handler(request: Any) -> Response:
        return Response(200, body=b"ok " + request.path.encode())

    clock = Clock()
    protocol = HTTPServerProtocol(handler, clock=clock, limits=None)
    transport = StringTransport()
    transport.connect(protocol)
    for chunk in chunks:
        if transport.closing:
            break
        protocol.data_received(chunk)  # must never raise
        clock.advance(0)  # run what the protocol scheduled (the next pipelined request)
    return transport


def answers(transport: StringTransport) -> list[int]:
    """The statuses of the responses written, parsed as a client would."""
    parser = ResponseParser()
    parser.feed(transport.value())
    parser.feed_eof()
    statuses = []
    while (response := parser.next_response()) is not None:
        statuses.append(response.status)
    return statuses


def expected(data: bytes) -> tuple[list[bytes], int | None]:
    """What the parser alone makes of `data` fed whole: the paths it accepts, then its error."""
    parser = RequestParser()
    parser.feed(data)
    paths = []
    try:
        while (request := parser.next_request()) is not None:
            paths.append(request.path.encode())
            if not request.keep_alive:
                break  # the server answers this one and closes
    except HTTPParseError as exc:
        return paths, exc.status
    return paths, None


def check_answers(data: bytes, transport: StringTransport) -> None:
    """The server accepted and rejected exactly what the parser does, then closed."""
    paths, error = expected(data)
    statuses = answers(transport)  # the parser raises if a response is malformed
    assert statuses[: len(paths)] == [200] * len(paths)
    for path in paths:
        assert b"\r\n\r\nok " + path in transport.value()
    if error is None:
        assert statuses == [200] * len(paths)
        return
    assert statuses == [200] * len(paths) + [error] and error in ERRORS
    assert transport.value().endswith(b"\n") and b"Connection: close" in transport.value()
    assert transport.eof_written or transport.closing  # the close after an error answer
    written = transport.value()
    transport.protocol.data_received(VALID)  # a client that goes on sending is not answered
    assert transport.value() == written


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


@settings(
    max_examples=fuzz_examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(garbage=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_random_bytes_get_a_4xx_or_nothing(garbage: bytes, cuts: list[int]) -> None:
    check_answers(garbage, serve(chunked(garbage, cuts)))


@settings(
    max_examples=fuzz_examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data(), cuts=st.lists(st.integers(0, len(VALID)), max_size=8))
def test_mutated_requests_get_well_formed_answers(data: st.DataObject, cuts: list[int]) -> None:
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 5))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(
            st.sampled_from(b"\r\n :;0-9aZ\x00\xff\t-,")
        )
    check_answers(bytes(raw), serve(chunked(bytes(raw), cuts)))


def test_valid_pipeline_in_any_chunking_is_answered_in_order() -> None:
    transport = serve(chunked(VALID, [1, 7, 40, 41, 90, 130]))
    assert answers(transport) == [200, 200, 200]
    assert transport.value().count(b"ok /") == 3


def test_an_error_after_good_requests_answers_them_then_closes() -> None:
    data = VALID + b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n"
    transport = serve(chunked(data, [5, 77, 150]))
    assert answers(transport) == [200, 200, 200, 400]
    check_answers(data, transport)
