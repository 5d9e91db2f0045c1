"""Helpers for writing graded tests: points, strict comparison, threads, sockets.

Exercise tests are plain functions without arguments, so they run both under
pytest (for students, `pytest exercises/03-timers/tests`) and under the
grader's own runner (one fresh process per test). Declare a test's worth with
`@points(n)`; the grader reads it from the source, so the decorator only marks.

Compare student results with `expect(actual, expected)`: it checks exact types
for plain data, so an object whose `__eq__` always says True scores nothing.

Read next: any `exercises/*/tests/test_*.py`.
"""

from __future__ import annotations

import operator
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Background", "connect", "expect", "free_port", "points", "recv_exactly", "recv_until",
    "same", "wait_for",
]

F = TypeVar("F", bound=Callable[..., Any])
_PLAIN = (int, float, str, bytes, bool, type(None))


def points(value: float, *, timeout: float | None = None) -> Callable[[F], F]:
    """Mark a test as worth `value` points (and optionally a longer wall-clock limit).

    The grader reads the numbers from the source text, so write them as literals.
    The test function is returned unchanged.
    """

    def mark(test: F) -> F:
        test.__grader_points__ = value  # type: ignore[attr-defined]
        test.__grader_timeout__ = timeout  # type: ignore[attr-defined]
        return test

    return mark


# Every name `same` and `expect` use is bound as a positional default when
# this module is executed (before any graded code exists): graded code that
# adds `type`, `len` or `isinstance` to this module's namespace, or replaces
# builtins, changes nothing they see. The defaults tuple cannot be changed in
# place, and the grader's runner ends a test that assigns `__defaults__`.
# Callers never pass these arguments.
def same(
    actual: object, expected: object,
    _type: Any = type, _plain: Any = _PLAIN, _len: Any = len, _set: Any = set,
    _list: Any = list, _tuple: Any = tuple, _dict: Any = dict, _sets: Any = (set, frozenset),
    _zip: Any = zip, _eq: Any = operator.eq,
) -> bool:
    """Structural equality that also demands the exact built-in types.

    Lists, tuples, dicts and sets are compared element by element; anything
    else must have exactly the expected's type (when that is a plain type).
    Iterative (a stack of pairs), so it never looks itself up by name.
    """
    pending: list[tuple[Any, Any]] = [(actual, expected)]
    while pending:
        got, want = pending.pop()
        kind = _type(want)
        if kind in _plain or kind in _sets:
            if _type(got) is not kind or not _eq(got, want):
                return False
        elif kind is _list or kind is _tuple:
            if _type(got) is not kind or _len(got) != _len(want):
                return False
            pending.extend(_zip(got, want))
        elif kind is _dict:
            if _type(got) is not _dict or _set(got) != _set(want):
                return False
            pending.extend((got[key], value) for key, value in want.items())
        elif not _eq(got, want):
            return False
    return True


def expect(
    actual: object, expected: object, what: str = "the result",
    _same: Any = same, _repr: Any = repr, _error: Any = AssertionError,
) -> None:
    """Assert `same(actual, expected)` with a message a student can act on."""
    if not _same(actual, expected):
        raise _error(f"{what}: expected {_repr(expected)}, got {_repr(actual)}")


def wait_for(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll `condition` every 10 ms until true.

    Raises:
        AssertionError: it did not become true within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what or 'a condition'}")
        time.sleep(0.01)


class Background:
    """Run a function in a daemon thread and keep what it raised.

    `start()` waits a moment so that a function that fails at once (a starter
    raising NotImplementedError) fails the test with its own message.
    """

    def __init__(self, target: Callable[..., object], *args: object) -> None:
        self.error: BaseException | None = None
        self.result: object = None
        self._target = target
        self._args = args
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            self.result = self._target(*self._args)
        except BaseException as exc:
            self.error = exc

    def start(self, settle: float = 0.05) -> Background:
        self._thread.start()
        self._thread.join(settle)
        self.check()
        return self

    def check(self) -> None:
        """Re-raise, in the test, whatever the thread raised."""
        if self.error is not None:
            raise AssertionError(
                f"the code under test raised {type(self.error).__name__}: {self.error}"
            ) from self.error

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the thread to end, failing if it does not within `timeout`."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"still running after {timeout:g} s; expected it to return")
        self.check()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    """A blocking client socket connected to `address`, with a timeout on every call."""
    sock = socket.create_connection(address, timeout=timeout)
    sock.settimeout(timeout)
    return sock


def recv_until(sock: socket.socket, terminator: bytes = b"\n", limit: int = 1 << 22) -> bytes:
    """Read until `terminator` (included) or EOF.

    Raises:
        AssertionError: the socket timed out, or more than `limit` bytes came.
    """
    data = bytearray()
    while not data.endswith(terminator):
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            got = bytes(data)[-200:]
            raise AssertionError(f"no {terminator!r} within the timeout; got {got!r}") from None
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise AssertionError(f"more than {limit} bytes without {terminator!r}")
    return bytes(data)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Read exactly `size` bytes (fails on EOF or timeout)."""
    data = bytearray()
    while len(data) < size:
        try:
            chunk = sock.recv(min(65536, size - len(data)))
        except TimeoutError:
            raise AssertionError(f"timed out after {len(data)} of {size} bytes") from None
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for tests that need one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
