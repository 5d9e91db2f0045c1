"""Echo server on an asyncio event loop: the Protocol API or the streams API.

    python -m benchmarks.servers.asyncio_echo --backend asyncio --style protocol
    python -m benchmarks.servers.asyncio_echo --backend asyncio --style streams
    python -m benchmarks.servers.asyncio_echo --backend uvloop  --style protocol
    python -m benchmarks.servers.asyncio_echo --backend minireactor.aio --style streams

`--backend` picks the loop (the standard library's, uvloop's when it is
installed, or minireactor.aio's: asyncio running on a minireactor reactor);
`--style` picks the API. The Protocol version is the same code
minireactor runs (asyncio's method names); the streams version pays for a
coroutine, a future and a `drain()` per message. Neither needs flow control
here: the closed-loop client never has more than one message in flight per
connection. asyncio and uvloop set TCP_NODELAY on their own.

Read next: `minireactor_echo.py`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any, cast

from benchmarks.servers.common import READ_SIZE, announce, make_parser


class EchoProtocol(asyncio.Protocol):
    """Writes back every chunk it receives."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports quack like asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One connection on the streams API: read, write, drain, until EOF."""
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the client went away mid-message; nothing to clean up but the writer
    finally:
        writer.close()


async def serve(args: argparse.Namespace) -> None:
    """Listen with the chosen API, announce the port, serve until killed."""
    server: asyncio.Server
    if args.style == "protocol":
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoProtocol, args.host, args.port, backlog=args.backlog)
    else:
        server = await asyncio.start_server(echo_stream, args.host, args.port, backlog=args.backlog)
    announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def loop_factory(backend: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event-loop constructor for `backend` ("asyncio", "uvloop" or "minireactor.aio")."""
    if backend == "minireactor.aio":
        import minireactor.aio

        return minireactor.aio.new_event_loop
    if backend == "uvloop":
        import uvloop  # optional peer: imported only when asked for

        factory: Any = uvloop.new_event_loop
        return factory  # type: ignore[no-any-return]
    return asyncio.new_event_loop


def main() -> None:
    """Entry point: parse the options and serve."""
    parser = make_parser(
        "Echo server on an asyncio event loop.", ["asyncio", "uvloop", "minireactor.aio"]
    )
    parser.add_argument("--style", choices=["protocol", "streams"], default="protocol")
    parser.add_argument(
        "--read-size",
        type=int,
        default=0,
        help="bytes per recv() for the standard loop's transports (default: asyncio's 256 KiB)",
    )
    args = parser.parse_args()
    if args.read_size:
        # A private class attribute, set only here: asyncio's 256 KiB recv()
        # buffer can cost an mmap/mremap/munmap per read (see tcp.MAX_READ),
        # so this peer shows asyncio with minireactor's 64 KiB reads too.
        from asyncio import selector_events

        selector_events._SelectorSocketTransport.max_size = args.read_size
    with asyncio.Runner(loop_factory=loop_factory(args.backend)) as runner:
        runner.run(serve(args))


if __name__ == "__main__":
    main()
