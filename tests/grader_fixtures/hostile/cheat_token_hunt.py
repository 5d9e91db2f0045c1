# expect-fail: *
"""Hostile fixture: walks the garbage collector looking for the runner's token."""

from __future__ import annotations

import gc

FOUND = [o for o in gc.get_objects() if isinstance(o, dict) and "token" in o]


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
