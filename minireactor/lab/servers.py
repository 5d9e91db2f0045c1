"""One set of handlers, six ways to serve them: the server concurrency models.

==============  ===========================================================
iterative       one connection at a time, in one thread: the baseline
threads         a new thread per connection (how most people start)
thread_pool     a fixed pool of threads takes connections from a queue
prefork         N processes forked after `listen()`, all accepting on the
                shared socket (Apache's prefork; gunicorn's sync workers)
asyncio         asyncio's loop with our `HTTPServerProtocol`
minireactor     a minireactor reactor on any backend (`backend=`), the
                hosted "asyncio" one included
==============  ===========================================================

Every model speaks the same HTTP/1.1 with keep-alive, so a comparison
measures the concurrency model and nothing else; the load generator decides
whether connections are reused (`load(..., keepalive=False)` opens a new one
per request, and `compare.compare_keepalive` prices that). A model that ties
a worker to a connection (iterative, thread_pool, prefork) therefore serves
at most its number of workers' connections at a time; the others wait and
the load generator reports them as `starved` (Apache's prefork shipped with
short keep-alive timeouts for this reason). Try `load(addr, clients=2)`
against "iterative" and see one client starve.

Removed differences: every model parses with the same `RequestParser`,
answers with the same `ResponseWriter` bytes (Date and Server headers
included), sets TCP_NODELAY and listens with a backlog of 1024. Named ones,
which are each model's nature: thread_pool has 16 threads and prefork 4
processes (`workers=`), so prefork alone computes on several CPUs; the
event-loop models close a connection idle for 60 s or slow to send its head
(10 s), limits a run of a few seconds never meets.

`serve(model)` runs a model in a subprocess (its own GIL and, on a pinned
run, its own CPU), waits until it accepts, and stops it on leaving the block;
`minireactor serve` runs one in the foreground.

Read next: `load.py`, the load generator that measures these.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from .handlers import EchoProtocol, http_app, serve_echo_blocking, serve_http_blocking
from .procs import Child, LabError, raise_fd_limit, start_child

__all__ = ["SERVER_MODELS", "WORKLOADS", "run_server", "serve", "server_process"]

SERVER_MODELS = ("iterative", "threads", "thread_pool", "prefork", "asyncio", "minireactor")
"""Every server model by name."""
WORKLOADS = ("echo", "http")
DEFAULT_WORKERS = {"thread_pool": 16, "prefork": 4}

Announce = Callable[[tuple[str, int]], None]


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise LabError(
                f"port {port} is already in use; stop the other server or use --port 0"
            ) from None
        raise
    sock.listen(1024)
    return sock


def _handle(conn: socket.socket, workload: str) -> None:
    """Serve one connection with the blocking handlers, for as long as the client stays."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio and minireactor do
    try:
        if workload == "echo":
            serve_echo_blocking(conn)
        else:
            serve_http_blocking(conn)
    except OSError:
        pass  # the client left mid-exchange: nobody to answer


def _iterative(sock: socket.socket, workload: str, workers: int) -> None:
    while True:
        conn, _ = sock.accept()
        _handle(conn, workload)


def _threads(sock: socket.socket, workload: str, workers: int) -> None:
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=_handle, args=(conn, workload), daemon=True).start()


def _thread_pool(sock: socket.socket, workload: str, workers: int) -> None:
    pool = ThreadPoolExecutor(workers, thread_name_prefix="server")
    while True:
        conn, _ = sock.accept()
        pool.submit(_handle, conn, workload)  # queued until a thread is free


def _prefork(sock: socket.socket, workload: str, workers: int) -> None:
    """Fork `workers` children that all accept on the one listening socket."""
    parent = os.getpid()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the child: accept and serve, one connection at a time
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            sock.settimeout(1.0)  # wake up now and then to check the parent still lives
            while os.getppid() == parent:
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                _handle(conn, workload)
            os._exit(0)
        children.append(pid)

    def stop_children() -> None:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)

    _CLEANUP.append(stop_children)
    sock.close()  # the children hold it; the parent only waits for a signal
    while True:
        signal.pause()


def _asyncio(host: str, port: int, workload: str, announce: Announce, watch_stdin: bool) -> None:
    import asyncio

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if workload == "echo":
            factory: Any = EchoProtocol
        else:
            from ..protocols.http import HTTPServerProtocol

            def factory() -> Any:
                return HTTPServerProtocol(http_app, clock=loop)

        sock = _listen(host, port)
        server = await loop.create_server(factory, sock=sock, backlog=1024)
        stopped = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        loop.add_signal_handler(signal.SIGINT, stopped.set)
        if watch_stdin:
            loop.add_reader(sys.stdin.fileno(), _on_stdin, stopped.set)
        announce(sock.getsockname()[:2])
        async with server:
            await stopped.wait()

    asyncio.run(main())


def _on_stdin(stop: Callable[[], Any]) -> None:
    if not os.read(sys.stdin.fileno(), 4096):
        stop()


def _minireactor(
    host: str, port: int, workload: str, backend: str, announce: Announce, watch_stdin: bool
) -> None:
    from ..reactor import Reactor

    if backend == "asyncio":  # hosted: asyncio's loop waits, the reactor rides on it
        import asyncio

        asyncio.run(_minireactor_hosted(host, port, workload, announce, watch_stdin))
        return
    reactor = Reactor(backend=backend)
    listening = _listen_reactor(reactor, host, port, workload)

    def stop(*_: Any) -> None:
        reactor.call_from_thread(reactor.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if watch_stdin:
        reactor.add_reader(sys.stdin.fileno(), _on_stdin, reactor.stop)
    announce(listening.address)
    reactor.run()


async def _minireactor_hosted(
    host: str, port: int, workload: str, announce: Announce, watch_stdin: bool
) -> None:
    """The minireactor model on the hosted asyncio backend, as in a notebook."""
    import asyncio

    from ..jupyter import start

    reactor = start()
    finished = asyncio.Event()
    reactor.add_system_event_trigger("after", "shutdown", finished.set)
    listening = _listen_reactor(reactor, host, port, workload)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, reactor.stop)
    loop.add_signal_handler(signal.SIGINT, reactor.stop)
    if watch_stdin:
        reactor.add_reader(sys.stdin.fileno(), _on_stdin, reactor.stop)
    announce(listening.address)
    await finished.wait()


def _listen_reactor(reactor: Any, host: str, port: int, workload: str) -> Any:
    """Listen for `workload` on a minireactor reactor; the listening port."""
    from ..errors import AddressInUseError
    from ..protocol import Factory
    from ..protocols.http import server_factory

    factory = (
        Factory.for_protocol(EchoProtocol)
        if workload == "echo"
        else server_factory(http_app, clock=reactor)
    )
    try:
        return reactor.listen_tcp(port, factory, interface=host, backlog=1024)
    except AddressInUseError:
        reactor.close()
        raise LabError(
            f"port {port} is already in use; stop the other server or use --port 0"
        ) from None


_CLEANUP: list[Callable[[], None]] = []  # run before a blocking model's process exits


def _run_blocking(
    model: str, sock: socket.socket, workload: str, workers: int, watch_stdin: bool
) -> None:
    """Run a blocking model until SIGTERM, SIGINT or end of stdin; then exit at once."""

    def stop(*_: Any) -> None:
        for cleanup in _CLEANUP:
            cleanup()
        sys.stdout.flush()
        # os._exit: threads blocked in recv() on idle connections would keep
        # an ordinary exit waiting; the kernel closes every socket for us.
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if watch_stdin:

        def watch() -> None:
            while os.read(sys.stdin.fileno(), 4096):
                pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, daemon=True).start()
    runner = {"iterative": _iterative, "threads": _threads, "thread_pool": _thread_pool}
    runner.get(model, _prefork)(sock, workload, workers)


def run_server(
    model: str,
    workload: str = "http",
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int | None = None,
    backend: str = "auto",
    announce: Announce | None = None,
    watch_stdin: bool = False,
) -> None:
    """Serve `workload` with `model` in this process until stopped (SIGINT/SIGTERM).

    Raises:
        LabError: unknown model or workload, or the port is taken.
    """
    check(model, workload)
    raise_fd_limit()
    announce = announce or (lambda address: None)
    if model == "asyncio":
        _asyncio(host, port, workload, announce, watch_stdin)
    elif model == "minireactor":
        _minireactor(host, port, workload, backend, announce, watch_stdin)
    else:
        sock = _listen(host, port)
        if model == "prefork" and not hasattr(os, "fork"):
            raise LabError("the prefork model needs os.fork (Linux, macOS)")
        announce(sock.getsockname()[:2])
        _run_blocking(model, sock, workload, workers or DEFAULT_WORKERS.get(model, 1), watch_stdin)


def check(model: str, workload: str) -> None:
    if model not in SERVER_MODELS:
        raise LabError(f"unknown server model {model!r}; choose from: {', '.join(SERVER_MODELS)}")
    if workload not in WORKLOADS:
        raise LabError(f"unknown workload {workload!r}; choose from: {', '.join(WORKLOADS)}")


@contextmanager
def serve(
    model: str,
    workload: str = "http",
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    workers: int | None = None,
    backend: str = "auto",
    cpu: int | None = None,
) -> Iterator[tuple[str, int]]:
    """Run a server model in a subprocess; yield its (host, port); stop it on exit.

    Args:
        workers: threads (thread_pool) or processes (prefork).
        backend: the minireactor backend (model "minireactor" only).
        cpu: pin the server to this CPU (Linux), e.g. 0, with the load on 1.

    Raises:
        LabError: unknown model or workload, port in use, or it failed to start.
    """
    with server_process(
        model, workload, port, host=host, workers=workers, backend=backend, cpu=cpu
    ) as child:
        yield child.address


@contextmanager
def server_process(
    model: str,
    workload: str = "http",
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    workers: int | None = None,
    backend: str = "auto",
    cpu: int | None = None,
) -> Iterator[Child]:
    """`serve`, yielding the `Child` (its `pid` too, e.g. to read its memory)."""
    check(model, workload)
    argv = [
        sys.executable,
        "-m",
        "minireactor.lab",
        "server",
        model,
        "--workload",
        workload,
        "--host",
        host,
        "--port",
        str(port),
        "--backend",
        backend,
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    with start_child(argv, f"{model} server") as child:
        yield child


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workload", default="http", choices=WORKLOADS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, help="thread_pool/prefork size")
    parser.add_argument("--backend", default="auto", help="minireactor backend")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (Linux)")


def pin(cpu: int | None) -> None:
    """Run this process on one CPU only (Linux), so server and load do not compete."""
    if cpu is not None:
        if not hasattr(os, "sched_setaffinity"):
            raise LabError("pinning to a CPU (--cpu) needs Linux")
        os.sched_setaffinity(0, {cpu})


def main(argv: list[str] | None = None) -> int:
    """Entry point of the subprocess started by `serve()`."""
    parser = argparse.ArgumentParser(prog="python -m minireactor.lab server")
    parser.add_argument("model", choices=SERVER_MODELS)
    add_arguments(parser)
    args = parser.parse_args(argv)

    def announce(address: tuple[str, int]) -> None:
        print(f"READY {address[0]} {address[1]}", flush=True)

    try:
        pin(args.cpu)
        run_server(
            args.model,
            args.workload,
            args.host,
            args.port,
            args.workers,
            args.backend,
            announce,
            watch_stdin=True,
        )
    except (LabError, OSError) as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
