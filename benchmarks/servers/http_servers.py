"""HTTP/1.1 "hello" servers for the HTTP benchmark, one per framework.

    python -m benchmarks.servers.http_servers --backend minireactor --port 0
    python -m benchmarks.servers.http_servers --backend aiohttp
    python -m benchmarks.servers.http_servers --backend twisted
    python -m benchmarks.servers.http_servers --backend stdlib

Each answers every GET with status 200 and the 5-byte body `hello`, keeps
connections alive, and logs nothing per request (access logs off
everywhere, so no peer pays for one the others skip). Each adds the Date
and Server headers its framework adds by default: that is part of what a
"hello" costs in it. Like the echo servers, each prints `READY <port>` and
runs until SIGTERM (`common.py`).

- minireactor: `protocols/http.py`'s `server_factory` on a Reactor, with the
  default limits and timeouts (the timers are part of its cost);
- aiohttp: `web.Application` with one route, on asyncio's standard loop;
- twisted: `twisted.web.server.Site` with one `Resource`, epoll reactor;
- stdlib: `http.server.ThreadingHTTPServer` speaking HTTP/1.1 (a thread per
  connection), with TCP_NODELAY like the others.

Read next: `benchmarks/http.py`, which runs them under `c/http_client.c`.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.servers.common import announce, make_parser

BODY = b"hello"
BACKENDS = ["minireactor", "aiohttp", "twisted", "stdlib"]


def serve_minireactor(args: argparse.Namespace) -> None:
    """minireactor's HTTP server protocol on the best backend here."""
    from minireactor import Reactor
    from minireactor.protocols.http import Request, Response, server_factory

    def hello(request: Request) -> Response:
        return Response(200, body=BODY)

    reactor = Reactor(backend=args.reactor)
    factory = server_factory(hello, clock=reactor)
    port = reactor.listen_tcp(args.port, factory, interface=args.host, backlog=args.backlog)
    announce(port.address[1])
    reactor.run()


def serve_aiohttp(args: argparse.Namespace) -> None:
    """aiohttp's web server on asyncio's standard event loop."""
    import asyncio

    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=BODY)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, backlog=args.backlog)
        await site.start()
        server: Any = site._server  # the asyncio.Server, for the port it bound
        announce(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()  # serve until SIGTERM

    asyncio.run(main())


def serve_twisted(args: argparse.Namespace) -> None:
    """twisted.web on Twisted's epoll reactor."""
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor  # after install(), on purpose
    from twisted.web import http, resource, server

    class Hello(resource.Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return BODY

    class NoDelayChannel(http.HTTPChannel):
        def connectionMade(self) -> None:
            transport: Any = self.transport
            transport.setTcpNoDelay(True)  # as asyncio does
            super().connectionMade()

    class QuietSite(server.Site):
        protocol = NoDelayChannel  # plain HTTP/1.1 (no HTTP/2 negotiation wrapper)

        def log(self, request: Any) -> None:
            pass  # no access log, as for every other peer

    the_reactor: Any = reactor
    port = the_reactor.listenTCP(
        args.port, QuietSite(Hello()), backlog=args.backlog, interface=args.host
    )
    the_reactor.callWhenRunning(announce, port.getHost().port)
    the_reactor.run()


def serve_stdlib(args: argparse.Namespace) -> None:
    """http.server's ThreadingHTTPServer, HTTP/1.1 keep-alive, a thread per connection."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hello(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; the default HTTP/1.0 closes each time
        disable_nagle_algorithm = True  # TCP_NODELAY, as asyncio does

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log

    class Server(ThreadingHTTPServer):
        request_queue_size = args.backlog

    httpd = Server((args.host, args.port), Hello)
    announce(httpd.server_address[1])
    httpd.serve_forever()


def main() -> None:
    """Entry point: serve "hello" with the chosen framework."""
    parser = make_parser('HTTP/1.1 "hello" server.', BACKENDS)
    parser.add_argument("--reactor", default="auto", help="minireactor backend (default auto)")
    args = parser.parse_args()
    {
        "minireactor": serve_minireactor,
        "aiohttp": serve_aiohttp,
        "twisted": serve_twisted,
        "stdlib": serve_stdlib,
    }[args.backend](args)


if __name__ == "__main__":
    main()
