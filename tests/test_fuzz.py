"""Hostile bytes against whole protocols: nothing may escape into the reactor.

The parsers have their own fuzz tests (test_http_parser.py, test_basic.py);
these feed the complete HTTP server protocol — what the lab's servers and the
internet in a box run — random and mutated input in random chunks, and check
that it answers only with a well-formed status line from the expected set,
then closes, and never raises. `python -m benchmarks.fuzz` runs them (and the
parser fuzzers) with many more examples.
"""

from __future__ import annotations

from typing import Any

from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minireactor.protocols.http import HTTPServerProtocol
from minireactor.protocols.http_messages import Response
from minireactor.protocols.http_parser import ResponseParser
from minireactor.testing import Clock, StringTransport

VALID = (
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
)
ALLOWED = {b"200", b"400", b"408", b"413", b"431", b"501", b"505"}


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


def check_answers(transport: StringTransport) -> None:
    for status in answers(transport):  # the parser raises if a response is malformed
        assert str(status).encode() in ALLOWED, status


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


@settings(
    max_examples=fuzz_examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(garbage=st.binary(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_random_bytes_get_a_4xx_or_nothing(garbage: bytes, cuts: list[int]) -> None:
    check_answers(serve(chunked(garbage, cuts)))


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
    transport = serve(chunked(bytes(raw), cuts))
    check_answers(transport)


def test_valid_pipeline_in_any_chunking_is_answered_in_order() -> None:
    transport = serve(chunked(VALID, [1, 7, 40, 41, 90, 130]))
    assert answers(transport) == [200, 200, 200]
    assert transport.value().count(b"ok /") == 3
