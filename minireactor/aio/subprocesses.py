"""Pipes and child processes for `minireactor.aio` (Unix only).

asyncio's Unix pipe and subprocess transports are reused as they are: they
drive the loop through `_add_reader` / `_add_writer` and `call_soon`, which
ours provides. What a loop must add is *reaping*: noticing that a child
exited and telling its transport the exit status.

* Up to Python 3.13 the event-loop policy's child watcher does that, on
  asyncio's loop and on ours alike (`compat.HAS_CHILD_WATCHERS`).
* From 3.14 there are no child watchers. We wait ourselves: on Linux with a
  pidfd (`os.pidfd_open`), a descriptor that becomes readable when the child
  exits, watched by the reactor like any other; elsewhere with one thread per
  child blocked in `os.waitpid`.

Read next: `signals.py`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from ..reactor import Reactor
from .compat import (
    HAS_CHILD_WATCHERS,
    USE_WHAT_WATCHER_ENTER_RETURNS,
    policy_child_watcher,
    require_unix,
)

if os.name != "nt":
    # asyncio's own Unix transports; no public name exists for them.
    from asyncio import unix_events


def make_pipe_transport(
    loop: asyncio.AbstractEventLoop,
    reading: bool,
    pipe: Any,
    protocol: Any,
    waiter: Any,
    extra: Any,
) -> Any:
    """asyncio's read or write pipe transport on our loop."""
    require_unix("connect_read_pipe" if reading else "connect_write_pipe")
    cls = unix_events._UnixReadPipeTransport if reading else unix_events._UnixWritePipeTransport  # type: ignore[attr-defined]
    return cls(loop, pipe, protocol, waiter, extra)


async def make_subprocess_transport(
    loop: asyncio.AbstractEventLoop, reactor: Reactor, protocol: Any, *args: Any, **kwargs: Any
) -> Any:
    """Start a child process with asyncio's subprocess transport; reap it when it exits."""
    require_unix("subprocess_exec")
    if HAS_CHILD_WATCHERS:
        policy_watcher = policy_child_watcher()
        with policy_watcher as entered:
            watcher = entered if USE_WHAT_WATCHER_ENTER_RETURNS else policy_watcher
            if not watcher.is_active():
                raise RuntimeError(
                    "asyncio.get_child_watcher() is not activated, subprocess support is "
                    "not installed."
                )
            return await _start(loop, protocol, args, kwargs, watcher.add_child_handler)
    return await _start(loop, protocol, args, kwargs, ChildWaiter(loop, reactor).watch)


async def _start(
    loop: asyncio.AbstractEventLoop, protocol: Any, args: Any, kwargs: Any, watch: Any
) -> Any:
    waiter = loop.create_future()
    transport = unix_events._UnixSubprocessTransport(  # type: ignore[attr-defined]
        loop, protocol, *args, waiter=waiter, **kwargs
    )

    def exited(pid: int, returncode: int, transport: Any) -> None:
        # Watchers may call this from their own thread; the extra hop through
        # call_soon lets the pipes deliver their last data before the exit.
        loop.call_soon_threadsafe(loop.call_soon, transport._process_exited, returncode)

    watch(transport.get_pid(), exited, transport)
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        transport.close()
        await transport._wait()
        raise
    return transport


class ChildWaiter:
    """Reaps child processes without a child watcher (Python 3.14 and later).

    `watch(pid, callback, *args)` has the child watchers' signature:
    `callback(pid, returncode, *args)` runs once the child has exited.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, reactor: Reactor) -> None:
        self._loop = loop
        self._reactor = reactor

    def watch(self, pid: int, callback: Any, *args: Any) -> None:
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            # No pidfd (not Linux, or an old kernel): a thread waits instead.
            thread = threading.Thread(
                target=self._wait_in_thread, args=(pid, callback, args), daemon=True
            )
            thread.start()
            return

        def exited() -> None:
            self._reactor.remove_reader(pidfd)
            os.close(pidfd)
            callback(pid, _reap(pid), *args)

        self._reactor.add_reader(pidfd, exited)

    def _wait_in_thread(self, pid: int, callback: Any, args: tuple[Any, ...]) -> None:
        returncode = _reap(pid)
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, pid, returncode, *args)


def _reap(pid: int) -> int:
    """Wait for child `pid` and return its exit code (negative: killed by that signal)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 255  # someone else reaped it; asyncio reports 255 too
    return os.waitstatus_to_exitcode(status)
