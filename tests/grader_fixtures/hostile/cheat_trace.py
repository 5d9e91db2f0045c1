# expect-fail: *
"""Hostile fixture: installs a tracer that jumps over the test's failing lines."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any


def _skip(frame: FrameType, event: str, arg: Any) -> Any:
    if event == "exception":
        frame.f_lineno = frame.f_lineno + 1  # only legal from a trace function
    return _skip


sys.settrace(_skip)


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
