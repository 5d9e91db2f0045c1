"""The Python load generator: many clients on one `selectors` loop.

`load(..., engine="python")` runs this. The generator must be faster than
the servers it measures, so it is written lean: non-blocking sockets, one
`selectors` loop, no framework, responses checked with a few byte
comparisons. `_Client` is one connection and its request in flight;
`_Engine.run` is the loop: in an open loop it first queues the requests
that have fallen due and hands them to idle clients, then waits for
sockets, then checks for timeouts. Every response is verified against what
the handler should have said (`handlers.expected_body`).

Read next: `load_native.py`, the C client that outruns this one.
"""

from __future__ import annotations

import errno
import re
import selectors
import socket
import time
from collections import deque

from .handlers import expected_body
from .load_plan import LoadPlan
from .load_result import LoadResult

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


class _Client:
    """One connection of the generator and the request it has in flight."""

    __slots__ = (
        "asked",
        "buf",
        "connected",
        "done",
        "due",
        "events",
        "need",
        "out",
        "sent_at",
        "sock",
    )

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.connected = False
        self.due: float | None = None  # when the request in flight (or waiting to go) was due
        self.sent_at = 0.0
        self.buf = bytearray()
        self.out = b""
        self.need: int | None = None  # bytes of the whole response, once the head is known
        self.events = 0  # what the selector watches for on `sock`
        self.done = 0  # verified responses: none at the end means this client starved
        self.asked = False  # ...if it had a request to make (an open loop may never give it one)


class _Engine:
    """The selectors loop behind `load()` (one process, one thread): runs one `LoadPlan`."""

    def __init__(self, plan: LoadPlan):
        self.plan = plan
        if plan.protocol == "http":
            host = f"{plan.address[0]}:{plan.address[1]}"
            self.request = f"GET {plan.path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            self.expected = expected_body(plan.path)
        else:
            self.request = (b"0123456789abcdef" * (plan.size // 16 + 1))[: plan.size]
            self.expected = self.request
        self.sel = selectors.DefaultSelector()
        self.clients = [_Client() for _ in range(plan.clients)]
        self.idle: deque[_Client] = deque()
        self.backlog: deque[float] = deque()  # open loop: due times not yet sent
        self.resting: list[tuple[float, _Client]] = []  # clients pausing after an error
        self.result = LoadResult(plan.protocol, plan.clients, plan.duration, plan.rate)

    # -- connections ---------------------------------------------------------

    def _connect(self, c: _Client) -> None:
        family = socket.AF_INET6 if ":" in self.plan.address[0] else socket.AF_INET
        c.sock = sock = socket.socket(family)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.connected = False
        sock.connect_ex(self.plan.address)  # EINPROGRESS: completion is reported as writable
        c.events = selectors.EVENT_WRITE
        self.sel.register(sock, c.events, c)

    def _close(self, c: _Client) -> None:
        if c.sock is not None:
            self.sel.unregister(c.sock)
            c.sock.close()
            c.sock = None
        c.connected, c.need = False, None
        c.buf.clear()

    def _fail(self, c: _Client, message: str, now: float, timeout: bool = False) -> None:
        """Count a failed request; rest the client briefly so a dead server is not hammered."""
        if timeout:
            self.result.timeouts += 1
        else:
            self.result.errors += 1
        if len(self.result.error_samples) < 5:
            self.result.error_samples.append(message)
        self._close(c)
        c.due = None
        self.resting.append((now + 0.01, c))

    # -- requests -----------------------------------------------------------------

    def _dispatch(self, c: _Client, due: float) -> None:
        """Send a request due at `due` on `c`, connecting first if needed."""
        c.due = due
        c.asked = True
        if c.sock is None:
            self._connect(c)
        elif c.connected:
            self._send(c)

    def _send(self, c: _Client) -> None:
        assert c.sock is not None
        c.sent_at = time.monotonic()
        c.buf.clear()
        c.need = None
        c.out = self.request
        self._flush(c)

    def _flush(self, c: _Client) -> None:
        assert c.sock is not None
        try:
            sent = c.sock.send(c.out)
        except BlockingIOError:
            sent = 0
        except OSError as exc:  # the server closed or reset the connection
            self._fail(c, f"send failed: {exc}", time.monotonic())
            return
        c.out = c.out[sent:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        if events != c.events:  # a system call saved on almost every request
            c.events = events
            self.sel.modify(c.sock, events, c)

    def _complete(self, c: _Client) -> bool:
        """True once `c.buf` holds the whole response (and sets c.need)."""
        if self.plan.protocol == "echo":
            c.need = len(self.expected)
            return len(c.buf) >= c.need
        if c.need is None:
            end = c.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            length = _LENGTH.search(c.buf, 0, end)
            c.need = end + 4 + (int(length.group(1)) if length else 0)
        return len(c.buf) >= c.need

    def _finished(self, c: _Client, now: float) -> None:
        """A whole response is in: verify it, record its latency, move on."""
        assert c.need is not None and c.due is not None
        data = bytes(c.buf)
        if self.plan.protocol == "http":
            head_end = data.find(b"\r\n\r\n")
            good = data[9:12] == b"200" and data[head_end + 4 : c.need] == self.expected
            must_close = _CLOSE.search(data, 0, head_end + 2) is not None
        else:
            good, must_close = data == self.expected, False
        if not good:
            self._fail(c, f"unexpected response: {data[:80]!r}", now)
            return
        self.result.requests += 1
        c.done += 1
        self.result.latencies.append(now - c.due)
        c.due = None
        if must_close or not self.plan.keepalive:
            self._close(c)
        self._next(c, now)

    def _next(self, c: _Client, now: float) -> None:
        if self.plan.rate is None:
            self._dispatch(c, now)  # closed loop: the next request goes at once
        else:
            self.idle.append(c)

    # -- events ----------------------------------------------------------------------

    def _on_event(self, c: _Client, mask: int, now: float) -> None:
        sock = c.sock
        assert sock is not None
        if not c.connected:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._fail(c, f"connect failed: {errno.errorcode.get(err, err)}", now)
                return
            c.connected = True
            self._send(c)
            return
        if mask & selectors.EVENT_WRITE and c.out:
            self._flush(c)
            if c.sock is None:
                return  # the send failed and the client was reset
        if mask & selectors.EVENT_READ:
            try:
                data = sock.recv(262144)
            except OSError as exc:
                self._fail(c, f"receive failed: {exc}", now)
                return
            if not data:
                self._fail(c, "the server closed the connection mid-request", now)
                return
            c.buf += data
            if self._complete(c):
                self._finished(c, now)

    def _check_timeouts(self, now: float) -> None:
        for c in self.clients:
            if c.due is not None and c.sock is not None and now - c.sent_at > self.plan.timeout:
                self._fail(c, f"no answer within {self.plan.timeout} s", now, timeout=True)
        waking = [c for when, c in self.resting if when <= now]
        self.resting = [(when, c) for when, c in self.resting if when > now]
        for c in waking:
            self._next(c, now)

    def run(self) -> LoadResult:
        rate = self.plan.rate
        start = now = time.monotonic()
        end = start + self.plan.duration
        arrivals = 0
        next_check = start
        for c in self.clients:
            self._next(c, now)
        while now < end:
            if rate is not None:  # open loop: requests fall due on schedule
                while start + arrivals / rate <= now:
                    self.backlog.append(start + arrivals / rate)
                    arrivals += 1
                while self.backlog and self.idle:
                    self._dispatch(self.idle.popleft(), self.backlog.popleft())
                wait = min(0.05, max(0.0, start + arrivals / rate - now))
            else:
                wait = 0.05
            for key, mask in self.sel.select(wait):
                self._on_event(key.data, mask, time.monotonic())
            now = time.monotonic()
            if now >= next_check:
                self._check_timeouts(now)
                next_check = now + 0.02
        self.result.unsent = len(self.backlog)
        self.result.starved = sum(c.asked and c.done == 0 for c in self.clients)
        for c in self.clients:
            self._close(c)
        self.sel.close()
        return self.result
