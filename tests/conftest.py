"""Shared fixtures: every reactor test runs once per available backend.

The `reactor` fixture is parametrised over `minireactor.available_backends()`,
so a test named `test_echo` appears as `test_echo[select]`, `test_echo[epoll]`,
... (Twisted's ReactorBuilder idea, done with pytest). `spin(reactor, until)`
drives a reactor one pass at a time until a condition holds, failing the test
with a clear message instead of hanging.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import importlib.util
import os
import shutil
import signal
import ssl
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import minireactor
from minireactor import Reactor

# A shell starts background jobs with SIGINT ignored, and an ignored signal
# stays ignored in every child. Tests that press Ctrl+C (on this process or
# on a server they start) need Python's usual KeyboardInterrupt, wherever
# pytest was started from; children then start with the default action.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

BACKENDS = minireactor.available_backends()
# Every backend that waits by itself, whether or not this machine has it: the
# missing ones (kqueue on Linux, epoll on macOS) show up as skipped, with why.
_STANDALONE = ["epoll", "kqueue", "poll", "select", "threaded"]
BACKEND_PARAMS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            name not in BACKENDS,
            reason=f"select.{name} does not exist on this operating system ({sys.platform})",
        ),
    )
    for name in _STANDALONE
]


def tk_skip_reason() -> str | None:
    """Why the `tk` backend cannot be tested here (None: it can, on a display or an Xvfb).

    Decided at collection, before any display is started: DISPLAY is set, or
    Xvfb is installed and `tk_display` will start one.
    """
    from minireactor.backends.tk import tk_problem

    problem = tk_problem()
    if problem is None:
        return None
    # Decided from the facts, not from the message's words (a reworded
    # message must not skip every Tk test): tkinter is there, DISPLAY is not.
    tkinter_here = importlib.util.find_spec("_tkinter") is not None
    if tkinter_here and not os.environ.get("DISPLAY") and shutil.which("Xvfb"):
        return None  # tk_display starts a virtual one
    return f"no GUI here: {problem}"


_TK_SKIP = tk_skip_reason()
# The tk backend waits through Tk's event loop (Tcl's notifier), so it runs the
# same tests, on a real display or on the Xvfb that `tk_display` starts.
BACKEND_PARAMS.append(
    pytest.param("tk", marks=pytest.mark.skipif(_TK_SKIP is not None, reason=_TK_SKIP or ""))
)


@pytest.fixture(scope="session")
def tk_display() -> Iterator[str]:
    """A display for Tk: DISPLAY as it is, or an Xvfb started for this session.

    Also opens (and destroys) one Tk window first: Tk keeps its display
    connection and notifier thread for the life of the process, so the
    descriptor counts of the tests do not see the first window's three.
    """
    if _TK_SKIP is not None:
        pytest.skip(_TK_SKIP)
    from minireactor.lab.display import VirtualDisplay

    started = None
    if not os.environ.get("DISPLAY"):
        started = VirtualDisplay()
        started.start()
    import tkinter

    first = tkinter.Tk()
    first.update()
    first.destroy()
    try:
        yield os.environ["DISPLAY"]
    finally:
        if started is not None:
            started.stop()


def open_fds() -> int:
    """How many descriptors this process has open (Linux: /proc/self/fd)."""
    return len(os.listdir("/proc/self/fd"))


def fuzz_examples(default: int) -> int:
    """Hypothesis examples for a fuzz test: `default` in the suite, more on demand.

    `python -m benchmarks.fuzz` sets MINIREACTOR_FUZZ_EXAMPLES for a long run.
    """
    return int(os.environ.get("MINIREACTOR_FUZZ_EXAMPLES", default))


def _uses_tk(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return "tk_display" in getattr(item, "fixturenames", ()) or (
        callspec is not None and callspec.params.get("backend") == "tk"
    )


def pytest_configure(config: pytest.Config) -> None:
    """`kill -USR1` makes every test process print all its threads' stacks.

    dev.py sends it when a run outlives its time budget, so a hang in CI
    says where it hangs before the run is ended. Written to a copy of the
    real stderr: during a test, pytest points descriptor 2 at its capture.
    """
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=os.dup(2), all_threads=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tk tests time out by the thread method: it ends the stuck process.

    A test stuck inside Tcl's wait (the main thread in its notifier) never
    returns to Python, so the default signal method's exception never comes
    and the run would hang. The thread method prints every stack and ends
    the process; under xdist the worker is replaced and the run goes on.
    """
    for item in items:
        if _uses_tk(item):
            marker = item.get_closest_marker("timeout")
            seconds = marker.args[0] if marker is not None and marker.args else None
            item.add_marker(pytest.mark.timeout(seconds, method="thread"), append=False)


@pytest.fixture(autouse=True)
def _tk_windows_die_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a Tk test, collect its garbage on this (the Tk) thread.

    Tcl aborts the process when a thread other than the one that made an
    interpreter deletes it, and a test's root often sits in a reference cycle
    (a timer callback that re-arms itself), so the next collection frees it,
    on whichever thread runs it: a server's reactor thread in the next test
    took a pytest worker down that way. The lab's own windows are freed by
    `minireactor.lab.tk_root`; this covers the roots tests make themselves,
    which their variables keep alive until the test returns.
    """
    yield
    if _uses_tk(request.node):
        gc.collect()


@pytest.fixture(scope="module")
def ca() -> Any:
    """A test certificate authority (trustme), for the TLS tests."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: Any) -> ssl.SSLContext:
    """A server TLS context with a certificate for localhost and 127.0.0.1, signed by `ca`."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_context(ca: Any) -> ssl.SSLContext:
    """A client TLS context that trusts `ca`."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def spin(reactor: Reactor, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run `reactor` one pass at a time until `until()` is true.

    Raises:
        AssertionError: the condition did not hold within `timeout` seconds.
    """
    deadline = reactor.seconds() + timeout
    while not until():
        if reactor.seconds() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        reactor.iterate(0.05)


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of each available backend in turn (for tk, on a display)."""
    if request.param == "tk":
        request.getfixturevalue("tk_display")
    return str(request.param)


@pytest.fixture
def reactor(backend: str) -> Iterator[Reactor]:
    """A fresh reactor on each available backend, closed after the test."""
    r = Reactor(backend=backend)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe's (read, write) descriptors, closed after the test if it has not."""
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        with contextlib.suppress(OSError):
            os.close(fd)
