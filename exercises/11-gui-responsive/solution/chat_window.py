"""Exercise 11 (gui-responsive), reference solution: the reactor hosted on Tk's loop.

The socket is watched by Tk itself (minireactor's tk backend registers it
with `createfilehandler`), so nothing ever blocks: Tk's loop waits for the
display and the network together, and calls `line_received` when a line
arrives, on Tk's own thread, where touching the Listbox is allowed.
"""

from __future__ import annotations

import tkinter
from typing import Any

from minireactor import Reactor
from minireactor.backends.tk import TkBackend
from minireactor.backends.tk_host import stop_now
from minireactor.protocol import ClientFactory
from minireactor.protocols.basic import LineReceiver


class _Lines(LineReceiver):
    delimiter = b"\n"

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.app.protocol = self
        for text in self.app.pending:  # lines sent before the connection was made
            transport.write(text.encode("utf-8") + b"\n")
        self.app.pending.clear()

    def line_received(self, line: bytes) -> None:
        self.app.messages.insert("end", line.removesuffix(b"\r").decode("utf-8", "replace"))


class ChatApp:
    """A Tk chat window connected to the server at (host, port), never blocking Tk."""

    def __init__(self, root: tkinter.Tk, host: str, port: int) -> None:
        self.root = root
        self.messages = tkinter.Listbox(root, width=60, height=15)
        self.messages.pack(fill="both", expand=True)
        self.protocol: _Lines | None = None
        self.pending: list[str] = []
        self.reactor = Reactor(backend=TkBackend(root))
        self.reactor.connect_tcp(host, port, ClientFactory.for_protocol(_Lines, self))
        self.reactor.start()  # returns at once: root.mainloop() will drive it

    def send(self, text: str) -> None:
        if self.protocol is None or self.protocol.transport is None:
            self.pending.append(text)
        else:
            self.protocol.transport.write(text.encode("utf-8") + b"\n")  # never blocks

    def close(self) -> None:
        stop_now(self.reactor)  # mainloop() has returned: shut the reactor down here
