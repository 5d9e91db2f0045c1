"""Tests that kill mutmut survivors in minireactor/backends/ (see scripts/mutation.py).

Each asks one backend (every available one, via the conftest `backend`
fixture) a question `test_backends.py` left open: does it keep reporting
after the first event, does `modify` take effect, is a bare hang-up on a
pipe (POLLHUP without POLLIN) still reported as readable.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from minireactor import backends as backends_module
from minireactor.backends import READ, TROUBLE, WRITE, Backend, backend_class, create_backend
from minireactor.backends.poll import PollBackend
from minireactor.backends.select import FD_SETSIZE, SelectBackend
from minireactor.backends.threaded import ThreadedBackend
from minireactor.errors import BackendError, FileDescriptorTooLarge

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def waiter(backend: str) -> Iterator[Backend]:
    if backend == "tk":
        pytest.skip("the tk backend is hosted on Tk's loop; test_tk_backend.py covers it")
    b = create_backend(backend)
    yield b
    b.close()


def poll_until(backend: Backend, timeout: float = 5.0) -> list[tuple[int, int]]:
    """Poll until something is reported (the threaded backend reports asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = backend.poll(0.1)
        if ready:
            return ready
    return []


def test_every_new_event_is_reported_not_just_the_first(
    waiter: Backend, pipe: tuple[int, int]
) -> None:
    r, w = pipe
    waiter.register(r, READ)
    for round_ in range(3):
        os.write(w, b"x")
        assert poll_until(waiter) == [(r, READ)], f"round {round_}"
        assert os.read(r, 10) == b"x"


def test_modify_takes_effect_for_the_next_event(waiter: Backend, pipe: tuple[int, int]) -> None:
    r, w = pipe
    waiter.register(r, READ)
    assert waiter.poll(0.05) == []
    waiter.modify(r, READ)  # the same events again: still watched
    os.write(w, b"x")
    assert poll_until(waiter) == [(r, READ)]


def test_a_bare_hangup_on_a_pipe_is_readable(waiter: Backend, pipe: tuple[int, int]) -> None:
    r, w = pipe
    waiter.register(r, READ)
    os.close(w)  # POLLHUP alone: no data, so no POLLIN
    ready = poll_until(waiter)
    assert len(ready) == 1 and ready[0][0] == r and ready[0][1] & (READ | TROUBLE)
    assert os.read(r, 10) == b""  # ...and the read tells what happened


@pytest.mark.parametrize("timeout", [0.0005, 0.0015, 0.02])
def test_an_empty_poll_never_returns_before_its_timeout(waiter: Backend, timeout: float) -> None:
    """Rounding a timeout down would wake the loop early, again and again, until a timer is due."""
    for _ in range(3):
        started = time.monotonic()
        assert waiter.poll(timeout) == []
        assert time.monotonic() - started >= timeout


def test_modify_to_other_events_and_to_none(waiter: Backend) -> None:
    """A watch moved from READ to WRITE reports WRITE; a watch for nothing reports nothing."""
    a, b = socket.socketpair()
    try:
        waiter.register(a.fileno(), READ)
        assert waiter.poll(0.05) == []  # writable, but only READ is wanted
        waiter.modify(a.fileno(), WRITE)
        assert poll_until(waiter) == [(a.fileno(), WRITE)]
        waiter.modify(a.fileno(), 0)
        b.send(b"x")
        assert waiter.poll(0.2) == []  # readable and writable, watched for neither
        waiter.modify(a.fileno(), READ)
        assert poll_until(waiter) == [(a.fileno(), READ)]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("first", [READ, WRITE])
def test_only_the_events_watched_now_are_reported(waiter: Backend, first: int) -> None:
    """A socket both readable and writable, watched for one event, then moved to the other."""
    a, b = socket.socketpair()
    try:
        b.send(b"x")  # `a` is readable and writable from here on
        fd = a.fileno()
        other = WRITE if first == READ else READ
        waiter.register(fd, first)
        assert poll_until(waiter) == [(fd, first)]
        waiter.modify(fd, other)
        assert poll_until(waiter) == [(fd, other)]
        waiter.modify(fd, READ | WRITE)
        assert poll_until(waiter) == [(fd, READ | WRITE)]
        waiter.unregister(fd)
        assert waiter.poll(0.1) == []  # unregistered: never reported again
    finally:
        a.close()
        b.close()


def test_registering_twice_is_refused_by_name(waiter: Backend, pipe: tuple[int, int]) -> None:
    r, _ = pipe
    waiter.register(r, READ)
    with pytest.raises(KeyError, match=f"^'descriptor {r} is already registered'$"):
        waiter.register(r, READ)


def test_no_timeout_means_wait_for_the_event(waiter: Backend, pipe: tuple[int, int]) -> None:
    """poll(None) blocks until something happens, however long: never an early empty answer."""
    r, w = pipe
    waiter.register(r, READ)
    writer = threading.Timer(1.2, os.write, (w, b"x"))  # longer than any rounding to a second
    writer.start()
    try:
        assert waiter.poll(None) == [(r, READ)]
    finally:
        writer.join()


# -- the select backend's descriptor limit ----------------------------------------


def test_select_refuses_descriptors_from_fd_setsize_on() -> None:
    backend = SelectBackend()
    try:
        backend.register(FD_SETSIZE - 1, READ)  # no system call at registration
        with pytest.raises(FileDescriptorTooLarge, match=f"descriptor {FD_SETSIZE}: select"):
            backend.register(FD_SETSIZE, READ)
    finally:
        backend.unregister(FD_SETSIZE - 1)


# -- the threaded backend's watcher threads ---------------------------------------


def _watcher_threads(fd: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"minireactor-watcher-fd{fd}"]


def _cpu_seconds(thread: threading.Thread) -> float:
    """CPU time a thread has run so far (Linux: /proc/self/task/TID/schedstat, in ns)."""
    schedstat = Path(f"/proc/self/task/{thread.native_id}/schedstat")
    return int(schedstat.read_text().split()[0]) / 1e9


@pytest.mark.skipif(not hasattr(select, "poll"), reason="the threaded backend needs poll(2)")
def test_watcher_threads_are_named_daemons_that_close_stops(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    backend = ThreadedBackend()
    backend.register(r, READ)
    (watcher,) = _watcher_threads(r)
    assert watcher.daemon  # a forgotten reactor must not keep the interpreter alive
    backend.close()
    assert not watcher.is_alive() and not _watcher_threads(r)


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or not hasattr(select, "poll"),
    reason="needs Linux's per-thread CPU times and poll(2)",
)
def test_an_idle_watcher_thread_sleeps_and_does_not_spin(pipe: tuple[int, int]) -> None:
    """A watcher waits in poll(2) for its descriptor or its interrupt, using no CPU."""
    r, _ = pipe
    backend = ThreadedBackend()
    try:
        backend.register(r, READ)
        (watcher,) = _watcher_threads(r)
        assert backend.poll(0.05) == []  # the watcher is now waiting
        before = _cpu_seconds(watcher)
        assert backend.poll(0.3) == []
        assert _cpu_seconds(watcher) - before < 0.03  # a spinning thread takes ~0.3 s
    finally:
        backend.close()


def test_a_descriptor_closed_before_it_is_unregistered_is_let_go(waiter: Backend) -> None:
    """Closing first is common (a transport's abort): epoll has then forgotten it already."""
    r, w = os.pipe()
    waiter.register(r, READ)
    os.close(r)
    os.close(w)
    waiter.unregister(r)  # no error
    assert waiter.poll(0.05) == []


@pytest.mark.skipif(not hasattr(select, "poll"), reason="the threaded backend needs poll(2)")
def test_a_stale_report_is_dropped_and_the_rest_of_the_batch_kept() -> None:
    """A watcher that reported, then was unregistered before poll() took the report:
    its event is dropped, and the events queued after it still arrive."""
    backend = ThreadedBackend()
    (r1, w1), (r2, w2) = os.pipe(), os.pipe()
    try:
        backend.register(r1, READ)
        os.write(w1, b"x")
        _until(lambda: backend._watchers[r1]._delivered)  # the report is queued
        backend.unregister(r1)
        backend.register(r2, READ)
        os.write(w2, b"x")
        _until(lambda: backend._watchers[r2]._delivered)  # queued after the stale one
        assert backend.poll(0) == [(r2, READ)]
    finally:
        backend.close()
        for fd in (r1, w1, r2, w2):
            os.close(fd)


def _until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the watcher thread did not report"
        time.sleep(0.001)  # another thread's progress: nothing to await here


# -- choosing a backend by name (backends/__init__.py) ----------------------------


def test_an_unknown_backend_is_refused_with_the_known_ones() -> None:
    known = [cls.name for cls in backends_module._ALL]
    with pytest.raises(BackendError) as raised:
        create_backend("nonesuch")
    assert str(raised.value) == f"unknown backend 'nonesuch'; known backends are {known}"


def test_an_unavailable_backend_is_refused_with_its_reason_and_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PollBackend, "is_available", classmethod(lambda cls: False))
    choices = backends_module.available_backends()
    with pytest.raises(BackendError) as raised:
        backend_class("poll")
    assert str(raised.value) == (
        f"the 'poll' backend is not available on this machine; choose one of {choices}"
    )
    monkeypatch.setattr(
        PollBackend, "unavailable_reason", classmethod(lambda cls: "no poll(2)"), raising=False
    )
    with pytest.raises(BackendError) as raised:
        backend_class("poll")
    assert str(raised.value) == (
        f"the 'poll' backend is not available on this machine (no poll(2)); "
        f"choose one of {choices}"
    )


def test_auto_is_the_default_and_means_the_best_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The environment's choice is test_backends.py's test_environment_variable_chooses_auto.)"""
    monkeypatch.delenv("MINIREACTOR_BACKEND", raising=False)
    best = create_backend()
    try:
        assert best.name == backends_module.available_backends()[0]
    finally:
        best.close()


class _RecordingPoller:
    """Stands in for select.poll(): records the timeout each wait is given."""

    def __init__(self) -> None:
        self.asked: list[int | None] = []

    def poll(self, ms: int | None) -> list[tuple[int, int]]:
        self.asked.append(ms)
        return []


class _RecordedPoll(PollBackend):
    def _new_poller(self) -> Any:  # the hook epoll.py also uses
        return _RecordingPoller()


def test_poll_turns_seconds_into_whole_milliseconds_rounding_up() -> None:
    """poll(2) counts milliseconds: 0 stays 0 (a pass with work ready must not sleep),
    a part of a millisecond is a whole one (never wake before a timer is due), and
    whole milliseconds stay exact."""
    backend = _RecordedPoll()
    for seconds in (0, 0.0003, 0.001, 0.0015, 1.0, 2.5, None):
        backend.poll(seconds)
    assert backend._poller.asked == [0, 1, 1, 2, 1000, 2500, None]
