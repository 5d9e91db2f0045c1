"""The chat window (demo/chat_gui*.py) and the freeze probe (lab/gui_lag.py), headless.

The window talks to the real classroom chat server (demo/chat.py, on its own
reactor and thread, as in class) while Tk runs; the tests read what the
window shows, look at a screenshot of the virtual screen, and measure how
late Tk's own timers fire for the naive client against the hosted one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import tkinter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import _TK_SKIP

from minireactor import Reactor
from minireactor.backends.tk_host import mainloop
from minireactor.demo.chat import ChatRoom, chat_factory
from minireactor.demo.chat_gui import ChatClient, open_chat_window
from minireactor.demo.chat_gui_threaded import ThreadedChatClient
from minireactor.lab import gui_lag
from minireactor.lab.display import screenshot

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_TK_SKIP is not None, reason=_TK_SKIP or ""),
    pytest.mark.usefixtures("tk_display"),
]


@pytest.fixture
def chat_server() -> Iterator[tuple[str, int]]:
    """The classroom chat server on its own reactor and thread; yields its address."""
    reactor = Reactor()
    room = ChatRoom()
    port = reactor.listen_tcp(0, chat_factory(room, reactor), "127.0.0.1")
    thread = threading.Thread(target=reactor.run, daemon=True)
    thread.start()
    yield port.address
    reactor.call_from_thread(reactor.stop)
    thread.join(10)


def run_tk_until(root: tkinter.Misc, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Turn Tk's loop (and whatever is hosted on it) until `condition()` holds."""
    deadline = [False]
    timer = root.after(int(timeout * 1000), lambda: deadline.__setitem__(0, True))
    while not condition():
        assert not deadline[0], f"condition not met within {timeout} s"
        root.tk.dooneevent(0)
    root.after_cancel(timer)


class Student:
    """Someone in the room with nc: a plain socket, read in a thread."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.sock.settimeout(None)
        self.received = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(4096):
            self.received += chunk

    def say(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\n")

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # ends the reading thread's recv()
        self._thread.join(10)
        self.sock.close()


def test_the_window_shows_the_room_and_sends_what_is_typed(chat_server: tuple[str, int]) -> None:
    root = tkinter.Tk()
    client = open_chat_window(root, *chat_server, nick="ada")
    client.reactor.start()
    window = client.window
    run_tk_until(root, lambda: any("is now ada" in line for line in window.lines()))
    assert window.status.cget("text") == "connected"
    assert any(line.startswith("* welcome to the minireactor chat") for line in window.lines())

    student = Student(chat_server)
    run_tk_until(root, lambda: any("joined" in line for line in window.lines()))
    student.say("hello from nc")
    run_tk_until(root, lambda: any("hello from nc" in line for line in window.lines()))

    window.entry.insert(0, "hello from the window")
    window.entry.focus_force()  # key presses go to the widget with the focus
    root.update()
    window.entry.event_generate("<Return>")  # what pressing Enter does
    run_tk_until(root, lambda: b"<ada> hello from the window" in student.received)
    assert window.lines()[-1] == "<me> hello from the window"
    assert window.entry.get() == ""

    student.close()
    client.reactor.stop()
    mainloop(client.reactor)  # returns once the reactor has shut down
    root.destroy()


def test_the_window_really_draws_the_messages(chat_server: tuple[str, int], tmp_path: Path) -> None:
    """Tk's geometry says the lines are laid out; a screenshot shows pixels changed."""
    root = tkinter.Tk()
    root.geometry("+0+0")
    client: ChatClient = open_chat_window(root, *chat_server)
    client.reactor.start()
    run_tk_until(root, lambda: client.window.status.cget("text") == "connected")
    root.update()
    messages = client.window.messages
    assert messages.winfo_ismapped() and messages.winfo_height() > 100
    has_import = shutil.which("import") is not None and shutil.which("compare") is not None
    if has_import:
        before = screenshot(tmp_path / "before.png")
    for i in range(12):
        client.window.show(f"line number {i} of the screenshot test")
    root.update()
    bbox = messages.bbox("end")  # on screen only if really laid out and visible
    assert bbox is not None and bbox[3] > 0
    if has_import:
        after = screenshot(tmp_path / "after.png")
        done = subprocess.run(
            ["compare", "-metric", "AE", str(before), str(after), "null:"],
            capture_output=True,
            text=True,
            check=False,
        )
        changed = float(done.stderr.split()[0])
        assert changed > 1000, f"only {changed} pixels changed: the lines were not drawn"
    client.reactor.stop()
    mainloop(client.reactor)
    root.destroy()


def test_the_threaded_client_hands_lines_to_tk(chat_server: tuple[str, int]) -> None:
    root = tkinter.Tk()
    client = ThreadedChatClient(root, *chat_server, nick="bob")
    try:
        run_tk_until(root, lambda: any("is now bob" in line for line in client.window.lines()))
        student = Student(chat_server)
        student.say("hi bob")
        run_tk_until(root, lambda: any("hi bob" in line for line in client.window.lines()))
        client.send("hi student")
        run_tk_until(root, lambda: b"<bob> hi student" in student.received)
        student.close()
    finally:
        client.close()
        root.destroy()


def test_the_naive_client_freezes_tk_and_the_hosted_one_does_not() -> None:
    naive = gui_lag.measure("naive", duration=1.0, every=0.3)
    hosted = gui_lag.measure("hosted", duration=1.0, every=0.3)
    # The naive client's recv() waits for the server's next line, up to 0.3 s,
    # and Tk's timer waits with it; the hosted reactor never blocks Tk.
    assert naive.worst > 0.15, str(naive)
    assert hosted.worst < 0.1, str(hosted)
    assert hosted.received >= 2 and naive.received >= 2


def test_chat_gui_without_a_display_says_why() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(
        [sys.executable, "-m", "minireactor.demo", "chat-gui", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DISPLAY is not set" in done.stderr and "xvfb-run" in done.stderr
