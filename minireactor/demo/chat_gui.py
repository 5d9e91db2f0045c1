"""A chat window that never freezes: Tk and the network on one loop.

`minireactor demo chat-gui --host HOST --port PORT` opens a small Tk window
(messages, a line to type in, a nickname, the connection's status) on the
classroom chat server (`chat.py`). The reactor is hosted on Tk's own loop
(`Reactor(backend=TkBackend(root))`, then `backends.tk_host.mainloop`), so:

* the server's lines arrive through a protocol's `line_received`, called by
  the same loop that repaints the window: no thread, no lock, no freeze;
* pressing Enter calls `transport.write()`, which never blocks: the bytes
  wait in the transport's buffer until the socket takes them.

Compare `chat_gui_naive.py`, the same window written the obvious way (a
blocking `recv()` in a Tk callback), which freezes whenever the room is
quiet; and `chat_gui_threaded.py`, a reactor on a second thread that hands
lines to Tk. `minireactor.lab.gui_lag` measures all three.

Read next: `chat_gui_naive.py`, then `../lab/gui_lag.py`.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from typing import Any

from ..backends.tk import TkBackend
from ..backends.tk_host import mainloop
from ..protocol import ClientFactory
from ..protocols.basic import LineReceiver
from ..reactor import Reactor

__all__ = ["ChatClient", "ChatLines", "ChatWindow", "run_chat_gui"]


class ChatWindow:
    """The widgets, and nothing about the network: the three clients share them.

    Args:
        root: the Tk window to fill.
        on_send: called with each line the user enters.
        on_nick: called with a nickname the user asks for.
        title: the window's title.
    """

    def __init__(
        self,
        root: tkinter.Tk,
        on_send: Callable[[str], None],
        on_nick: Callable[[str], None],
        title: str = "minireactor chat",
    ) -> None:
        self.root = root
        root.title(title)
        top = tkinter.Frame(root)
        top.pack(fill="x")
        tkinter.Label(top, text="Nickname:").pack(side="left")
        self.nick = tkinter.Entry(top, width=16)
        self.nick.pack(side="left")
        self.nick_button = tkinter.Button(
            top, text="Set", command=lambda: on_nick(self.nick.get().strip())
        )
        self.nick_button.pack(side="left")
        self.status = tkinter.Label(top, text="connecting...", anchor="e")
        self.status.pack(side="right", fill="x", expand=True)
        self.messages = tkinter.Listbox(root, width=70, height=18)
        self.messages.pack(fill="both", expand=True)
        self.entry = tkinter.Entry(root)
        self.entry.pack(fill="x")
        self.entry.bind("<Return>", lambda _event: self._send(on_send))
        self.entry.focus_set()

    def _send(self, on_send: Callable[[str], None]) -> None:
        text = self.entry.get().strip()
        if text:
            self.entry.delete(0, "end")
            on_send(text)

    def show(self, line: str) -> None:
        """Add a line to the message list and scroll to it."""
        self.messages.insert("end", line)
        self.messages.see("end")

    def lines(self) -> list[str]:
        """Every line shown so far (tests read it)."""
        return [str(item) for item in self.messages.get(0, "end")]

    def set_status(self, text: str) -> None:
        self.status.configure(text=text)


class ChatLines(LineReceiver):
    """The chat server's side of the talk, as lines; hands each to `deliver`.

    Args:
        deliver: called with each line (without its line end).
        status: called with "connected" or "disconnected: why".
    """

    delimiter = b"\n"

    def __init__(self, deliver: Callable[[str], None], status: Callable[[str], None]) -> None:
        self.deliver = deliver
        self.status = status

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.status("connected")

    def line_received(self, line: bytes) -> None:
        self.deliver(line.removesuffix(b"\r").decode("utf-8", "replace"))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.status(f"disconnected: {exc}" if exc else "disconnected")


class _Connect(ClientFactory[ChatLines]):
    def __init__(self, client: ChatClient) -> None:
        super().__init__()
        self._client = client

    def build_protocol(self, addr: Any) -> ChatLines:
        protocol = ChatLines(self._client.window.show, self._client.window.set_status)
        self._client.protocol = protocol
        return protocol

    def client_connection_failed(self, connector: Any, exc: BaseException) -> None:
        self._client.window.set_status(f"could not connect: {exc}")


class ChatClient:
    """A `ChatWindow` talking to the chat server through `reactor` (on the window's loop).

    Args:
        reactor: a reactor on the tk backend of `window.root`.
        window: where lines are shown and typed.
        host, port: the chat server.
        nick: a nickname to ask for once connected.
    """

    def __init__(
        self, reactor: Reactor, window: ChatWindow, host: str, port: int, nick: str = ""
    ) -> None:
        self.reactor = reactor
        self.window = window
        self.protocol: ChatLines | None = None
        reactor.connect_tcp(host, port, _Connect(self))
        if nick:
            reactor.call_when_running(self._ask_nick_when_connected, nick, 200)

    def send(self, text: str) -> None:
        """Send a line (shown at once: the server does not echo our own lines)."""
        if self.protocol is None or self.protocol.transport is None:
            self.window.set_status("not connected: the line was not sent")
            return
        self.protocol.transport.write(text.encode("utf-8") + b"\n")
        if not text.startswith("/"):
            self.window.show(f"<me> {text}")

    def set_nick(self, nick: str) -> None:
        if nick:
            self.send(f"/nick {nick}")

    def _ask_nick_when_connected(self, nick: str, tries: int) -> None:
        if self.protocol is not None:
            self.set_nick(nick)
        elif tries > 0:
            self.reactor.call_later(0.05, self._ask_nick_when_connected, nick, tries - 1)


def open_chat_window(
    root: tkinter.Tk, host: str, port: int, nick: str = "", mode: str = "auto"
) -> ChatClient:
    """Build the window on `root` and its client, on a reactor hosted on `root` (not started)."""
    reactor = Reactor(backend=TkBackend(root, mode=mode))
    holder: list[ChatClient] = []
    window = ChatWindow(
        root,
        on_send=lambda text: holder[0].send(text),
        on_nick=lambda name: holder[0].set_nick(name),
        title=f"minireactor chat: {host}:{port} (Tk-hosted reactor, {reactor.backend_name})",
    )
    holder.append(ChatClient(reactor, window, host, port, nick))
    return holder[0]


def run_chat_gui(host: str, port: int, nick: str = "", mode: str = "auto") -> int:
    """Open the chat window and run until it is closed; returns the exit status."""
    root = tkinter.Tk()
    client = open_chat_window(root, host, port, nick, mode)
    mainloop(client.reactor)
    return 0
