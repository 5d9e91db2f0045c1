"""A virtual screen for GUI experiments on a machine without one (Xvfb).

Tk needs an X display to open a window. CI machines, the grader's sandbox
and a notebook server usually have none, so this file starts `Xvfb` (Debian
package `xvfb`), an X server that draws into memory, on a display number
nobody uses (Xvfb picks it itself: `-displayfd`), points `DISPLAY` at it,
and stops it afterwards:

    with virtual_display():
        root = tkinter.Tk()  # works headless

`ensure_display()` is the notebook's version: the real screen when there is
one, a virtual one otherwise. `screenshot()` saves what the screen shows
(ImageMagick's `import -window root`).

One rule: a process that has opened a Tk window keeps its connection to that
X server until it exits (Tk never closes a display), and if that server
stops, the next Tk call ends the process ("XIO: fatal IO error"). So start
one virtual display per process and stop it only when Tk is done for good;
Xvfb also ends by itself when the process that started it does (Linux).

Read next: `gui_lag.py`, which measures how late a window's loop runs.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["VirtualDisplay", "ensure_display", "own_display", "screenshot", "virtual_display"]

INSTALL_HINT = (
    "install it with `apt install xvfb` (Debian/Ubuntu) or `dnf install xorg-x11-server-Xvfb`"
)


class VirtualDisplay:
    """One Xvfb server; `start()` sets DISPLAY to it, `stop()` ends it and restores DISPLAY.

    Args:
        size: the screen's WIDTHxHEIGHTxDEPTH.
    """

    def __init__(self, size: str = "1024x768x24") -> None:
        self.size = size
        self.display: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._previous: str | None = None

    def start(self, timeout: float = 15.0) -> str:
        """Start Xvfb and set DISPLAY; returns the display name (":N").

        Raises:
            RuntimeError: Xvfb is not installed, exited, or did not start in `timeout`
                seconds (the message quotes what it said).
        """
        xvfb = shutil.which("Xvfb") or (
            "/usr/bin/Xvfb" if os.path.exists("/usr/bin/Xvfb") else None
        )
        if xvfb is None:
            raise RuntimeError(f"Xvfb (a virtual X display) is not installed: {INSTALL_HINT}")
        read_end, write_end = os.pipe()
        # Xvfb ends with the process that started it, where util-linux's setpriv
        # can ask the kernel for that (Linux's "parent death signal").
        setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
        prefix = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
        command = [*prefix, xvfb, "-displayfd", str(write_end), "-screen", "0", self.size]
        with tempfile.TemporaryFile() as errors:
            try:
                self._process = subprocess.Popen(
                    [*command, "-nolisten", "tcp"],
                    pass_fds=(write_end,),
                    # Its own session: a test that signals our process group (Ctrl+C)
                    # must not kill the screen under every other window.
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
                os.close(write_end)
                write_end = -1
                number = self._read_display_number(read_end, timeout, errors)
            finally:
                os.close(read_end)
                if write_end != -1:
                    os.close(write_end)
        self.display = f":{int(number)}"
        self._previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.display
        return self.display

    def _read_display_number(self, fd: int, timeout: float, errors: BinaryIO) -> bytes:
        """Xvfb writes its display number to `fd` once it accepts clients."""
        number = b""
        deadline = time.monotonic() + timeout
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            chunk = os.read(fd, 16) if ready else b""
            if not chunk:
                self.stop()
                errors.seek(0)
                said = errors.read()[-600:].decode(errors="replace").strip()
                why = "exited" if ready else f"did not start within {timeout} s"
                raise RuntimeError(f"Xvfb {why}" + (f"; it said: {said}" if said else ""))
            number += chunk
        return number

    def stop(self) -> None:
        """Stop Xvfb (if it runs) and restore DISPLAY as it was."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.display is not None and os.environ.get("DISPLAY") == self.display:
            if self._previous is None:
                del os.environ["DISPLAY"]
            else:
                os.environ["DISPLAY"] = self._previous
        self.display = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def virtual_display(size: str = "1024x768x24") -> Iterator[str]:
    """A fresh Xvfb for the `with` block; yields its display name."""
    with VirtualDisplay(size) as name:
        yield name


def ensure_display() -> VirtualDisplay | None:
    """Make sure DISPLAY points at a screen: None if one is set, else a started Xvfb.

    The Xvfb ends with this process (a notebook's kernel); stopping it earlier
    ends any later Tk call in this process (see the module's docstring).

    Raises:
        RuntimeError: no display, and Xvfb is not installed.
    """
    if os.environ.get("DISPLAY"):
        return None
    display = VirtualDisplay()
    display.start()
    return display


_OWN: list[VirtualDisplay] = []  # own_display()'s one Xvfb for this process


def own_display() -> str:
    """This process's own Xvfb, whatever DISPLAY was: started on first use, kept till exit.

    For graded GUI tests, which must not draw on (or depend on) anyone's
    screen. Returns the display name; DISPLAY points at it.

    Raises:
        RuntimeError: Xvfb is not installed (the message tells the instructor what to do).
    """
    if not _OWN:
        display = VirtualDisplay()
        try:
            display.start()
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc}. These tests need a virtual screen; instructor: install the `xvfb` "
                "package on the grading machine (apt install xvfb)"
            ) from None
        _OWN.append(display)
    os.environ["DISPLAY"] = str(_OWN[0].display)
    return str(_OWN[0].display)


def screenshot(path: str | Path) -> Path:
    """Save the whole screen of DISPLAY as an image (ImageMagick's `import`).

    Raises:
        RuntimeError: ImageMagick is not installed, or the capture failed.
    """
    tool = shutil.which("import")
    if tool is None:
        raise RuntimeError("ImageMagick's `import` is not installed: `apt install imagemagick`")
    path = Path(path)
    done = subprocess.run(
        [tool, "-window", "root", str(path)], capture_output=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import -window root failed: {done.stderr.decode(errors='replace')}")
    return path
