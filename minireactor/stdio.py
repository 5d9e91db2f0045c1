"""Standard input and output as a transport: a console program is a protocol.

`StandardIO(protocol, reactor)` connects a stream protocol to stdin (fd 0)
and stdout (fd 1): `process.py` seen from the child's side, the same pipes
read and written without ever blocking the loop. A line-based console
program, complete::

    from minireactor import Protocol, Reactor
    from minireactor.stdio import StandardIO

    class Shout(Protocol):
        def connection_made(self, transport):
            self.transport, self.pending = transport, b""

        def data_received(self, data):
            *lines, self.pending = (self.pending + data).split(b"\\n")
            for line in lines:
                self.transport.write(line.upper() + b"\\n")

        def connection_lost(self, exc):
            reactor.stop()

    reactor = Reactor()
    StandardIO(Shout(), reactor)
    reactor.run()

Layer: a transport beside `tcp.py`. Read `process.py` for the parent's side;
read `reactor.py` next.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .pipes import PipeWriter
from .tcp import MAX_READ
from .transport import Transport

if TYPE_CHECKING:
    from .interface import Loop

log = logging.getLogger("minireactor")

__all__ = ["StandardIO"]


class StandardIO(Transport):
    """A transport over two descriptors: read `stdin`, write `stdout`.

    Two operating-system details shape the code. O_NONBLOCK belongs to the
    open file, which we share with the shell that started us (and stdout
    shares it when both are one terminal), so we restore the old mode on
    close. And epoll refuses regular files and /dev/null (they are "always
    ready"), so when stdin is one of those we read it from the ready queue
    instead of waiting for readiness.

    The descriptors stay open when the transport closes (they belong to the
    process, and `print()` may still want fd 1), except that `write_eof()`
    closes `stdout`: a pipe's reader sees EOF only when the write end closes.

    Args:
        protocol: a stream protocol (`minireactor.Protocol`).
        reactor: the reactor that drives both descriptors.
        stdin: the descriptor to read (any pipe, terminal, socket or file).
        stdout: the descriptor to write.
    """

    def __init__(self, protocol: Any, reactor: Loop, stdin: int = 0, stdout: int = 1) -> None:
        super().__init__(reactor, protocol)
        self._in: int = stdin
        self._out: int | None = stdout
        self._was_blocking = {fd: os.get_blocking(fd) for fd in (stdin, stdout)}
        for fd in (stdin, stdout):
            os.set_blocking(fd, False)
        # EPIPE on stdout means whoever read our output has gone: we are closed.
        self._writer = PipeWriter(reactor, stdout, self._force_close, self._tell)
        self._always_ready = False  # stdin is a regular file or /dev/null
        self._reading = False
        self._reading_paused = False
        self._eof_requested = False
        reactor.own(self)
        self._tell("connection_made", self)
        if not self._closing:
            self._start_reading()

    # -- reading ------------------------------------------------------------

    def _start_reading(self) -> None:
        self._reading = True
        if not self._always_ready:
            try:
                self._reactor.add_reader(self._in, self._read_ready)
                return
            except PermissionError:
                # epoll: "this file cannot be waited for", i.e. it is always ready.
                self._always_ready = True
        self._reactor.call_soon(self._read_ready)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            if not self._always_ready:
                self._reactor.remove_reader(self._in)

    def _read_ready(self) -> None:
        if not self._reading:
            return  # a queued call from before pause_reading() or close()
        try:
            data = os.read(self._in, MAX_READ)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError as exc:
            self._force_close(exc)
            return
        if data:
            self._tell("data_received", data)
        elif data == b"":
            self._stop_reading()
            keep_open = self._tell("eof_received")
            if not keep_open:
                self.close()
            return
        if self._always_ready and self._reading:
            self._reactor.call_soon(self._read_ready)  # next chunk, next pass

    def pause_reading(self) -> None:
        """Stop calling `data_received` until `resume_reading()`."""
        if self._reading:
            self._reading_paused = True
            self._stop_reading()

    def resume_reading(self) -> None:
        """Undo `pause_reading()`."""
        if self._reading_paused and not self._closing:
            self._reading_paused = False
            self._start_reading()

    # -- writing ------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write `data` to stdout; what the pipe cannot take now is buffered.

        Raises:
            TypeError: `data` is not bytes-like (encode text first).
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}; encode text first")
        if not data or self._out is None or self._closing or self._eof_requested:
            return
        self._writer.write(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Write each chunk in turn (joined first: one system call, not many)."""
        self.write(b"".join(chunks))

    def write_eof(self) -> None:
        """Close stdout once flushed (the reader sees EOF); reading goes on."""
        if self._eof_requested or self._closing:
            return
        self._eof_requested = True
        self._writer.when_flushed(self._close_stdout)

    def _close_stdout(self) -> None:
        if self._out is not None:
            self._writer.discard()
            os.set_blocking(self._out, self._was_blocking[self._out])
            os.close(self._out)
            self._out = None

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return self._writer.size

    # -- closing: the skeleton's hooks (transport.py) ---------------------------

    def _shut_down(self) -> None:
        """After close(): lose the connection once stdout's buffer is flushed."""
        self._writer.when_flushed(lambda: self._reactor.call_soon(self._connection_lost, None))

    def _discard_buffer(self) -> None:
        self._writer.discard()

    def _release(self) -> None:
        # Give the shell back its descriptors as we found them.
        for fd in (self._in, self._out):
            if fd is not None:  # (a stdout closed by write_eof was restored then)
                with contextlib.suppress(OSError):  # closed by its owner meanwhile
                    os.set_blocking(fd, self._was_blocking[fd])

    # -- information --------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'stdin' or 'stdout' (the descriptors); `default` for anything else."""
        return {"stdin": self._in, "stdout": self._out}.get(name, default)

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<StandardIO stdin={self._in} stdout={self._out} {state}>"
