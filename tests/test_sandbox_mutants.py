"""Tests that kill mutmut survivors in minireactor/grader/sandbox.py.

`test_grader_sandbox.py` grades whole attacks (slow, and blind to a limit
that is merely looser than asked); these run one tiny job each and check
what the child was really given: its user, folder, environment, import
path and resource limits, the verdict's fields, and the helpers that wait
for and kill what a test started. They are the fast selection that
`scripts/mutation.py sandbox` reruns for each mutant.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.cgroups import Cgroups
from minireactor.grader.runner import PACKAGE_ROOT
from minireactor.grader.sandbox import (
    Job,
    Limits,
    Policy,
    Sandbox,
    _become_subreaper,
    _kill_group,
    _send_job,
    _tasks_of,
    _wait_for_namespace,
    default_policy,
)
from minireactor.grader.verdict import Verdict

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HAS_BWRAP = find_bwrap() is not None
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc"),
]

ISOLATIONS = [
    pytest.param("bwrap", marks=pytest.mark.skipif(not HAS_BWRAP, reason="no usable bwrap")),
    "none",
]

# The child prints what it was given, as one JSON line on stdout.
_PROBE = """\
import json, os, resource, sys
def test_probe():
    import target_mod
    sub = os.path.dirname(target_mod.__file__)
    print(json.dumps({
        "uid": os.getuid(), "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k != "PWD"},
        "path": sys.path[:3], "isolated": sys.flags.isolated,
        "nobytecode": sys.flags.dont_write_bytecode, "value": target_mod.VALUE,
        "mode": os.stat(target_mod.__file__).st_mode & 0o777,
        "sub": sub, "cwd_writable": os.access(".", os.W_OK),
        "cwd_owner": os.stat(".").st_uid,
        "cpu": resource.getrlimit(resource.RLIMIT_CPU),
        "as": resource.getrlimit(resource.RLIMIT_AS),
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC),
    }))
"""


def policy_for(isolation: str) -> Policy:
    if isolation == "bwrap":
        return default_policy(contain_orphans=False)
    return Policy(isolation="none", contain_orphans=False)


def run(isolation: str, source: str, tmp_path: Path, limits: Limits | None = None,
        extra_path: tuple[str, ...] = ()) -> tuple[Sandbox, Verdict]:
    submission = tmp_path / "student.py"
    submission.write_text("VALUE = 41 + 1\n")
    submission.chmod(0o600)
    sandbox = Sandbox(policy_for(isolation), [str(PACKAGE_ROOT)])
    job = Job(source, "test_probe.py", "test_probe", "test_probe", submission,
              "target_mod.py", limits or Limits(wall=30), extra_path)
    return sandbox, sandbox.run(job)


def probe(isolation: str, tmp_path: Path, limits: Limits) -> dict[str, object]:
    extra = str(tmp_path / "shared")
    os.makedirs(extra, exist_ok=True)
    os.chmod(tmp_path, 0o755)
    _, verdict = run(isolation, _PROBE, tmp_path, limits, (extra,))
    assert verdict.passed, verdict.output()
    assert verdict.detail == "" and verdict.returncode == 0
    line = verdict.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(line)
    result["extra"] = extra
    return result


def test_limit_defaults_and_with_wall() -> None:
    limits = Limits()
    assert (limits.wall, limits.cpu, limits.memory_mb, limits.file_mb) == (10.0, 10.0, 1024, 64)
    assert limits.with_wall(None) is limits
    assert Limits(wall=9, cpu=8, memory_mb=7, file_mb=6).with_wall(3) == Limits(3, 3, 7, 6)
    assert Limits(wall=9, cpu=8, memory_mb=7, file_mb=6).with_wall(20) == Limits(20, 8, 7, 6)


def test_policy_defaults() -> None:
    policy = Policy()
    assert policy.user is None and policy.contain_orphans is False
    assert policy.nproc == 256 and policy.python == sys.executable
    assert policy.isolation == "auto" and policy.cgroups is True


@pytest.mark.skipif(not IS_ROOT, reason="dropping to nobody needs root")
def test_default_policy_as_root() -> None:
    nobody = pwd.getpwnam("nobody")
    policy = default_policy()
    assert policy.user == (nobody.pw_uid, nobody.pw_gid)
    assert policy.contain_orphans is (sys.platform == "linux")
    assert default_policy(contain_orphans=False).contain_orphans is False


def test_describe_word_for_word() -> None:
    plain = Sandbox(Policy(isolation="none", cgroups=False), [])
    assert plain.describe() == (
        "sandbox: FALLBACK (no bubblewrap) as the grader's user: process tree swept and "
        "memory capped per process (RLIMIT_AS), processes per user (RLIMIT_NPROC); "
        "NOT isolated: network, file system (hidden tests, other files), other processes "
        "of the same user")
    assert plain.bwrap is None and plain.cgroups is None
    who = Sandbox(Policy(isolation="none", cgroups=False, user=(4242, 4343)), [])
    assert "FALLBACK (no bubblewrap) as uid 4242: process" in who.describe()


@pytest.mark.skipif(not HAS_BWRAP, reason="no usable bwrap")
def test_describe_bubblewrap_word_for_word() -> None:
    sandbox = Sandbox(Policy(isolation="bwrap", cgroups=False), [])
    assert sandbox.describe() == (
        "sandbox: bubblewrap as the grader's user: own PID/network/IPC namespaces, no network, "
        "read-only system, only the submission and its tests visible; memory capped per "
        "process (RLIMIT_AS), processes per user (RLIMIT_NPROC)")


@pytest.mark.skipif(not IS_ROOT, reason="a control group needs root here")
def test_describe_names_the_cgroup_when_there_is_one() -> None:
    sandbox = Sandbox(Policy(isolation="none"), [])
    if sandbox.cgroups is None:
        pytest.skip("no control group hierarchy the grader can create groups in")
    assert sandbox.describe().endswith(
        "process tree swept and memory and processes capped per test (cgroup); NOT isolated: "
        "network, file system (hidden tests, other files), other processes of the same user")


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_the_child_gets_exactly_what_it_was_promised(isolation: str, tmp_path: Path) -> None:
    got = probe(isolation, tmp_path, Limits(wall=30, cpu=2.4, memory_mb=700, file_mb=3))
    sandboxed = isolation == "bwrap"
    policy = policy_for(isolation)
    work = "/grade/work" if sandboxed else str(got["cwd"])
    assert got["env"] == {"PATH": "/usr/bin:/bin", "HOME": work, "TMPDIR":
                          "/tmp" if sandboxed else work, "LANG": "C.UTF-8",
                          "MALLOC_ARENA_MAX": "2"}
    if sandboxed:
        assert got["cwd"] == "/grade/work" and got["sub"] == "/grade/submission"
    else:
        assert str(got["cwd"]).endswith("/work") and str(got["sub"]).endswith("/submission")
        assert Path(str(got["cwd"])).parent == Path(str(got["sub"])).parent
    assert got["path"] == [got["sub"], got["extra"], str(PACKAGE_ROOT)]
    assert got["isolated"] == 1 and got["nobytecode"] == 1
    assert got["value"] == 42 and got["mode"] == 0o644
    assert got["cpu"] == [2, 3]  # round(2.4), hard limit one more
    assert got["as"] == [700 * 2**20] * 2 and got["fsize"] == [3 * 2**20] * 2
    uid = policy.user[0] if policy.user else os.getuid()
    assert got["uid"] == uid and got["cwd_writable"] is True
    if not sandboxed:
        assert got["cwd_owner"] == uid
    nproc = got["nproc"]
    assert isinstance(nproc, list)
    if policy.cgroups and IS_ROOT and Cgroups.find() is not None:
        # pids.max caps this test; RLIMIT_NPROC (per user) is left as it was,
        # so concurrent tests of the same user do not share one allowance.
        assert nproc == list(resource.getrlimit(resource.RLIMIT_NPROC))
        return
    assert nproc[0] == nproc[1]
    if policy.user or sandboxed:
        assert nproc[0] == policy.nproc
    else:  # the grader's own user: its other tasks, plus the cap
        assert policy.nproc < nproc[0] <= _tasks_of(os.getuid()) + policy.nproc + 64


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_fraction_of_a_cpu_second_is_one_second(isolation: str, tmp_path: Path) -> None:
    got = probe(isolation, tmp_path, Limits(wall=30, cpu=0.2))
    assert got["cpu"] == [1, 2]


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_hung_test_times_out_at_its_wall_clock_limit(isolation: str, tmp_path: Path) -> None:
    source = ("import time\ndef test_probe():\n"
              "    print('started', flush=True)\n    time.sleep(60)\n")
    started = time.monotonic()
    sandbox, verdict = run(isolation, source, tmp_path, Limits(wall=1.5, cpu=30))
    took = time.monotonic() - started
    assert not verdict.passed
    assert verdict.detail.startswith("timed out after 1.5 s")
    assert "started" in verdict.stdout
    assert 1.5 <= verdict.duration < 15 and verdict.duration <= took
    assert sandbox._children == set()


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_failing_test_reports_why_and_its_stderr(isolation: str, tmp_path: Path) -> None:
    source = ("import sys\ndef test_probe():\n    print('to-err', file=sys.stderr)\n"
              "    assert 1 == 2, 'one is not two'\n")
    _, verdict = run(isolation, source, tmp_path)
    assert not verdict.passed and "one is not two" in verdict.detail
    assert "to-err" in verdict.stderr


def test_what_a_timed_out_test_started_is_killed(tmp_path: Path) -> None:
    """The fallback kills the test's process group when the wall clock runs out."""
    source = ("import subprocess, time\ndef test_probe():\n"
              "    p = subprocess.Popen(['sleep', '300'])\n"
              "    print('pid', p.pid, flush=True)\n    time.sleep(60)\n")
    _, verdict = run("none", source, tmp_path, Limits(wall=1.5, cpu=30))
    pid = int(verdict.stdout.split("pid", 1)[1].split()[0])
    assert not os.path.exists(f"/proc/{pid}") or _state(pid) in ("Z", "X")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return "X"


def test_tasks_of_counts_processes_and_threads_of_one_user() -> None:
    if not IS_ROOT or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("starting a system python as another user needs root and /usr/bin/python3")
    uid = 61234  # a user nothing else runs as
    assert _tasks_of(uid) == 0
    code = "import threading, time\nfor _ in range(2): threading.Thread(target=time.sleep, " \
           "args=(30,), daemon=True).start()\nprint('up', flush=True)\ntime.sleep(30)\n"
    proc = subprocess.Popen(["/usr/bin/python3", "-I", "-c", code], user=uid,
                            stdout=subprocess.PIPE)
    other = subprocess.Popen(["sleep", "30"], user=uid)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        assert _tasks_of(uid) == 4  # three threads of one process, one of the other
    finally:
        for p in (proc, other):
            p.kill()
            p.wait()
    assert _tasks_of(uid) == 0


def test_wait_for_namespace_returns_at_once_without_a_pid() -> None:
    for info in (b"", b"not json", b'{"other": 1}', b'[1]', b"\xff"):
        started = time.monotonic()
        _wait_for_namespace(info, deadline=5)
        assert time.monotonic() - started < 1


def test_wait_for_namespace_waits_for_a_live_pid_until_its_deadline() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        started = time.monotonic()
        # bwrap's document first; whatever a test appended after it does not count
        _wait_for_namespace(b'{"child-pid": %d}{"child-pid": 1}' % proc.pid, deadline=0.4)
        assert 0.4 <= time.monotonic() - started < 5
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_wait_for_namespace_returns_when_the_pid_is_a_zombie_or_gone() -> None:
    proc = subprocess.Popen(["true"])
    give_up = time.monotonic() + 10
    while _state(proc.pid) != "Z" and time.monotonic() < give_up:
        time.sleep(0.01)
    started = time.monotonic()
    _wait_for_namespace(b'{"child-pid": %d}' % proc.pid, deadline=5)
    assert time.monotonic() - started < 1  # a zombie has finished exiting
    proc.wait()
    started = time.monotonic()
    _wait_for_namespace(b'{"child-pid": %d}' % proc.pid, deadline=5)
    assert time.monotonic() - started < 1


def test_wait_for_namespace_notices_an_exit_soon() -> None:
    proc = subprocess.Popen(["sleep", "0.3"])
    started = time.monotonic()
    _wait_for_namespace(b'{"child-pid": %d}' % proc.pid, deadline=10)
    assert time.monotonic() - started < 5
    proc.wait()


def test_send_job_writes_everything_and_closes() -> None:
    r, w = os.pipe()
    _send_job(w, b"x" * 1000)
    with os.fdopen(r, "rb") as pipe:
        assert pipe.read() == b"x" * 1000  # EOF: the write end was closed


def test_send_job_to_a_child_that_died_is_not_an_error() -> None:
    r, w = os.pipe()
    os.close(r)
    _send_job(w, b"job" * 100_000)
    with pytest.raises(OSError):
        os.fstat(w)  # closed all the same


def test_kill_group_kills_the_group_and_ignores_an_empty_one() -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    _kill_group(proc.pid)
    assert proc.wait(timeout=10) == -9
    _kill_group(proc.pid)  # nothing left: no error


def test_become_subreaper_sets_the_flag() -> None:
    pid = os.fork()
    if pid == 0:  # the flag changes the process: test it in a child
        try:
            import ctypes

            _become_subreaper()
            value = ctypes.c_int(0)
            ctypes.CDLL(None).prctl(37, ctypes.byref(value), 0, 0, 0)
            os._exit(10 + value.value)
        finally:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 11


def test_contain_orphans_without_bwrap_makes_the_grader_a_subreaper() -> None:
    pid = os.fork()
    if pid == 0:
        try:
            import ctypes

            Sandbox(Policy(isolation="none", contain_orphans=True, cgroups=False), [])
            value = ctypes.c_int(0)
            ctypes.CDLL(None).prctl(37, ctypes.byref(value), 0, 0, 0)
            os._exit(10 + value.value)
        finally:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 11


def test_the_scratch_folder_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    made: list[str] = []
    real = tempfile.mkdtemp

    def spy(prefix: str | None = None) -> str:
        made.append(real(prefix=prefix))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    run("none", "def test_probe():\n    pass\n", tmp_path)
    assert made and all(not os.path.exists(p) for p in made)
    assert os.path.basename(made[0]).startswith("minireactor-grade-")


def test_default_policy_keeps_the_user_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert default_policy().user is None


def test_default_policy_without_a_nobody_user(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> pwd.struct_passwd:
        raise KeyError(name)

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(pwd, "getpwnam", missing)
    assert default_policy().user is None


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def prctl(self, *args: int) -> int:
        self.calls.append(args)
        return 0


def test_become_subreaper_asks_prctl_for_the_subreaper_flag(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The call itself (the fork tests above check its effect, out of mutmut's sight)."""
    import ctypes

    libc = _FakeLibc()
    opened: list[tuple[object, dict[str, object]]] = []

    def cdll(name: object, **kwargs: object) -> _FakeLibc:
        opened.append((name, kwargs))
        return libc

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    _become_subreaper()
    assert opened == [(None, {"use_errno": True})]
    assert libc.calls == [(36, 1, 0, 0, 0)]  # PR_SET_CHILD_SUBREAPER, on


@pytest.mark.parametrize("error", [OSError("no libc"), AttributeError("no prctl")])
def test_become_subreaper_without_prctl_is_not_an_error(
        monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    import ctypes

    def cdll(name: object, **kwargs: object) -> _FakeLibc:
        raise error

    monkeypatch.setattr(ctypes, "CDLL", cdll)
    _become_subreaper()  # process groups still contain the common case


def test_tasks_of_skips_a_process_that_exits_while_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.listdir

    def listdir(path: str) -> list[str]:
        names = real(path)
        return [*names, "999999999"] if path == "/proc" else names  # gone before its stat

    monkeypatch.setattr(os, "listdir", listdir)
    assert _tasks_of(61235) == 0


@pytest.mark.skipif(not IS_ROOT, reason="a control group needs root here")
def test_the_fallback_child_runs_in_its_own_control_group(tmp_path: Path) -> None:
    sandbox = Sandbox(Policy(isolation="none", contain_orphans=False), [str(PACKAGE_ROOT)])
    if sandbox.cgroups is None:
        pytest.skip("no control group hierarchy the grader can create groups in")
    submission = tmp_path / "student.py"
    submission.write_text("VALUE = 1\n")
    source = "def test_probe():\n    print(open('/proc/self/cgroup').read())\n"
    verdict = sandbox.run(Job(source, "test_probe.py", "test_probe", "test_probe", submission,
                              "target_mod.py", Limits(wall=30)))
    assert verdict.passed, verdict.output()
    mine = {line.split(":", 2)[1]: line.split(":", 2)[2]
            for line in Path("/proc/self/cgroup").read_text().splitlines()}
    theirs = {line.split(":", 2)[1]: line.split(":", 2)[2]
              for line in verdict.stdout.splitlines() if line.count(":") >= 2}
    assert theirs.get("pids") not in (None, mine.get("pids"))
