"""Twisted, unchanged, on three loops: its own reactor, asyncio's, minireactor's.

Twisted's `asyncioreactor` runs the whole of Twisted on top of any asyncio
event loop: it asks the loop for `add_reader`, `add_writer`, `call_later`
and `call_soon_threadsafe`, the same calls minireactor.aio answers. So one
Twisted program can run on

* "twisted": Twisted's default reactor (epoll on Linux);
* "asyncio": Twisted on the standard library's asyncio loop;
* "minireactor": Twisted on `minireactor.aio`, i.e. Twisted over asyncio's
  interface over a minireactor reactor: three layers, one thread.

Twisted's reactor is a process-wide global that cannot be restarted, so each
run is a fresh `python -m minireactor.lab.twisted_loops LOOP` process; it
prints one JSON line. `compare_twisted_loops` runs them for a notebook.
Twisted is optional (the `peers` extra); nothing here imports it at module
level.

Read next: `minireactor/aio/loop.py`, the interface Twisted is calling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, cast

from .procs import LabError

__all__ = ["TWISTED_LOOPS", "compare_twisted_loops", "run_in_a_process", "run_twisted_echo"]

TWISTED_LOOPS = ("twisted", "asyncio", "minireactor")


def run_twisted_echo(loop: str, clients: int, messages: int, size: int = 64) -> dict[str, Any]:
    """In this process: install the reactor for `loop`, run the echo, return the figures.

    A Twisted echo server and `clients` Twisted clients, each sending
    `messages` messages of `size` bytes one at a time and checking each echo.
    Call it once per process (Twisted's reactor is global).
    """
    if loop not in TWISTED_LOOPS:
        raise LabError(f"loop must be one of {', '.join(TWISTED_LOOPS)}, not {loop!r}")
    if loop != "twisted":
        import asyncio

        import minireactor.aio

        host = (
            minireactor.aio.new_event_loop() if loop == "minireactor" else asyncio.new_event_loop()
        )
        asyncio.set_event_loop(host)
        from twisted.internet import asyncioreactor

        cast(Any, asyncioreactor).install(host)  # untyped
    from twisted.internet import defer, protocol
    from twisted.internet import reactor as installed

    reactor = cast(Any, installed)  # zope interfaces are opaque to mypy
    message = b"x" * size

    class Echo(protocol.Protocol):
        def dataReceived(self, data: bytes) -> None:
            cast(Any, self.transport).write(data)

    class Client(protocol.Protocol):
        def connectionMade(self) -> None:
            self.left, self.received = messages, b""
            cast(Any, self.transport).write(message)

        def dataReceived(self, data: bytes) -> None:
            self.received += data
            if len(self.received) < size:
                return
            done = cast(Any, self.factory).done
            if self.received != message:
                done.errback(ValueError("a wrong echo came back"))
                return
            self.received, self.left = b"", self.left - 1
            if self.left:
                cast(Any, self.transport).write(message)
            else:
                cast(Any, self.transport).loseConnection()
                done.callback(None)

    class Clients(protocol.ClientFactory):
        protocol = Client

        def __init__(self) -> None:
            self.done: defer.Deferred[None] = defer.Deferred()

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
    waits = []
    outcome: dict[str, Any] = {"loop": loop, "reactor": type(reactor).__name__}
    start = time.perf_counter()
    for _ in range(clients):
        factory = Clients()
        waits.append(factory.done)
        reactor.connectTCP("127.0.0.1", port.getHost().port, factory)

    def finished(result: Any) -> None:
        outcome["seconds"] = time.perf_counter() - start
        outcome["round_trips"] = clients * messages
        if result is not None and not isinstance(result, list):  # a Failure
            outcome["error"] = str(getattr(result, "value", result))
        reactor.stop()

    defer.gatherResults(waits, consumeErrors=True).addBoth(finished)
    reactor.callLater(60, reactor.stop)  # never hang a notebook
    reactor.run()
    if "seconds" not in outcome:
        outcome["error"] = "did not finish within 60 s"
    return outcome


def compare_twisted_loops(
    loops: tuple[str, ...] = TWISTED_LOOPS, clients: int = 10, messages: int = 500
) -> dict[str, dict[str, Any]]:
    """Run the Twisted echo on each loop, one fresh process each; figures by loop.

    Raises:
        LabError: Twisted is not installed, or a run failed.
    """
    unknown = set(loops) - set(TWISTED_LOOPS)
    if unknown:
        raise LabError(f"loops must be among {', '.join(TWISTED_LOOPS)}, not {sorted(unknown)}")
    return {loop: run_in_a_process(loop, clients, messages) for loop in loops}


def run_in_a_process(
    loop: str, clients: int, messages: int, cpu: int | None = None
) -> dict[str, Any]:
    """`run_twisted_echo` in a fresh Python process (pinned to `cpu` if given).

    Raises:
        LabError: Twisted is not installed, or the run failed.
    """
    argv = [sys.executable, "-m", __name__, loop, "--clients", str(clients)]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    proc = subprocess.run(
        [*argv, "--messages", str(messages)],
        capture_output=True,
        text=True,
        timeout=120,  # the run stops itself after 60 s (see run_twisted_echo)
        preexec_fn=pin,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"the Twisted run on {loop!r} failed: {proc.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in result:
        raise LabError(f"the Twisted run on {loop!r} failed: {result['error']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("loop", choices=TWISTED_LOOPS)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args(argv)
    try:
        import twisted  # noqa: F401
    except ImportError:
        print("Twisted is not installed: pip install twisted", file=sys.stderr)
        return 2
    print(json.dumps(run_twisted_echo(args.loop, args.clients, args.messages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
