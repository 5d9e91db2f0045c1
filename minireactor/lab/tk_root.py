"""A Tk window whose Tcl interpreter is freed on the thread that made it.

Tcl lets only the thread that created an interpreter delete it; deleted
from any other thread, Tcl aborts the whole process ("Fatal Python error:
Aborted", the pytest worker or the notebook kernel gone with it). Python
deletes a root's interpreter when the last reference to the `tkinter.Tk`
goes: at once, unless the root sits in a reference cycle, and it often
does: a timer callback that re-arms itself, a reactor hosted on the window,
a window object whose buttons call its own methods. Then the root lives
until the cyclic garbage collector next runs, and that can be on whichever
thread happens to allocate at that moment, such as the reactor thread of a
server running beside the window.

`with_tk_root(work)` makes a root, runs `work(root)`, destroys the root and
frees it here: the collector is paused from the moment the root is
destroyed until one collection on this thread has run. `work` must return
plain data (numbers, strings), not widgets, or the window outlives the call
(a `ResourceWarning` says so).

Read next: `gui_lag.py`, which runs every measured window this way.
"""

from __future__ import annotations

import gc
import traceback
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import tkinter

__all__ = ["with_tk_root"]

T = TypeVar("T")


def with_tk_root(work: Callable[[tkinter.Tk], T]) -> T:
    """Run `work(root)` on a new Tk root; destroy the root and free it on this thread.

    Raises:
        tkinter.TclError: no display to open the window on (see `display.py`).
    """
    was_enabled = gc.isenabled()
    root_ref: list[weakref.ref[tkinter.Tk]] = []
    try:
        return _run_then_destroy(work, root_ref)
    finally:
        # The frame that held the root has ended; nothing can collect it
        # elsewhere, since the collector is paused. Free it here.
        gc.collect()
        if was_enabled:
            gc.enable()
        if root_ref and root_ref[0]() is not None:
            warnings.warn(
                "the Tk root outlived with_tk_root(): something work() returned or stored "
                "still refers to it, so another thread may free it later and abort the process",
                ResourceWarning,
                stacklevel=2,
            )


def _run_then_destroy(
    work: Callable[[tkinter.Tk], T], root_ref: list[weakref.ref[tkinter.Tk]]
) -> T:
    import tkinter

    root = tkinter.Tk()
    root_ref.append(weakref.ref(root))
    try:
        return work(root)
    except BaseException as exc:
        # A traceback keeps the frames of `work`, and so the window, alive
        # for as long as someone holds the error: drop their variables.
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        gc.disable()
        root.destroy()
        del root  # an error's traceback keeps this frame, not the window
