"""Run one test in a disposable child process, and decide its verdict.

This is the parent side of the grader's containment (the threat model is in
`minireactor/grader/__init__.py`). For each test it:

1. makes a private folder: the submission copy (read-only to the child), a
   working folder the child owns, and the files that capture its output;
2. starts `python -I -B` in a new session (its own process group), as an
   unprivileged user when the grader runs as root, and sends it the job and a
   random token over a pipe only the two of them hold;
3. waits at most the wall-clock limit, then kills the whole process group and
   any escaped descendant (the grader is a child subreaper, so orphans come to
   it rather than to init);
4. reads the token-authenticated report and the exit status: a test passes only
   if the child reported PASS with the right token from the right pid *and*
   exited with status 0. Everything else the child did is shown, never trusted.

Read next: `_child.py` (the child side) and `runner.py` (which calls this).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_CHILD_SOURCE = Path(__file__).with_name("_child.py")
_OUTPUT_TAIL = 4000  # characters of captured stdout/stderr kept per stream
_REPORT_LIMIT = 1 << 20

# The child's first program: read the job, then run the runner text it carries.
# Everything lives in a function so no module global of __main__ keeps the token.
_BOOTSTRAP = """\
import os, sys
def _boot(fd):
    data = bytearray()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    import json
    job = json.loads(bytes(data))
    data[:] = bytes(len(data))
    ns = {"__name__": "minireactor_grader_child"}
    exec(compile(job.pop("runner"), "<minireactor-grader-runner>", "exec"), ns)
    ns["main"](job)
_boot(int(sys.argv[1]))
"""


@dataclass(frozen=True)
class Limits:
    """Per-test limits: wall clock and CPU seconds, address space, file size."""

    wall: float = 10.0
    cpu: float = 10.0
    memory_mb: int = 1024
    file_mb: int = 64

    def with_wall(self, wall: float | None) -> Limits:
        """These limits with another wall-clock limit (CPU follows it down)."""
        if wall is None:
            return self
        return Limits(wall, min(self.cpu, wall), self.memory_mb, self.file_mb)


@dataclass(frozen=True)
class Job:
    """One test to run: its source, which function, and the student's file."""

    source: str
    filename: str
    module: str
    test: str
    submission: Path | None  # the student's file, or None when it is missing
    target_name: str  # the name the tests import it under (the starter's file name)
    limits: Limits
    extra_path: tuple[str, ...] = ()  # e.g. the exercise's tests/ folder, for shared helpers


@dataclass
class Verdict:
    """What happened to one test, as the grader saw it."""

    passed: bool
    detail: str
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    returncode: int | None = None

    def output(self) -> str:
        """The student-facing text: why it failed, then what the code printed."""
        parts = [self.detail] if self.detail else []
        if self.stdout.strip():
            parts.append("--- stdout ---\n" + self.stdout.rstrip())
        if self.stderr.strip():
            parts.append("--- stderr ---\n" + self.stderr.rstrip())
        return "\n".join(parts)


@dataclass
class Policy:
    """How hard the sandbox holds the child.

    Attributes:
        user: (uid, gid) to run tests as, or None to keep the grader's user.
            Dropping privileges (as root, the Gradescope case) stops graded
            code from touching the grader's files, signalling the grader, or
            reading its own memory.
        contain_orphans: make the grader a child subreaper and kill escaped
            descendants after each test (Linux; changes the grader process).
        nproc: RLIMIT_NPROC for the sandbox user (processes + threads).
    """

    user: tuple[int, int] | None = None
    contain_orphans: bool = False
    nproc: int = 512
    python: str = field(default_factory=lambda: sys.executable)


def default_policy(contain_orphans: bool = True) -> Policy:
    """Drop to `nobody` when running as root and nobody can read the package."""
    user: tuple[int, int] | None = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
            user = (nobody.pw_uid, nobody.pw_gid)
        except KeyError:
            user = None
    return Policy(user=user, contain_orphans=contain_orphans and sys.platform == "linux")


class Sandbox:
    """Runs jobs, each in its own contained child process (thread-safe)."""

    def __init__(self, policy: Policy, sys_path: list[str]) -> None:
        self.policy = policy
        self.sys_path = sys_path
        self._runner = _CHILD_SOURCE.read_text(encoding="utf-8")  # read once: see docstring
        self._spawn_lock = threading.Lock()
        self._children: set[int] = set()
        if policy.contain_orphans:
            _become_subreaper()

    def run(self, job: Job) -> Verdict:
        """Run one test to completion and return the grader's verdict."""
        base = Path(tempfile.mkdtemp(prefix="minireactor-grade-"))
        try:
            return self._run_in(base, job)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _run_in(self, base: Path, job: Job) -> Verdict:
        workdir, subdir = self._prepare(base, job)
        token = secrets.token_hex(16)
        job_r, job_w = os.pipe()
        report_r, report_w = os.pipe()
        message = json.dumps({
            "runner": self._runner, "token": token, "report_fd": report_w,
            "source": job.source, "filename": job.filename, "module": job.module,
            "test": job.test, "workdir": str(workdir),
            "sys_path": [str(subdir), *job.extra_path, *self.sys_path],
            "limits": self._limits(job.limits), "undumpable": self.policy.user is not None,
        }).encode()
        with open(base / "stdout", "w+b") as out, open(base / "stderr", "w+b") as err:
            started = time.monotonic()
            proc = self._spawn(job_r, report_w, out.fileno(), err.fileno(), workdir)
            os.close(job_r)
            os.close(report_w)
            _send_job(job_w, message)
            timed_out = self._wait(proc, job.limits.wall)
            duration = time.monotonic() - started
            report = _read_all(report_r)
            verdict = _judge(proc, report, token, timed_out, job.limits)
            verdict.duration = duration
            verdict.stdout = _tail(out)
            verdict.stderr = _tail(err)
        return verdict

    def _prepare(self, base: Path, job: Job) -> tuple[Path, Path]:
        """Create the child's working folder and its read-only submission copy."""
        base.chmod(0o755)  # the sandbox user must reach work/ and submission/
        workdir = base / "work"
        subdir = base / "submission"
        workdir.mkdir()
        subdir.mkdir()
        if job.submission is not None:
            shutil.copyfile(job.submission, subdir / job.target_name)
            (subdir / job.target_name).chmod(0o644)
        if self.policy.user is not None:
            os.chown(workdir, *self.policy.user)
        return workdir, subdir

    def _limits(self, limits: Limits) -> dict[str, object]:
        return {
            "cpu": max(1, round(limits.cpu)), "memory_mb": limits.memory_mb,
            "file_mb": limits.file_mb,
            "nproc": self.policy.nproc if self.policy.user is not None else 0,
        }

    def _spawn(
        self, job_r: int, report_w: int, out: int, err: int, workdir: Path
    ) -> subprocess.Popen[bytes]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
            "TMPDIR": str(workdir), "LANG": "C.UTF-8",
            # glibc reserves 64 MiB of address space per malloc arena; two arenas
            # keep thread-heavy tests inside the RLIMIT_AS budget.
            "MALLOC_ARENA_MAX": "2",
        }
        user = self.policy.user
        with self._spawn_lock:  # the orphan sweep must not see a child before we record it
            proc = subprocess.Popen(
                [self.policy.python, "-I", "-B", "-c", _BOOTSTRAP, str(job_r)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(job_r, report_w),
                cwd=workdir, env=env, start_new_session=True,
                user=user[0] if user else None, group=user[1] if user else None,
                extra_groups=[] if user else None,
            )
            self._children.add(proc.pid)
        return proc

    def _wait(self, proc: subprocess.Popen[bytes], wall: float) -> bool:
        """Wait up to `wall` seconds; then kill the session. True if it timed out."""
        try:
            proc.wait(timeout=wall)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(proc.pid)  # the child's descendants die with it, finished or not
        proc.wait()
        with self._spawn_lock:
            self._children.discard(proc.pid)
            if self.policy.contain_orphans:
                self._sweep_orphans()
        return timed_out

    def _sweep_orphans(self) -> None:
        """Kill and reap processes that escaped their session and came to us."""
        me = os.getpid()
        for _ in range(50):  # bounded: each round kills what a fork bomb had time to make
            orphans = [pid for pid in _children_of(me)
                       if pid not in self._children and self._is_sandboxed(pid)]
            if not orphans:
                return
            for pid in orphans:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass  # already gone or reaped elsewhere

    def _is_sandboxed(self, pid: int) -> bool:
        """Whether `pid` belongs to a test (by uid when dropped, else by environment)."""
        try:
            if self.policy.user is not None:
                return os.stat(f"/proc/{pid}").st_uid == self.policy.user[0]
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return b"minireactor-grade-" in environ  # HOME and TMPDIR point into our folder


def _send_job(fd: int, message: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(message)
    except BrokenPipeError:  # the child died before reading its job; the verdict says so
        pass


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already empty
        os.killpg(pgid, signal.SIGKILL)


def _read_all(fd: int) -> bytes:
    """Read what the child reported, without blocking on a leaked write end."""
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    total = 0
    try:
        while total < _REPORT_LIMIT:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _parse_report(report: bytes, token: str, pid: int) -> tuple[bool, str] | None:
    """Find the token-authenticated verdict from `pid` in the report pipe's bytes."""
    marker = b"MRG1 " + token.encode("ascii") + b" "
    start = report.find(marker)
    while start != -1:
        end = report.find(b"\n", start)
        fields = report[start + len(marker):end].split(b" ") if end != -1 else []
        if len(fields) == 3 and fields[0] == b"%d" % pid and fields[2].isdigit():
            body = report[end + 1:end + 1 + int(fields[2])].decode("utf-8", "replace")
            return fields[1] == b"PASS", body
        start = report.find(marker, start + 1)
    return None


def _judge(
    proc: subprocess.Popen[bytes], report: bytes, token: str, timed_out: bool, limits: Limits
) -> Verdict:
    """Combine the exit status and the authenticated report into a verdict."""
    code = proc.returncode
    parsed = _parse_report(report, token, proc.pid)
    if timed_out:
        return Verdict(False, f"timed out after {limits.wall:g} s (wall clock): an infinite "
                       "loop, a deadlock, or waiting for something that never came?",
                       returncode=code)
    if parsed is not None and parsed[0] and code == 0:
        return Verdict(True, "", returncode=code)
    if parsed is not None and not parsed[0]:
        return Verdict(False, parsed[1], returncode=code)
    return Verdict(False, _explain_exit(code, limits), returncode=code)


def _explain_exit(code: int | None, limits: Limits) -> str:
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return f"used more than {limits.cpu:g} s of CPU time (the limit) and was stopped"
        if sig == signal.SIGSEGV:
            return "crashed with a segmentation fault (SIGSEGV)"
        if sig == signal.SIGXFSZ:
            return f"wrote a file larger than {limits.file_mb} MiB (the limit) and was stopped"
        return f"killed by signal {signal.Signals(sig).name}"
    if code == 0:
        return ("the test process exited before the test finished "
                "(sys.exit() or os._exit() in graded code?)")
    return f"the test process exited with status {code} before the test finished"


def _tail(stream: BinaryIO) -> str:
    """The last few thousand characters a child wrote to one of its streams."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - _OUTPUT_TAIL * 4))
    text = stream.read().decode("utf-8", "replace")
    if len(text) > _OUTPUT_TAIL or size > _OUTPUT_TAIL * 4:
        text = "[... earlier output cut ...]\n" + text[-_OUTPUT_TAIL:]
    return text


def _children_of(parent: int) -> list[int]:
    """Pids whose parent is `parent` (from /proc; empty where there is none)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; ppid follows it.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(parent):
            found.append(int(name))
    return found


def _become_subreaper() -> None:
    """Ask Linux to hand this process the orphans of its descendants."""
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: process groups still contain the common case
        pass
