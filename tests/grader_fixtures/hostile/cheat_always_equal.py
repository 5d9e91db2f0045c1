# expect-fail: *
"""Hostile fixture: returns objects equal to anything instead of computing."""

from __future__ import annotations

from typing import Any


class Anything(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


class _List(list):  # type: ignore[type-arg]
    def __eq__(self, other: object) -> bool:
        return True


class Timer:
    def __init__(self) -> None:
        self.when = Anything()

    def cancel(self) -> None:
        pass

    def active(self) -> Any:
        return Anything()


class TimerQueue:
    def __init__(self, clock: object = None) -> None:
        self.clock = clock

    def call_later(self, delay: float, callback: object, *args: object) -> Timer:
        return Timer()

    def run_due(self) -> Any:
        return Anything()

    def next_deadline(self) -> Any:
        return Anything()

    def __len__(self) -> int:
        return Anything()
