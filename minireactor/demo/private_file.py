"""A file only its owner can read: where the dashboard leaves the instructor's link.

The dashboard's restart buttons need a secret. Printing it in the terminal
shows it to everyone watching the projector, so it goes into a file with
mode 0600 instead, and the terminal names the file. Unless told where, the
file goes in a new private directory (mode 0700, from `tempfile.mkdtemp`),
so no other user can have put a link or a file there first.

Read next: `dashboard.py` (`DashboardServer`, which writes and removes it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["PrivateFile"]


class PrivateFile:
    """Text written with mode 0600, removed by `remove()`.

    Args:
        path: where to write; None: `instructor-link.txt` in a new private
            temporary directory (removed with the file).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._own_dir: Path | None = None
        if path is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="minireactor-dashboard-"))
            path = self._own_dir / "instructor-link.txt"
        self.path = Path(path)

    def write(self, text: str) -> None:
        """Replace the file's contents with `text`, readable by its owner only.

        Raises:
            OSError: the path cannot be written, or it is a symbolic link
                (O_NOFOLLOW: never write a secret through someone's link).
        """
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # it may have existed with a wider mode
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def remove(self) -> None:
        """Delete the file (and the private directory made for it); gone already is fine."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
