"""Exercise 02 - poll-backend: implement minireactor's backend interface with poll(2).

Read `minireactor/backends/base.py` (the interface) and `select.py` (a
backend written with select) first, then README.md. Check your work with
`minireactor grade poll-backend`: the tests run real TCP connections through
a Reactor that uses *your* backend.
"""

from __future__ import annotations

from minireactor.backends.base import Backend


class PollBackend(Backend):
    """Readiness by poll(2)."""

    name = "student-poll"

    def __init__(self) -> None:
        # Your structures: a select.poll() object, and the registered fds.
        pass

    def register(self, fd: int, events: int) -> None:
        raise NotImplementedError("register: remember fd, poller.register(fd, events)")

    def modify(self, fd: int, events: int) -> None:
        raise NotImplementedError("modify: poller.modify(fd, events)")

    def unregister(self, fd: int) -> None:
        raise NotImplementedError("unregister: forget fd everywhere")

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        raise NotImplementedError(
            "poll: poller.poll(milliseconds); return (fd, READ/WRITE) per ready fd"
        )
