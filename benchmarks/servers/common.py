"""What every benchmark echo server shares: its command line and its READY line.

Each server in this directory is a small program started by the harness:

    python -m benchmarks.servers.<name> --port 0 [--host H] [--backend B] [--backlog N]

It listens, prints ``READY <port>`` on stdout (port 0 asks the kernel for a
free one), and echoes until it receives SIGTERM. No server installs a SIGTERM
handler unless its framework does: the default action ends the process,
which is all a benchmark needs.

Read next: any server module, e.g. `asyncio_echo.py`.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Sequence

# Every server asks for the same listen backlog so none drops SYNs when
# hundreds of clients connect at once (the kernel caps it at somaxconn).
DEFAULT_BACKLOG = 1024

# Large enough to take a whole 64 KiB socket buffer in one call.
READ_SIZE = 65536


def make_parser(description: str, backends: Sequence[str]) -> argparse.ArgumentParser:
    """A parser with the options every server takes; servers may add their own.

    Args:
        description: one line for --help.
        backends: the accepted values of --backend; the first is the default.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--backend", choices=list(backends), default=backends[0])
    parser.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG)
    return parser


def announce(port: int) -> None:
    """Tell the harness we are listening (it waits for exactly this line)."""
    print(f"READY {port}", flush=True)


def set_nodelay(sock: socket.socket) -> None:
    """Turn off Nagle's algorithm, as asyncio and uvloop do on every TCP socket.

    Servers whose framework does not do it themselves call this, so that all
    peers answer small writes at once and none waits on a delayed ACK.
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
