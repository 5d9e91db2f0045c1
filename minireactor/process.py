"""Child processes: three pipes and an exit status, all watched by the reactor.

`spawn_process(reactor, protocol, argv)` starts a program with its stdin,
stdout and stderr connected to non-blocking pipes. The reactor reads the
child's output as it comes, writes what the protocol sends to its stdin,
and notices when it exits (`ProcessTransport` explains how: pidfd or
polling, never SIGCHLD). The callback order::

    connection_made -> (out_received | err_received)* ... process_exited
                    -> (out_received | err_received)* -> process_ended

`process_exited` comes when the kernel reports the exit; output may still be
in the pipes then. `process_ended` comes last, once the child has exited
*and* both output pipes are closed: only then is all its output delivered.
Closing is the skeleton's state machine (`transport.py`); the hooks of
`ProcessTransport` say what `close()` (SIGTERM) and `abort()` (SIGKILL) mean.

Layer: a transport beside `tcp.py`. Read `stdio.py` next (the child's side).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .pipes import PipeWriter
from .tcp import MAX_READ
from .transport import Transport

if TYPE_CHECKING:
    from .interface import Loop
    from .timers import DelayedCall

log = logging.getLogger("minireactor")

POLL_INTERVAL = 0.05
"""Seconds between waitpid() checks when the kernel has no pidfd."""
KILL_WAIT = 1.0
"""Seconds `abort()` waits for a SIGKILLed child to be reaped."""

__all__ = ["ProcessProtocol", "ProcessTransport", "spawn_process"]


class ProcessProtocol:
    """What user code writes to talk to a child process (callbacks do nothing)."""

    def connection_made(self, transport: ProcessTransport) -> None:
        """The child is running; keep `transport` to write to it or signal it."""

    def out_received(self, data: bytes) -> None:
        """The child wrote `data` to its stdout."""

    def err_received(self, data: bytes) -> None:
        """The child wrote `data` to its stderr."""

    def process_exited(self, returncode: int) -> None:
        """The child exited: its exit code, or -N if signal N killed it."""

    def process_ended(self, returncode: int) -> None:
        """Called last: the child exited and all its output has been delivered."""

    def pause_writing(self) -> None:
        """More than the high-water mark waits to go to the child's stdin."""

    def resume_writing(self) -> None:
        """The stdin buffer drained: write again."""


def _signal_number(sig: str | int) -> int:
    """ "TERM", "SIGTERM" or 15 -> 15."""
    if isinstance(sig, int):
        return sig
    name = sig.upper() if sig.upper().startswith("SIG") else "SIG" + sig.upper()
    number = getattr(signal, name, None)
    if not isinstance(number, int):
        raise ValueError(f"unknown signal {sig!r}; use a name like 'TERM', 'KILL', 'INT'")
    return number


class ProcessTransport(Transport):
    """A running child, seen from its `ProcessProtocol`.

    The states are the skeleton's (transport.py), and so are `close()` and
    `abort()`; the hooks say how a child ends. `_shut_down` (close) closes
    stdin once flushed and sends SIGTERM, then output is read on until the
    child has gone (`_stop_reading` does nothing). `_end_now` (abort)
    sends SIGKILL and reaps the child at once. The end comes through the
    skeleton's `_connection_lost`, once the child exited and its output
    pipes closed (`_maybe_end`), and `_tell_lost` says
    `process_ended(returncode)`. An error in the protocol is logged and the
    child runs on (`closes_on_protocol_error = False`).

    Discussion: how do we learn that a child exited? The classic answer is
    SIGCHLD, a signal sent to the parent. But signals are process-wide: one
    handler for the whole program, shared awkwardly with every library (and
    every other reactor in a notebook), and a handler may do only
    async-signal-safe work. Linux 5.3 has a better answer, the *pidfd*:
    `os.pidfd_open(pid)` returns a descriptor that becomes readable when
    that one child exits. It is an ordinary descriptor, so `add_reader`
    watches it on every backend, and signalling through it
    (`signal.pidfd_send_signal`) can never hit an unrelated process that
    reused the PID. Without pidfds (macOS, old kernels) we ask
    `waitpid(pid, WNOHANG)` on a short timer instead: slower to notice, but
    it touches no global state. Either way we *reap* the child (collect its
    status), so no zombie is left behind.

    Attributes:
        pid: the child's process id.
        argv: the command line it was started with.
        returncode: None while it runs; then its exit code, or -N for signal N
            (the convention of `subprocess`).
    """

    closes_on_protocol_error = False

    def __init__(
        self,
        reactor: Loop,
        protocol: Any,
        popen: subprocess.Popen[bytes],
        pipes: tuple[int, int, int],
        argv: list[str],
    ) -> None:
        stdin, stdout, stderr = pipes
        super().__init__(reactor, protocol)
        self._popen = popen
        self.pid = popen.pid
        self.argv = argv
        self.returncode: int | None = None
        self._stdin: int | None = stdin
        self._stdin_closing = False
        self._stdin_writer = PipeWriter(reactor, stdin, self._stdin_failed, self._tell)
        self._readers = {stdout: "out_received", stderr: "err_received"}
        self._pidfd: int | None = None
        self._poll_timer: DelayedCall | None = None
        for fd in (stdin, stdout, stderr):
            os.set_blocking(fd, False)
        reactor.own(self)
        self._tell("connection_made", self)
        if self._lost:
            return  # the protocol aborted us from connection_made
        try:
            for fd in list(self._readers):
                reactor.add_reader(fd, self._read_ready, fd)
            self._watch_exit()
        except Exception:
            # The backend cannot watch one more descriptor (select's FD_SETSIZE):
            # end the child rather than leave it running unwatched.
            self.abort()
            raise

    # -- noticing the exit ----------------------------------------------------

    def _watch_exit(self) -> None:
        """Watch a pidfd for the exit, or poll waitpid() where there is none."""
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            # No pidfd_open (not Linux >= 5.3) or not permitted (seccomp).
            self._poll_timer = self._reactor.call_later(POLL_INTERVAL, self._poll_exit)
            return
        self._reactor.add_reader(self._pidfd, self._reap)

    def _poll_exit(self) -> None:
        self._poll_timer = None
        if not self._reap():
            self._poll_timer = self._reactor.call_later(POLL_INTERVAL, self._poll_exit)

    def _reap(self) -> bool:
        """Collect the exit status if the child has exited; True if it has."""
        # Popen.poll() is waitpid(pid, WNOHANG) plus the status decoding
        # (os.waitstatus_to_exitcode); going through it keeps Popen's own
        # bookkeeping right, so it never waits for this PID again.
        returncode = self._popen.poll()
        if returncode is None:
            return False  # a spurious wake-up
        if self._pidfd is not None:
            self._reactor.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self.returncode is None:
            self.returncode = returncode
            self._tell("process_exited", returncode)
            self._maybe_end()
        return True

    # -- reading stdout and stderr --------------------------------------------

    def _read_ready(self, fd: int) -> None:
        try:
            data = os.read(fd, MAX_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("reading from child %d failed: %s", self.pid, exc)
            data = b""
        if data:
            self._tell(self._readers[fd], data)
            return
        # End of file: the child (and any grandchild sharing the pipe) closed it.
        self._close_reader(fd)
        self._maybe_end()

    def _close_reader(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            self._reactor.remove_reader(fd)
            os.close(fd)

    def _maybe_end(self) -> None:
        """End (`process_ended`) once the child exited and its output pipes closed."""
        if self.returncode is not None and not self._readers:
            self._connection_lost(None)

    # -- writing to stdin ---------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write `data` to the child's stdin; what the pipe cannot take is buffered.

        Writes after `close_stdin()` are ignored; so is a child that stopped
        reading (its stdin closed: EPIPE), as when writing to a closed socket.

        Raises:
            TypeError: `data` is not bytes-like.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}; encode text first")
        if not data or self._stdin is None or self._stdin_closing:
            return
        self._stdin_writer.write(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Write each chunk in turn (joined first: one system call, not many)."""
        self.write(b"".join(chunks))

    def _stdin_failed(self, exc: OSError) -> None:
        """A write to stdin failed: EPIPE means the child stopped reading (fine)."""
        if exc.errno != errno.EPIPE:
            log.warning("writing to child %d failed: %s", self.pid, exc)
        self._drop_stdin()

    def close_stdin(self) -> None:
        """Close the child's stdin once the buffer is flushed: it reads EOF."""
        self._stdin_closing = True
        self._stdin_writer.when_flushed(self._drop_stdin)

    def _drop_stdin(self) -> None:
        """Close stdin now, discarding anything unsent."""
        if self._stdin is not None:
            self._stdin_writer.discard()
            os.close(self._stdin)
            self._stdin = None

    def get_write_buffer_size(self) -> int:
        return self._stdin_writer.size

    # -- signals ----------------------------------------------------------------

    def signal_process(self, sig: str | int) -> None:
        """Send a signal: "TERM", "KILL", "INT", ... or a number.

        Raises:
            ProcessLookupError: the child has already exited and been reaped.
            ValueError: an unknown signal name.
        """
        number = _signal_number(sig)
        if self.returncode is not None:
            raise ProcessLookupError(
                f"process {self.pid} has already exited (returncode {self.returncode}); "
                f"there is nothing left to signal"
            )
        if self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, number)
        else:
            os.kill(self.pid, number)

    # -- closing: the skeleton's hooks (transport.py) ---------------------------

    def _shut_down(self) -> None:
        """close(): close stdin once flushed and send SIGTERM (at shutdown too; abort() next)."""
        self.close_stdin()
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # exited just now: reaped soon
                self.signal_process("TERM")

    def _end_now(self, exc: BaseException | None) -> None:
        """abort(): SIGKILL, reap, and end in this call; output still unread is lost.

        Waits at most `KILL_WAIT` seconds for the kernel to finish the child
        (a process stuck in an uninterruptible system call can outlive SIGKILL
        for a while; subprocess's own reaper collects it later). `exc` is
        ignored: a child's end is its exit status.
        """
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # exited just now: reaped below
                self.signal_process("KILL")
            if self._pidfd is not None:
                waiter = select.poll()
                waiter.register(self._pidfd, select.POLLIN)
                waiter.poll(KILL_WAIT * 1000)
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):  # logged below
                    self._popen.wait(KILL_WAIT)
            if not self._reap():
                log.warning("child %d did not die within %s s of SIGKILL", self.pid, KILL_WAIT)
                self.returncode = -signal.SIGKILL
        self._connection_lost(exc)

    def _tell_lost(self, exc: BaseException | None) -> None:
        """The protocol's last word is `process_ended(returncode)`."""
        self._tell("process_ended", self.returncode)

    def _stop_reading(self) -> None:
        """Nothing: a child's output is read to the end, even after close()."""

    def _discard_buffer(self) -> None:
        """Drop what waits for stdin, and close it: nothing more goes to the child."""
        self._drop_stdin()

    def _release(self) -> None:
        """Close what abort() left open: the output pipes, the waitpid() timer."""
        for fd in list(self._readers):
            self._close_reader(fd)
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None

    def is_closing(self) -> bool:
        """True once nothing more can be written: stdin closed or closing (the child may run on)."""
        return self._stdin is None or self._stdin_closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """'pid' or 'argv'; `default` for anything else."""
        return {"pid": self.pid, "argv": self.argv}.get(name, default)

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<ProcessTransport pid={self.pid} {state} {self.argv[:1]}>"


def spawn_process(
    reactor: Loop,
    protocol: Any,
    argv: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> ProcessTransport:
    """Start `argv` as a child process connected to `protocol` by three pipes.

    Args:
        protocol: a `ProcessProtocol` instance.
        argv: the program (looked up on $PATH unless it contains a "/") and
            its arguments.
        env: the child's whole environment; None inherits ours.
        path: the child's working directory; None keeps ours.

    Returns:
        The transport; `connection_made` has already been called with it.

    Raises:
        FileNotFoundError: no such program (or working directory). We raise
            here, where the mistake was made, rather than report it later
            through `process_ended`: a child that never started has no exit
            status to report.
        PermissionError: the program is not executable.
    """
    if not argv:
        raise ValueError("spawn_process() needs a program to run: argv is empty")
    # We make the pipes ourselves and hand Popen the child's ends, so the
    # parent's ends are plain descriptors that we own and make non-blocking.
    # Popen does the delicate part: fork (vfork where it can) and exec, closing
    # every other descriptor in the child (close_fds), and reporting a failed
    # exec back to us as an exception.
    args = [os.fsdecode(arg) for arg in argv]
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    try:
        popen = subprocess.Popen(
            args, stdin=stdin_r, stdout=stdout_w, stderr=stderr_w, env=env, cwd=path
        )
    except BaseException:
        for fd in (stdin_w, stdout_r, stderr_r):
            os.close(fd)
        raise
    finally:
        # The child has its copies; ours must go, or we would never see EOF
        # on stdout (we would be holding a write end open ourselves).
        for fd in (stdin_r, stdout_w, stderr_w):
            os.close(fd)
    return ProcessTransport(reactor, protocol, popen, (stdin_w, stdout_r, stderr_r), args)
