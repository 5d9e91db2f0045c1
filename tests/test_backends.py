"""The backend interface, tested directly on every backend (no reactor).

Like CPython's selectors tests, one set of tests runs against each backend:
register, modify, unregister, readiness of pipes and sockets, timeouts, and
wake-ups from another thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from minireactor.backends import (
    READ,
    TROUBLE,
    WRITE,
    Backend,
    available_backends,
    backend_class,
    create_backend,
)
from minireactor.backends.select import FD_SETSIZE, SelectBackend
from minireactor.backends.waker import Waker
from minireactor.errors import BackendError, FileDescriptorTooLarge

pytestmark = pytest.mark.timeout(20)


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    b = create_backend(request.param)
    yield b
    b.close()


def poll_until(backend: Backend, want: int, timeout: float = 5.0) -> list[tuple[int, int]]:
    """Poll until something is reported (the threaded backend reports asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = backend.poll(0.1)
        if ready:
            return ready
    return []


def test_registry_lists_working_backends_best_first() -> None:
    names = available_backends()
    assert "select" in names and "threaded" in names
    assert names.index("select") > names.index("poll")
    if "epoll" in names:
        assert names[0] == "epoll"


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="unknown backend 'nope'"):
        create_backend("nope")


def test_environment_variable_chooses_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIREACTOR_BACKEND", "select")
    b = create_backend("auto")
    try:
        assert b.name == "select"
    finally:
        b.close()


def test_readable_pipe_is_reported(backend: Backend, pipe: tuple[int, int]) -> None:
    r, w = pipe
    backend.register(r, READ)
    assert backend.poll(0) == []
    os.write(w, b"x")
    assert poll_until(backend, READ) == [(r, READ)]


def test_writable_and_modify(backend: Backend, pipe: tuple[int, int]) -> None:
    _r, w = pipe
    backend.register(w, WRITE)
    assert poll_until(backend, WRITE) == [(w, WRITE)]
    backend.modify(w, READ)  # a pipe's write end never becomes readable
    assert backend.poll(0.05) == []


def test_unregister_stops_reports(backend: Backend, pipe: tuple[int, int]) -> None:
    r, w = pipe
    backend.register(r, READ)
    backend.unregister(r)
    os.write(w, b"x")
    assert backend.poll(0.05) == []
    with pytest.raises(KeyError):
        backend.unregister(r)


def test_double_register_is_refused(backend: Backend, pipe: tuple[int, int]) -> None:
    r, _ = pipe
    backend.register(r, READ)
    with pytest.raises(KeyError):
        backend.register(r, READ)
    backend.unregister(r)


def test_timeout_is_respected(backend: Backend) -> None:
    start = time.monotonic()
    assert backend.poll(0.1) == []
    assert time.monotonic() - start >= 0.09


def test_a_waker_registered_like_any_reader_ends_a_long_wait(backend: Backend) -> None:
    # The loop core owns the waker; to a backend it is just another reader.
    waker = Waker()
    backend.register(waker.fileno(), READ)
    try:
        timer = threading.Timer(0.1, waker.wake)
        timer.start()
        start = time.monotonic()
        assert backend.poll(10.0) == [(waker.fileno(), READ)]
        assert time.monotonic() - start < 5.0
        timer.join()
        waker.drain()
        assert backend.poll(0) == []  # drained: no longer ready
    finally:
        backend.unregister(waker.fileno())
        waker.close()


def test_a_backend_is_five_methods_and_no_waker() -> None:
    for name in available_backends():
        cls = backend_class(name)
        assert not hasattr(cls, "wakeup"), f"{name} still knows about wake-ups"


def test_hangup_is_reported_as_readable(backend: Backend) -> None:
    a, b = socket.socketpair()
    try:
        backend.register(a.fileno(), READ)
        b.close()
        ready = poll_until(backend, READ)
        assert ready and ready[0][0] == a.fileno() and ready[0][1] & (READ | TROUBLE)
        assert a.recv(10) == b""  # ...and the read tells what happened
        backend.unregister(a.fileno())
    finally:
        a.close()


def test_select_refuses_descriptors_at_fd_setsize() -> None:
    backend = SelectBackend()
    fds = []
    try:
        # Make sure some descriptor reaches FD_SETSIZE (the soft limit here is higher).
        fd = os.open(os.devnull, os.O_RDONLY)
        fds.append(fd)
        high = os.dup2(fd, FD_SETSIZE + 5)
        fds.append(high)
        with pytest.raises(FileDescriptorTooLarge) as info:
            backend.register(high, READ)
        message = str(info.value)
        assert "FD_SETSIZE=1024" in message and "poll" in message and "epoll" in message
    finally:
        for fd in fds:
            os.close(fd)
        backend.close()


def test_a_backend_object_or_class_plugs_into_a_reactor() -> None:
    from minireactor import Reactor
    from minireactor.backends.poll import PollBackend

    class MyPoll(PollBackend):
        name = "mine"

    for given in (MyPoll, MyPoll()):
        reactor = Reactor(backend=given)
        try:
            assert reactor.backend_name == "mine"
            done: list[int] = []
            reactor.call_soon(done.append, 1)
            reactor.iterate(0)
            assert done == [1]
        finally:
            reactor.close()
    with pytest.raises(BackendError, match="not int"):
        create_backend(3)  # type: ignore[arg-type]
