"""Exercise 11 (gui-responsive): a chat window that freezes. Make it responsive.

`ChatApp` shows the lines a chat server sends in a Tk Listbox and sends the
lines you give it. It works, and it freezes: every 100 ms a Tk callback
calls `recv()` on a blocking socket, and while the server is quiet, Tk's
whole loop waits inside that call. No repaint, no click, no key press.

Keep the interface (the tests use it), change how the network is waited for.
Read README.md for the rules and the hints.
"""

from __future__ import annotations

import socket
import tkinter


class ChatApp:
    """A Tk chat window connected to the server at (host, port).

    Args:
        root: the Tk window to build on. The tests run `root.mainloop()`
            themselves, after creating the ChatApp.
        host, port: the chat server.
    """

    def __init__(self, root: tkinter.Tk, host: str, port: int) -> None:
        self.root = root
        self.messages = tkinter.Listbox(root, width=60, height=15)  # one line per item
        self.messages.pack(fill="both", expand=True)
        self.sock = socket.create_connection((host, port))
        self._buffer = b""
        root.after(100, self.check_messages)

    def check_messages(self) -> None:
        """Show what the server sent. (This is the bug: recv() blocks Tk.)"""
        data = self.sock.recv(4096)
        if not data:
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self.messages.insert("end", line.removesuffix(b"\r").decode("utf-8", "replace"))
        self.root.after(100, self.check_messages)

    def send(self, text: str) -> None:
        """Send one line to the server (called on Tk's thread, e.g. by a button)."""
        self.sock.sendall(text.encode("utf-8") + b"\n")

    def close(self) -> None:
        """Release the connection (called after root.mainloop() has returned)."""
        self.sock.close()
