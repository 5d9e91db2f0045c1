"""minireactor.aio's own promises: the loop really is minireactor's, and bad input is clear.

The behaviour suite (`test_aio_behaviour.py`) compares results with the stdlib
loop; CPython's own tests judge the rest (`scripts/asyncio_conformance.py`).
Here: the features not covered there (TLS, Unix sockets, subprocesses,
signals, the policy), the errors, and proof that scheduling and I/O go
through the reactor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import minireactor
import minireactor.aio
from minireactor import BackendError, Reactor
from minireactor.aio import compat as compat_module
from minireactor.aio import subprocesses

pytestmark = pytest.mark.timeout(60)
EVENTED = [b for b in minireactor.available_backends() if b != "threaded"]


@pytest.fixture(params=EVENTED)
def runner(request: pytest.FixtureRequest) -> Iterator[asyncio.Runner]:
    backend = str(request.param)
    with asyncio.Runner(loop_factory=lambda: minireactor.aio.new_event_loop(backend)) as r:
        yield r


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"x" * 100_000)
    writer.write_eof()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    return reply


def test_runner_with_loop_factory_uses_the_reactor(runner: asyncio.Runner) -> None:
    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, minireactor.aio.MiniReactorEventLoop)
        await asyncio.sleep(0.001)
        return type(loop).__name__, loop.reactor.backend_name

    name, backend = runner.run(main())
    assert name == "MiniReactorEventLoop" and backend in EVENTED


def test_handles_are_asyncios_and_descriptors_are_the_reactors() -> None:
    loop = minireactor.aio.new_event_loop()
    a, b = socket.socketpair()
    try:
        reactor = loop.reactor
        assert type(loop.call_soon(print)) is asyncio.Handle
        timer = loop.call_later(10, print)
        assert type(timer) is asyncio.TimerHandle
        timer.cancel()
        loop.add_reader(a, print)
        assert reactor.remove_reader(a.fileno())  # the reactor was watching it for us
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
        a.close()
        b.close()
    assert repr(reactor).endswith("closed>")


def test_a_loop_and_minireactor_protocols_share_one_reactor() -> None:
    from support import Echo

    reactor = Reactor()
    loop = minireactor.aio.new_event_loop(reactor=reactor)
    try:
        port = reactor.listen_tcp(0, minireactor.Factory.for_protocol(Echo))

        async def main() -> bytes:
            return await round_trip(*await asyncio.open_connection(*port.address))

        assert loop.run_until_complete(main()) == b"x" * 100_000
    finally:
        loop.close()
        reactor.close()


def test_unix_socket_server_and_client(runner: asyncio.Runner, tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")

    async def main() -> bytes:
        server = await asyncio.start_unix_server(echo, path)
        async with server:
            return await round_trip(*await asyncio.open_unix_connection(path))

    assert runner.run(main()) == b"x" * 100_000


def test_tls_server_and_client(runner: asyncio.Runner) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> tuple[bytes, str]:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            version = writer.get_extra_info("ssl_object").version()
            writer.write(b"secret" * 10_000)
            data = await reader.readexactly(60_000)
            writer.close()
            await writer.wait_closed()
            return data, version

    data, version = runner.run(main())
    assert data == b"secret" * 10_000 and version.startswith("TLS")


def test_subprocess_exec_with_pipes(runner: asyncio.Runner) -> None:
    async def main() -> tuple[bytes, int]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate(b"child")
        return out, proc.returncode or 0

    assert runner.run(main()) == (b"CHILD", 0)


@pytest.mark.parametrize("waiting", ["pidfd", "thread"])
def test_children_are_reaped_without_child_watchers(
    runner: asyncio.Runner, monkeypatch: pytest.MonkeyPatch, waiting: str
) -> None:
    """The Python 3.14 path (no child watchers), run on whatever Python this is."""
    monkeypatch.setattr(subprocesses, "HAS_CHILD_WATCHERS", False)
    if waiting == "thread":
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no os.pidfd_open on this platform")

    async def main() -> list[tuple[bytes, int | None]]:
        results = []
        for code in ("print('hi'); raise SystemExit(3)", "import os; os.kill(os.getpid(), 9)"):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            results.append((out, proc.returncode))
        return results

    assert runner.run(main()) == [(b"hi\n", 3), (b"", -9)]


def test_signal_handler_runs_on_the_loop(runner: asyncio.Runner) -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "SIGUSR1")
        os.kill(os.getpid(), signal.SIGUSR1)
        try:
            return await asyncio.wait_for(got, 5)
        finally:
            assert loop.remove_signal_handler(signal.SIGUSR1)

    assert runner.run(main()) == "SIGUSR1"


def test_add_reader_on_a_socketpair(runner: asyncio.Runner) -> None:
    import socket

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        got = loop.create_future()
        loop.add_reader(b, lambda: got.set_result(b.recv(10)))
        a.send(b"ready")
        data = await got
        assert loop.remove_reader(b) and not loop.remove_reader(b)
        a.close()
        b.close()
        return data

    assert runner.run(main()) == b"ready"


def test_policy_makes_minireactor_loops() -> None:
    policy = minireactor.aio.EventLoopPolicy("poll")
    loop = policy.new_event_loop()
    try:
        assert isinstance(loop, minireactor.aio.MiniReactorEventLoop)
        assert loop.reactor.backend_name == "poll"
    finally:
        loop.close()


def test_importing_and_using_the_loop_never_names_asyncios_policies() -> None:
    """Python 3.14 warns when `asyncio.DefaultEventLoopPolicy` is merely named."""
    code = (
        "import asyncio, minireactor.aio\n"
        "del asyncio.DefaultEventLoopPolicy, asyncio.AbstractEventLoopPolicy\n"
        "with asyncio.Runner(loop_factory=minireactor.aio.new_event_loop) as runner:\n"
        "    print(runner.run(asyncio.sleep(0, 'ran')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "ran", result.stderr


def test_the_policy_warns_where_asyncios_policies_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat_module, "PY314", True)
    with pytest.warns(DeprecationWarning, match="loop_factory"):
        assert minireactor.aio.EventLoopPolicy is not None


# -- bad input --------------------------------------------------------------------------


def test_the_threaded_backend_is_refused_with_a_reason() -> None:
    with pytest.raises(BackendError, match=r"threaded.*choose one of"):
        minireactor.aio.new_event_loop("threaded")


def test_foreign_thread_call_is_a_clear_error_in_debug_mode() -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def from_thread() -> None:
            try:
                loop.call_soon(print)
            except RuntimeError as exc:
                errors.append(exc)

        await asyncio.to_thread(from_thread)

    with asyncio.Runner(loop_factory=minireactor.aio.new_event_loop, debug=True) as r:
        r.run(main())
    assert errors and "Non-thread-safe operation" in str(errors[0])


def test_call_soon_threadsafe_from_a_foreign_thread_is_fine() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        threading.Thread(target=loop.call_soon_threadsafe, args=(fut.set_result, "ok")).start()
        return await asyncio.wait_for(fut, 5)

    with asyncio.Runner(loop_factory=minireactor.aio.new_event_loop, debug=True) as r:
        assert r.run(main()) == "ok"


def test_unsupported_methods_name_the_method_and_the_alternative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compat_module, "UNIX", False)  # what a Windows machine would see
    loop = minireactor.aio.new_event_loop()
    try:
        with pytest.raises(NotImplementedError, match=r"add_signal_handler\(\).*Proactor"):
            loop.add_signal_handler(signal.SIGUSR1, print)
        with pytest.raises(NotImplementedError, match=r"create_unix_server\(\)"):
            loop.run_until_complete(loop.create_unix_server(asyncio.Protocol, "/tmp/x.sock"))
    finally:
        loop.close()


def test_closed_loop_and_misuse_errors_match_asyncio() -> None:
    loop = minireactor.aio.new_event_loop()
    with pytest.raises(TypeError, match="coroutines cannot be used with add_signal_handler"):
        loop.add_signal_handler(signal.SIGUSR1, asyncio.sleep)
    with pytest.raises(ValueError, match="Invalid file object"):
        loop.add_reader(object(), print)
    loop.close()
    loop.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_soon(print)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_later(1, print)


def test_close_drops_pending_callbacks_instead_of_running_them() -> None:
    ran: list[Any] = []
    loop = minireactor.aio.new_event_loop()
    loop.call_soon(ran.append, "should not run")
    loop.close()
    assert ran == []


def test_tiny_sleeps_do_not_spin_the_loop() -> None:
    """CPython's test_timeout_rounding, minus its selector-specific error message."""
    loop = minireactor.aio.new_event_loop()
    passes = 0
    original = loop._run_once

    def counting() -> None:
        nonlocal passes
        passes += 1
        original()

    loop._run_once = counting  # type: ignore[method-assign]

    async def wait() -> None:
        for delay in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10):
            await asyncio.sleep(delay)

    try:
        loop.run_until_complete(wait())
    finally:
        loop.close()
    assert passes <= 20  # 12 is ideal: CPython tolerates a few more


def test_closing_loops_leaks_no_descriptors() -> None:
    """What CPython's test_internal_fds checks on selector loops, done with /proc."""
    from conftest import open_fds

    def make_and_close() -> None:
        loop = minireactor.aio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    make_and_close()  # warm up lazily opened descriptors
    before = open_fds()
    for _ in range(20):
        make_and_close()
    assert open_fds() == before
