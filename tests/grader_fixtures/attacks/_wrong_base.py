"""A timers submission that implements nothing correctly (the base of most attacks)."""

from __future__ import annotations

from typing import Any


class Timer:
    def cancel(self) -> None:
        return None

    def active(self) -> bool:
        return False


class TimerQueue:
    def __init__(self, clock: Any = None) -> None:
        self.clock = clock

    def call_later(self, delay: float, callback: Any, *args: Any) -> Timer:
        return Timer()

    def run_due(self) -> Any:
        return None

    def next_deadline(self) -> Any:
        return None

    def __len__(self) -> int:
        return 7
