"""HTTP/1.1 messages as plain records: `Headers`, `Request`, `Response`.

These are the values the rest of the HTTP code passes around. The parser
(`http_parser.py`) turns bytes into `Request` and `Response` objects, the
server (`http.py`) hands each `Request` to your handler and writes the
`Response` it gets back, and the client (`http_client.py`) does the reverse.
Nothing here does I/O, so everything here can be tried in a REPL.

Header names are case-insensitive (RFC 9110 section 5.1), so `Headers` looks
them up in lower case but remembers the spelling it was given, and keeps
repeated fields in order (RFC 9110 section 5.3 lets a recipient combine them
into one comma-separated value, which is what `headers[name]` returns).

Read next: `http_parser.py`, which builds these from a byte stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from http import HTTPStatus
from typing import TypeVar, Union, overload

from ..errors import MiniReactorError

_T = TypeVar("_T")

#: Anything `Headers(...)` accepts: another Headers, a dict, or (name, value) pairs.
HeadersLike = Union["Headers", Mapping[str, str], Iterable[tuple[str, str]], None]

#: Standard reason phrases, e.g. 404 -> "Not Found".
REASONS: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}


class HTTPError(MiniReactorError):
    """Base class of the HTTP errors minireactor raises."""


class HTTPParseError(HTTPError, ValueError):
    """The bytes received are not valid HTTP/1.1, or they break a limit.

    Attributes:
        status: the status code a server answers with before closing the
            connection: 400 (malformed), 408 (too slow), 413 (body too large),
            431 (head too large), 501 (unsupported transfer coding) or 505
            (unsupported HTTP version).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Headers(MutableMapping[str, str]):
    """A case-insensitive, order-preserving collection of header fields.

    `headers["content-type"]` and `headers["Content-Type"]` are the same
    field. Repeated fields are kept: `get_all(name)` returns each value,
    `headers[name]` returns them joined with ", ", and `raw_items()` returns
    every (name, value) pair in the order and spelling it was added.
    Iterating yields the lower-case names.
    """

    __slots__ = ("_map", "_pairs")

    def __init__(self, headers: HeadersLike = None) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._map: dict[str, str] = {}  # lower-case name -> combined value
        if headers is None:
            return
        if isinstance(headers, Headers):
            pairs: Iterable[tuple[str, str]] = headers._pairs
        elif isinstance(headers, Mapping):
            pairs = headers.items()
        else:
            pairs = headers
        for name, value in pairs:
            self.add(name, value)

    @classmethod
    def _from_pairs(cls, pairs: list[tuple[str, str]]) -> Headers:
        """Headers that take over `pairs` (the parser's list) instead of copying it.

        The same result as `Headers(pairs)`, without an `add()` call per
        field: one of the parser changes that cut the browser-like request of
        benchmarks/http_path.py from 24 to 17 us.
        """
        headers = cls.__new__(cls)
        combined: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            earlier = combined.get(key)
            combined[key] = value if earlier is None else f"{earlier}, {value}"
        headers._pairs = pairs
        headers._map = combined
        return headers

    def add(self, name: str, value: str) -> None:
        """Append a field, keeping any earlier fields with the same name."""
        self._pairs.append((name, value))
        key = name.lower()
        earlier = self._map.get(key)
        self._map[key] = value if earlier is None else f"{earlier}, {value}"

    def get_all(self, name: str) -> list[str]:
        """Every value of the fields called `name`, in order (e.g. Set-Cookie)."""
        key = name.lower()
        return [value for field, value in self._pairs if field.lower() == key]

    def raw_items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair as added, repeated fields separate."""
        return list(self._pairs)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __setitem__(self, name: str, value: str) -> None:
        """Replace every field called `name` by a single one."""
        if name.lower() in self._map:
            del self[name]
        self.add(name, value)

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        del self._map[key]  # raises KeyError, as a dict would
        self._pairs = [pair for pair in self._pairs if pair[0].lower() != key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    # Mapping.get would go through __getitem__ and a caught KeyError; this
    # direct version is on every request's path, so it is worth the overloads.
    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The combined value of `name`, or `default` when it is absent."""
        return self._map.get(name.lower(), default)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


def wants_keep_alive(version: str, connection: str | None) -> bool:
    """Whether a message lets its connection carry another one afterwards.

    HTTP/1.1 connections are persistent unless a side says `Connection:
    close`; HTTP/1.0 ones close after each message unless it says
    `Connection: keep-alive` (RFC 9112 section 9.3).
    """
    if connection is None:
        return version == "HTTP/1.1"
    tokens = {token.strip().lower() for token in connection.split(",")}
    if "close" in tokens:
        return False
    return version == "HTTP/1.1" or "keep-alive" in tokens


def split_target(target: str) -> tuple[str, str]:
    """Split a request target into (path, query), e.g. "/a?b=1" -> ("/a", "b=1").

    Handles origin-form ("/path?q"), absolute-form ("http://host/path?q", sent
    to proxies) and the asterisk form ("*", for `OPTIONS *`). Nothing is
    percent-decoded: use `urllib.parse.unquote` / `parse_qs` on the parts.
    """
    if target[:1] != "/" and "://" in target:
        after_scheme = target.split("://", 1)[1]
        slash = after_scheme.find("/")
        target = after_scheme[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    return path, query


def encode_head(lines: list[str]) -> bytes:
    """Join a head's lines into bytes: start line, "Name: value" lines, empty line.

    Each element of `lines` is one line ending in exactly one CRLF. A CR or LF anywhere else came
    from a header name or value and would let it add headers or end the head
    early ("header injection", "response splitting"), so it is refused.
    Counting them is one fast pass in C instead of a regex per field.

    Raises:
        HTTPError: a field contains CR or LF, or a character outside Latin-1.
    """
    text = "".join(lines)
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        raise HTTPError("a header name or value contains CR or LF; remove the line break")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HTTPError(f"header text must be Latin-1 (percent-encode URLs): {exc}") from None


def status_has_body(status: int) -> bool:
    """False for 1xx, 204 and 304: responses that never carry a body (RFC 9112 6.3)."""
    return status >= 200 and status != 204 and status != 304


def _headers_or_none(headers: HeadersLike) -> Headers | None:
    """`headers` as a Headers, or None for "no fields yet".

    Requests and responses keep None instead of an empty Headers until
    someone looks: most "hello" responses carry no headers and most requests
    no trailers, and building the empty objects took about 2.5 of the 17 us
    a "hello" request cost (benchmarks/http_path.py).
    """
    if headers is None:
        return None
    return headers if isinstance(headers, Headers) else Headers(headers)


class _Message:
    """What requests and responses share: trailers, built only when looked at."""

    __slots__ = ("_trailers",)

    _trailers: Headers | None

    @property
    def trailers(self) -> Headers:
        """Fields sent after a chunked body (an empty `Headers` when there were none)."""
        if self._trailers is None:
            self._trailers = Headers()
        return self._trailers

    @trailers.setter
    def trailers(self, value: Headers) -> None:
        self._trailers = value


class Request(_Message):
    """One HTTP request, as the server's handler receives it.

    Attributes:
        method: "GET", "POST", ... (case-sensitive, as sent).
        target: the request target as sent, e.g. "/search?q=cats".
        path, query: `target` split at the first "?" (not percent-decoded).
        version: "HTTP/1.1" or "HTTP/1.0".
        headers: the header fields (case-insensitive `Headers`).
        body: the whole body, de-chunked (b"" when there is none).
        trailers: fields sent after a chunked body (usually empty).
        keep_alive: whether the client allows another request on this connection.
    """

    __slots__ = (
        "_responded",
        "_responder",
        "body",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: str = "HTTP/1.1",
        headers: HeadersLike = None,
        body: bytes = b"",
        *,
        trailers: HeadersLike = None,
        keep_alive: bool | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.path, self.query = split_target(target)
        self.version = version
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self._trailers = _headers_or_none(trailers)
        if keep_alive is None:
            keep_alive = wants_keep_alive(version, self.headers.get("connection"))
        self.keep_alive = keep_alive
        # Set by the server protocol: where respond() sends the response.
        self._responder: Callable[[Request, Response], None] | None = None
        self._responded = False

    def respond(self, response: Response) -> None:
        """Send `response` for this request, now or later.

        A handler that cannot answer at once (it waits for a timer, another
        connection, a thread) returns None and calls this later, from the
        reactor thread. If the connection has closed meanwhile, the response
        is dropped silently: there is nobody left to read it.

        Raises:
            HTTPError: this request has already been answered.
        """
        if self._responded:
            raise HTTPError(
                f"{self.method} {self.target} was already answered; call respond() "
                "once, or return a Response from the handler, not both"
            )
        self._responded = True
        if self._responder is not None:
            self._responder(self, response)

    @property
    def responded(self) -> bool:
        """Whether `respond()` has been called (or the handler returned a Response)."""
        return self._responded

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target} {self.version}>"


class Response(_Message):
    """One HTTP response: what a handler returns, and what the client receives.

    `body` may be `str`, which is encoded as UTF-8 and, unless you set one,
    labelled `Content-Type: text/plain; charset=utf-8`. The server frames the
    body itself: it writes Content-Length (and Connection when needed), so
    leave those out.

    Attributes:
        status: the status code, e.g. 200.
        reason: the reason phrase; defaults to the standard one ("OK").
        headers: the header fields (case-insensitive `Headers`).
        body: the body bytes.
        version: "HTTP/1.1" (or what a server sent, for received responses).
        trailers: fields sent after a chunked body (received responses only).
        keep_alive: for received responses, whether the connection may be reused.
        url: for received responses, the URL that answered (after redirects).
    """

    __slots__ = (
        "_headers",
        "body",
        "keep_alive",
        "reason",
        "status",
        "url",
        "version",
    )

    def __init__(
        self,
        status: int = 200,
        headers: HeadersLike = None,
        body: bytes | str = b"",
        *,
        reason: str = "",
        version: str = "HTTP/1.1",
        trailers: HeadersLike = None,
        keep_alive: bool = True,
    ) -> None:
        self.status = status
        self.reason = reason or REASONS.get(status, "")
        self._headers = _headers_or_none(headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
            if "content-type" not in self.headers:
                self.headers.add("Content-Type", "text/plain; charset=utf-8")
        self.body = body
        self.version = version
        self._trailers = _headers_or_none(trailers)
        self.keep_alive = keep_alive
        self.url = ""

    @property
    def headers(self) -> Headers:
        """The header fields (case-insensitive `Headers`)."""
        if self._headers is None:
            self._headers = Headers()
        return self._headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value

    def text(self, encoding: str = "utf-8") -> str:
        """The body decoded as text (errors replaced, never raised)."""
        return self.body.decode(encoding, errors="replace")

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} ({len(self.body)} bytes)>"
