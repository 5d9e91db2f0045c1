"""Tests for minireactor/protocols/http_parser.py and http_messages.py (no I/O).

Tables of valid and invalid requests with the status a server must answer,
property tests (a stream cut anywhere parses the same; random bytes only ever
raise HTTPParseError), pipelining, limits at their exact edges, and the
response parser's body rules.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from conftest import fuzz_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minireactor.protocols.http_messages import (
    Headers,
    HTTPError,
    HTTPParseError,
    Request,
    Response,
    split_target,
    wants_keep_alive,
)
from minireactor.protocols.http_parser import RequestParser, ResponseParser


def parse_all(data: bytes, parser: RequestParser | None = None) -> list[Request]:
    """Feed `data` in one go and pull every complete request."""
    parser = parser or RequestParser()
    parser.feed(data)
    requests = []
    while (request := parser.next_request()) is not None:
        requests.append(request)
    return requests


def summary(request: Request) -> tuple[object, ...]:
    return (
        request.method,
        request.target,
        request.version,
        request.headers.raw_items(),
        request.body,
        request.trailers.raw_items(),
        request.keep_alive,
    )


# -- valid requests ------------------------------------------------------------------

GET11 = b"GET / HTTP/1.1\r\nHost: a\r\n"
POST = b"POST / HTTP/1.1\r\nHost: a\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"

# fmt: off
VALID = [
    # (raw request, method, path, query, body, keep_alive)
    (GET11 + b"\r\n", "GET", "/", "", b"", True),
    (b"GET /p?q=1&r HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/p", "q=1&r", b"", True),
    (b"GET / HTTP/1.0\r\n\r\n", "GET", "/", "", b"", False),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", "", b"", True),
    (GET11 + b"Connection: close\r\n\r\n", "GET", "/", "", b"", False),
    (GET11 + b"Connection: Upgrade, CLOSE\r\n\r\n", "GET", "/", "", b"", False),
    (POST + b"Content-Length: 5\r\n\r\nhello", "POST", "/", "", b"hello", True),
    (POST + b"Content-Length: 0\r\n\r\n", "POST", "/", "", b"", True),
    (POST + b"Content-Length: 007\r\n\r\n1234567", "POST", "/", "", b"1234567", True),
    (CHUNKED + b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\n\r\n",
     "POST", "/", "", b"hello world", True),
    (POST + b"Transfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
     "POST", "/", "", b"0123456789", True),
    (b"\r\n\r\n" + GET11 + b"\r\n", "GET", "/", "", b"", True),  # leading CRLFs are skipped
    (b"GET http://a.example/x?y HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/x", "y", b"", True),
    (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", "", b"", True),
    (GET11 + b"X-Empty:\r\nX-Tab:\tv\t\r\n\r\n", "GET", "/", "", b"", True),
    (GET11 + b"X-Latin: caf\xe9\r\n\r\n", "GET", "/", "", b"", True),
]
# fmt: on


@pytest.mark.parametrize(("raw", "method", "path", "query", "body", "keep_alive"), VALID)
def test_valid_requests(
    raw: bytes, method: str, path: str, query: str, body: bytes, keep_alive: bool
) -> None:
    [request] = parse_all(raw)
    assert (request.method, request.path, request.query) == (method, path, query)
    assert request.body == body
    assert request.keep_alive is keep_alive


def test_headers_keep_case_order_and_repeats() -> None:
    [request] = parse_all(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-Latin: caf\xe9\r\n\r\n"
    )
    assert request.headers["X-A"] == "1, 2"
    assert request.headers.get_all("x-A") == ["1", "2"]
    assert request.headers["x-latin"] == "café"
    assert request.headers.raw_items()[1:3] == [("X-A", "1"), ("x-a", "2")]


def test_chunked_trailers() -> None:
    [request] = parse_all(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Sum: 42\r\nX-Other: b\r\n\r\n"
    )
    assert request.body == b"abc"
    assert request.trailers["x-sum"] == "42"
    assert request.trailers.get("X-Other") == "b"


# -- invalid requests and the answer each deserves ----------------------------------

# fmt: off
INVALID = [
    ("garbage", b"hello\r\n\r\n", 400),
    ("two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("no version", b"GET /\r\nHost: a\r\n\r\n", 400),
    ("bad version", b"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
    ("HTTP/2 in 1.1 framing", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("space in target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("control in target", b"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("bad method", b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("no Host in 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", GET11 + b"Host: b\r\n\r\n", 400),
    ("space before colon", GET11 + b"X-A : 1\r\n\r\n", 400),
    ("space in name", GET11 + b"X A: 1\r\n\r\n", 400),
    ("bad char in name", GET11 + b"X(A): 1\r\n\r\n", 400),
    ("no colon", GET11 + b"X-A 1\r\n\r\n", 400),
    ("empty name", GET11 + b": 1\r\n\r\n", 400),
    ("obs-fold", GET11 + b"X-A: 1\r\n  2\r\n\r\n", 400),
    ("NUL in value", GET11 + b"X-A: a\x00b\r\n\r\n", 400),
    ("bare CR in value", GET11 + b"X-A: a\rb\r\n\r\n", 400),
    ("bare LF line", GET11 + b"X-A: 1\nX-B: 2\r\n\r\n", 400),
    ("LF-only head", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("CL and TE", POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE and CL", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
    ("two CLs differing", POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("two CLs equal", POST + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("CL list", POST + b"Content-Length: 3, 3\r\n\r\nabc", 400),
    ("negative CL", POST + b"Content-Length: -1\r\n\r\n", 400),
    ("plus CL", POST + b"Content-Length: +3\r\n\r\nabc", 400),
    ("hex CL", POST + b"Content-Length: 0x3\r\n\r\nabc", 400),
    ("empty CL", POST + b"Content-Length:\r\n\r\n", 400),
    ("unicode-digit CL", POST + b"Content-Length: \xb2\r\n\r\nab", 400),
    ("TE gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 501),
    ("TE gzip, chunked", POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("TE chunked twice", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE empty", POST + b"Transfer-Encoding:\r\n\r\n", 400),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("chunk size not hex", CHUNKED + b"xyz\r\n", 400),
    ("chunk size negative", CHUNKED + b"-1\r\n", 400),
    ("chunk size huge", CHUNKED + b"10000000000000000\r\n", 400),
    ("chunk size 0x", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk longer than size", CHUNKED + b"3\r\nhello\r\n0\r\n\r\n", 400),
    ("LF in chunk extension", CHUNKED + b"3;a\nb\r\nabc\r\n0\r\n\r\n", 400),
    ("bad trailer", CHUNKED + b"0\r\nbad trailer\r\n\r\n", 400),
    ("CL over limit", POST + b"Content-Length: 1048577\r\n\r\n", 413),
    ("CL absurd", POST + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n", 413),
    ("chunks over limit", CHUNKED + b"100000\r\n" + b"x" * 0x100000 + b"\r\n1\r\n", 413),
    ("head over limit", GET11 + b"X-Big: " + b"a" * 17000 + b"\r\n\r\n", 431),
    ("endless head", GET11 + b"X-Big: " + b"a" * 17000, 431),
]
# fmt: on


@pytest.mark.parametrize(("raw", "status"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_requests(raw: bytes, status: int) -> None:
    parser = RequestParser()
    with pytest.raises(HTTPParseError) as info:
        parse_all(raw, parser)
    assert info.value.status == status
    assert str(info.value)  # a message saying what was wrong
    with pytest.raises(HTTPParseError):  # and the stream stays broken
        parser.next_request()


def test_error_mentions_the_limit() -> None:
    with pytest.raises(HTTPParseError, match=r"16384 bytes.*max_head_bytes"):
        parse_all(b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")


@pytest.mark.parametrize("extra", [0, 1])
def test_head_limit_is_exact(extra: int) -> None:
    start = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    filler = b"a" * (100 - len(start) - 4 + extra)
    raw = start + filler + b"\r\n\r\n"
    parser = RequestParser(max_head_bytes=100)
    if extra:
        with pytest.raises(HTTPParseError) as info:
            parse_all(raw, parser)
        assert info.value.status == 431
    else:
        assert len(raw) == 100 and len(parse_all(raw, parser)) == 1


@pytest.mark.parametrize("extra", [0, 1])
def test_body_limit_is_exact(extra: int) -> None:
    size = 10 + extra
    fixed = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    chunked = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"6\r\nxxxxxx\r\n%x\r\n" % (size - 6)
        + b"x" * (size - 6)
        + b"\r\n0\r\n\r\n"
    )
    for raw in (fixed, chunked):
        parser = RequestParser(max_body_bytes=10)
        if extra:
            with pytest.raises(HTTPParseError) as info:
                parse_all(raw, parser)
            assert info.value.status == 413
        else:
            assert parse_all(raw, parser)[0].body == b"x" * size


def test_eof_in_the_middle_of_a_request() -> None:
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
    assert parser.next_request() is None
    parser.feed_eof()
    with pytest.raises(HTTPParseError, match="closed in the middle"):
        parser.next_request()


def test_eof_between_requests_is_clean() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    parser.feed_eof()
    assert parser.next_request() is not None
    assert parser.next_request() is None


def test_phase_and_expect_continue() -> None:
    parser = RequestParser()
    assert parser.phase == "idle"
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\n")
    assert parser.phase == "head" and parser.next_request() is None
    parser.feed(b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert parser.next_request() is None
    assert parser.phase == "body" and parser.expects_continue
    parser.feed(b"ok")
    request = parser.next_request()
    assert request is not None and request.body == b"ok"
    assert not parser.expects_continue and parser.phase == "idle"


# -- pipelining and incremental feeding --------------------------------------------

PIPELINE = (
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    b"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nde\r\n1;x=y\r\nf\r\n0\r\nT: 1\r\n\r\n"
    b"GET /4 HTTP/1.0\r\n\r\n"
    b"HEAD /5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
)


def test_pipelined_requests_in_one_chunk_come_out_in_order() -> None:
    requests = parse_all(PIPELINE)
    assert [r.target for r in requests] == ["/1", "/2", "/3", "/4", "/5"]
    assert [r.body for r in requests] == [b"", b"abc", b"def", b"", b""]
    assert requests[2].trailers["t"] == "1"
    assert [r.keep_alive for r in requests] == [True, True, True, False, False]


def test_one_byte_at_a_time() -> None:
    parser = RequestParser()
    requests = []
    for i in range(len(PIPELINE)):
        parser.feed(PIPELINE[i : i + 1])
        while (request := parser.next_request()) is not None:
            requests.append(request)
    assert [summary(r) for r in requests] == [summary(r) for r in parse_all(PIPELINE)]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(PIPELINE)), max_size=12))
def test_any_split_gives_the_same_requests(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(PIPELINE)]
    parser = RequestParser()
    requests = []
    for start, end in itertools.pairwise(points):
        parser.feed(PIPELINE[start:end])
        while (request := parser.next_request()) is not None:
            requests.append(request)
    assert [summary(r) for r in requests] == [summary(r) for r in parse_all(PIPELINE)]


_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE_RE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


def assert_well_formed(request: Request) -> None:
    """What any request the parser accepts must be, checked independently of it."""
    assert _TOKEN_RE.fullmatch(request.method)
    assert re.fullmatch(r"[\x21-\x7e]+", request.target)
    assert request.version in ("HTTP/1.0", "HTTP/1.1")
    fields = request.headers.raw_items() + request.trailers.raw_items()
    for name, value in fields:
        assert _TOKEN_RE.fullmatch(name) and _FIELD_VALUE_RE.fullmatch(value), (name, value)
    if request.version == "HTTP/1.1":
        assert [n.lower() for n, _ in request.headers.raw_items()].count("host") == 1
    length = request.headers.get("content-length")
    coding = request.headers.get("transfer-encoding")
    assert length is None or coding is None  # never both: that is how smuggling starts
    if length is not None:
        assert length.isdigit() and len(request.body) == int(length)
    elif coding is not None:
        assert coding.strip().lower() == "chunked" and request.version == "HTTP/1.1"
    else:
        assert request.body == b""


def outcome(data: bytes, step: int, **limits: int) -> tuple[list[tuple[object, ...]], int | None]:
    """(the requests accepted, the error status or None), feeding `step` bytes at a time."""
    parser = RequestParser(**limits)
    accepted = []
    try:
        for i in range(0, len(data), step):
            parser.feed(data[i : i + step])
            while (request := parser.next_request()) is not None:
                assert_well_formed(request)
                accepted.append(summary(request))
        parser.feed_eof()
        assert parser.next_request() is None  # a request cannot end at end of file
    except HTTPParseError as exc:
        assert 400 <= exc.status < 600 and str(exc)
        return accepted, exc.status
    return accepted, None


@settings(max_examples=fuzz_examples(1000), deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_random_bytes_raise_only_parse_errors(data: bytes, step: int) -> None:
    # Accept or reject, the verdict is the same however the bytes are cut,
    # and whatever is accepted is a well-formed request.
    limits = {"max_head_bytes": 128, "max_body_bytes": 64}
    whole = outcome(data, max(1, len(data)), **limits)
    assert outcome(data, step, **limits) == whole
    if data and whole[1] is None:
        assert whole[0] or data.strip(b"\r\n") == b""  # input left unparsed is an error at EOF


@settings(max_examples=fuzz_examples(1000), deadline=None)
@given(st.data())
def test_mutated_requests_raise_only_parse_errors(data: st.DataObject) -> None:
    raw = bytearray(PIPELINE)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.sampled_from(b"\r\n :;0aZ\x00\xff\t-,"))
    step = data.draw(st.integers(1, 40))
    accepted, error = outcome(bytes(raw), len(raw))
    assert outcome(bytes(raw), step) == (accepted, error)
    assert error in (None, 400, 413, 431, 501, 505)
    if bytes(raw) == PIPELINE:
        assert (len(accepted), error) == (5, None)


# -- the response parser ------------------------------------------------------------


def parse_responses(data: bytes, method: str = "GET", eof: bool = False) -> list[Response]:
    parser = ResponseParser()
    parser.feed(data)
    if eof:
        parser.feed_eof()
    responses = []
    while (response := parser.next_response(method)) is not None:
        responses.append(response)
    return responses


def test_response_with_length_and_chunks() -> None:
    first, second = parse_responses(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n0\r\n\r\n"
    )
    assert (first.status, first.reason, first.body, first.keep_alive) == (200, "OK", b"hi", True)
    assert (second.status, second.body) == (404, b"no!")


def test_response_until_close() -> None:
    assert parse_responses(b"HTTP/1.1 200 OK\r\n\r\npartial") == []
    [response] = parse_responses(b"HTTP/1.0 200 OK\r\n\r\nall of it", eof=True)
    assert response.body == b"all of it" and not response.keep_alive


@pytest.mark.parametrize(
    ("status_line", "method"),
    [
        (b"HTTP/1.1 204 No Content", "GET"),
        (b"HTTP/1.1 304 Not Modified", "GET"),
        (b"HTTP/1.1 200 OK", "HEAD"),
        (b"HTTP/1.1 100 Continue", "POST"),
    ],
)
def test_responses_without_body(status_line: bytes, method: str) -> None:
    raw = (
        status_line
        + b"\r\nContent-Length: 10\r\n\r\n"
        + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    first, second = parse_responses(raw, method)
    assert first.body == b"" and second.status == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"FTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 20x OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_invalid_responses(raw: bytes) -> None:
    with pytest.raises(HTTPParseError):
        parse_responses(raw)


# -- the message records -------------------------------------------------------------


def test_headers_mapping_behaviour() -> None:
    headers = Headers({"Content-Type": "text/plain"})
    headers.add("Set-Cookie", "a=1")
    headers.add("set-cookie", "b=2")
    assert "content-TYPE" in headers and 42 not in headers
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    headers["SET-COOKIE"] = "c=3"
    assert headers.raw_items() == [("Content-Type", "text/plain"), ("SET-COOKIE", "c=3")]
    del headers["content-type"]
    assert list(headers) == ["set-cookie"] and len(headers) == 1
    assert headers.get("missing", "default") == "default"
    assert Headers(headers) == headers and dict(headers) == {"set-cookie": "c=3"}
    with pytest.raises(KeyError):
        headers["missing"]


def test_response_defaults() -> None:
    response = Response(404, body="gone")
    assert response.reason == "Not Found" and response.body == b"gone"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert Response(599).reason == ""


def test_request_respond_twice_is_an_error() -> None:
    request = Request("GET", "/")
    request.respond(Response())
    assert request.responded
    with pytest.raises(HTTPError, match="already answered"):
        request.respond(Response())


def test_small_helpers() -> None:
    assert split_target("/a/b?x=1?y") == ("/a/b", "x=1?y")
    assert split_target("http://h:1") == ("/", "")
    assert wants_keep_alive("HTTP/1.1", None) and not wants_keep_alive("HTTP/1.0", None)
    assert wants_keep_alive("HTTP/1.0", "Keep-Alive") and not wants_keep_alive("HTTP/1.1", "close")


# -- framing checks that a smuggling attack relies on, fed whole and byte by byte ---------


def parse_split(raw: bytes) -> list[Request]:
    """Feed `raw` one byte at a time (every state sees partial input)."""
    parser = RequestParser()
    requests = []
    for i in range(len(raw)):
        parser.feed(raw[i : i + 1])
        while (request := parser.next_request()) is not None:
            requests.append(request)
    return requests


# fmt: off
FRAMING_ERRORS = [
    # Chunk data must be followed by exactly CRLF: anything else means the
    # two sides disagree about where the chunk (and so the message) ends.
    ("bytes after chunk data", CHUNKED + b"3\r\nabcXX0\r\n\r\n"),
    ("LF only after chunk data", CHUNKED + b"3\r\nabc\n0\r\n\r\n"),
    ("CR only after chunk data", CHUNKED + b"3\r\nabc\r0\r\n\r\n"),
    ("LF CR after chunk data", CHUNKED + b"3\r\nabc\n\r0\r\n\r\n"),
    # Control characters in chunk extensions (CR and LF above all).
    ("NUL in chunk extension", CHUNKED + b"5;a=\x00\r\nhello\r\n0\r\n\r\n"),
    ("ESC in chunk extension", CHUNKED + b"5;a=\x1b\r\nhello\r\n0\r\n\r\n"),
    ("DEL in chunk extension", CHUNKED + b"5;a=\x7f\r\nhello\r\n0\r\n\r\n"),
    ("CR in chunk extension", CHUNKED + b"5;a=\rb\r\nhello\r\n0\r\n\r\n"),
]
# fmt: on


@pytest.mark.parametrize("raw", [c[1] for c in FRAMING_ERRORS], ids=[c[0] for c in FRAMING_ERRORS])
@pytest.mark.parametrize("feed", [parse_all, parse_split], ids=["whole", "bytewise"])
def test_framing_errors_are_rejected_however_the_bytes_arrive(
    raw: bytes, feed: Callable[[bytes], list[Request]]
) -> None:
    with pytest.raises(HTTPParseError) as info:
        feed(raw)
    assert info.value.status == 400


def test_chunk_extensions_with_tabs_and_quoted_strings_are_accepted() -> None:
    raw = CHUNKED + b'5 ;\tname="quoted value";flag\r\nhello\r\n0;last\r\n\r\n'
    for feed in (parse_all, parse_split):
        [request] = feed(raw)
        assert request.body == b"hello"


def test_body_received_counts_body_bytes_as_they_arrive() -> None:
    parser = RequestParser()
    parser.feed(CHUNKED + b"5\r\nhel")
    assert parser.next_request() is None and parser.body_received == 3
    parser.feed(b"lo\r\n3\r\nabc\r\n0\r\n\r\n")
    request = parser.next_request()
    assert request is not None and request.body == b"helloabc"
    assert parser.body_received == 0  # the next message starts from nothing


# -- exact checks that mutation testing showed were missing (scripts/mutation.py) -----------


def test_a_parsed_response_keeps_its_own_reason_version_and_headers() -> None:
    [response] = parse_responses(
        b"HTTP/1.0 404 Not Here\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno"
    )
    assert (response.status, response.reason, response.version) == (404, "Not Here", "HTTP/1.0")
    assert response.headers["x-a"] == "1" and response.body == b"no"
    assert response.keep_alive  # HTTP/1.0 that asked for keep-alive


def test_response_keep_alive_follows_connection_and_framing() -> None:
    [closing] = parse_responses(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    assert not closing.keep_alive
    [until_close] = parse_responses(b"HTTP/1.1 200 OK\r\n\r\nall", eof=True)
    assert until_close.body == b"all" and not until_close.keep_alive  # its end is the close


def test_response_limits_are_larger_than_a_request_s() -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20_000 + b"\r\n"
    body = b"b" * (2 * 1024 * 1024)
    [response] = parse_responses(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert len(response.body) == len(body)  # 20 KB head and 2 MiB body: over a request's limits
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    with pytest.raises(HTTPParseError) as info:
        parser.next_response()
    assert info.value.status == 502  # a client reports a bad upstream, not a 431


def test_an_invalid_status_line_is_a_502_that_quotes_it() -> None:
    line = "HTTP/1.1 abc " + "x" * 100
    parser = ResponseParser()
    parser.feed(line.encode() + b"\r\n\r\n")
    with pytest.raises(HTTPParseError) as info:
        parser.next_response()
    assert info.value.status == 502
    assert str(info.value) == f"invalid status line: {line[:80]!r}"


def test_a_response_with_transfer_encoding_in_http_1_0_is_rejected() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    with pytest.raises(HTTPParseError, match=r"not allowed in HTTP/1\.0"):
        parser.next_response()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (GET11 + b"X: " + b"a" * 20_000 + b"\r\n\r\n", "the start line and headers exceed 16384 "
         "bytes (raise max_head_bytes if this is legitimate)"),
        (POST + b"Content-Length: 2000000\r\n\r\n", "the body exceeds 1048576 bytes "
         "(raise max_body_bytes if this is legitimate)"),
        (GET11 + b" folded\r\n\r\n", "obsolete line folding (a header line starting with space)"),
        (GET11 + b"\tfolded\r\n\r\n", "obsolete line folding (a header line starting with space)"),
        (GET11 + b"NoColon\r\n\r\n", "header line without a colon: 'NoColon'"),
        (GET11 + b"Bad Name: x\r\n\r\n", "invalid header name (no spaces or separators): "
         "'Bad Name: x'"),
    ],
)  # fmt: skip
def test_error_messages_say_exactly_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(raw)
    assert str(info.value) == message


LONG_TARGET = "/" + "a" * 100
LONG_VERSION = "HTTQ/" + "1" * 30


@pytest.mark.parametrize(
    ("line", "status", "message"),
    [
        ("GET /", 400, "request line must be 'METHOD target HTTP/1.1': 'GET /'"),
        (f"GET {LONG_TARGET}", 400,
         f"request line must be 'METHOD target HTTP/1.1': {f'GET {LONG_TARGET}'[:80]!r}"),
        ("GET /\x80 HTTP/1.1", 400, "invalid request line: 'GET /\\x80 HTTP/1.1'"),
        (f"G@T {LONG_TARGET} HTTP/1.1", 400,
         f"invalid request line: {f'G@T {LONG_TARGET} HTTP/1.1'[:80]!r}"),
        ("GET / HTTP/2.0", 505, "HTTP/2.0 is not supported; use HTTP/1.1"),
        (f"GET / {LONG_VERSION}", 400, f"invalid HTTP version: {LONG_VERSION[:20]!r}"),
    ],
)  # fmt: skip
def test_request_line_errors_quote_the_line(line: str, status: int, message: str) -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(line.encode("latin-1") + b"\r\nHost: a\r\n\r\n")
    assert (info.value.status, str(info.value)) == (status, message)


def test_an_empty_chunk_size_line_is_rejected_even_at_the_start_of_a_feed() -> None:
    parser = RequestParser()
    parser.feed(CHUNKED)
    assert parser.next_request() is None
    parser.feed(b"\r\nhello\r\n0\r\n\r\n")  # after feed() drops parsed bytes, the line is at 0
    with pytest.raises(HTTPParseError) as info:
        parser.next_request()
    assert (info.value.status, str(info.value)) == (400, "invalid chunk size line: b''")


def test_chunk_size_line_limit_is_exact_and_counts_only_that_line() -> None:
    first = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n"  # already parsed bytes before the line
    for size, rejected in [(4000, False), (4096, False), (4097, True)]:
        parser = RequestParser()
        parser.feed(first + CHUNKED + b"5;" + b"x" * (size - 2))
        assert parser.next_request() is not None
        if rejected:
            with pytest.raises(HTTPParseError) as info:
                parser.next_request()
            assert (info.value.status, str(info.value)) == (400, "chunk-size line too long")
        else:
            assert parser.next_request() is None


@pytest.mark.parametrize(
    ("size_line", "body"),
    [
        (b"10", b"p" * 16),  # hex, not decimal or base 17
        (b"1A", b"q" * 26),
        (b"0000000000000005", b"hello"),  # 16 digits is still a size
        (b"5 \t", b"hello"),  # whitespace before ";" only
    ],
)
def test_chunk_sizes_that_are_valid(size_line: bytes, body: bytes) -> None:
    ext = b";x" if size_line.endswith((b" ", b"\t")) else b""
    [request] = parse_all(CHUNKED + size_line + ext + b"\r\n" + body + b"\r\n0\r\n\r\n")
    assert request.body == body


@pytest.mark.parametrize(
    "size_line",
    [b"00000000000000005", b"5\x0b;x", b"5X;x", b"5\x0c;x"],
    ids=["17 digits", "VT before ;", "X before ;", "FF before ;"],
)
def test_chunk_sizes_that_are_not(size_line: bytes) -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(CHUNKED + size_line + b"\r\nhello\r\n0\r\n\r\n")
    assert str(info.value) == f"invalid chunk size line: {size_line[:40]!r}"


def test_the_chunk_size_line_is_quoted_up_to_40_bytes() -> None:
    line = b"zz" + b"9" * 60
    with pytest.raises(HTTPParseError) as info:
        parse_all(CHUNKED + line + b"\r\n")
    assert str(info.value) == f"invalid chunk size line: {line[:40]!r}"


def test_chunk_data_longer_than_declared_says_so() -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(CHUNKED + b"3\r\nabcd\r\n0\r\n\r\n")
    assert str(info.value) == "chunk data is longer than its declared size"


def test_after_a_chunked_request_the_parser_is_idle_with_nothing_buffered() -> None:
    parser = RequestParser()
    parser.feed(CHUNKED + b"3\r\nabc\r\n0\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.phase == "idle" and parser.buffered == 0  # not "head": no request began


def test_trailer_section_limit_is_exact_and_counts_only_the_trailers() -> None:
    for size, rejected in [(150, False), (200, False), (201, True)]:
        parser = RequestParser(max_head_bytes=200)
        parser.feed(CHUNKED + b"0\r\n" + b"T: " + b"t" * (size - 3))
        if rejected:
            with pytest.raises(HTTPParseError) as info:
                parser.next_request()
            assert info.value.status == 431
        else:
            assert parser.next_request() is None


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", 400, "an HTTP/1.1 request needs exactly one Host header"),
        (POST + b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
         "both Content-Length and Transfer-Encoding were sent"),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
         "Transfer-Encoding is not allowed in HTTP/1.0"),
        (POST + b"Transfer-Encoding: chunked,\r\n\r\n", 400,
         "empty transfer coding in 'chunked,'"),
        (POST + b"Transfer-Encoding: gzip\r\n\r\n", 501,
         "unsupported Transfer-Encoding 'gzip'; only chunked"),
        (POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
         "'chunked' may be applied only once: 'chunked, chunked'"),
        (POST + b"Content-Length: 1,2\r\n\r\n", 400, "several Content-Length values: '1,2'"),
        (POST + b"Content-Length: -1\r\n\r\n", 400,
         "Content-Length must be a decimal number: '-1'"),
    ],
)  # fmt: skip
def test_framing_errors_say_exactly_what_is_wrong(raw: bytes, status: int, message: str) -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(raw)
    assert (info.value.status, str(info.value)) == (status, message)


def test_content_length_digits_limit_is_exact() -> None:
    [request] = parse_all(POST + b"Content-Length: 000000000000000005\r\n\r\nhello")  # 18 digits
    assert request.body == b"hello"
    with pytest.raises(HTTPParseError) as info:
        parse_all(POST + b"Content-Length: 0000000000000000005\r\n\r\nhello")  # 19
    assert info.value.status == 413


def test_a_fresh_parser_is_idle_with_nothing_buffered() -> None:
    parser = RequestParser()
    assert parser.next_request() is None
    assert (parser.phase, parser.buffered, parser.body_received) == ("idle", 0, 0)


def test_only_spaces_and_tabs_are_trimmed_from_field_values() -> None:
    [request] = parse_all(
        GET11 + b"X-A: \t Xylophone X \t\r\nX-B: nbsp\xa0\r\nX-C: \x85nel\r\n\r\n"
    )
    assert request.headers["x-a"] == "Xylophone X"
    assert request.headers["x-b"] == "nbsp\xa0" and request.headers["x-c"] == "\x85nel"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (GET11 + b"X: a\rb\r\n\r\n", "a header line contains a bare CR or LF"),
        (GET11 + b"X: a\x00b\r\n\r\n", "a header contains a control character (NUL, ESC, ...)"),
    ],
)
def test_header_character_errors_say_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(HTTPParseError) as info:
        parse_all(raw)
    assert (info.value.status, str(info.value)) == (400, message)


def test_a_message_cut_by_the_end_of_the_stream_is_a_400() -> None:
    parser = RequestParser()
    parser.feed(POST + b"Content-Length: 5\r\n\r\nab")
    parser.feed_eof()
    with pytest.raises(HTTPParseError) as info:
        parser.next_request()
    assert (info.value.status, str(info.value)) == (
        400,
        "the connection closed in the middle of a message",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"\n\nGET / HTTP/1.1\r\n",  # bare LFs at the very start of the buffer
        b"\n\r\nGET / HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",  # an LF-ended line, then the empty line
        b"GET / HTTP/1.1\nHost: a\n\n",
    ],
)
def test_bare_lf_in_an_unfinished_head_is_rejected_at_once(raw: bytes) -> None:
    parser = RequestParser()
    parser.feed(raw)
    with pytest.raises(HTTPParseError) as info:
        parser.next_request()
    assert (info.value.status, str(info.value)) == (
        400,
        "header lines must end with CRLF, not a bare LF",
    )


def test_bare_lfs_in_an_earlier_body_do_not_count_against_the_next_head() -> None:
    parser = RequestParser()
    parser.feed(POST + b"Content-Length: 6\r\n\r\na\n\n\r\nbGET / HT")
    request = parser.next_request()
    assert request is not None and request.body == b"a\n\n\r\nb"
    assert parser.next_request() is None and parser.phase == "head"


@pytest.mark.parametrize("extra", [0, 1])
def test_head_limit_is_exact_for_a_pipelined_head_finished_or_not(extra: int) -> None:
    first = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    start = b"GET /2 HTTP/1.1\r\nHost: a\r\nX: "
    whole = start + b"a" * (100 - len(start) - 4 + extra) + b"\r\n\r\n"
    unfinished = start + b"a" * (100 - len(start) + extra)
    for second in (whole, unfinished):
        parser = RequestParser(max_head_bytes=100)
        parser.feed(first + second)
        assert parser.next_request() is not None
        if extra:
            with pytest.raises(HTTPParseError) as info:
                parser.next_request()
            assert info.value.status == 431
        else:
            result = parser.next_request()
            assert (result is not None) == (second is whole)


def test_header_errors_quote_up_to_60_characters_of_the_line() -> None:
    no_colon = "N" * 100
    bad_name = "Bad Name" + "x" * 100 + ": v"
    for line, start in [(no_colon, "header line without a colon: "),
                        (bad_name, "invalid header name (no spaces or separators): ")]:  # fmt: skip
        with pytest.raises(HTTPParseError) as info:
            parse_all(GET11 + line.encode() + b"\r\n\r\n")
        assert str(info.value) == start + repr(line[:60])
