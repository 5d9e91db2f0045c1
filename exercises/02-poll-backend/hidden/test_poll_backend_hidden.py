"""Hidden test for exercise 02: descriptors above 1024 (select's FD_SETSIZE)."""

from __future__ import annotations

import os
import resource
import socket

from poll_backend import PollBackend

from minireactor.backends.base import READ
from minireactor.grader.testing import expect, points


@points(2)
def test_descriptor_above_fd_setsize() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    left, right = socket.socketpair()
    high = os.dup2(left.fileno(), 1100)
    backend = PollBackend()
    backend.register(high, READ)
    right.send(b"x")
    expect([fd for fd, _ in backend.poll(1)], [high], "the ready descriptors (fd 1100)")
    backend.unregister(high)
    backend.close()
    os.close(high)
    left.close()
    right.close()
