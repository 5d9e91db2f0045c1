# Grader fixture: the lock guards the update, but the value returned is read after releasing it.
# expect-fail: test_counter_counts_every_increment test_every_incr_gets_its_own_number
"""Exercise 08 - fix-race: reference solution.

The race was the read-modify-write in `Counter.increment`: two threads read
the same value and both write value + 1. A lock makes the three steps one
step for every other thread; the value returned is read inside the lock, so
each INCR gets its own number. GET reads under the lock as well, so it never
sees a half-finished update (cheap here, essential for multi-field state).
"""

from __future__ import annotations

import socket
import threading
import time


class Counter:
    """A shared counter."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def increment(self) -> int:
        """Add one and return the new value."""
        with self._lock:
            current = self.value
            self.value = current + 1
        time.sleep(0)
        return self.value

    def get(self) -> int:
        """The current value."""
        with self._lock:
            return self.value


class CounterServer:
    """One thread per connection. Commands, one per line: INCR -> new value; GET -> value."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.counter = Counter()
        self.listener = socket.create_server((host, port), backlog=128)
        self.address = self.listener.getsockname()
        self._threads: list[threading.Thread] = []

    def serve_forever(self) -> None:
        """Accept clients until the listener is closed (by `close()`)."""
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed: we are done
            thread = threading.Thread(target=self._handle, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, client: socket.socket) -> None:
        with client, client.makefile("rwb", buffering=0) as stream:
            for line in stream:
                command = line.strip()
                if command == b"INCR":
                    reply = self.counter.increment()
                elif command == b"GET":
                    reply = self.counter.get()
                else:
                    stream.write(b"ERROR unknown command\n")
                    continue
                stream.write(b"%d\n" % reply)

    def close(self) -> None:
        self.listener.close()
