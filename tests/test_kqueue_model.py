"""The kqueue backend, tested on Linux against a model of kqueue(2) (`kqueue_model.py`).

kqueue exists only on macOS and the BSDs, so on Linux the matrix skips it
and, until this file, nothing here could notice a bug in `kqueue.py`. Here
the same questions are asked of it over the model:

* the backend interface tests of `test_backends.py` and
  `test_backends_mutants.py`, collected again with a kqueue `backend`;
* transport tests (TCP, UDP, Unix) with a reactor on it;
* what only kqueue has: filters added and deleted one by one, two events
  of one descriptor merged into one report, a wait on nothing that still
  sleeps, a descriptor closed before it is unregistered.

Two bugs were found this way, both invisible on Linux: a backend watching
nothing returned from `poll(timeout)` at once (kevent(2) does not wait with
no room for an event), and unregistering a descriptor that was already
closed raised (the kernel had dropped its filters at close(2)).

On a Mac the model is not used: `pytest tests/test_backends.py -k kqueue`
runs the same interface tests on the real kernel.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Iterator

import kqueue_model
import pytest
from test_backends import (  # noqa: F401 - collected again here, on kqueue
    test_a_waker_registered_like_any_reader_ends_a_long_wait,
    test_double_register_is_refused,
    test_hangup_is_reported_as_readable,
    test_readable_pipe_is_reported,
    test_timeout_is_respected,
    test_unregister_stops_reports,
    test_writable_and_modify,
)
from test_backends_mutants import (  # noqa: F401
    test_a_bare_hangup_on_a_pipe_is_readable,
    test_a_descriptor_closed_before_it_is_unregistered_is_let_go,
    test_an_empty_poll_never_returns_before_its_timeout,
    test_every_new_event_is_reported_not_just_the_first,
    test_modify_takes_effect_for_the_next_event,
    test_modify_to_other_events_and_to_none,
    test_no_timeout_means_wait_for_the_event,
    test_only_the_events_watched_now_are_reported,
    test_registering_twice_is_refused_by_name,
)
from test_tcp import (  # noqa: F401
    test_200_concurrent_clients,
    test_callback_order_and_clean_close,
    test_echo_16_mib_byte_for_byte,
    test_half_close_peer_still_answers,
    test_peer_reset_arrives_as_connection_lost,
    test_refused_connection_reaches_the_factory,
)
from test_udp import test_thousand_datagrams_none_lost  # noqa: F401
from test_unix import test_one_mebibyte_echo  # noqa: F401

from minireactor import Reactor
from minireactor.backends import READ, WRITE
from minireactor.backends.kqueue import KqueueBackend

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        hasattr(select, "kqueue"), reason="the real kqueue is here: test_backends.py tests it"
    ),
]

@pytest.fixture(autouse=True)
def _model(monkeypatch: pytest.MonkeyPatch) -> None:
    kqueue_model.install(monkeypatch)


@pytest.fixture
def backend() -> Iterator[KqueueBackend]:
    b = KqueueBackend()
    yield b
    b.close()


@pytest.fixture
def waiter(backend: KqueueBackend) -> KqueueBackend:
    return backend


@pytest.fixture
def reactor() -> Iterator[Reactor]:
    r = Reactor(backend=KqueueBackend())
    assert r.backend_name == "kqueue"
    try:
        yield r
    finally:
        r.close()


def changes(backend: KqueueBackend) -> list[tuple[int, int, int]]:
    """The change records the backend gave the kernel so far, as (fd, filter, flags)."""
    kq = backend._kqueue
    assert isinstance(kq, kqueue_model.kqueue)
    seen = [(c.ident, c.filter, c.flags) for c in kq.changes]
    kq.changes.clear()
    return seen


# -- what only kqueue has --------------------------------------------------------------

ADD, DELETE = kqueue_model.KQ_EV_ADD, kqueue_model.KQ_EV_DELETE
R, W = kqueue_model.KQ_FILTER_READ, kqueue_model.KQ_FILTER_WRITE


def test_available_only_where_select_has_kqueue(monkeypatch: pytest.MonkeyPatch) -> None:
    from minireactor.backends import kqueue as kqueue_backend

    assert KqueueBackend.is_available()  # under the model
    monkeypatch.setattr(kqueue_backend, "select", select)  # Linux's own select module
    assert not KqueueBackend.is_available()


def test_each_event_is_a_filter_added_and_deleted_on_its_own(
    backend: KqueueBackend, pipe: tuple[int, int]
) -> None:
    r, _ = pipe
    backend.register(r, READ)
    assert changes(backend) == [(r, R, ADD)]
    backend.modify(r, READ | WRITE)
    assert changes(backend) == [(r, W, ADD)]  # READ is already there
    backend.modify(r, WRITE)
    assert changes(backend) == [(r, R, DELETE)]
    backend.modify(r, WRITE)
    assert changes(backend) == []  # nothing changed: no call
    backend.modify(r, READ)
    assert changes(backend) == [(r, R, ADD), (r, W, DELETE)]
    backend.unregister(r)
    assert changes(backend) == [(r, R, DELETE)]
    backend.register(r, 0)  # watched for nothing yet: no filter
    assert changes(backend) == []
    backend.unregister(r)


def test_a_closed_descriptor_is_refused_and_not_kept(backend: KqueueBackend) -> None:
    r, w = os.pipe()
    os.close(r)
    with pytest.raises(OSError) as refused:  # as epoll refuses it; poll(2) would not notice
        backend.register(r, READ)
    assert refused.value.errno == errno.EBADF
    again, w2 = os.pipe()  # the lowest free number: r's
    try:
        assert again == r
        backend.register(again, READ)  # not "already registered"
        os.write(w2, b"x")
        assert backend.poll(1.0) == [(again, READ)]
        backend.unregister(again)
    finally:
        for fd in (w, again, w2):
            os.close(fd)


def test_a_descriptor_both_readable_and_writable_is_one_report(backend: KqueueBackend) -> None:
    a, b = socket.socketpair()
    try:
        b.send(b"x")
        backend.register(a.fileno(), READ | WRITE)
        assert backend.poll(1.0) == [(a.fileno(), READ | WRITE)]
        backend.modify(a.fileno(), WRITE)
        assert backend.poll(1.0) == [(a.fileno(), WRITE)]
        backend.unregister(a.fileno())
    finally:
        a.close()
        b.close()


def test_every_ready_descriptor_fits_in_one_wait(backend: KqueueBackend) -> None:
    pairs = [socket.socketpair() for _ in range(4)]
    try:
        for a, b in pairs:
            b.send(b"x")
            backend.register(a.fileno(), READ | WRITE)
        # Eight events (two filters each): the wait has room for all of them.
        assert sorted(backend.poll(1.0)) == sorted((a.fileno(), READ | WRITE) for a, _ in pairs)
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_a_backend_watching_nothing_still_sleeps_its_timeout(backend: KqueueBackend) -> None:
    started = time.monotonic()
    assert backend.poll(0.1) == []
    assert time.monotonic() - started >= 0.1  # kevent(2) with no room would not wait


def test_a_closed_kqueue_backend_lets_go_of_its_descriptor() -> None:
    before = len(os.listdir("/proc/self/fd"))
    backend = KqueueBackend()
    assert len(os.listdir("/proc/self/fd")) == before + 1
    backend.close()
    assert len(os.listdir("/proc/self/fd")) == before


# -- the model keeps kqueue's laws (so a test above can fail for the right reason) ---


def test_the_model_keeps_the_laws_of_kqueue(pipe: tuple[int, int]) -> None:
    r, w = pipe
    kq = kqueue_model.kqueue()
    try:
        with pytest.raises(FileNotFoundError):  # deleting a filter that is not there
            kq.control([kqueue_model.kevent(r, R, DELETE)], 0, 0)
        kq.control([kqueue_model.kevent(r, R, ADD)], 0, 0)
        os.write(w, b"x")
        started = time.monotonic()
        assert kq.control(None, 0, 1.0) == []  # no room for an event: no wait
        assert time.monotonic() - started < 0.5
        [event] = kq.control(None, 4, 1.0)
        assert (event.ident, event.filter, event.flags) == (r, R, 0)
        os.close(w)
        os.read(r, 1)
        [event] = kq.control(None, 4, 1.0)
        assert event.flags & kqueue_model.KQ_EV_EOF  # the writer hung up
        [error] = kq.control([kqueue_model.kevent(r, W, DELETE)], 4, 1.0)
        assert error.flags & kqueue_model.KQ_EV_ERROR  # room for it: an event, not a raise
        with pytest.raises(ValueError):
            kq.control(None, -1, 0)
        with pytest.raises(ValueError):
            kq.control(None, 1, -1)
    finally:
        kq.close()
        kq.close()
    with pytest.raises(ValueError):
        kq.control(None, 1, 0)
