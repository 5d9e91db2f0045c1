"""The `asyncio` backend: minireactor hosted on a running asyncio loop (Jupyter's case).

Two parts:

* The transport tests every other backend passes (TCP, Unix, UDP, endpoints),
  imported from their modules and run here on a hosted reactor. Their
  `spin(reactor, until)` is replaced by one that turns the asyncio loop, so
  every event reaches the reactor the hosted way: asyncio's `add_reader`
  -> the backend -> a reactor pass scheduled with `call_soon`.
* The notebook story itself: `minireactor.jupyter.start()` inside a running
  loop returns at once; a server keeps serving while other coroutines ("later
  cells") run; timers fire; `reactor.stop()` shuts down cleanly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import test_endpoints
import test_tcp
import test_udp
import test_unix
from support import Echo
from test_endpoints import test_tcp as test_endpoint_tcp
from test_endpoints import test_udp as test_endpoint_udp
from test_endpoints import test_unix as test_endpoint_unix
from test_tcp import (
    test_200_concurrent_clients,
    test_backpressure_pauses_the_writer_and_64_mib_arrives_intact,
    test_callback_order_and_clean_close,
    test_connect_timeout,
    test_echo_16_mib_byte_for_byte,
    test_half_close_peer_still_answers,
    test_ipv6_loopback_echo,
    test_listening_on_a_port_in_use_names_the_port_and_suggests_0,
    test_peer_reset_arrives_as_connection_lost,
    test_protocol_exception_closes_only_that_connection,
    test_refused_connection_reaches_the_factory,
    test_write_buffer_limits_are_validated,
    test_writes_to_a_reset_peer_end_in_connection_lost_not_a_crash,
)
from test_udp import (
    test_argument_errors,
    test_connected_udp_write_and_port_unreachable,
    test_thousand_datagrams_none_lost,
)
from test_udp import test_echo as test_udp_echo
from test_unix import (
    test_echo_and_extra_info,
    test_one_mebibyte_echo,
    test_stale_socket_file_is_replaced,
)

import minireactor.jupyter
from minireactor import BackendError, Factory, Reactor
from minireactor.backends.asyncio_hosted import AsyncioHostedBackend

pytestmark = pytest.mark.timeout(120)

# The transport tests, collected again in this module (so they use its `reactor`).
HOSTED_TRANSPORT_TESTS = [
    test_200_concurrent_clients,
    test_backpressure_pauses_the_writer_and_64_mib_arrives_intact,
    test_callback_order_and_clean_close,
    test_connect_timeout,
    test_echo_16_mib_byte_for_byte,
    test_half_close_peer_still_answers,
    test_ipv6_loopback_echo,
    test_listening_on_a_port_in_use_names_the_port_and_suggests_0,
    test_peer_reset_arrives_as_connection_lost,
    test_protocol_exception_closes_only_that_connection,
    test_refused_connection_reaches_the_factory,
    test_write_buffer_limits_are_validated,
    test_writes_to_a_reset_peer_end_in_connection_lost_not_a_crash,
    test_argument_errors,
    test_connected_udp_write_and_port_unreachable,
    test_udp_echo,
    test_thousand_datagrams_none_lost,
    test_echo_and_extra_info,
    test_one_mebibyte_echo,
    test_stale_socket_file_is_replaced,
    test_endpoint_tcp,
    test_endpoint_udp,
    test_endpoint_unix,
]


def loop_of(reactor: Reactor) -> asyncio.AbstractEventLoop:
    backend = getattr(reactor, "_raw_backend", reactor._backend)
    assert isinstance(backend, AsyncioHostedBackend)
    return backend.loop


def hosted_spin(reactor: Reactor, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Like conftest.spin, but the asyncio loop turns and drives the reactor."""

    async def wait() -> None:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.001)

    loop_of(reactor).run_until_complete(wait())


@pytest.fixture
def reactor(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reactor]:
    """A started reactor hosted on an asyncio loop; `spin` turns that loop."""
    loop = asyncio.new_event_loop()

    async def start() -> Reactor:
        return minireactor.jupyter.start()

    hosted = loop.run_until_complete(start())
    for module in (test_tcp, test_udp, test_unix, test_endpoints):
        monkeypatch.setattr(module, "spin", hosted_spin)
    try:
        yield hosted
    finally:
        if hosted.running:
            hosted.stop()
            hosted_spin(hosted, lambda: not hosted.running)
        loop.close()


# -- the notebook story ------------------------------------------------------------


async def _echo_round_trip(address: tuple[str, int], message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(message)
    writer.write_eof()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    return reply


def test_server_in_one_cell_serves_while_later_cells_run() -> None:
    async def notebook() -> list[Any]:
        reactor = minireactor.jupyter.start()  # cell 1: returns at once
        assert reactor.running
        port = reactor.listen_tcp(0, Factory.for_protocol(Echo))  # cell 2
        fired: list[str] = []
        reactor.call_later(0.02, fired.append, "timer")  # cell 3
        replies = [await _echo_round_trip(port.address, b"cell %d" % i) for i in range(3)]
        await asyncio.sleep(0.05)  # cell 4: the student waits a little
        reactor.stop()  # cell 5: clean shutdown on the loop's next turn
        for _ in range(100):
            if not reactor.running:
                break
            await asyncio.sleep(0.01)
        return [replies, fired, reactor.running, repr(reactor)]

    replies, fired, running, text = asyncio.run(notebook())
    assert replies == [b"cell 0", b"cell 1", b"cell 2"]
    assert fired == ["timer"]
    assert not running and "closed" in text


def test_stop_closes_connections_and_fires_shutdown_triggers() -> None:
    async def notebook() -> tuple[list[str], bytes]:
        reactor = minireactor.jupyter.start()
        events: list[str] = []
        reactor.add_system_event_trigger("after", "shutdown", events.append, "after shutdown")
        port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
        reader, writer = await asyncio.open_connection(*port.address)
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        reactor.stop()
        rest = await asyncio.wait_for(reader.read(), 5)  # the server closed our connection
        writer.close()
        return events, rest

    events, rest = asyncio.run(notebook())
    assert events == ["after shutdown"] and rest == b""


def test_call_from_thread_wakes_a_hosted_reactor() -> None:
    async def notebook() -> list[str]:
        reactor = minireactor.jupyter.start()
        got: list[str] = []
        await asyncio.to_thread(reactor.call_from_thread, got.append, "from a thread")
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.005)
        reactor.stop()
        await asyncio.sleep(0.01)
        return got

    assert asyncio.run(notebook()) == ["from a thread"]


def test_hosting_needs_a_running_loop() -> None:
    with pytest.raises(BackendError, match="already running: call it in a notebook cell"):
        minireactor.jupyter.start()
    assert not AsyncioHostedBackend.is_available()  # not listed outside a loop


def test_events_really_arrive_through_asyncio(reactor: Reactor) -> None:
    """The hosted path is the one exercised: asyncio's readers schedule the passes."""
    backend = getattr(reactor, "_raw_backend", reactor._backend)
    passes = []
    driver = backend.driver
    original = driver._run_pass

    def counting_pass() -> None:
        passes.append(1)
        original()

    driver._run_pass = counting_pass
    port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
    reply = loop_of(reactor).run_until_complete(_echo_round_trip(port.address, b"via asyncio"))
    assert reply == b"via asyncio"
    assert len(passes) >= 2
