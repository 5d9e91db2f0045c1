"""The chat window with its reactor on a second thread: the other cure.

Instead of hosting the reactor on Tk's loop, give each loop its own thread:
Tk's `mainloop()` on the main thread, a reactor's `run()` on a worker. Each
loop owns its own things (Tk its widgets, the reactor its socket), and
nothing crosses between threads except through a hand-off that is safe:

* GUI -> network: `reactor.call_from_thread(send, text)` (the reactor's
  one thread-safe method);
* network -> GUI: `TkHandoff.call_from_thread(window.show, line)`, the same
  idea for Tk: a queue of calls, and a pipe that Tk watches
  (`createfilehandler`) so that Tk wakes up and runs them on its thread.

Touching a widget from the reactor's thread instead would be a race with
Tk's own loop (tkinter may raise, or worse). The cost: two loops, two
threads, and every message crosses a thread boundary.

Read next: `../lab/gui_lag.py`, which measures the three clients.
"""

from __future__ import annotations

import contextlib
import os
import threading
import tkinter
from collections import deque
from collections.abc import Callable
from typing import Any

from ..protocol import ClientFactory
from ..reactor import Reactor
from .chat_gui import ChatLines, ChatWindow

__all__ = ["ThreadedChatClient", "TkHandoff"]


class TkHandoff:
    """`call_from_thread` for Tk: run `func(*args)` on Tk's thread, soon; safe from any thread.

    Unix only (Tk watches the pipe with `createfilehandler`).
    """

    def __init__(self, root: tkinter.Misc) -> None:
        self._tk: Any = root.tk
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._tk.createfilehandler(self._read_fd, tkinter.READABLE, self._run)

    def call_from_thread(self, func: Callable[..., Any], *args: Any) -> None:
        self._calls.append((func, args))  # deque.append is atomic
        # A full pipe means a wake-up is already pending; a closed one, nobody to wake.
        with contextlib.suppress(OSError):
            os.write(self._write_fd, b"x")

    def _run(self, fd: int, mask: int) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._read_fd, 4096):
                pass
        for _ in range(len(self._calls)):
            func, args = self._calls.popleft()
            func(*args)

    def close(self) -> None:
        if self._tk is not None:
            self._tk.deletefilehandler(self._read_fd)
            self._tk = None
            os.close(self._read_fd)
            os.close(self._write_fd)


class _Connect(ClientFactory[ChatLines]):
    def __init__(self, client: ThreadedChatClient) -> None:
        super().__init__()
        self._client = client

    def build_protocol(self, addr: Any) -> ChatLines:
        window, handoff = self._client.window, self._client.handoff
        protocol = ChatLines(
            lambda line: handoff.call_from_thread(window.show, line),
            lambda text: handoff.call_from_thread(window.set_status, text),
        )
        self._client.protocol = protocol
        return protocol

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self._client.handoff.call_from_thread(
            self._client.window.set_status, f"could not connect: {exc}"
        )


class ThreadedChatClient:
    """A `ChatWindow` on Tk's thread, its connection on a reactor running in a worker thread."""

    def __init__(self, root: tkinter.Tk, host: str, port: int, nick: str = "") -> None:
        self.handoff = TkHandoff(root)
        self.window = ChatWindow(
            root, self.send, self.set_nick, title=f"chat: {host}:{port} (reactor on a thread)"
        )
        self.protocol: ChatLines | None = None
        self.reactor = Reactor()
        self.reactor.connect_tcp(host, port, _Connect(self))
        if nick:
            self.send(f"/nick {nick}")
        self.thread = threading.Thread(target=self.reactor.run, name="chat-reactor", daemon=True)
        self.thread.start()

    def send(self, text: str) -> None:
        """Called on Tk's thread: hand the line to the reactor's thread."""
        self.reactor.call_from_thread(self._write, text)
        if not text.startswith("/"):
            self.window.show(f"<me> {text}")

    def _write(self, text: str, tries: int = 200) -> None:
        """On the reactor's thread: write, once connected."""
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.write(text.encode("utf-8") + b"\n")
        elif tries > 0:
            self.reactor.call_later(0.05, self._write, text, tries - 1)

    def set_nick(self, nick: str) -> None:
        if nick:
            self.send(f"/nick {nick}")

    def close(self) -> None:
        """Stop the reactor's thread (it closes the connection), then the hand-off."""
        if self.thread.is_alive():
            self.reactor.call_from_thread(self.reactor.stop)
            self.thread.join(10)
        self.handoff.close()
