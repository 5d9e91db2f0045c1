# Grader fixture: Sleep(seconds) treated as a bare yield.
# expect-fail: test_sleepers_wake_in_order_while_others_run
"""Exercise 10 - coroutine-scheduler: reference solution.

The trampoline: `run()` takes one ready task at a time and advances it with
`gen.send(None)` until its next `yield`. What it yields decides where the task
waits: back of the ready queue (None), a heap of wake-up times (Sleep), or a
dict of sockets for select() (ReadWait/WriteWait). When nothing is ready, the
loop sleeps in select() until the next timer or socket - never a busy loop.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import time
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

TaskGen = Generator[Any, None, Any]


@dataclass
class Sleep:
    """Command: resume this task after `seconds` (0 behaves like a bare yield)."""

    seconds: float


@dataclass
class ReadWait:
    """Command: resume this task when `sock` is readable."""

    sock: socket.socket


@dataclass
class WriteWait:
    """Command: resume this task when `sock` is writable."""

    sock: socket.socket


class Task:
    """A spawned generator; after it ends, `result` or `exception` says how."""

    def __init__(self, gen: TaskGen) -> None:
        self.gen = gen
        self.done = False
        self.result: Any = None
        self.exception: BaseException | None = None


class Scheduler:
    """Runs tasks round-robin; sleeps on a heap; waits on sockets with select()."""

    def __init__(self) -> None:
        self._ready: deque[Task] = deque()
        self._sleeping: list[tuple[float, int, Task]] = []
        self._order = itertools.count()  # ties on the heap: first to sleep, first to wake
        self._readers: dict[socket.socket, Task] = {}
        self._writers: dict[socket.socket, Task] = {}

    def spawn(self, gen: TaskGen) -> Task:
        """Add a task; it first runs after the tasks already ready."""
        task = Task(gen)
        self._ready.append(task)
        return task

    def run(self) -> None:
        """Run until every task has finished."""
        while self._ready or self._sleeping or self._readers or self._writers:
            for _ in range(len(self._ready)):  # one step each for the tasks ready now
                self._step(self._ready.popleft())
            self._wait(0 if self._ready else None)

    def _step(self, task: Task) -> None:
        try:
            command = task.gen.send(None)
        except StopIteration as stop:
            task.done, task.result = True, stop.value
            return
        except Exception as exc:  # a task's failure is its own; the others go on
            task.done, task.exception = True, exc
            return
        if isinstance(command, Sleep) and command.seconds < 0:
            when = time.monotonic() + command.seconds
            heapq.heappush(self._sleeping, (when, next(self._order), task))
        elif isinstance(command, ReadWait):
            self._readers[command.sock] = task
        elif isinstance(command, WriteWait):
            self._writers[command.sock] = task
        else:  # None, Sleep(0) or anything else: just yield control
            self._ready.append(task)

    def _wait(self, timeout: float | None) -> None:
        """Sleep until a socket is ready or the first sleeper is due; wake them."""
        if timeout is None and self._sleeping:
            timeout = max(0.0, self._sleeping[0][0] - time.monotonic())
        if self._readers or self._writers:
            readable, writable, _ = select.select(list(self._readers), list(self._writers), [],
                                                  timeout)
            for sock in readable:
                self._ready.append(self._readers.pop(sock))
            for sock in writable:
                self._ready.append(self._writers.pop(sock))
        elif timeout:
            time.sleep(timeout)
        now = time.monotonic()
        while self._sleeping and self._sleeping[0][0] <= now:
            self._ready.append(heapq.heappop(self._sleeping)[2])
