"""Tests that kill mutmut survivors in minireactor/backends/ (see scripts/mutation.py).

Each asks one backend (every available one, via the conftest `backend`
fixture) a question `test_backends.py` left open: does it keep reporting
after the first event, does `modify` take effect, is a bare hang-up on a
pipe (POLLHUP without POLLIN) still reported as readable.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from minireactor.backends import READ, TROUBLE, Backend, create_backend

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
