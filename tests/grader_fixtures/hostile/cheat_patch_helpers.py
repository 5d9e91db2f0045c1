# expect-fail: *
"""Hostile fixture: at import, neuters the test helpers and unittest/pytest hooks."""

from __future__ import annotations

import builtins
import sys
import unittest

import minireactor.grader.testing as helpers


def _nothing(*args: object, **kwargs: object) -> None:
    return None


helpers.expect = _nothing
helpers.same = lambda *args: True
unittest.TestCase.run = _nothing  # type: ignore[method-assign,assignment]
try:
    import _pytest.runner

    _pytest.runner.call_and_report = _nothing  # type: ignore[attr-defined]
except ImportError:
    pass
# The test module is importing us right now: rebind its helpers through the frames.
frame = sys._getframe(1)
while frame is not None:
    if "expect" in frame.f_globals:
        frame.f_globals["expect"] = _nothing
    frame = frame.f_back
builtins.print = _nothing


class Timer:
    """Does nothing, but never raises: a pass could only come from the trick above."""

    def __init__(self, *args: object) -> None:
        self.when = 0.0

    def cancel(self) -> None:
        pass

    def active(self) -> bool:
        return True


class TimerQueue:
    def __init__(self, clock: object = None) -> None:
        self.clock = clock

    def call_later(self, delay: float, callback: object, *args: object) -> Timer:
        return Timer()

    def run_due(self) -> int:
        return 0

    def next_deadline(self) -> float | None:
        return None

    def __len__(self) -> int:
        return 0
