"""UDP: datagrams, connected UDP, and multicast.

A UDP socket sends and receives whole *datagrams*: each `sendto()` is one
message that arrives whole or not at all, possibly out of order, possibly
twice. There is no connection, so there is no stream protocol here but a
`DatagramProtocol` (asyncio's names)::

    connection_made -> (datagram_received | error_received)* -> connection_lost

`UDPTransport`'s docstring explains connected UDP and multicast; both are
a few socket options (setsockopt) on one socket.

Layer: a transport beside `tcp.py`. Read `tcp.py` first; `tls.py` next.
"""

from __future__ import annotations

import collections
import errno
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any

from .errors import AddressInUseError
from .protocol import BaseProtocol
from .tcp import HIGH_WATER
from .transport import Transport

if TYPE_CHECKING:
    from .interface import Loop

log = logging.getLogger("minireactor")

MAX_DATAGRAM = 65535
"""The largest UDP payload we receive (the protocol's 16-bit length field)."""
READS_PER_WAKEUP = 64
"""Datagrams read per readiness event, so a burst costs one loop pass, not one each."""

__all__ = ["DatagramProtocol", "UDPTransport", "listen_udp"]


class DatagramProtocol(BaseProtocol):
    """What user code writes for UDP (the callbacks do nothing by default)."""

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """One whole datagram `data` arrived from `addr` ((host, port))."""

    def error_received(self, exc: OSError) -> None:
        """A send or receive failed, e.g. ConnectionRefusedError on connected UDP."""


class UDPTransport(Transport):
    """One UDP socket, seen from its `DatagramProtocol`.

    Closing is the skeleton's (transport.py). A protocol that raises is
    logged and the socket lives on: each datagram stands alone.

    Three ideas worth knowing:

    * *Connected UDP.* `connect(addr)` calls connect(2) on the socket.
      Nothing is sent; the kernel just fixes the peer, so `write(data)`
      works, datagrams from anyone else are dropped, and an ICMP "port
      unreachable" for our datagrams is reported on the socket: the next
      receive fails with ECONNREFUSED, which becomes
      `error_received(ConnectionRefusedError)`. Unconnected, we never hear.
    * *Multicast.* A datagram sent to a group address (224.0.0.0/4) reaches
      every socket that joined the group (`join_group`). `set_ttl` says how
      many routers it may cross (0: this host only; 1, the default: the
      local network). `set_loopback` says whether members on the sending
      host get a copy too.
    * *Sends rarely wait.* A UDP send fits the socket buffer or fails at
      once; only when the buffer is full (BlockingIOError) do we queue the
      datagram and ask the reactor for writability, as TCP does.

    Args:
        reactor: the reactor that drives the socket.
        sock: a bound UDP socket; the transport makes it non-blocking and owns it.
        protocol: gets `connection_made(self)` at once.
    """

    closes_on_protocol_error = False

    def __init__(self, reactor: Loop, sock: socket.socket, protocol: Any) -> None:
        sock.setblocking(False)
        super().__init__(reactor, protocol)
        self._sock = sock
        self._fd = sock.fileno()
        self._queue: collections.deque[tuple[bytes, Any]] = collections.deque()
        self._queued_bytes = 0
        self._writing_paused = False
        self._peer: Any = None
        reactor.own(self)
        self._tell("connection_made", self)
        if not self._closing:
            reactor.add_reader(self._fd, self._read_ready)

    # -- receiving ----------------------------------------------------------

    def _read_ready(self) -> None:
        for _ in range(READS_PER_WAKEUP):
            if self._closing:
                return
            try:
                data, addr = self._sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Connected UDP: an earlier datagram drew an ICMP error.
                self._tell("error_received", exc)
                continue
            self._tell("datagram_received", data, addr)

    # -- sending ------------------------------------------------------------

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        """Send one datagram to `addr` (None, or omitted, once connected).

        Failures reported by the kernel (unreachable, refused) arrive as
        `error_received`; a full socket buffer queues the datagram.

        Raises:
            TypeError: `data` is not bytes-like.
            ValueError: no `addr` on an unconnected socket, or another
                address than the connected peer's.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"sendto() takes bytes, not {type(data).__name__}; encode text first")
        if addr is None and self._peer is None:
            raise ValueError("sendto() needs an address: this socket is not connected")
        if addr is not None and self._peer is not None and addr != self._peer:
            raise ValueError(f"this socket is connected to {self._peer}; it cannot send to {addr}")
        if self._closing:
            return
        if self._peer is not None:
            addr = None  # a connected socket must use send(), not sendto()
        if not self._queue and self._send_now(bytes(data), addr):
            return
        self._queue.append((bytes(data), addr))
        self._queued_bytes += len(data)
        self._reactor.add_writer(self._fd, self._write_ready)
        if not self._writing_paused and self._queued_bytes > HIGH_WATER:
            self._writing_paused = True
            self._tell("pause_writing")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send one datagram to the connected peer (see `connect`)."""
        self.sendto(data, None)

    def _send_now(self, data: bytes, addr: Any) -> bool:
        """Try one send; False if the kernel's buffer is full (queue it)."""
        try:
            if addr is None:
                self._sock.send(data)
            else:
                self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            self._tell("error_received", exc)  # the datagram is dropped, as UDP would
        return True

    def _write_ready(self) -> None:
        while self._queue:
            data, addr = self._queue[0]
            if not self._send_now(data, addr):
                return  # still full: wait for the next writable event
            self._queue.popleft()
            self._queued_bytes -= len(data)
        self._reactor.remove_writer(self._fd)
        if self._writing_paused:
            self._writing_paused = False
            self._tell("resume_writing")
        if self._closing:
            self._reactor.call_soon(self._connection_lost, None)

    def get_write_buffer_size(self) -> int:
        """Bytes of datagrams queued because the socket buffer was full."""
        return self._queued_bytes

    # -- connected UDP --------------------------------------------------------

    def connect(self, addr: Any) -> None:
        """Fix the peer to `addr`: `write()` works, ICMP errors get reported.

        Nothing goes on the wire; this only tells the kernel our peer.
        """
        self._sock.connect(addr)
        self._peer = self._sock.getpeername()

    # -- multicast ------------------------------------------------------------

    def join_group(self, group: str, interface: str = "127.0.0.1") -> None:
        """Receive datagrams sent to the multicast `group` on `interface`.

        `interface` is the address of the local interface to join on
        ("0.0.0.0": let the kernel choose by its routing table).

        Raises:
            ValueError: `group` is not an IPv4 multicast address.
            OSError: the kernel refused (e.g. no multicast route).
        """
        self._check_ipv4("join_group")
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _mreq(group, interface))

    def leave_group(self, group: str, interface: str = "127.0.0.1") -> None:
        """Stop receiving the multicast `group` (undoes `join_group`)."""
        self._check_ipv4("leave_group")
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, _mreq(group, interface))

    def set_outgoing_interface(self, interface: str) -> None:
        """Send multicast datagrams out of the interface with this address."""
        self._check_ipv4("set_outgoing_interface")
        packed = socket.inet_aton(interface)
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, packed)

    def set_ttl(self, ttl: int) -> None:
        """How many routers our multicast datagrams may cross (0 to 255; 1 by default)."""
        self._check_ipv4("set_ttl")
        if not 0 <= ttl <= 255:
            raise ValueError(f"a multicast TTL is 0 to 255, not {ttl}")
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)

    def set_loopback(self, enabled: bool) -> None:
        """Whether this host's own group members get a copy of our multicast datagrams.

        The copy is made before the datagram leaves by a real interface. When
        the outgoing interface is `lo` itself, the datagram "on the wire"
        comes straight back in, so members here receive it either way.
        """
        self._check_ipv4("set_loopback")
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(enabled))

    def _check_ipv4(self, what: str) -> None:
        if self._sock.family != socket.AF_INET:
            raise ValueError(
                f"{what}() is implemented for IPv4 only; for IPv6 set the IPV6_* options "
                f"on get_extra_info('socket') yourself"
            )

    # -- closing: the skeleton's hooks (transport.py) ---------------------------

    def _stop_reading(self) -> None:
        self._reactor.remove_reader(self._fd)

    def _buffered(self) -> bool:
        return bool(self._queue)

    def _discard_buffer(self) -> None:
        self._queue.clear()
        self._queued_bytes = 0
        self._reactor.remove_writer(self._fd)

    def _release(self) -> None:
        self._sock.close()

    # -- information ----------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'sockname', 'peername' (connected only) or 'socket'; else `default`."""
        if name == "socket":
            return self._sock
        if name == "sockname":
            return self._sock.getsockname() if not self._lost else default
        if name == "peername":
            return self._peer if self._peer is not None else default
        return default

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<UDPTransport fd={self._fd} {state}>"


def _mreq(group: str, interface: str) -> bytes:
    """struct ip_mreq: the group's address, then the local interface's."""
    if not ipaddress.ip_address(group).is_multicast or ":" in group:
        raise ValueError(
            f"{group!r} is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255)"
        )
    return socket.inet_aton(group) + socket.inet_aton(interface)


def listen_udp(
    reactor: Loop,
    port: int,
    protocol: Any,
    interface: str = "127.0.0.1",
    reuse_address: bool = False,
) -> UDPTransport:
    """Bind a UDP socket to (interface, port) and connect it to `protocol`.

    Args:
        port: the port number; 0 picks a free one (see get_extra_info('sockname')).
        protocol: a `DatagramProtocol` instance (one socket, one protocol).
        interface: the address to bind: "::1" for IPv6, a multicast group
            address to receive only that group's datagrams.
        reuse_address: set SO_REUSEADDR, so several sockets on this host can
            bind the same multicast port.

    Raises:
        AddressInUseError: the port is taken (the message suggests port 0).
    """
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if reuse_address:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((interface, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(
                exc.errno,
                f"UDP port {port} on {interface} is already in use; close the other socket, "
                f"or use port 0 to let the system pick a free port",
            ) from None
        raise
    return UDPTransport(reactor, sock, protocol)
