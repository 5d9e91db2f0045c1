"""An HTTP/1.1 client on minireactor: connection reuse, timeouts, redirects.

`HTTPClient` turns URLs into requests on a reactor. It keeps idle connections
per (host, port) and reuses them, applies one overall timeout per request, and
follows redirects only when asked (`follow_redirects=True`). Each request goes
over an `HTTPClientProtocol` (`http_client_protocol.py`), which speaks HTTP on
one connection. Every call returns a `Deferred`, so callback code and
coroutines both work::

    client = HTTPClient(reactor)
    client.get("http://127.0.0.1:8080/").add_callback(print)
    response = await client.get("http://127.0.0.1:8080/")   # in ensure_deferred / defer.run

Only http:// URLs: https needs the TLS transport. Read next: `http.py`, the server.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..defer import Deferred

# The one-connection protocol lives next door; importing it from here still works.
from .http_client_protocol import HTTPClientProtocol as HTTPClientProtocol
from .http_client_protocol import ResponseNotReceived as ResponseNotReceived
from .http_messages import Headers, HeadersLike, HTTPError, Response

__all__ = [
    "HTTPClient",
    "HTTPClientProtocol",
    "HTTPTimeoutError",
    "ResponseNotReceived",
    "TooManyRedirects",
    "fetch",
]

logger = logging.getLogger("minireactor.http")

# Resending these cannot do harm twice (RFC 9110 section 9.2.2), so a request
# that met a connection the server had just closed may be retried.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HTTPTimeoutError(HTTPError, TimeoutError):
    """No complete response arrived within the request's timeout."""


class TooManyRedirects(HTTPError):
    """A redirect chain was longer than `max_redirects`."""


class _Dialer:
    """The factory handed to `reactor.connect_tcp` for one attempt (duck-typed)."""

    def __init__(self, fetch: _Fetch) -> None:
        self.fetch = fetch

    def build_protocol(self, addr: Any) -> HTTPClientProtocol:
        protocol = HTTPClientProtocol(max_body_bytes=self.fetch.client.max_body_bytes)
        self.fetch.send_on(protocol, reused=False)
        return protocol

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self.fetch.finish(exc)

    def client_connection_lost(self, connector: Any, exc: BaseException | None) -> None:
        """Nothing to do: the protocol reports a lost response itself."""


class _Fetch:
    """One call to `HTTPClient.request`: its attempts, retry, redirects and timeout."""

    def __init__(
        self,
        client: HTTPClient,
        method: str,
        url: str,
        headers: Headers,
        body: bytes,
        timeout: float,
        follow_redirects: bool,
    ) -> None:
        self.client = client
        self.method, self.url, self.headers, self.body = method, url, headers, body
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.redirects = 0
        self.retried = False
        self.key = ("", 0)  # (host, port) of the current attempt
        self.target = "/"
        self.result: Deferred[Response] = Deferred(canceller=self._abandon)
        self._connector: Any = None
        self._protocol: HTTPClientProtocol | None = None
        self._timer = client.reactor.call_later(timeout, self._timed_out)

    def start(self) -> None:
        """Send the request, on an idle pooled connection if there is one."""
        try:
            host, port, self.target = _split_url(self.url)
        except HTTPError as exc:
            self.finish(exc)
            return
        self.key = (host, port)
        if "host" not in self.headers:
            self.headers["Host"] = host if port == 80 else f"{host}:{port}"
        protocol = self.client._take_idle(self.key)
        if protocol is not None:
            self.send_on(protocol, reused=True)
        else:
            self._connect()

    def _connect(self) -> None:
        host, port = self.key
        reactor = self.client.reactor
        self._connector = reactor.connect_tcp(host, port, _Dialer(self), timeout=self.timeout)

    def send_on(self, protocol: HTTPClientProtocol, reused: bool) -> None:
        self._protocol = protocol
        try:
            sent = protocol.request(self.method, self.target, self.headers, self.body)
        except HTTPError as exc:
            self.finish(exc)
            return
        sent.add_callbacks(self._got_response, self._lost, errback_args=(reused,))

    def _lost(self, exc: BaseException, reused: bool) -> None:
        if self.result.called:
            return  # already finished (e.g. timed out, which aborted this connection)
        if (
            reused
            and not self.retried
            and self.method in _IDEMPOTENT
            and isinstance(exc, ResponseNotReceived)
            and exc.nothing_received
        ):
            # A kept-alive connection that the server closed just as we reused
            # it: the classic race of HTTP keep-alive. Try once on a fresh one.
            self.retried = True
            self._connect()
        else:
            self.finish(exc)

    def _got_response(self, response: Response) -> None:
        assert self._protocol is not None
        self.client._release(self.key, self._protocol)
        location = response.headers.get("location")
        if self.follow_redirects and response.status in _REDIRECTS and location:
            self._redirect(response.status, location)
        else:
            response.url = self.url
            self.finish(response)

    def _redirect(self, status: int, location: str) -> None:
        self.redirects += 1
        if self.redirects > self.client.max_redirects:
            self.finish(
                TooManyRedirects(
                    f"{self.url} redirected more than {self.client.max_redirects} times"
                )
            )
            return
        # 303 means "GET the answer elsewhere"; browsers treat a POST answered
        # by 301/302 the same way, and so do we. 307/308 keep method and body.
        if (status == 303 and self.method != "HEAD") or (
            status in (301, 302) and self.method == "POST"
        ):
            self.method, self.body = "GET", b""
        new_url = urljoin(self.url, location)
        if urlsplit(new_url).netloc != urlsplit(self.url).netloc:
            for secret in ("authorization", "cookie"):  # never leak credentials to another host
                self.headers.pop(secret, None)
        self.url = new_url
        self.retried = False
        self.headers.pop("host", None)
        self.start()

    def _timed_out(self) -> None:
        self._timer = None
        self.finish(
            HTTPTimeoutError(f"{self.method} {self.url} got no response within {self.timeout} s")
        )

    def finish(self, outcome: Response | BaseException) -> None:
        """Fire the result once; whatever happens afterwards is ignored."""
        if self.result.called:
            return
        if isinstance(outcome, Response):
            self._cancel_timer()
            self.result.callback(outcome)
        else:
            # Fire first: abandoning may report the connection's end, which
            # must then find the result already called.
            self.result.errback(outcome)
            self._abandon(self.result)

    def _abandon(self, _: Deferred[Response]) -> None:
        """Stop the work: the request failed, timed out or was cancelled."""
        self._cancel_timer()
        if self._protocol is not None and not self._protocol.reusable:
            self._protocol.abort()  # mid-request: its state is unknown now
        if self._connector is not None:
            self._connector.stop_connecting()  # does nothing once connected

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _split_url(url: str) -> tuple[str, int, str]:
    """(host, port, target) for an http:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise HTTPError(f"cannot fetch {url!r}: only http://host/... URLs are supported")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, target


class HTTPClient:
    """Makes HTTP requests on a reactor, reusing connections per (host, port).

    Args:
        reactor: the minireactor Reactor to run on.
        timeout: seconds for each request, from the call to the whole
            response (connecting and redirects included).
        follow_redirects: follow 3xx responses with a Location header.
        max_redirects: give up (TooManyRedirects) after this many.
        max_idle_per_host: idle connections kept open per (host, port).
        headers: sent with every request (e.g. User-Agent).
        max_body_bytes: longest response body accepted.
    """

    def __init__(
        self,
        reactor: Any,
        *,
        timeout: float = 30.0,
        follow_redirects: bool = False,
        max_redirects: int = 10,
        max_idle_per_host: int = 10,
        headers: HeadersLike = None,
        max_body_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.max_idle_per_host = max_idle_per_host
        self.headers = Headers(headers or {"User-Agent": "minireactor"})
        self.max_body_bytes = max_body_bytes
        self._idle: dict[tuple[str, int], list[HTTPClientProtocol]] = {}

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: HeadersLike = None,
        body: bytes = b"",
        timeout: float | None = None,
        follow_redirects: bool | None = None,
    ) -> Deferred[Response]:
        """Send `method url`; the Deferred fires with the final `Response`.

        Errors arrive on the Deferred: `HTTPTimeoutError`, `ResponseNotReceived`,
        `TooManyRedirects`, `HTTPParseError` (a malformed response), `HTTPError`
        (a bad URL), or the connection's own error (`ConnectionRefusedError`, ...).
        Cancelling the Deferred abandons the request and its connection.
        """
        all_headers = Headers(self.headers)
        for name, value in Headers(headers).raw_items():
            all_headers[name] = value
        fetch = _Fetch(
            self,
            method,
            url,
            all_headers,
            body,
            self.timeout if timeout is None else timeout,
            self.follow_redirects if follow_redirects is None else follow_redirects,
        )
        fetch.start()
        return fetch.result

    def get(self, url: str, **options: Any) -> Deferred[Response]:
        """`request("GET", url, **options)`."""
        return self.request("GET", url, **options)

    def close(self) -> None:
        """Close the idle connections (requests in flight carry on)."""
        for protocols in self._idle.values():
            for protocol in protocols:
                protocol._close()
        self._idle.clear()

    def _take_idle(self, key: tuple[str, int]) -> HTTPClientProtocol | None:
        protocols = self._idle.get(key)
        while protocols:
            protocol = protocols.pop()
            if protocol.reusable:  # the server may have closed it meanwhile
                return protocol
        return None

    def _release(self, key: tuple[str, int], protocol: HTTPClientProtocol) -> None:
        if not protocol.reusable:
            return
        protocols = self._idle.setdefault(key, [])
        if len(protocols) < self.max_idle_per_host:
            protocols.append(protocol)
        else:
            protocol._close()


def fetch(reactor: Any, url: str, method: str = "GET", **options: Any) -> Deferred[Response]:
    """One request on a fresh connection that is closed afterwards.

    `options` are those of `HTTPClient.request` (headers, body, timeout,
    follow_redirects). For many requests, keep an `HTTPClient` instead: it
    reuses connections.
    """
    client = HTTPClient(reactor, max_idle_per_host=0)
    return client.request(method, url, **options)
