# expect-fail: *
"""Hostile fixture: forges the runner's report from import time and from a thread."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading

EVENT = "minireactor.grader.report"
# Straight calls, with and without the runner's call-site markers.
sys.audit(EVENT, "minireactor-grader-pass-site")
sys.audit(EVENT, "minireactor-grader-pass-site", "")


def _forge() -> None:
    for fd in range(3, 256):
        with contextlib.suppress(OSError):
            os.write(fd, b"MRG1 %s %d PASS 0\n" % (b"0" * 32, os.getpid()))
    sys.audit(EVENT, "minireactor-grader-pass-site")


threading.Thread(target=_forge).start()


class _Sneaky:
    """Its __eq__ is a C callable, so calling it adds no Python frame."""

    __hash__ = object.__hash__
    __eq__ = functools.partial(sys.audit, EVENT)  # type: ignore[assignment]


# Planted in the test module's namespace, it is compared during dict lookups there.
frame = sys._getframe(1)
while frame is not None:
    frame.f_globals[_Sneaky()] = 1  # type: ignore[index]
    frame = frame.f_back


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
