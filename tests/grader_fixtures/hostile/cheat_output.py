# expect-fail: *
"""Hostile fixture: fake pass lines, fake JSON on stdout, fake results.json files."""

from __future__ import annotations

import json
from pathlib import Path

print("test_timers.py::test_cancel PASSED")
print("==================== 7 passed in 0.01s ====================")
print(json.dumps({"score": 10, "max_score": 10, "tests": [{"name": "all", "score": 10}]}))
FAKE = json.dumps({"score": 999, "max_score": 10, "output": "all good", "tests": []})
for guess in (Path.cwd() / "results.json", Path.cwd().parent / "results.json",
              Path("/autograder/results/results.json")):
    try:
        guess.parent.mkdir(parents=True, exist_ok=True)
        guess.write_text(FAKE)
    except OSError:
        pass


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
