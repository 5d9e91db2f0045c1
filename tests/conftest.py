"""Shared fixtures: every reactor test runs once per available backend.

The `reactor` fixture is parametrised over `minireactor.available_backends()`,
so a test named `test_echo` appears as `test_echo[select]`, `test_echo[epoll]`,
... (Twisted's ReactorBuilder idea, done with pytest). `spin(reactor, until)`
drives a reactor one pass at a time until a condition holds, failing the test
with a clear message instead of hanging.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator

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


def open_fds() -> int:
    """How many descriptors this process has open (Linux: /proc/self/fd)."""
    return len(os.listdir("/proc/self/fd"))


def fuzz_examples(default: int) -> int:
    """Hypothesis examples for a fuzz test: `default` in the suite, more on demand.

    `python -m benchmarks.fuzz` sets MINIREACTOR_FUZZ_EXAMPLES for a long run.
    """
    return int(os.environ.get("MINIREACTOR_FUZZ_EXAMPLES", default))


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
    """The name of each available backend in turn."""
    return str(request.param)


@pytest.fixture
def reactor(backend: str) -> Iterator[Reactor]:
    """A fresh reactor on each available backend, closed after the test."""
    r = Reactor(backend=backend)
    try:
        yield r
    finally:
        r.close()
