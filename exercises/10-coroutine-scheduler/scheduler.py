"""Exercise 10 - coroutine-scheduler: a trampoline scheduler of generators.

Tasks are generators. They `yield` to give up control, and yield *commands*
to wait: `Sleep(seconds)`, `ReadWait(sock)`, `WriteWait(sock)`. Read README.md
first; check with `minireactor grade coroutine-scheduler`.
"""

from __future__ import annotations

import socket
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

    def spawn(self, gen: TaskGen) -> Task:
        """Add a task; it first runs after the tasks already ready."""
        raise NotImplementedError("Scheduler.spawn: wrap gen in a Task, append it to a ready queue")

    def run(self) -> None:
        """Run until every task has finished."""
        raise NotImplementedError(
            "Scheduler.run: loop - run ready tasks one step each (gen.send(None)), "
            "then wait for the next timer or socket; see README.md, 'Hints'"
        )
