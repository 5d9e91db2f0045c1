"""Same scenario, same result: the stdlib loop and minireactor.aio side by side.

Each scenario is a coroutine that records what happened (callback order,
exceptions, bytes) and returns it. It runs once on asyncio's own loop and
once on minireactor.aio per evented backend, and the two records must be
equal. The scenarios cover the promises asyncio code relies on: ordering of
call_soon callbacks and timers, cancellation, exception propagation, stream
EOF, server close and wait_closed, executor shutdown.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import minireactor
import minireactor.aio

pytestmark = pytest.mark.timeout(60)

EVENTED = [b for b in minireactor.available_backends() if b != "threaded"]
Scenario = Callable[[], Awaitable[Any]]
SCENARIOS: dict[str, Scenario] = {}
_stdlib_results: dict[str, Any] = {}


def scenario(func: Scenario) -> Scenario:
    SCENARIOS[func.__name__] = func
    return func


def run(func: Scenario, loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> Any:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(func())


# -- ordering ----------------------------------------------------------------------


@scenario
async def call_soon_order() -> list[str]:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    done = loop.create_future()

    def step(name: str, then: str | None = None) -> None:
        log.append(name)
        if then:
            loop.call_soon(step, then)  # runs after everything queued before it

    loop.call_soon(step, "a", "a2")
    loop.call_soon(step, "b")
    loop.call_later(0, step, "timer0")
    fut = loop.create_future()
    fut.add_done_callback(lambda f: log.append("done-callback"))
    loop.call_soon(fut.set_result, None)
    loop.call_soon(step, "c", "c2")
    loop.call_later(0.01, done.set_result, None)
    await done
    return log


@scenario
async def timer_order() -> list[str]:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    now = loop.time()
    for name, delay in [("30ms", 0.03), ("10ms", 0.01), ("20ms", 0.02), ("0ms", 0.0)]:
        loop.call_at(now + delay, log.append, name)
    cancelled = loop.call_later(0.015, log.append, "cancelled")
    cancelled.cancel()
    moved = [loop.call_later(0.005, log.append, "replaced")]
    moved[0].cancel()
    moved.append(loop.call_later(0.025, log.append, "25ms"))
    await asyncio.sleep(0.06)
    return [*log, cancelled.cancelled(), moved[1].cancelled()]


@scenario
async def task_interleaving() -> list[str]:
    log: list[str] = []

    async def worker(name: str) -> None:
        for i in range(3):
            log.append(f"{name}{i}")
            await asyncio.sleep(0)

    await asyncio.gather(worker("a"), worker("b"), worker("c"))
    return log


# -- cancellation ------------------------------------------------------------------


@scenario
async def cancellation() -> list[Any]:
    loop = asyncio.get_running_loop()
    log: list[Any] = []

    async def sleeper() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as exc:
            log.append(("sleeper cancelled", exc.args))
            raise

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    task.cancel("stop it")
    try:
        await task
    except asyncio.CancelledError:
        log.append(("awaiting raised", task.cancelled()))
    handle = loop.call_soon(log.append, "never")
    handle.cancel()
    log.append(("handle", handle.cancelled()))
    inner = asyncio.create_task(asyncio.sleep(0.01, "shielded result"))
    outer = asyncio.ensure_future(asyncio.shield(inner))
    await asyncio.sleep(0)
    outer.cancel()
    log.append(("inner survives shield", await inner, outer.cancelled()))
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    except TimeoutError:
        log.append("timeout")
    log.append(await asyncio.wait_for(asyncio.sleep(0, "quick"), 1))
    done, pending = await asyncio.wait(
        [asyncio.create_task(asyncio.sleep(0.001, "x")), asyncio.create_task(asyncio.sleep(1))],
        timeout=0.05,
    )
    log.append((len(done), len(pending)))
    for t in pending:
        t.cancel()
    return log


@scenario
async def taskgroup_failure_cancels_siblings() -> list[Any]:
    log: list[Any] = []

    async def sibling() -> None:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            log.append("sibling cancelled")
            raise

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(sibling())
            group.create_task(failing())
    except* ValueError as eg:
        log.append([str(e) for e in eg.exceptions])
    return log


# -- exceptions --------------------------------------------------------------------


@scenario
async def exception_propagation() -> list[Any]:
    loop = asyncio.get_running_loop()
    log: list[Any] = []
    reported = loop.create_future()
    loop.set_exception_handler(lambda lp, ctx: reported.set_result(ctx))

    async def fail() -> None:
        raise KeyError("missing")

    try:
        await asyncio.create_task(fail())
    except KeyError as exc:
        log.append(("awaited", repr(exc)))
    results = await asyncio.gather(fail(), asyncio.sleep(0, "ok"), return_exceptions=True)
    log.append([repr(r) for r in results])

    def broken_callback() -> None:
        raise RuntimeError("in a callback")

    loop.call_soon(broken_callback)
    context = await reported
    log.append((context["message"].split(" ")[:3], repr(context["exception"])))
    fut = loop.run_in_executor(None, int, "not a number")
    try:
        await fut
    except ValueError as exc:
        log.append(("executor", str(exc)))
    return log


# -- streams and servers -------------------------------------------------------------


@scenario
async def stream_eof() -> list[Any]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"line one\nline two\npartial")
        writer.write_eof()
        await reader.read()  # until the client's EOF
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    log: list[Any] = [await reader.readline(), await reader.readuntil(b"\n")]
    try:
        await reader.readexactly(100)
    except asyncio.IncompleteReadError as exc:
        log.append(("incomplete", exc.partial, exc.expected))
    log += [await reader.read(), await reader.readline(), reader.at_eof()]
    writer.write_eof()
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return log


@scenario
async def server_close_and_wait_closed() -> list[Any]:
    log: list[Any] = []
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(b"bye")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    address = server.sockets[0].getsockname()[:2]
    reader, writer = await asyncio.open_connection(*address)
    await asyncio.sleep(0.01)
    server.close()
    log.append(("serving", server.is_serving(), len(server.sockets)))
    try:
        await asyncio.open_connection(*address)
    except ConnectionRefusedError:
        log.append("new connection refused")
    closed = asyncio.create_task(server.wait_closed())
    await asyncio.sleep(0.02)
    log.append(("wait_closed waits for the open connection", not closed.done()))
    release.set()
    log.append(await reader.read())
    writer.close()
    await asyncio.wait_for(closed, 5)
    log.append("wait_closed returned")
    return log


@scenario
async def datagram_echo() -> list[Any]:
    loop = asyncio.get_running_loop()
    received = loop.create_future()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.transport.sendto(data.upper(), addr)

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            received.set_result(data)

    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    address = server.get_extra_info("sockname")
    client, _ = await loop.create_datagram_endpoint(Client, remote_addr=address)
    client.sendto(b"hello")
    reply = await asyncio.wait_for(received, 5)
    client.close()
    server.close()
    return [reply]


@scenario
async def sock_operations() -> list[Any]:
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    payload = bytes(range(256)) * 4096  # 1 MiB: more than one socket buffer
    sender = asyncio.create_task(loop.sock_sendall(a, payload))
    got = bytearray()
    while len(got) < len(payload):
        got += await loop.sock_recv(b, 65536)
    await sender
    a.close()
    tail = await loop.sock_recv(b, 10)
    b.close()
    return [got == payload, tail]


# -- threads and executors ------------------------------------------------------------


@scenario
async def executor_shutdown() -> list[Any]:
    loop = asyncio.get_running_loop()
    log: list[Any] = [await loop.run_in_executor(None, sum, [1, 2, 3])]
    log.append(await asyncio.to_thread(str.upper, "thread"))
    done = loop.create_future()
    threading.Thread(target=loop.call_soon_threadsafe, args=(done.set_result, "threadsafe")).start()
    log.append(await done)
    await loop.shutdown_default_executor()
    try:
        loop.run_in_executor(None, sum, [])
    except RuntimeError as exc:
        log.append(str(exc))
    return log


@scenario
async def async_generators_are_finalised() -> list[str]:
    log: list[str] = []

    async def numbers() -> Any:
        try:
            for i in range(10):
                yield i
        finally:
            log.append("finalised")

    gen = numbers()
    assert await gen.__anext__() == 0
    await gen.aclose()
    return log


# -- the tests ---------------------------------------------------------------------------


def stdlib_result(name: str) -> Any:
    if name not in _stdlib_results:
        _stdlib_results[name] = run(SCENARIOS[name], asyncio.new_event_loop)
    return _stdlib_results[name]


@pytest.mark.parametrize("backend", EVENTED)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_result_as_the_stdlib_loop(name: str, backend: str) -> None:
    expected = stdlib_result(name)
    got = run(SCENARIOS[name], lambda: minireactor.aio.new_event_loop(backend))
    assert got == expected


def test_scenarios_do_not_just_return_nothing() -> None:
    """Guard against a scenario that trivially agrees (e.g. an empty record)."""
    # A done-callback is itself scheduled with call_soon; a zero-delay timer
    # waits for the next iteration, behind what was queued with it.
    order = ["a", "b", "c", "timer0", "a2", "done-callback", "c2"]
    assert stdlib_result("call_soon_order") == order
    assert stdlib_result("timer_order") == ["0ms", "10ms", "20ms", "25ms", "30ms", True, False]
