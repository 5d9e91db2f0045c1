"""The core's dispatch: from the backend's `(fd, events)` answer to callbacks.

A backend answers in descriptor numbers (backends/base.py); the core looks
each up as it dispatches (core.py `_dispatch`). These tests pin what that
lookup must get right on every backend: trouble runs both callbacks, a
number reused within one pass never receives its predecessor's event, and a
number that is not registered is ignored rather than crashing the loop.
"""

from __future__ import annotations

import contextlib
import os
import select
from typing import Any

import pytest
from conftest import spin

from minireactor import Reactor
from minireactor.backends import READ, TROUBLE, WRITE
from minireactor.backends.select import SelectBackend

pytestmark = pytest.mark.timeout(30)


def test_the_readiness_bits_are_the_kernels_own() -> None:
    """poll and epoll hand the kernel's list on untouched: the values must agree."""
    assert (READ, WRITE) == (select.POLLIN, select.POLLOUT)
    assert TROUBLE == select.POLLERR | select.POLLHUP | select.POLLNVAL
    if hasattr(select, "epoll"):
        assert (READ, WRITE) == (select.EPOLLIN, select.EPOLLOUT)
        assert select.EPOLLERR | select.EPOLLHUP == select.POLLERR | select.POLLHUP


def test_a_bare_hangup_runs_the_reader(reactor: Reactor, pipe: tuple[int, int]) -> None:
    r, w = pipe
    read: list[bytes] = []
    reactor.add_reader(r, lambda: read.append(os.read(r, 10)))
    os.close(w)  # POLLHUP alone: no data, so no POLLIN
    spin(reactor, lambda: bool(read))
    assert read[0] == b""
    reactor.remove_reader(r)


@pytest.mark.parametrize("timed", [False, True], ids=["plain", "instrumented"])
def test_a_descriptor_number_reused_within_a_pass_never_gets_the_old_event(
    reactor: Reactor, timed: bool
) -> None:
    """Whichever of two ready pipes runs first closes the other and reuses its number.

    The kernel reported the old pipe as readable; the new pipe on the same
    number has nothing to read, so a call to its reader is a stale event
    delivered to the wrong descriptor (a blocking read there would hang).
    """
    if timed:  # dispatch through instrument.TimedCalls, which must skip the same events
        reactor.slow_callback_duration = 10.0
    first, second = os.pipe(), os.pipe()
    for _, w in (first, second):
        os.write(w, b"x")
    spurious: list[int] = []
    fresh: list[tuple[int, int]] = []

    def take_over(mine: int, other: int) -> None:
        os.read(mine, 1)
        for fd in (first[0], second[0]):
            reactor.remove_reader(fd)
        new_r, new_w = os.pipe()
        os.dup2(new_r, other)  # the other pipe's number now names the new pipe
        os.close(new_r)
        fresh.append((other, new_w))
        reactor.add_reader(other, lambda: spurious.append(other))

    reactor.add_reader(first[0], take_over, first[0], second[0])
    reactor.add_reader(second[0], take_over, second[0], first[0])
    try:
        spin(reactor, lambda: bool(fresh))
        for _ in range(3):
            reactor.iterate(0.02)
        assert spurious == [], "the old pipe's event reached the new one"
        assert len(fresh) == 1
    finally:
        for fd in fresh[0] if fresh else ():
            reactor.remove_reader(fd)
        for fd in {*first, *second, *(fresh[0] if fresh else ())}:
            with contextlib.suppress(OSError):
                os.close(fd)


class Unexpected(SelectBackend):
    """A select backend that also reports a descriptor nobody registered."""

    name = "unexpected"

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        return [(987, READ | WRITE), *super().poll(timeout)]


def test_an_unregistered_number_is_ignored_not_a_crash(pipe: tuple[int, int]) -> None:
    """epoll watches open files, not numbers: a closed descriptor's duplicate can be reported."""
    reactor = Reactor(backend=Unexpected())
    r, w = pipe
    got: list[Any] = []
    try:
        reactor.add_reader(r, lambda: got.append(os.read(r, 10)))
        os.write(w, b"x")
        spin(reactor, lambda: bool(got))
        assert got == [b"x"]
    finally:
        reactor.remove_reader(r)
        reactor.close()
