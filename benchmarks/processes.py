"""Start benchmark processes pinned to one CPU, read their output lines, stop them.

Every process a benchmark starts (a server, the load client) goes through
`PinnedProcess`: it is pinned to one CPU before it runs a single instruction
of its program (the affinity is set in the child between fork and exec, and
threads it starts later inherit it), its stdout is read line by line with a
deadline so a silent process can never hang the harness, and its stderr goes
to a temporary file whose tail is shown when something fails.

Read next: `procstat.py` (what the process cost) and `echo.py`.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parent.parent


def pick_cpus() -> tuple[int, int]:
    """The CPUs for (server, client): the first two this process may use.

    With a single usable CPU both share it; the harness says so in its output.
    """
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[0], cpus[1] if len(cpus) > 1 else cpus[0]


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; return the new soft limit.

    The idle-connection benchmark holds thousands of sockets open in the
    server and in the client, past the usual soft limit of 1024.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _pin_to(cpu: int) -> Callable[[], None]:
    """A preexec_fn: pin the child to `cpu` and raise its descriptor limit, then exec."""

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})
        raise_fd_limit()

    return pin


def python_env() -> dict[str, str]:
    """The environment for Python children: the repository first on sys.path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


class PinnedProcess:
    """A child process pinned to one CPU whose stdout is read as lines.

    Use as a context manager: leaving the block stops the process (SIGTERM,
    then SIGKILL after a grace period) and removes its stderr file.
    """

    def __init__(self, argv: Sequence[str], cpu: int, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        # Kept open for the life of the process and closed by stop().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env=env,
            preexec_fn=_pin_to(cpu),  # the harness is single-threaded, so this is safe
        )
        self._buffer = b""

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def read_line(self, timeout: float) -> str:
        """Return the next line of stdout, without its newline.

        Raises:
            TimeoutError: no full line within `timeout` seconds.
            EOFError: the process closed its stdout (it has probably exited).
        """
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no output within {timeout:g} s from {self.argv[0]}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"{self.argv[0]} closed its output: {self.stderr_tail()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def stderr_tail(self, limit: int = 2000) -> str:
        """The last `limit` characters the process wrote to stderr."""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        return text[-limit:].strip() or "(nothing on stderr)"

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Ask the process to end (SIGTERM); kill it if it has not within `grace` s."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> PinnedProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
