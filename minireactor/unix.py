"""Unix-domain stream sockets: TCP's API over a path in the file system.

A Unix socket (AF_UNIX, SOCK_STREAM) is a connected byte stream between two
processes on one machine, named by a path instead of (host, port). Once
connected it behaves like TCP, so a connection here is an ordinary
`tcp.TCPTransport` and any stream protocol runs over it unchanged. Only the
*naming* differs, and that is what this module handles:

* The path is a file. A server that crashed left it behind; `bind()` then
  fails with EADDRINUSE although nobody listens. We tell a stale file from a
  live server by connecting to it: ECONNREFUSED means nobody is there.
* The file's permissions decide who may connect (`mode`), and it is removed
  again by `stop_listening()`.
* The path must fit `struct sockaddr_un` (about 108 bytes).

Layer: a transport module beside `tcp.py`, which it reuses. Read `tcp.py`
first; read `udp.py` next.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import TYPE_CHECKING, Any

from .connector import Connector
from .errors import AddressInUseError
from .listener import Port

if TYPE_CHECKING:
    from .interface import Loop

MAX_PATH_BYTES = 107
"""The longest socket path Linux accepts: sun_path is 108 bytes, NUL included."""

__all__ = ["MAX_PATH_BYTES", "UnixConnector", "UnixPort", "connect_unix", "listen_unix"]


def _check_path(path: str | os.PathLike[str]) -> str:
    """Return `path` as a str, or explain why it cannot name a socket."""
    text = os.fspath(path)
    size = len(os.fsencode(text))
    if size > MAX_PATH_BYTES:
        raise ValueError(
            f"Unix socket path is {size} bytes, over the {MAX_PATH_BYTES}-byte limit of "
            f"sockaddr_un: {text!r}. Use a shorter path (e.g. in /tmp), or a relative path "
            f"from a nearby working directory"
        )
    return text


def _remove_stale(path: str) -> None:
    """Delete `path` if it is a socket file nobody listens on.

    Raises:
        AddressInUseError: a server is listening on `path`, or `path` is not a socket.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise AddressInUseError(
            errno.EADDRINUSE,
            f"{path!r} exists and is not a socket; refusing to delete it. Choose another path",
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # connect() on a Unix socket never waits for a network: it succeeds
        # at once if someone is listening, and is refused if nobody is.
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)  # left behind by a server that died without cleaning up
        return
    except FileNotFoundError:
        return  # removed while we looked: the path is free
    finally:
        probe.close()
    raise AddressInUseError(
        errno.EADDRINUSE,
        f"a server is already listening on the Unix socket {path!r}; stop it, or listen on "
        f"another path",
    )


class UnixPort(Port):
    """A listening Unix socket; each connection becomes a `TCPTransport`.

    Accepting (and the out-of-descriptors defence) is inherited from
    `listener.Port`; this class only binds the path and cleans it up.
    `address` is the path (a str, where a TCP port has (host, port)).
    In `get_extra_info`, an accepted connection's 'sockname' is this path
    and its 'peername' usually '' (client sockets rarely bind a name); a
    client's 'peername' is the path.
    """

    def __init__(self, reactor: Loop, path: str, factory: Any, mode: int, backlog: int) -> None:
        _remove_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            # Until listen() every connect() is refused, so setting the mode
            # before listening leaves no window with the umask's permissions.
            os.chmod(path, mode)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUseError(
                    errno.EADDRINUSE,
                    f"{path!r} was taken by another server while we started; choose another path",
                ) from None
            raise
        # Remember which file is ours, so stop_listening() never deletes the
        # socket of a newer server that replaced it.
        info = os.stat(path)
        self._identity = (info.st_dev, info.st_ino)
        self.path = path
        super().__init__(reactor, sock, factory, backlog)

    def stop_listening(self) -> None:
        """Close the socket and remove its file; connections go on. Idempotent."""
        if self._sock.fileno() < 0:
            return
        super().stop_listening()
        try:
            info = os.stat(self.path)
            if (info.st_dev, info.st_ino) == self._identity:
                os.unlink(self.path)
        except FileNotFoundError:
            pass  # someone removed it already: the result we wanted

    def __repr__(self) -> str:
        return f"<UnixPort {self.path!r}>"


class UnixConnector(Connector):
    """An outgoing Unix-socket connection; `connector.Connector` does the work.

    The connector tries a list of addresses; here there is exactly one, the
    path, so the inherited code connects, times out and reports to the
    factory exactly as for TCP. `host` is the path and `port` is 0.
    """

    def __init__(self, reactor: Loop, path: str, factory: Any, timeout: float) -> None:
        super().__init__(reactor, path, 0, factory, timeout, addresses=[(socket.AF_UNIX, path)])

    def describe(self) -> str:
        return repr(self.host)


def listen_unix(
    reactor: Loop,
    path: str | os.PathLike[str],
    factory: Any,
    mode: int = 0o660,
    backlog: int = 128,
) -> UnixPort:
    """Listen on the Unix socket `path`; each connection gets a protocol from `factory`.

    A socket file left by a crashed server is replaced; a live server's is
    not. The file is created with permissions `mode` and removed by
    `stop_listening()`.

    Raises:
        AddressInUseError: a server is listening on `path` (or it is not a socket).
        ValueError: `path` is longer than `MAX_PATH_BYTES`.
    """
    return UnixPort(reactor, _check_path(path), factory, mode, backlog)


def connect_unix(
    reactor: Loop, path: str | os.PathLike[str], factory: Any, timeout: float = 30.0
) -> UnixConnector:
    """Connect to the Unix socket `path`; the outcome reaches `factory` (a ClientFactory).

    Nobody listening (ECONNREFUSED) or no such file (ENOENT) arrives as
    `factory.client_connection_failed(connector, exc)`, as for TCP.

    Raises:
        ValueError: `path` is longer than `MAX_PATH_BYTES`.
    """
    return UnixConnector(reactor, _check_path(path), factory, timeout)
