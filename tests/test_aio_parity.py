"""Same scenario, same result, part two: what asyncio libraries' own test suites noticed.

The pattern of `test_aio_behaviour.py`: each scenario records what happened
and runs on asyncio's own loop and on minireactor.aio (every evented
backend); the records must be equal. Here each record is also compared with
what the standard library is known to do on this Python version, so a
scenario cannot pass by being equally wrong on both loops.

The behaviours: protocol callbacks run in the `contextvars` context of the
code that set the connection up; `remove_reader` on a closed socket object;
no reference cycles keeping a fired timer's arguments or a refused
connection's exception alive; timers follow a patched `loop.time()`;
`call_soon` from another thread when debug is off; slow-callback warnings
naming `<Handle` / `<TimerHandle`; `create_unix_server`'s system calls and
its clean failure; the default executor joined when a runner closes; the
eager task factory (3.12+).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import os
import socket
import sys
import tempfile
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import minireactor
import minireactor.aio

pytestmark = pytest.mark.timeout(60)

EVENTED = [b for b in minireactor.available_backends() if b != "threaded"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
SCENARIOS: dict[str, Callable[[LoopFactory], Any]] = {}
EXPECTED: dict[str, Any] = {}
PY312 = sys.version_info >= (3, 12)
PY313 = sys.version_info >= (3, 13)


def scenario(expected: Any) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Register a coroutine scenario, run in a fresh runner; `expected`: the stdlib's record."""

    def register(func: Callable[[], Awaitable[Any]]) -> Any:
        def run(loop_factory: LoopFactory) -> Any:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                return runner.run(func())

        SCENARIOS[func.__name__] = run
        EXPECTED[func.__name__] = expected
        return func

    return register


# -- contexts -------------------------------------------------------------------------

where = contextvars.ContextVar("where", default="the loop's outer context")


@scenario(
    expected=[
        ("client", "connection_made", "client"),
        ("client", "data_received", "client"),
        ("server", "connection_made", "server"),
        ("server", "data_received", "server"),
        ("udp", "connection_made", "udp"),
        ("udp", "datagram_received", "udp"),
    ]
)
async def protocol_callbacks_in_setup_context() -> list[tuple[str, str, str]]:
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, str, str]] = []
    both_sides = loop.create_future()

    class Recorder(asyncio.Protocol, asyncio.DatagramProtocol):
        def __init__(self, name: str) -> None:
            self.name = name

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            seen.append((self.name, "connection_made", where.get()))

        def data_received(self, data: bytes) -> None:
            seen.append((self.name, "data_received", where.get()))
            if self.name == "server":
                self.transport.write(b"pong")
            elif not both_sides.done():
                both_sides.set_result(None)

        def datagram_received(self, data: bytes, addr: Any) -> None:
            seen.append((self.name, "datagram_received", where.get()))

    async def set_up(name: str, coro_factory: Callable[[], Awaitable[Any]]) -> Any:
        where.set(name)  # in this task's own context: the loop's stays as it was
        return await coro_factory()

    server = await asyncio.create_task(
        set_up("server", lambda: loop.create_server(lambda: Recorder("server"), "127.0.0.1", 0))
    )
    port = server.sockets[0].getsockname()[1]
    client, _ = await asyncio.create_task(
        set_up(
            "client", lambda: loop.create_connection(lambda: Recorder("client"), "127.0.0.1", port)
        )
    )
    udp, _ = await asyncio.create_task(
        set_up(
            "udp",
            lambda: loop.create_datagram_endpoint(
                lambda: Recorder("udp"), local_addr=("127.0.0.1", 0)
            ),
        )
    )
    client.write(b"ping")
    await asyncio.wait_for(both_sides, 10)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.sendto(b"hello", udp.get_extra_info("sockname"))
    sender.close()
    for _ in range(200):
        if any(kind == "datagram_received" for _, kind, _ in seen):
            break
        await asyncio.sleep(0.005)
    client.close()
    udp.close()
    server.close()
    await server.wait_closed()
    return sorted(set(seen))


# -- descriptors ------------------------------------------------------------------------


@scenario(expected=[True, "ValueError", True, "ValueError"])
async def remove_reader_of_a_closed_socket_object() -> list[bool | str]:
    loop = asyncio.get_running_loop()
    record: list[bool | str] = []

    def attempt(remove: Callable[[Any], bool], sock: socket.socket) -> bool | str:
        try:
            return remove(sock)
        except ValueError as exc:  # no registration left to find by the object
            return type(exc).__name__

    for add, remove in [
        (loop.add_reader, loop.remove_reader),
        (loop.add_writer, loop.remove_writer),
    ]:
        a, b = socket.socketpair()
        add(a, print)
        a.close()  # now a.fileno() == -1: only the object can find the registration
        record += [attempt(remove, a), attempt(remove, a)]
        b.close()
    return record


# -- reference cycles ---------------------------------------------------------------------


class Marker:
    """An argument whose lifetime we watch with a weak reference."""


@scenario(expected=[True, True])
async def fired_callbacks_free_their_arguments() -> list[bool]:
    loop = asyncio.get_running_loop()
    gc.disable()  # what is freed now is freed by reference counting alone
    try:
        refs = []
        for schedule in (loop.call_soon, lambda f, *a: loop.call_later(0.001, f, *a)):
            marker = Marker()
            refs.append(weakref.ref(marker))
            schedule(lambda m: None, marker)
            del marker
        await asyncio.sleep(0.02)
        return [ref() is None for ref in refs]
    finally:
        gc.enable()


@scenario(expected=[("create_connection", []), ("sock_connect", [])])
async def refused_connection_leaves_no_cycle() -> list[tuple[str, list[str]]]:
    loop = asyncio.get_running_loop()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now: connecting is refused
    record = []
    for how in ("create_connection", "sock_connect"):
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            try:
                if how == "create_connection":
                    await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
                else:
                    with socket.socket() as sock:
                        sock.setblocking(False)
                        await loop.sock_connect(sock, ("127.0.0.1", port))
            except ConnectionRefusedError:
                pass
            gc.collect()
            kept = sorted(
                {
                    type(obj).__name__
                    for obj in gc.garbage
                    if isinstance(obj, (OSError, asyncio.Future))
                }
            )
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        record.append((how, kept))
    return record


@scenario(expected=[])
async def exception_of_a_finished_task_is_not_held_by_the_loop() -> list[str]:
    """anyio's happy-eyeballs refcycle test, in plain asyncio, in debug mode."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)  # handles record their origin: the loop's frames become objects
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    errors: list[OSError] = []
    attempted = asyncio.Event()

    async def attempt() -> None:
        try:
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        except OSError as exc:
            errors.append(exc)
        finally:
            attempted.set()

    task = asyncio.create_task(attempt())
    await attempted.wait()
    await task
    loop.set_debug(False)
    exc = errors.pop()
    return [type(ref).__name__ for ref in gc.get_referrers(exc)]


# -- time, threads, debug ---------------------------------------------------------------


@scenario(expected=["in 1000 s", "in 2000 s"])
async def timers_follow_a_patched_loop_time() -> list[str]:
    loop = asyncio.get_running_loop()
    fired: list[str] = []
    loop.call_later(1000, fired.append, "in 1000 s")
    loop.call_later(2000, fired.append, "in 2000 s")
    loop.call_later(3000, fired.append, "in 3000 s")
    real_time = loop.time
    loop.time = lambda: real_time() + 2500  # type: ignore[method-assign]
    try:
        for _ in range(5):
            await asyncio.sleep(0)
    finally:
        del loop.time  # back to the class's method
    return fired


@scenario(expected=["no error", "queued from a thread", "woken"])
async def call_soon_from_a_thread_without_debug() -> list[str]:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    woken = loop.create_future()

    def in_thread() -> None:
        try:
            loop.call_soon(log.append, "queued from a thread")  # allowed: debug is off
            log.append("no error")
        except RuntimeError as exc:
            log.append(f"raised {type(exc).__name__}")
        loop.call_soon_threadsafe(woken.set_result, "woken")

    threading.Thread(target=in_thread).start()
    log.append(await asyncio.wait_for(woken, 10))
    return log


def slow_callback() -> None:
    """Named, so that the warning can be found."""


@scenario(expected=[("Handle", "call_soon"), ("TimerHandle", "call_later")])
async def slow_callback_warnings_name_asyncio_handles() -> list[tuple[str, str]]:
    loop = asyncio.get_running_loop()
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    collect = Collect()
    logging.getLogger("asyncio").addHandler(collect)
    loop.set_debug(True)
    loop.slow_callback_duration = 0.0  # every callback is "slow"
    try:
        loop.call_soon(slow_callback)
        loop.call_later(0.001, slow_callback)
        await asyncio.sleep(0.02)
    finally:
        loop.set_debug(False)
        logging.getLogger("asyncio").removeHandler(collect)
    found = []
    for message in messages:
        if "slow_callback" in message and message.startswith("Executing <"):
            kind = message.removeprefix("Executing <").split(" ")[0]
            found.append((kind, "call_soon" if kind == "Handle" else "call_later"))
    return sorted(set(found))


# -- Unix-socket servers -------------------------------------------------------------


@scenario(
    expected={
        "stat calls": 2 if PY313 else 1,
        "file left after close": not PY313,
        "bind in a missing directory": "FileNotFoundError",
        "bind where a file is": "OSError: [Errno 98] Address <path> is already in use",
        "descriptors leaked": 0,
    }
)
async def unix_server_system_calls_and_failures() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    record: dict[str, Any] = {}
    real_stat = os.stat
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "server.sock")
        stats = 0

        def counting_stat(target: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal stats
            if os.fspath(target) == path:
                stats += 1
            return real_stat(target, *args, **kwargs)

        os.stat = counting_stat  # type: ignore[assignment]
        try:
            server = await loop.create_unix_server(asyncio.Protocol, path)
        finally:
            os.stat = real_stat
        record["stat calls"] = stats
        server.close()
        await server.wait_closed()
        record["file left after close"] = os.path.exists(path)
        before = len(os.listdir("/proc/self/fd"))
        for name, target in [
            ("bind in a missing directory", os.path.join(tmp, "missing", "s.sock")),
            ("bind where a file is", os.path.join(tmp, "plain-file")),
        ]:
            if name == "bind where a file is":
                open(target, "w").close()
            try:
                await loop.create_unix_server(asyncio.Protocol, target)
            except OSError as exc:
                text = f"{type(exc).__name__}: {exc}".replace(repr(target), "<path>")
                record[name] = type(exc).__name__ if "missing" in name else text
        record["descriptors leaked"] = len(os.listdir("/proc/self/fd")) - before
    return record


# -- tasks -----------------------------------------------------------------------------------


@scenario(
    expected=["eager step", "after create_task", "done"] if PY312 else ["3.11: no eager tasks"]
)
async def eager_task_factory() -> list[str]:
    if not PY312:
        return ["3.11: no eager tasks"]
    loop = asyncio.get_running_loop()
    log: list[str] = []

    async def child() -> None:
        log.append("eager step")  # runs inside create_task, before it returns
        await asyncio.sleep(0)
        log.append("done")

    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    try:
        task = asyncio.create_task(child())
        log.append("after create_task")
        await task
    finally:
        loop.set_task_factory(None)
    return log


# -- the default executor ----------------------------------------------------------------


def executor_threads_left_after_close(loop_factory: LoopFactory) -> list[str]:
    """Threads started during a run and still alive once the runner has closed.

    Five rounds, each checked the moment the runner returns: a worker that
    is merely about to exit would show up.
    """

    async def use_the_executor() -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(None, sum, [i]) for i in range(4)))
        await asyncio.to_thread(sum, [1])
        await loop.getaddrinfo("127.0.0.1", 80)

    left: set[str] = set()
    for round_number in range(5):
        before = set(threading.enumerate())
        if round_number % 2 and PY312:
            asyncio.run(use_the_executor(), loop_factory=loop_factory)  # type: ignore[call-arg]
        else:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(use_the_executor())
        left |= {t.name for t in threading.enumerate() if t not in before}
    return sorted(left)


SCENARIOS["executor_threads_left_after_close"] = executor_threads_left_after_close
EXPECTED["executor_threads_left_after_close"] = []


# -- the tests -------------------------------------------------------------------------------

_stdlib: dict[str, Any] = {}


def stdlib_result(name: str) -> Any:
    if name not in _stdlib:
        _stdlib[name] = SCENARIOS[name](asyncio.new_event_loop)
    return _stdlib[name]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_stdlib_loop_does_what_we_expect(name: str) -> None:
    assert stdlib_result(name) == EXPECTED[name]


@pytest.mark.parametrize("backend", EVENTED)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_result_as_the_stdlib_loop(name: str, backend: str) -> None:
    got = SCENARIOS[name](lambda: minireactor.aio.new_event_loop(backend))
    assert got == stdlib_result(name)
