"""Buffered, flow-controlled writing to a pipe: what a child's stdin and our stdout share.

`TCPTransport` buffers what a socket cannot take yet; a pipe needs exactly
the same: try `os.write()` at once, keep what the pipe did not take, ask
the reactor to say when the pipe is writable again, and tell the protocol
`pause_writing()` past the high-water mark and `resume_writing()` once the
buffer drains. `PipeWriter` is that, for one descriptor; `process.py`
(the child's stdin) and `stdio.py` (our stdout) each own one.

The owner keeps the descriptor (it opens and closes it); the writer only
writes, and `discard()` stops it before the owner closes the descriptor.

Read next: `process.py`, then `stdio.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .tcp import HIGH_WATER

if TYPE_CHECKING:
    from .interface import Loop


class PipeWriter:
    """Writes to one non-blocking descriptor, buffering what it cannot take yet.

    Args:
        reactor: whose `add_writer` tells us when the pipe has room again.
        fd: the descriptor, already non-blocking.
        on_error: called with the OSError when a write fails (EPIPE: the
            reader has gone); the writer has discarded its buffer by then.
        tell: calls a protocol method by name ("pause_writing", "resume_writing").
    """

    def __init__(
        self,
        reactor: Loop,
        fd: int,
        on_error: Callable[[OSError], None],
        tell: Callable[..., Any],
    ) -> None:
        self._reactor = reactor
        self._fd: int | None = fd
        self._on_error = on_error
        self._tell = tell
        self._buffer = bytearray()
        self._paused = False
        self._on_flushed: list[Callable[[], Any]] = []

    @property
    def size(self) -> int:
        """Bytes written and not yet taken by the pipe."""
        return len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write `data` now if the pipe takes it; buffer the rest."""
        if self._fd is None:
            return
        if not self._buffer:
            sent = self._write_some(data)
            if sent is None or sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._reactor.add_writer(self._fd, self._write_ready)
        self._buffer += data
        if not self._paused and len(self._buffer) > HIGH_WATER:
            self._paused = True
            self._tell("pause_writing")

    def when_flushed(self, callback: Callable[[], Any]) -> None:
        """Call `callback` once everything written so far has gone (now, if it has)."""
        if self._buffer:
            self._on_flushed.append(callback)
        else:
            callback()

    def discard(self) -> None:
        """Drop what is buffered and stop writing (the owner is closing the descriptor)."""
        if self._fd is not None and self._buffer:
            self._reactor.remove_writer(self._fd)
        self._buffer.clear()
        self._on_flushed.clear()
        self._fd = None

    def _write_some(self, data: bytes | bytearray | memoryview) -> int | None:
        """os.write() what the pipe takes; None after a failure (reported to on_error)."""
        assert self._fd is not None
        try:
            return os.write(self._fd, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            self.discard()
            self._on_error(exc)
            return None

    def _write_ready(self) -> None:
        if self._fd is None:
            return
        sent = self._write_some(self._buffer)
        if sent is None:
            return
        del self._buffer[:sent]
        if self._paused and len(self._buffer) <= HIGH_WATER // 4:
            self._paused = False
            self._tell("resume_writing")
        if not self._buffer and self._fd is not None:
            self._reactor.remove_writer(self._fd)
            callbacks, self._on_flushed = self._on_flushed, []
            for callback in callbacks:
                callback()
