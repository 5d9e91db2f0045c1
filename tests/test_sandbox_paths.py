"""Tests of the sandbox's paths this machine only takes when told to.

`test_sandbox_mutants.py` runs jobs the way this host grades them: as root,
with bubblewrap and a control group. These force the other configurations
a grader meets (no control group, so RLIMIT_NPROC and the process sweep do
the work; the grader as a child subreaper; a missing bubblewrap; an ASCII
locale; another process's group it may not signal) and check what a
student or an instructor would see: the child's real limits, which of its
processes outlive it, the verdict, the error message. Where the effect is
invisible from outside (which pid the report must come from, which pid the
grader waits for under bubblewrap) a spy wraps the private collaborator.
Part of the `scripts/mutation.py sandbox` selection.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import locale
import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import minireactor.grader.sandbox as sandbox_module
import minireactor.grader.verdict as verdict_module
from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.cgroups import Cgroups
from minireactor.grader.runner import PACKAGE_ROOT
from minireactor.grader.sandbox import (
    Job,
    Limits,
    Policy,
    Sandbox,
    SandboxUnavailable,
    _kill_group,
    _tasks_of,
    _wait_for_namespace,
)
from minireactor.grader.verdict import Verdict

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HAS_BWRAP = find_bwrap() is not None
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="no usable bwrap")
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (another user, a cgroup)")
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc"),
]
PR_SET_CHILD_SUBREAPER = 36


def grade(policy: Policy, source: str, tmp_path: Path, limits: Limits | None = None,
          extra_path: tuple[str, ...] = ()) -> Verdict:
    """Run `source`'s test_probe against a one-line submission under `policy`."""
    submission = tmp_path / "student.py"
    submission.write_text("VALUE = 42\n")
    job = Job(source, "test_probe.py", "test_probe", "test_probe", submission,
              "target_mod.py", limits or Limits(wall=30), extra_path)
    return Sandbox(policy, [str(PACKAGE_ROOT)]).run(job)


def printed(verdict: Verdict) -> dict[str, object]:
    """The JSON line the test printed last (after checking that it passed)."""
    assert verdict.passed, verdict.output()
    result: dict[str, object] = json.loads(verdict.stdout.strip().splitlines()[-1])
    return result


def state(pid: int) -> str:
    """A process's state letter ("X" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return "X"


def finish(pid: int) -> None:
    """Kill a process a failing test left behind (it may already be gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 9)


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Let a test make this process a child subreaper, and undo it afterwards."""
    yield
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


# --- building a Sandbox ---------------------------------------------------------------

def test_requiring_bubblewrap_where_it_is_missing_says_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "find_bwrap", lambda: None)
    with pytest.raises(SandboxUnavailable) as caught:
        Sandbox(Policy(isolation="bwrap"), [])
    assert str(caught.value) == (
        "bubblewrap (bwrap) is missing or cannot create namespaces here; install the "
        "'bubblewrap' package, or grade with isolation='auto' to use the fallback")
    assert Sandbox(Policy(isolation="auto", cgroups=False), []).bwrap is None  # falls back


def test_only_bubblewrap_asks_the_interpreter_for_its_folders(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback binds nothing, so it starts no interpreter to ask (a slow probe)."""
    asked: list[str] = []

    def python_folders(python: str) -> tuple[str, ...]:
        asked.append(python)
        return ()

    monkeypatch.setattr(sandbox_module, "python_folders", python_folders)
    Sandbox(Policy(isolation="none", cgroups=False), [])
    assert asked == []
    if HAS_BWRAP:
        Sandbox(Policy(isolation="bwrap", cgroups=False), [])
        assert asked == [sys.executable]


def test_only_the_fallback_with_contain_orphans_becomes_a_subreaper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(The fork tests in test_sandbox_mutants.py check the flag itself.)"""
    became: list[bool] = []
    monkeypatch.setattr(sandbox_module, "_become_subreaper", lambda: became.append(True))
    Sandbox(Policy(isolation="none", contain_orphans=False, cgroups=False), [])
    assert became == []
    Sandbox(Policy(isolation="none", contain_orphans=True, cgroups=False), [])
    assert became == [True]
    if HAS_BWRAP:  # the PID namespace contains orphans: the grader stays as it is
        Sandbox(Policy(isolation="bwrap", contain_orphans=True, cgroups=False), [])
        assert became == [True]


def test_the_runner_is_read_as_utf8_whatever_the_locale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.flags.utf8_mode:
        pytest.skip("Python's UTF-8 mode ignores the locale")
    text = "# d\u00e9j\u00e0 vu: the runner is UTF-8\n" + sandbox_module._CHILD_SOURCE.read_text(
        encoding="utf-8")
    runner = tmp_path / "_child.py"
    runner.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sandbox_module, "_CHILD_SOURCE", runner)
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # ASCII, as on an old server
    try:
        sandbox = Sandbox(Policy(isolation="none", cgroups=False), [])
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    assert sandbox._runner == text


def test_without_proc_no_process_cap_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without /proc (macOS) the user's tasks cannot be counted: RLIMIT_NPROC is left off."""
    real = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda path: path != "/proc/self" and real(path))
    sandbox = Sandbox(Policy(isolation="none", cgroups=False), [])
    assert sandbox._limits(Limits(cpu=2.6), in_cgroup=False) == {
        "cpu": 3, "memory_mb": 1024, "file_mb": 64, "nproc": 0}


# --- what the child gets without a control group ---------------------------------------

_NPROC = """\
import json, os, resource
def test_probe():
    print(json.dumps({"nproc": resource.getrlimit(resource.RLIMIT_NPROC), "uid": os.getuid(),
                      "scratch": os.stat("..").st_mode & 0o777, "stdin": repr(os.read(0, 64)),
                      "pid": os.getpid()}))
"""


@pytest.mark.parametrize("who", [
    "grader",
    pytest.param("nobody", marks=needs_root),
    pytest.param("bwrap", marks=needs_bwrap),
])
def test_without_a_cgroup_rlimit_nproc_caps_the_test(who: str, tmp_path: Path) -> None:
    """RLIMIT_NPROC counts per user: the cap, plus the grader's own user's other tasks."""
    nobody = pwd.getpwnam("nobody")
    policy = Policy(isolation="bwrap" if who == "bwrap" else "none", cgroups=False)
    if who == "nobody":  # with the system's Python: nobody may not read the grader's
        python = shutil.which("python3", path="/usr/bin:/bin")
        if python is None:
            pytest.skip("no system python3 the sandbox user may run")
        policy = Policy(isolation="none", cgroups=False, python=python,
                        user=(nobody.pw_uid, nobody.pw_gid))
    got = printed(grade(policy, _NPROC, tmp_path))
    nproc = got["nproc"]
    assert isinstance(nproc, list) and nproc[0] == nproc[1]
    if who == "grader":
        assert policy.nproc < nproc[0] <= _tasks_of(os.getuid()) + policy.nproc + 64
    else:  # a user (or a user namespace) of its own: this test's processes only
        assert nproc[0] == policy.nproc == 256
    if who != "bwrap":  # the scratch folder: the dropped-to user must get through it
        assert got["scratch"] == 0o755
        assert got["uid"] == (nobody.pw_uid if who == "nobody" else os.getuid())


def test_the_child_reads_an_empty_stdin_not_the_graders(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"the grader's own input\n")
    os.close(write_end)
    saved = os.dup(0)
    os.dup2(read_end, 0)
    os.close(read_end)
    try:
        got = printed(grade(Policy(isolation="none", cgroups=False), _NPROC, tmp_path))
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    assert got["stdin"] == "b''"


@pytest.mark.parametrize("isolation", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_who_may_report_and_whose_exit_the_grader_waits_for(
        isolation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without bwrap the report must come from the test's pid; with it, the namespace
    must be empty (bwrap names its first process on --info-fd) before the verdict."""
    pids: list[int | None] = []
    infos: list[bytes] = []
    real_wait = sandbox_module._wait_for_namespace

    def judge(proc: subprocess.Popen[bytes], report: bytes, token: str, timed_out: bool,
              limits: Limits, oom_kills: int = 0, pid: int | None = None) -> Verdict:
        pids.append(pid)
        return verdict_module.judge(proc, report, token, timed_out, limits, oom_kills, pid)

    def wait_for_namespace(info: bytes, *args: float) -> None:
        infos.append(info)
        real_wait(info, *args)

    monkeypatch.setattr(sandbox_module, "judge", judge)
    monkeypatch.setattr(sandbox_module, "_wait_for_namespace", wait_for_namespace)
    got = printed(grade(Policy(isolation=isolation, cgroups=False), _NPROC, tmp_path))
    if isolation == "none":
        assert pids == [got["pid"]] and infos == [b""]
        return
    assert pids == [None]  # pids inside are the namespace's; the guard checks its own
    first = json.JSONDecoder().raw_decode(infos[0].decode())[0]["child-pid"]
    assert isinstance(first, int) and first > 1 and state(first) in ("X", "Z")


def test_a_test_that_deletes_its_scratch_folder_still_gets_a_verdict(tmp_path: Path) -> None:
    source = ("import os, shutil\ndef test_probe():\n"
              "    shutil.rmtree(os.path.dirname(os.getcwd()))\n")
    verdict = grade(Policy(isolation="none", cgroups=False), source, tmp_path)
    assert verdict.passed, verdict.output()


@pytest.mark.parametrize("isolation", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_a_relative_helper_folder_is_the_graders(
        isolation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`grade --exercises exercises` passes tests/ relative to the grader's folder."""
    (tmp_path / "ex" / "tests").mkdir(parents=True)
    (tmp_path / "ex" / "tests" / "helper_mod.py").write_text("HELP = 7\n")
    monkeypatch.chdir(tmp_path)
    source = "def test_probe():\n    import helper_mod\n    assert helper_mod.HELP == 7\n"
    policy = Policy(isolation=isolation, cgroups=False)
    verdict = grade(policy, source, tmp_path, extra_path=("ex/tests",))
    assert verdict.passed, verdict.output()


# --- the sweep: what the test started, and what it did not ------------------------------

_NEW_GROUP = """\
import subprocess
def test_probe():
    p = subprocess.Popen(["sleep", "300"], process_group=0)
    print('{"pid": %d}' % p.pid, flush=True)
"""

_DAEMON = """\
import os, subprocess
def test_probe():
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        p = subprocess.Popen(["sleep", "300"], start_new_session=True)
        os.write(w, b"%d" % p.pid)
        os._exit(0)
    os.close(w)
    pid = int(os.read(r, 32))
    os.waitpid(middle, 0)  # the sleeper is an orphan now: the grader's, as subreaper
    print('{"pid": %d}' % pid, flush=True)
"""


def test_without_a_cgroup_a_process_in_a_new_group_is_swept(tmp_path: Path) -> None:
    """It left the test's process group (killpg misses it), not its session."""
    got = printed(grade(Policy(isolation="none", cgroups=False), _NEW_GROUP, tmp_path))
    pid = int(got["pid"])  # type: ignore[call-overload]
    try:
        assert state(pid) in ("X", "Z")
    finally:
        finish(pid)


def test_a_subreaper_sweeps_the_tests_daemons_not_its_own_older_children(
        tmp_path: Path, subreaper: None) -> None:
    # Started by the grader's process before the test, in a session of its own
    # (as a virtual display would be): a child of the grader, but not the test's.
    display = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        policy = Policy(isolation="none", contain_orphans=True, cgroups=False)
        got = printed(grade(policy, _DAEMON, tmp_path))
        pid = int(got["pid"])  # type: ignore[call-overload]
        try:
            assert state(pid) == "X"  # killed, and reaped by the grader
        finally:
            finish(pid)
        assert display.poll() is None
    finally:
        display.kill()
        display.wait()


_WAITS_FOR_THE_GRADER = """\
def test_probe():
    with open({go!r}, "w"):
        pass  # the test has started
    with open({done!r}) as done:
        done.read()  # until the grader has started a process of its own
"""


def test_without_contain_orphans_the_graders_younger_children_are_left_alone(
        tmp_path: Path) -> None:
    """A notebook's `check()` shares its process: what else it starts is not the test's."""
    go, done = tmp_path / "go", tmp_path / "done"
    os.mkfifo(go)
    os.mkfifo(done)
    own: list[subprocess.Popen[bytes]] = []

    def start_own_process() -> None:
        with open(go):  # opens once the test opened it to write
            pass
        own.append(subprocess.Popen(["sleep", "60"], start_new_session=True))
        with open(done, "w"):
            pass

    helper = threading.Thread(target=start_own_process, daemon=True)  # never blocks the exit
    helper.start()
    try:
        source = _WAITS_FOR_THE_GRADER.format(go=str(go), done=str(done))
        verdict = grade(Policy(isolation="none", cgroups=False), source, tmp_path)
        helper.join(timeout=30)
        assert verdict.passed, verdict.output()
        assert own and own[0].poll() is None  # younger than the test, yet not swept
    finally:
        for proc in own:
            proc.kill()
            proc.wait()


# --- the memory cap ---------------------------------------------------------------------

_HOG = """\
import os
def test_probe():
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    for _ in range(2):
        if os.fork() == 0:
            block = bytearray(100 << 20)
            block[::4096] = b"\\x01" * len(range(0, len(block), 4096))  # touch every page
            os.write(ready_w, b"x")
            os.close(ready_w)  # the parent's read sees EOF once every child wrote or died
            os.read(hold_r, 1)
            os._exit(0)
    os.close(ready_w)
    held = b""
    while len(held) < 2:
        chunk = os.read(ready_r, 2)
        if not chunk:
            break
        held += chunk
"""


@needs_root
def test_together_over_the_memory_cap_is_reported_and_the_group_removed(
        tmp_path: Path) -> None:
    cgroups = Cgroups.find()
    if cgroups is None:
        pytest.skip("no control group hierarchy the grader can create groups in")
    mine = f"minireactor-grade-{os.getpid()}-*"
    parents = [p for p in (cgroups.memory_parent, cgroups.pids_parent) if p is not None]
    before = {g for p in parents for g in p.glob(mine)}
    policy = Policy(isolation="none", contain_orphans=False)
    verdict = grade(policy, _HOG, tmp_path, Limits(wall=30, memory_mb=160))
    assert not verdict.passed
    assert verdict.detail == ("the test's processes together used more than 160 MiB "
                              "(the per-test memory limit)")
    assert {g for p in parents for g in p.glob(mine)} == before


# --- helpers ----------------------------------------------------------------------------

class _Clock:
    """A stand-in for the `time` module: each sleep moves the clock a quarter second."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += 0.25  # exact in binary: the deadline is met exactly


def test_wait_for_namespace_polls_often_and_gives_up_at_ten_seconds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its pid is alive under a name with ") Z " in it: the state is after the last ")"."""
    odd = tmp_path / "x) Z y"
    odd.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(odd), "30"])
    clock = _Clock()
    try:
        give_up = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/comm").read_text() != "x) Z y\n":  # exec'd yet?
            assert time.monotonic() < give_up
        monkeypatch.setattr(sandbox_module, "time", clock)
        _wait_for_namespace(b'{"child-pid": %d}' % proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert clock.now == 1010.0  # exactly the deadline: not a poll later
    assert clock.slept and max(clock.slept) <= 0.01  # notices an exit within milliseconds


@pytest.mark.parametrize("letter", ["X", "Z"])
def test_wait_for_namespace_takes_a_dead_or_zombie_pid_as_gone(
        letter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Stat:
        def __init__(self, path: str) -> None:
            assert path == "/proc/4242/stat"

        def read_text(self) -> str:
            return f"4242 (a) b) {letter} 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 7"

    clock = _Clock()
    monkeypatch.setattr(sandbox_module, "Path", Stat)
    monkeypatch.setattr(sandbox_module, "time", clock)
    _wait_for_namespace(b'{"child-pid": 4242}')
    assert clock.slept == []


def test_kill_group_of_a_group_it_may_not_signal_is_not_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The pgid was reused by another user's process: nothing of the test's is left there."""
    def refuse(pgid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "killpg", refuse)
    _kill_group(4242)
