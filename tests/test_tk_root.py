"""Tk windows are freed on the thread that made them (lab/tk_root.py).

Tcl aborts the whole process when another thread deletes an interpreter.
A root in a reference cycle is deleted by whichever thread collects cyclic
garbage next: in CI, a chat server's reactor thread collected the root of a
window measured a moment before and took the pytest worker down with it.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tkinter
import weakref
from collections.abc import Iterator

import pytest
from conftest import _TK_SKIP

from minireactor.lab import gui_lag
from minireactor.lab.tk_root import with_tk_root

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_TK_SKIP is not None, reason=_TK_SKIP or ""),
    pytest.mark.usefixtures("tk_display"),
]

COLLECT_ON_ANOTHER_THREAD = """
import gc, sys, threading
from minireactor.lab.tk_root import with_tk_root

def work(root):
    root.cycle = root  # a reference cycle: only the collector can free this root
    return "done"

if sys.argv[1] == "helper":
    print(with_tk_root(work))
else:
    import tkinter
    gc.disable()
    root = tkinter.Tk()
    print(work(root))
    root.destroy()
    del root
threading.Thread(target=gc.collect).start()
"""


def collect_elsewhere(how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", COLLECT_ON_ANOTHER_THREAD, how],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_root_freed_by_another_thread_aborts_and_one_from_with_tk_root_does_not() -> None:
    plain = collect_elsewhere("plain")
    assert plain.returncode != 0, "Tcl no longer minds which thread deletes an interpreter?"
    helped = collect_elsewhere("helper")
    assert (helped.returncode, helped.stdout.strip()) == (0, "done"), helped.stderr


@pytest.fixture
def roots_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[weakref.ref[tkinter.Tk]]]:
    """Weak references to every Tk root made during the test, the collector paused."""
    made: list[weakref.ref[tkinter.Tk]] = []
    original = tkinter.Tk.__init__

    def remember(self: tkinter.Tk, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(weakref.ref(self))

    monkeypatch.setattr(tkinter.Tk, "__init__", remember)
    gc.disable()
    try:
        yield made
    finally:
        gc.enable()
        gc.collect()


@pytest.mark.parametrize("client", gui_lag.CLIENTS)
def test_measure_frees_its_window_before_it_returns(
    client: str, roots_made: list[weakref.ref[tkinter.Tk]]
) -> None:
    """Every client's window sits in a cycle (the probe's timer re-arms itself)."""
    run = gui_lag.measure(client, duration=0.3, every=0.1)
    assert run.lags, "the probe never ticked"
    assert len(roots_made) == 1
    assert roots_made[0]() is None, "the window is left for some thread's garbage collection"
    assert not gc.isenabled(), "with_tk_root must leave the collector as it found it"


def test_drive_window_frees_its_window_before_it_returns(
    roots_made: list[weakref.ref[tkinter.Tk]],
) -> None:
    gui_lag.drive_window(_Listing, 0.3, 0.1)
    assert len(roots_made) == 1 and roots_made[0]() is None


class _Listing:
    """What drive_window needs of a window: `messages` (a Listbox) and `close()`."""

    def __init__(self, root: tkinter.Tk, host: str, port: int) -> None:
        from minireactor.demo.chat_gui_threaded import ThreadedChatClient

        self._client = ThreadedChatClient(root, host, port)
        self.messages = self._client.window.messages

    def close(self) -> None:
        self._client.close()


def test_with_tk_root_restores_the_collector_and_warns_when_the_window_escapes() -> None:
    assert gc.isenabled()
    kept: list[tkinter.Tk] = []
    with pytest.warns(ResourceWarning, match="outlived with_tk_root"):
        with_tk_root(kept.append)
    assert gc.isenabled()
    kept.clear()
    gc.collect()


def test_an_error_in_work_still_frees_the_window(roots_made: list[weakref.ref[tkinter.Tk]]) -> None:
    def fails(root: tkinter.Tk) -> None:
        root.cycle = root  # type: ignore[attr-defined]
        raise ValueError("the experiment went wrong")

    with pytest.raises(ValueError, match="went wrong"):
        with_tk_root(fails)
    assert roots_made[0]() is None
