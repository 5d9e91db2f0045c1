"""Run one test in a disposable child process, and decide its verdict.

This is the parent side of the grader's containment (the threat model is in
`minireactor/grader/__init__.py`). For each test it:

1. makes a private folder: the submission copy (read-only to the child), a
   working folder the child owns, and the files that capture its output;
2. makes a control group capping the test's memory and processes together
   (`cgroups.py`, when the grader may), and starts `python -I -B` in a new
   session inside bubblewrap (`bwrap.py`: own PID/network/IPC namespaces, a
   read-only system, only the submission and its tests visible), or without
   it where there is none; the child drops to an unprivileged user itself
   when the grader is root, and gets the job and a random token over a pipe
   only the two of them hold;
3. waits at most the wall-clock limit, then kills everything the test
   started: the PID namespace dies with its first process, the cgroup is
   emptied, and without bubblewrap `sweep.py` follows the process tree;
4. reads the token-authenticated report and the exit status: a test passes only
   if the child reported PASS with the right token *and* exited with status 0
   (and stayed under the memory cap). Everything else the child did is shown,
   never trusted.

Read next: `_child.py` (the child side), `verdict.py` (what its report means)
and `runner.py` (which calls this).
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
from dataclasses import dataclass, field, replace
from pathlib import Path

from .bwrap import GRADE_DIR, Binds, Bubblewrap, find_bwrap, python_folders
from .cgroups import Cgroups, TestGroup
from .sweep import start_ticks, sweep
from .verdict import Verdict, judge, read_all, tail
from .verdict import parse_report as _parse_report  # noqa: F401 - kept for older callers

_CHILD_SOURCE = Path(__file__).with_name("_child.py")
_PACKAGE = Path(__file__).resolve().parents[1]  # minireactor/: all the sandbox may import

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
class Policy:
    """How hard the sandbox holds the child.

    Attributes:
        user: (uid, gid) the child switches to before running anything, or
            None to keep the grader's user. Used when the grader is root (the
            Gradescope case): graded code then cannot touch the grader's
            files, signal it, or read its own memory.
        contain_orphans: without bubblewrap, make the grader a child
            subreaper and sweep each test's escaped descendants (Linux;
            changes the grader process, so `check()` in a notebook skips it).
        nproc: the per-test process and thread cap (cgroup `pids.max`, else
            RLIMIT_NPROC inside the test's user namespace or for its user).
        isolation: "auto" (bubblewrap when it works), "bwrap" (required:
            an error if missing) or "none" (the fallback, for tests of it).
        cgroups: cap memory and processes per test with a control group when
            the grader may create one (root on this kind of host).
    """

    user: tuple[int, int] | None = None
    contain_orphans: bool = False
    nproc: int = 256
    python: str = field(default_factory=lambda: sys.executable)
    isolation: str = "auto"
    cgroups: bool = True


def default_policy(contain_orphans: bool = True) -> Policy:
    """Drop to `nobody` when running as root; bubblewrap and cgroups when available."""
    user: tuple[int, int] | None = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
            user = (nobody.pw_uid, nobody.pw_gid)
        except KeyError:
            user = None
    return Policy(user=user, contain_orphans=contain_orphans and sys.platform == "linux")


class SandboxUnavailable(RuntimeError):
    """The policy asks for bubblewrap and this machine cannot run it."""


class Sandbox:
    """Runs jobs, each in its own contained child process (thread-safe)."""

    def __init__(self, policy: Policy, sys_path: list[str]) -> None:
        self.policy = policy
        self.sys_path = sys_path
        self._runner = _CHILD_SOURCE.read_text(encoding="utf-8")  # read once: see docstring
        self._spawn_lock = threading.Lock()
        self._children: set[int] = set()
        found = find_bwrap() if policy.isolation in ("auto", "bwrap") else None
        if policy.isolation == "bwrap" and found is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is missing or cannot create namespaces here; install the "
                "'bubblewrap' package, or grade with isolation='auto' to use the fallback")
        self.bwrap = Bubblewrap(found) if found else None
        self.cgroups = Cgroups.find() if policy.cgroups and sys.platform == "linux" else None
        self._python_folders = python_folders(policy.python) if self.bwrap else ()
        if policy.contain_orphans and self.bwrap is None:
            _become_subreaper()

    def describe(self) -> str:
        """One line: what this sandbox isolates, and what it does not."""
        who = f"as uid {self.policy.user[0]}" if self.policy.user else "as the grader's user"
        caps = ("memory and processes capped per test (cgroup)" if self.cgroups else
                "memory capped per process (RLIMIT_AS), processes per user (RLIMIT_NPROC)")
        if self.bwrap is not None:
            return (f"sandbox: bubblewrap {who}: own PID/network/IPC namespaces, no network, "
                    f"read-only system, only the submission and its tests visible; {caps}")
        return (f"sandbox: FALLBACK (no bubblewrap) {who}: process tree swept and {caps}; "
                "NOT isolated: network, file system (hidden tests, other files), other "
                "processes of the same user")

    def run(self, job: Job) -> Verdict:
        """Run one test to completion and return the grader's verdict."""
        base = Path(tempfile.mkdtemp(prefix="minireactor-grade-"))
        try:
            return self._run_in(base, job)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _run_in(self, base: Path, job: Job) -> Verdict:
        # The helper folders are the grader's paths (`grade --exercises exercises`
        # makes them relative); the child and bwrap start elsewhere, in work/.
        job = replace(job, extra_path=tuple(os.path.abspath(p) for p in job.extra_path))
        workdir, subdir = self._prepare(base, job)
        token = secrets.token_hex(16)
        job_r, job_w = os.pipe()
        report_r, report_w = os.pipe()
        inside_work, inside_sub = (
            (f"{GRADE_DIR}/work", f"{GRADE_DIR}/submission") if self.bwrap else
            (str(workdir), str(subdir)))
        group = self._cgroup(job.limits)
        message = json.dumps({
            "runner": self._runner, "token": token, "report_fd": report_w,
            "source": job.source, "filename": job.filename, "module": job.module,
            "test": job.test, "workdir": inside_work,
            "sys_path": [inside_sub, *job.extra_path, *self.sys_path],
            "limits": self._limits(job.limits, group is not None), "drop_to": self.policy.user,
        }).encode()
        info_r, info_w = os.pipe()  # bwrap says there which pid its namespace's first process has
        with open(base / "stdout", "w+b") as out, open(base / "stderr", "w+b") as err:
            started = time.monotonic()
            argv = self._argv(job_r, info_w, job, workdir, subdir, group)
            proc = self._spawn(argv, (job_r, report_w, info_w), out.fileno(), err.fileno(),
                               workdir)
            for fd in (job_r, report_w, info_w):
                os.close(fd)
            _send_job(job_w, message)
            timed_out, oom_kills = self._wait(proc, job.limits.wall, group)
            _wait_for_namespace(read_all(info_r))
            duration = time.monotonic() - started
            report = read_all(report_r)
            verdict = judge(proc, report, token, timed_out, job.limits, oom_kills,
                             None if self.bwrap else proc.pid)
            verdict.duration = duration
            verdict.stdout = tail(out)
            verdict.stderr = tail(err)
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

    def _cgroup(self, limits: Limits) -> TestGroup | None:
        if self.cgroups is None:
            return None
        return self.cgroups.create(limits.memory_mb, self.policy.nproc)

    def _limits(self, limits: Limits, in_cgroup: bool) -> dict[str, object]:
        # In a cgroup, pids.max caps this test alone; RLIMIT_NPROC is left off,
        # since for the dropped-to user it would count every concurrent test's
        # processes (a fork bomb in one would starve the others: seen in class
        # grading with --jobs). Without one, RLIMIT_NPROC counts per user: inside
        # bwrap's user namespace (an ordinary grader) or for the dropped-to user
        # it holds this test (or the sandbox user's tests) only. For the grader's
        # own user (the fallback, not root) it also counts the user's other
        # tasks, so the cap is set above those.
        nproc = 0 if in_cgroup else self.policy.nproc
        if nproc and not (self.policy.user or self.bwrap):
            nproc = _tasks_of(os.getuid()) + nproc if os.path.isdir("/proc/self") else 0
        return {"cpu": max(1, round(limits.cpu)), "memory_mb": limits.memory_mb,
                "file_mb": limits.file_mb, "nproc": nproc}

    def _argv(
        self, job_r: int, info_w: int, job: Job, workdir: Path, subdir: Path,
        group: TestGroup | None,
    ) -> list[str]:
        inner = [self.policy.python, "-I", "-B", "-c", _BOOTSTRAP, str(job_r)]
        if self.bwrap is not None:
            binds = Binds((*self._python_folders, str(_PACKAGE)), job.extra_path,
                          str(subdir), str(workdir))
            inner = self.bwrap.command(inner, binds=binds, info_fd=info_w,
                                       drop_user=self.policy.user is not None)
        return (group.join_prefix() if group else []) + inner

    def _spawn(
        self, argv: list[str], fds: tuple[int, ...], out: int, err: int, workdir: Path
    ) -> subprocess.Popen[bytes]:
        env = {
            "PATH": "/usr/bin:/bin", "HOME": f"{GRADE_DIR}/work" if self.bwrap else str(workdir),
            "TMPDIR": "/tmp" if self.bwrap else str(workdir), "LANG": "C.UTF-8",
            # glibc reserves 64 MiB of address space per malloc arena; two arenas
            # keep thread-heavy tests inside the RLIMIT_AS budget.
            "MALLOC_ARENA_MAX": "2",
        }
        with self._spawn_lock:  # the orphan sweep must not see a child before we record it
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                pass_fds=fds, cwd=workdir, env=env, start_new_session=True,
            )
            self._children.add(proc.pid)
        return proc

    def _wait(
        self, proc: subprocess.Popen[bytes], wall: float, group: TestGroup | None
    ) -> tuple[bool, int]:
        """Wait up to `wall` seconds; then kill everything the test started.

        Returns whether it timed out, and how many processes the memory cap killed.
        """
        born = start_ticks(proc.pid) if self.bwrap is None else 0  # before it is reaped
        try:
            proc.wait(timeout=wall)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        # The first process's group dies at once; under bwrap the PID namespace
        # takes every descendant with it; the cgroup and the sweep find the rest.
        _kill_group(proc.pid)
        proc.wait()
        oom_kills = 0
        if group is not None:
            oom_kills = group.oom_kills()
            group.kill_all()
        with self._spawn_lock:
            self._children.discard(proc.pid)
            if self.bwrap is None:
                orphans_of = os.getpid() if self.policy.contain_orphans else None
                sweep(proc.pid, orphans_of, set(self._children), born=born)
        return timed_out, oom_kills


def _tasks_of(uid: int) -> int:
    """How many processes and threads `uid` runs now (what RLIMIT_NPROC counts)."""
    tasks = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):  # exited while we counted
                if os.stat(f"/proc/{name}").st_uid == uid:
                    tasks += len(os.listdir(f"/proc/{name}/task"))
    return tasks


def _wait_for_namespace(info: bytes, deadline: float = 10.0) -> None:
    """Wait until the test's PID namespace is empty (`info`: what bwrap wrote on --info-fd).

    bwrap itself may exit (or be killed) while the kernel is still killing the
    namespace's processes; its first process finishes exiting only after all
    the others have, so waiting for that one pid is enough.
    """
    try:  # bwrap writes first; only its document counts (a test could append to the pipe)
        pid = int(json.JSONDecoder().raw_decode(info.decode())[0]["child-pid"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return  # no bwrap, or it died before it started the sandbox
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return  # gone and reaped
        if state in ("Z", "X"):
            return
        time.sleep(0.002)


def _send_job(fd: int, message: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(message)
    except BrokenPipeError:  # the child died before reading its job; the verdict says so
        pass


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already empty
        os.killpg(pgid, signal.SIGKILL)


def _become_subreaper() -> None:
    """Ask Linux to hand this process the orphans of its descendants."""
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: process groups still contain the common case
        pass
