"""The waker (backends/waker.py): a descriptor any thread can make readable.

Both kinds are tested wherever they run: Linux's eventfd, and the self-pipe
used elsewhere (forced here by hiding `os.eventfd`). What is pinned: a new
waker is quiet, a wake-up makes it readable, one `drain()` consumes any
number of wake-ups and never blocks, `wake()` never blocks either, the
descriptors are not inherited by child processes, `close()` releases them
once, and a wake-up after `close()` writes nothing (the number may belong to
another file by then).

Read next: `test_backends.py` (a waker registered with every backend).
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from minireactor.backends.waker import Waker

pytestmark = pytest.mark.timeout(10)  # a blocking descriptor hangs: fail fast

KINDS = ["eventfd", "pipe"] if hasattr(os, "eventfd") else ["pipe"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pipe":
        monkeypatch.delattr(os, "eventfd", raising=False)
    return str(request.param)


@pytest.fixture
def waker(kind: str) -> Iterator[Waker]:
    w = Waker()
    yield w
    w.close()


def readable(waker: Waker) -> bool:
    return bool(select.select([waker.fileno()], [], [], 0)[0])


def open_descriptors() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def test_a_new_waker_is_quiet_and_a_wake_up_makes_it_readable(waker: Waker) -> None:
    assert not readable(waker)
    waker.wake()
    assert readable(waker)
    waker.drain()
    assert not readable(waker)


def test_one_drain_consumes_any_number_of_wake_ups(waker: Waker) -> None:
    for _ in range(3000):  # 24,000 bytes in a pipe: more than one read's worth
        waker.wake()
    waker.drain()
    assert not readable(waker)


def test_drain_with_nothing_pending_returns_at_once(waker: Waker) -> None:
    waker.drain()  # a blocking descriptor would hang here
    waker.wake()
    waker.drain()
    waker.drain()
    assert not readable(waker)


def test_wake_never_blocks_even_when_nobody_drains(waker: Waker) -> None:
    for _ in range(20_000):  # 160,000 bytes: more than a pipe holds
        waker.wake()
    assert readable(waker)


def test_the_descriptors_are_not_inherited_by_child_processes(waker: Waker) -> None:
    assert not os.get_inheritable(waker.fileno())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_eventfd_costs_one_descriptor_a_pipe_two_and_close_releases_them(kind: str) -> None:
    before = open_descriptors()
    waker = Waker()
    assert len(open_descriptors() - before) == (1 if kind == "eventfd" else 2)
    waker.close()
    waker.close()  # a second close is harmless: it must not close a reused number
    assert open_descriptors() == before


def test_a_wake_up_after_close_writes_nothing_to_whoever_has_the_number_now(
    kind: str,
) -> None:
    waker = Waker()
    number = waker.fileno()
    waker.close()
    a, b = socket.socketpair()  # takes the lowest free numbers: the waker's, now
    try:
        assert number in (a.fileno(), b.fileno())
        waker.wake()  # e.g. call_from_thread racing with the reactor's close()
        for s in (a, b):
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(100)  # nothing arrived on either end
    finally:
        a.close()
        b.close()


def test_wake_ups_from_many_threads_while_closing_never_fail(kind: str) -> None:
    waker = Waker()
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(2000):
                waker.wake()
        except BaseException as exc:  # the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    waker.close()
    for t in threads:
        t.join()
    assert errors == []
