"""minireactor's HTTP server path in-process: microseconds per keep-alive request.

    .venv/bin/python -m benchmarks.http_path              # ~5 s
    .venv/bin/python -m benchmarks.http_path --profile    # where the time goes (cProfile)

No sockets and no reactor: an `HTTPServerProtocol` (with a real Reactor as
its clock, so the timeout timers run as in production) is fed one
`GET / HTTP/1.1` request at a time, the way `data_received` gets them on a
keep-alive connection, and answers into a transport that only counts bytes.
What is left is exactly the Python work `protocols/http.py`,
`http_parser.py` and `http_messages.py` do per request: parse, build the
Request, call the handler, build and encode the Response. CPU time per
request (median of the repeats) is far steadier on a shared machine than
the socket benchmark in `http.py`, so this is the figure each optimisation
in those files was judged by.

Read next: `http.py`, the same server under a real load client.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import cProfile
import json
import pstats
import time
from typing import Any

from benchmarks.report import spread
from minireactor import Reactor
from minireactor.protocols.http import HTTPServerProtocol, Request, Response

# What http_client.c sends (curl and wrk send a few more headers).
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
# A browser-like request with a handful of headers, for a second figure.
BROWSER_REQUEST = (
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench/1.0\r\n"
    b"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\nConnection: keep-alive\r\n\r\n"
)


class CountingTransport:
    """The least a transport can be: counts what is written, never closes."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.written += len(chunk)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        raise AssertionError("a keep-alive benchmark connection was closed")

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def hello(request: Request) -> Response:
    """The handler every HTTP peer runs: 200, body `hello`."""
    return Response(200, body=b"hello")


def run_once(requests: int, payload: bytes) -> float:
    """Serve `requests` requests in-process; return CPU seconds per request."""
    reactor = Reactor()
    try:
        protocol = HTTPServerProtocol(hello, clock=reactor)
        transport = CountingTransport()
        protocol.connection_made(transport)
        feed = protocol.data_received
        started = time.process_time()
        for _ in range(requests):
            feed(payload)
        elapsed = time.process_time() - started
        if transport.written < requests * 100:
            raise RuntimeError(f"only {transport.written} bytes answered for {requests} requests")
        protocol.connection_lost(None)
        return elapsed / requests
    finally:
        reactor.close()


def measure(requests: int, repeats: int) -> dict[str, Any]:
    """Median [min-max] microseconds per request, for the minimal and the browser-like request."""
    result: dict[str, Any] = {}
    for name, payload in (("minimal", REQUEST), ("browser", BROWSER_REQUEST)):
        samples = [run_once(requests, payload) * 1e6 for _ in range(repeats)]
        result[name] = spread(samples)
    return result


def main(argv: list[str] | None = None) -> int:
    """Print microseconds per request (and write JSON with --json); --profile shows hot spots."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http_path", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000, help="per repeat (default 20k)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (default 5)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one repeat")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_once, args.requests, REQUEST)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        return 0
    result = measure(args.requests, args.repeats)
    for name, stat in result.items():
        print(
            f"http server path, {name} request: {stat['median']:.2f} us/request CPU "
            f"[{stat['min']:.2f}-{stat['max']:.2f}], {args.repeats} x {args.requests:,}"
        )
    if args.json:
        args.json.write_text(json.dumps({"us_per_request": result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
