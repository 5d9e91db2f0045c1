"""The `threaded` backend: an event loop emulated with threads.

Twisted once ran on Jython, where no select() existed, by giving every
descriptor a thread of its own. We do the same, to show what threads cost as
*waiters* when the protocol code stays exactly the same:

* `register` starts one watcher thread per descriptor. The thread blocks in
  poll(2) on just that descriptor (plus a private eventfd used to interrupt it
  when the wanted events change or the descriptor goes away).
* When its descriptor is ready, the watcher puts `(watcher, events)` on a
  queue shared with the reactor and then *waits to be re-armed*: it must not
  report the same readiness again before the reactor has acted on it.
* `poll(timeout)` (on the reactor thread) re-arms the watchers whose events
  it returned last time, then blocks on the queue for new ones.

All protocol callbacks still run on the reactor thread; only the waiting has
moved. The cost model: one thread (stack memory, a start-up, and two context
switches per event: watcher wakes, then the reactor) and one extra descriptor
per watched descriptor. Compare it with epoll in `benchmarks/`.

Read next: `hosted.py` (letting another loop wait), then `__init__.py` (how a
backend is chosen), then `../core.py`.
"""

from __future__ import annotations

import queue
import select
import threading

from .base import READ, WRITE, Backend
from .waker import Waker

_TROUBLE = select.POLLHUP | select.POLLERR | select.POLLNVAL


class _Watcher:
    """One thread waiting for one descriptor on behalf of the reactor."""

    def __init__(
        self, fd: int, events: int, ready: queue.SimpleQueue[tuple[_Watcher, int]]
    ) -> None:
        self.fd = fd
        self.events = events
        self._ready = ready
        self._interrupt = Waker()
        self._cond = threading.Condition()
        self._delivered = False  # an event is queued and not yet re-armed
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name=f"minireactor-watcher-fd{fd}", daemon=True
        )
        self._thread.start()

    def set_events(self, events: int) -> None:
        with self._cond:
            self.events = events
            self._cond.notify()
        self._interrupt.wake()  # a poll(2) in progress waits for the old events

    def rearm(self) -> None:
        with self._cond:
            self._delivered = False
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._interrupt.wake()
        self._thread.join(timeout=5.0)
        self._interrupt.close()

    @property
    def closing(self) -> bool:
        return self._closing

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._interrupt.fileno(), select.POLLIN)
        registered = False
        while True:
            with self._cond:
                while not self._closing and (self._delivered or not self.events):
                    self._cond.wait()
                if self._closing:
                    return
                events = self.events
            if registered:
                poller.modify(self.fd, events)
            else:
                poller.register(self.fd, events)
                registered = True
            flags = 0
            for fd, fd_flags in poller.poll():
                if fd == self._interrupt.fileno():
                    self._interrupt.drain()
                else:
                    flags = fd_flags
            if flags:
                self._deliver(flags)

    def _deliver(self, flags: int) -> None:
        # Hang-ups and errors are reported as "readable and writable" so the
        # reactor's next recv() or send() learns what happened.
        mask = READ | WRITE if flags & _TROUBLE else flags & (READ | WRITE)
        with self._cond:
            if self._closing:
                return
            self._delivered = True
        self._ready.put((self, mask))


class ThreadedBackend(Backend):
    """Readiness by one blocking watcher thread per descriptor."""

    name = "threaded"

    def __init__(self) -> None:
        self._ready: queue.SimpleQueue[tuple[_Watcher, int]] = queue.SimpleQueue()
        self._watchers: dict[int, _Watcher] = {}
        self._to_rearm: list[_Watcher] = []

    @classmethod
    def is_available(cls) -> bool:
        return hasattr(select, "poll")

    def register(self, fd: int, events: int) -> None:
        if fd in self._watchers:
            raise KeyError(f"descriptor {fd} is already registered")
        self._watchers[fd] = _Watcher(fd, events, self._ready)

    def modify(self, fd: int, events: int) -> None:
        self._watchers[fd].set_events(events)

    def unregister(self, fd: int) -> None:
        self._watchers.pop(fd).stop()

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        for watcher in self._to_rearm:
            watcher.rearm()
        self._to_rearm = []
        try:
            if timeout is not None and timeout <= 0:
                item = self._ready.get_nowait()
            else:
                item = self._ready.get(timeout=timeout)
        except queue.Empty:
            return []
        items = [item]
        while not self._ready.empty():
            items.append(self._ready.get_nowait())
        ready = []
        for watcher, mask in items:
            if watcher.closing:
                continue  # unregistered after it reported: stale
            self._to_rearm.append(watcher)
            ready.append((watcher.fd, mask))
        return ready

    def close(self) -> None:
        for fd in list(self._watchers):
            self.unregister(fd)
