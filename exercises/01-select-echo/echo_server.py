"""Exercise 01 - select-echo: a non-blocking echo server with select().

No framework: just `socket` and `select`. Read README.md first; check your
work with `minireactor grade select-echo`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable


def serve(listener: socket.socket, should_stop: Callable[[], bool], tick: float = 0.05) -> None:
    """Echo every byte each client sends back to it, until `should_stop()` is true.

    Args:
        listener: a bound, listening TCP socket (the caller made it).
        should_stop: checked at least every `tick` seconds; return when true,
            after closing every client connection (not the listener).
        tick: the longest time select() may wait.
    """
    raise NotImplementedError(
        "serve(): make the listener non-blocking, then loop on select.select() over the "
        "listener and the clients; see README.md, 'Hints'"
    )
