"""Exercise 08 - fix-race: a thread-per-connection counter server that loses updates.

This starter *works* for one client and is wrong for many: run the tests
(`minireactor grade fix-race`) and watch the count come up short. Find the
race and fix it. Read README.md first.
"""

from __future__ import annotations

import socket
import threading
import time


class Counter:
    """A shared counter."""

    def __init__(self) -> None:
        self.value = 0

    def increment(self) -> int:
        """Add one and return the new value."""
        current = self.value
        time.sleep(0)  # let another thread run here, as the OS scheduler may at any moment
        self.value = current + 1
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
                    reply = self.counter.value
                else:
                    stream.write(b"ERROR unknown command\n")
                    continue
                stream.write(b"%d\n" % reply)

    def close(self) -> None:
        self.listener.close()
