"""The chat window written the obvious way, which freezes: for the lecture.

Same widgets as `chat_gui.py`, but the network is done with a plain blocking
socket from Tk's own callbacks: every 100 ms a Tk `after` callback calls
`sock.recv()` to "check for new messages". While the room is quiet, that
`recv()` waits, and while it waits Tk's loop is stuck inside our callback:
no repaint, no click, no key press is handled. Drag another window over it
and it stays smeared; type and nothing appears; it comes back to life the
moment someone says something, then freezes again.

`minireactor demo chat-gui --naive` opens it. Run it beside the real one
(`chat_gui.py`) on the same server, and `minireactor.lab.gui_lag` measures
the difference: how late Tk's own timers fire in each.

Read next: `chat_gui_threaded.py`, the other way to fix it (a second thread).
"""

from __future__ import annotations

import socket
import tkinter

from .chat_gui import ChatWindow

__all__ = ["NaiveChatClient", "run_naive_chat_gui"]

CHECK_EVERY_MS = 100
"""How often the naive client "checks for messages" (with a blocking recv)."""


class NaiveChatClient:
    """A chat window whose Tk callbacks block on the socket (do not do this).

    Args:
        root: the Tk window to fill.
        host, port: the chat server.
        nick: a nickname to ask for at once.
    """

    def __init__(self, root: tkinter.Tk, host: str, port: int, nick: str = "") -> None:
        self.root = root
        self.window = ChatWindow(
            root, self.send, self.set_nick, title=f"NAIVE chat: {host}:{port} (freezes)"
        )
        self._buffer = b""
        self.sock: socket.socket | None = socket.create_connection((host, port), timeout=10)
        self.sock.settimeout(None)  # blocking, as in every first socket tutorial
        self.window.set_status("connected")
        if nick:
            self.set_nick(nick)
        self._check = root.after(CHECK_EVERY_MS, self.check_messages)

    def check_messages(self) -> None:
        """Read what the server sent. THE MISTAKE: recv() blocks Tk until it does."""
        if self.sock is None:
            return
        data = self.sock.recv(4096)
        if not data:
            self.window.set_status("disconnected")
            self.close()
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self.window.show(line.removesuffix(b"\r").decode("utf-8", "replace"))
        self._check = self.root.after(CHECK_EVERY_MS, self.check_messages)

    def send(self, text: str) -> None:
        if self.sock is not None:
            self.sock.sendall(text.encode("utf-8") + b"\n")  # blocks too, if the server is slow
            if not text.startswith("/"):
                self.window.show(f"<me> {text}")

    def set_nick(self, nick: str) -> None:
        if nick:
            self.send(f"/nick {nick}")

    def close(self) -> None:
        self.root.after_cancel(self._check)
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run_naive_chat_gui(host: str, port: int, nick: str = "") -> int:
    """Open the naive window and run until it is closed; returns the exit status."""
    root = tkinter.Tk()
    client = NaiveChatClient(root, host, port, nick)
    try:
        root.mainloop()
    finally:
        client.close()
    return 0
