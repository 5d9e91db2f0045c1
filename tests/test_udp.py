"""Tests for minireactor/udp.py: datagrams, connected UDP, multicast, on every backend."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import spin

from minireactor import AddressInUseError, Reactor
from minireactor.udp import DatagramProtocol, UDPTransport, listen_udp

pytestmark = pytest.mark.timeout(30)

GROUP = "239.255.42.99"  # administratively scoped (RFC 2365): never leaves the site


class Recorder(DatagramProtocol):
    """Keeps every datagram and error; echoes when `echo` is set."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.datagrams: list[tuple[bytes, Any]] = []
        self.errors: list[OSError] = []
        self.lost: list[BaseException | None] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append((data, addr))
        if self.echo:
            self.transport.sendto(data, addr)

    def error_received(self, exc: OSError) -> None:
        self.errors.append(exc)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.append(exc)


def address(transport: UDPTransport) -> tuple[str, int]:
    host, port = transport.get_extra_info("sockname")[:2]
    return host, port


@pytest.mark.parametrize("interface", ["127.0.0.1", "::1"])
def test_echo(reactor: Reactor, interface: str) -> None:
    server = Recorder(echo=True)
    server_t = listen_udp(reactor, 0, server, interface=interface)
    client = Recorder()
    client_t = listen_udp(reactor, 0, client, interface=interface)
    client_t.sendto(b"ping", address(server_t))
    spin(reactor, lambda: bool(client.datagrams))
    assert client.datagrams[0][0] == b"ping"
    assert client.datagrams[0][1][:2] == address(server_t)
    assert server.datagrams[0][1][:2] == address(client_t)
    client_t.close()
    spin(reactor, lambda: client.lost == [None])
    assert client_t.is_closing()


def test_connected_udp_write_and_port_unreachable(reactor: Reactor) -> None:
    server = Recorder(echo=True)
    server_t = listen_udp(reactor, 0, server)
    client = Recorder()
    client_t = listen_udp(reactor, 0, client)
    client_t.connect(address(server_t))
    assert client_t.get_extra_info("peername") == address(server_t)
    client_t.write(b"hello")
    spin(reactor, lambda: bool(client.datagrams))
    assert client.datagrams[0][0] == b"hello"
    # Close the server: our next datagram draws an ICMP port unreachable,
    # which the kernel reports on the connected socket.
    server_t.abort()
    spin(reactor, lambda: bool(server.lost))
    client_t.write(b"anyone there?")
    spin(reactor, lambda: bool(client.errors))
    assert isinstance(client.errors[0], ConnectionRefusedError)
    assert not client_t.is_closing()  # an error, not the end of the socket


def test_argument_errors(reactor: Reactor) -> None:
    client_t = listen_udp(reactor, 0, Recorder())
    with pytest.raises(ValueError, match="not connected"):
        client_t.write(b"x")
    with pytest.raises(TypeError, match="encode text"):
        client_t.sendto("text", ("127.0.0.1", 9))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="TTL"):
        client_t.set_ttl(256)
    with pytest.raises(ValueError, match="not an IPv4 multicast"):
        client_t.join_group("10.0.0.1")
    with pytest.raises(AddressInUseError, match="port 0"):
        listen_udp(reactor, address(client_t)[1], Recorder())


class PingPong(DatagramProtocol):
    """Sends numbered datagrams one at a time, the next when the last is echoed.

    Stop-and-wait with a retransmission timer: a datagram lost on the way
    (loopback practically never loses one) is sent again, so the test is
    deterministic instead of tolerating a loss count.
    """

    def __init__(self, reactor: Reactor, peer: Any, count: int) -> None:
        self.reactor, self.peer, self.count = reactor, peer, count
        self.acked = 0
        self.retransmits = 0
        self.timer: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        self.transport.sendto(b"%d" % self.acked, self.peer)
        self.timer = self.reactor.call_later(0.5, self.retransmit)

    def retransmit(self) -> None:
        self.retransmits += 1
        self.send()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if int(data) != self.acked:
            return  # a duplicate of an older ack
        self.timer.cancel()
        self.acked += 1
        if self.acked < self.count:
            self.send()


def test_thousand_datagrams_none_lost(reactor: Reactor) -> None:
    server = Recorder(echo=True)
    server_t = listen_udp(reactor, 0, server)
    client = PingPong(reactor, address(server_t), 1000)
    listen_udp(reactor, 0, client)
    spin(reactor, lambda: client.acked == 1000, timeout=20)
    received = {int(data) for data, _ in server.datagrams}
    assert received == set(range(1000))


def test_protocol_exception_is_logged_not_fatal(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Recorder):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            super().datagram_received(data, addr)
            raise RuntimeError("bug in user code")

    server = Broken()
    server_t = listen_udp(reactor, 0, server)
    sender_t = listen_udp(reactor, 0, Recorder())
    sender_t.sendto(b"1", address(server_t))
    sender_t.sendto(b"2", address(server_t))
    spin(reactor, lambda: len(server.datagrams) == 2)
    assert "bug in user code" in caplog.text


def test_reactor_close_closes_transports(backend: str) -> None:
    reactor = Reactor(backend=backend)
    proto = Recorder()
    transport = listen_udp(reactor, 0, proto)
    sock = transport.get_extra_info("socket")
    reactor.close()
    assert proto.lost == [None]
    assert sock.fileno() == -1


def multicast_unavailable() -> str | None:
    """Why multicast on loopback cannot be tested here, or None if it can.

    Linux's `lo` usually lacks the MULTICAST flag, yet delivers multicast
    when the sender picks it with IP_MULTICAST_IF; sandboxes and other
    kernels may refuse. We try it once with plain blocking sockets.
    """
    flags_file = Path("/sys/class/net/lo/flags")
    flags = int(flags_file.read_text(), 16) if flags_file.exists() else None
    flag_note = "unknown" if flags is None else ("set" if flags & 0x1000 else "not set")
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.bind((GROUP, 0))
        mreq = socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1")
        receiver.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sender.sendto(b"probe", receiver.getsockname())
        receiver.settimeout(2.0)
        receiver.recvfrom(100)
        return None
    except OSError as exc:
        return f"multicast on loopback unavailable (lo MULTICAST flag {flag_note}): {exc}"
    finally:
        receiver.close()
        sender.close()


def test_multicast_on_loopback(reactor: Reactor) -> None:
    reason = multicast_unavailable()
    if reason:
        pytest.skip(reason)
    member = Recorder()
    member_t = listen_udp(reactor, 0, member, interface=GROUP)
    member_t.join_group(GROUP, "127.0.0.1")
    group_addr = (GROUP, address(member_t)[1])
    witness = Recorder()  # a unicast socket: a marker proving later sends arrived
    witness_t = listen_udp(reactor, 0, witness)
    sender = Recorder()
    sender_t = listen_udp(reactor, 0, sender)
    sender_t.set_outgoing_interface("127.0.0.1")
    sender_t.set_ttl(1)
    sender_t.set_loopback(True)
    sender_t.sendto(b"to the group", group_addr)
    spin(reactor, lambda: bool(member.datagrams))
    assert member.datagrams[0][0] == b"to the group"
    assert member.datagrams[0][1] == address(sender_t)

    member_t.leave_group(GROUP, "127.0.0.1")
    sender_t.sendto(b"after leaving", group_addr)
    sender_t.sendto(b"marker", address(witness_t))
    spin(reactor, lambda: bool(witness.datagrams))
    reactor.iterate(0.05)
    assert [d for d, _ in member.datagrams] == [b"to the group"]


def test_multicast_options_are_set(reactor: Reactor) -> None:
    transport = listen_udp(reactor, 0, Recorder())
    sock = transport.get_extra_info("socket")
    transport.set_ttl(0)
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 0
    transport.set_loopback(False)
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    transport.set_loopback(True)
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 1
    v6 = listen_udp(reactor, 0, Recorder(), interface="::1")
    with pytest.raises(ValueError, match="IPv4 only"):
        v6.set_ttl(1)
