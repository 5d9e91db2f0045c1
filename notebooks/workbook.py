"""Small helpers shared by the workbook notebooks.

Everything a notebook *teaches* is written out in the notebook itself; this
file only holds what would be noise there: the quick-mode switch that keeps
the automated notebook tests short, and a setup check for notebook 00.

Quick mode: set the environment variable MINIREACTOR_QUICK=1 (the notebook
tests do, in notebooks/conftest.py) and every experiment shrinks to a size
that still shows the effect, in seconds instead of minutes.

Long-lived helpers (the local internet, a server) are started with `keep`:
running the cell again stops the old one first, and all of them stop when the
kernel exits, so nothing is left behind and no port stays taken.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import os
import socket
import threading
import time
from contextlib import AbstractContextManager
from typing import Any

QUICK = os.environ.get("MINIREACTOR_QUICK", "") not in ("", "0")
"""True in quick mode (MINIREACTOR_QUICK=1): experiments run smaller."""


def sized(full, quick):
    """`full` normally, `quick` in quick mode: the size of one experiment."""
    return quick if QUICK else full


def version_of(module: str) -> str | None:
    """The version of an installed module, or None when it is not installed."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return str(getattr(mod, "__version__", "installed"))


def echo_round_trips(backend: str, rounds: int = 1000, size: int = 64) -> float:
    """Seconds for `rounds` request/echo round trips on one minireactor backend.

    A minireactor echo server and a plain blocking client socket share one
    thread: the client sends, then drives the reactor with `iterate()` until
    its echo is back. Raises AssertionError if any byte comes back wrong.
    """
    from minireactor import Factory, Protocol, Reactor

    class Echo(Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    reactor = Reactor(backend)
    try:
        port = reactor.listen_tcp(0, Factory.for_protocol(Echo))
        client = socket.create_connection(port.address)
        client.setblocking(False)
        message = bytes(range(size % 256)) * (size // 256) + bytes(size % 256)
        start = time.perf_counter()
        with client:
            for _ in range(rounds):
                client.sendall(message)
                got = b""
                while len(got) < size:
                    reactor.iterate(0.1)
                    try:
                        got += client.recv(65536)
                    except BlockingIOError:
                        pass
                assert got == message, "the echo came back different"
        return time.perf_counter() - start
    finally:
        reactor.close()


_kept: dict[str, AbstractContextManager[Any]] = {}


def keep(name: str, manager: AbstractContextManager[Any]) -> Any:
    """Enter `manager` (e.g. `internet(...)`) and keep it running across cells.

    Keeping another one under the same `name` first stops the previous one,
    so re-running a cell never leaves a second server behind. `release(name)`
    stops it; anything still kept stops when the kernel exits.
    """
    release(name)
    value = manager.__enter__()
    _kept[name] = manager
    return value


def release(name: str | None = None) -> None:
    """Stop what `keep` started under `name` (None: everything)."""
    names = list(_kept) if name is None else [name]
    for n in names:
        manager = _kept.pop(n, None)
        if manager is not None:
            manager.__exit__(None, None, None)


atexit.register(release)


def in_a_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call `func(*args, **kwargs)` in a fresh thread and return its result.

    Jupyter runs its own asyncio loop in the notebook's thread, and
    `asyncio.run()` refuses to start a second loop in a thread that already has
    one. Code that calls `asyncio.run()` (the lab's asyncio and aiohttp
    strategies) therefore runs in a thread of its own. The thread is joined
    before this returns; its exception, if any, is raised here.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=getattr(func, "__name__", "worker"))
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def loop_is_running() -> bool:
    """True in Jupyter (and any other thread with a running asyncio loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


ASYNCIO_STRATEGIES = ("asyncio", "aiohttp")


def fetch(urls: Any, strategy: str = "thread_pool", **kwargs: Any) -> Any:
    """`minireactor.lab.fetch_all`, safe to call from a notebook.

    The strategies built on `asyncio.run()` run in a thread of their own here
    (see `in_a_thread`); the others run as they are.
    """
    from minireactor.lab import fetch_all

    if strategy in ASYNCIO_STRATEGIES and loop_is_running():
        return in_a_thread(fetch_all, urls, strategy, **kwargs)
    return fetch_all(urls, strategy, **kwargs)
