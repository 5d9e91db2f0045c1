"""The hostile corpus against the real sandbox: every attack contained, as root and in the fallback.

Each attack in tests/grader_fixtures/attacks/ (see its README) is graded and
must: score no more than its real code earns (exactly its expected failures),
leave no process alive, send no byte to a listener on 127.0.0.1, change no
file outside its sandbox, and show no hidden-test or solution text in the
student-visible results. `needs: bwrap` attacks are contained only by
bubblewrap; `needs: cgroup` only by a per-test control group: the fallback
run skips them (the sandbox's one-line description says so to the user).
The ordinary-user runs are in test_grader_sandbox_user.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from grader_attacks import Attack, attacks, run_attack, secrets_of_the_exercise, visible_text

from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.cgroups import Cgroups
from minireactor.grader.runner import PACKAGE_ROOT, protect_private_files
from minireactor.grader.sandbox import Job, Limits, Policy, Sandbox, default_policy

ALL = attacks()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_bwrap = pytest.mark.skipif(find_bwrap() is None,
                                 reason="bubblewrap (bwrap) is missing or cannot create namespaces")
needs_linux = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def check(attack: Attack, tmp_path: Path, policy: Policy | None, shared_tmp: bool = False) -> None:
    """Grade one attack and assert it was contained.

    `shared_tmp`: the fallback shares the host's world-writable /tmp and
    /dev/shm with graded code (it says so); marks left there are removed and
    not counted, while the planted results, the other student's file and the
    repository must stay untouched.
    """
    outcome = run_attack(attack, tmp_path, policy)
    if shared_tmp:
        shared = [p for p in outcome.tampered if p.startswith(("/tmp/PWNED-", "/dev/shm/PWNED-"))]
        for path in shared:
            os.unlink(path)
        outcome.tampered = [p for p in outcome.tampered if p not in shared]
    assert outcome.ran == {t.removeprefix("hidden:") for t in attack.tests}, outcome.explain()
    assert outcome.failed == attack.expected_failures(), outcome.explain()
    assert not outcome.stray, f"processes outlived the grade: {outcome.stray}"
    assert outcome.connections == 0 and outcome.received == b"", outcome.received
    assert not outcome.tampered, f"changed outside the sandbox: {outcome.tampered}"
    shown = visible_text(outcome.results_text)
    for line in secrets_of_the_exercise(with_solution=attack.base != "solution"):
        assert line not in shown, f"results show hidden or solution text: {line!r}"


def test_the_corpus_has_every_attack_the_issue_names() -> None:
    assert len(ALL) >= 15
    names = {a.name for a in ALL}
    assert {"helper_namespace_injection", "read_hidden_via_sys_path", "network_exfiltration",
            "setsid_daemon_rewrites_results", "setsid_deep_chain",
            "forked_children_memory"} <= names


@needs_bwrap
@needs_linux
@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", ALL, ids=lambda a: a.name)
def test_attack_is_contained_by_bubblewrap(attack: Attack, tmp_path: Path) -> None:
    if "cgroup" in attack.needs and (not IS_ROOT or Cgroups.find() is None):
        pytest.skip("per-test memory needs a control group the grader can create (root here)")
    check(attack, tmp_path, None)  # the default policy: bwrap, cgroups as root, drop to nobody


def fallback_policy() -> Policy:
    """No bubblewrap; as root, tests run as nobody with the system's Python (readable by it)."""
    policy = default_policy()
    python = shutil.which("python3", path="/usr/bin:/bin") if IS_ROOT else None
    return Policy(user=policy.user, contain_orphans=True, isolation="none",
                  python=python or policy.python)


# The in-process attacks meet the same runner with or without bubblewrap; the
# fallback repeats the ones its own layers (sweep, rlimits, user drop) contain.
IN_PROCESS = {"helper_namespace_injection", "helper_namespace_transient",
              "module_globals_transient", "patch_framework", "replace_import",
              "ctypes_grader_memory"}
FALLBACK = [a for a in ALL if "bwrap" not in a.needs and a.name not in IN_PROCESS]


@needs_linux
@pytest.mark.timeout(120)
@pytest.mark.parametrize("attack", FALLBACK, ids=lambda a: a.name)
def test_attack_is_contained_by_the_fallback(attack: Attack, tmp_path: Path) -> None:
    if "cgroup" in attack.needs and (not IS_ROOT or Cgroups.find() is None):
        pytest.skip("per-test memory needs a control group the grader can create (root here)")
    if not IS_ROOT and attack.name in ("write_everywhere", "tamper_test_files"):
        pytest.skip("without root or bubblewrap graded code runs as the grader's user: "
                    "files are not isolated (the fallback says so)")
    check(attack, tmp_path, fallback_policy(), shared_tmp=True)


def test_the_fallback_says_what_it_does_not_isolate() -> None:
    line = Sandbox(Policy(isolation="none", cgroups=False), []).describe()
    assert "FALLBACK" in line and "NOT isolated: network, file system" in line


@needs_bwrap
def test_bubblewrap_says_what_it_isolates() -> None:
    line = Sandbox(default_policy(contain_orphans=False), []).describe()
    assert "bubblewrap" in line and "no network" in line


def test_requiring_bubblewrap_where_it_is_missing_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import minireactor.grader.sandbox as sandbox

    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="install the 'bubblewrap' package"):
        Sandbox(Policy(isolation="bwrap"), [])


@pytest.mark.skipif(not IS_ROOT, reason="dropping to nobody needs root")
def test_nobody_exists_for_the_root_runs() -> None:
    assert pwd.getpwnam("nobody").pw_uid == default_policy().user[0]  # type: ignore[index]


@needs_bwrap
@needs_linux
@pytest.mark.timeout(60)
def test_a_test_may_run_system_programs_and_unix_sockets_in_its_private_tmp(tmp_path: Path) -> None:
    """What a test starting its own Xvfb needs: /usr/bin programs and /tmp for sockets.

    The test's /tmp is its own: a file in the machine's /tmp is not in it. (It
    may hold the grader's Python, bound read-only where it lives, when that is
    under /tmp, as in a CI checkout there.)
    """
    marker = Path(tempfile.mkdtemp(prefix="grader-private-tmp-marker-", dir="/tmp"))
    source = (
        "import socket, subprocess\n"
        "def test_system():\n"
        "    out = subprocess.run(['/usr/bin/env', 'sh', '-c', 'echo $((6*7))'],\n"
        "                         capture_output=True, text=True, check=True).stdout\n"
        "    assert out.strip() == '42', out\n"
        "    server = socket.socket(socket.AF_UNIX)\n"
        "    server.bind('/tmp/.X11-unix-like')\n"
        "    server.listen()\n"
        "    client = socket.socket(socket.AF_UNIX)\n"
        "    client.connect('/tmp/.X11-unix-like')\n"
        "    seen = os.listdir('/tmp')\n"
        "    assert '.X11-unix-like' in seen and MARKER not in seen, seen\n"
        "import os\n"
        f"MARKER = {marker.name!r}\n"
    )
    submission = tmp_path / "solution.py"
    submission.write_text("VALUE = 1\n")
    sandbox = Sandbox(default_policy(contain_orphans=False), [str(PACKAGE_ROOT)])
    job = Job(source, "test_system.py", "test_system", "test_system", submission,
              "solution.py", Limits(wall=30))
    try:
        verdict = sandbox.run(job)
    finally:
        marker.rmdir()
    assert verdict.passed, verdict.output()


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None,
                    reason="checking what nobody can read needs root and setpriv")
def test_private_files_are_unreadable_by_the_sandbox_user() -> None:
    root = Path(tempfile.mkdtemp(prefix="protect-"))  # pytest's tmp_path is root's alone
    try:
        root.chmod(0o755)
        exercise = root / "exercises" / "03-timers"
        shutil.copytree(PACKAGE_ROOT / "exercises" / "03-timers", exercise)
        changed = protect_private_files(root / "exercises")
        assert {p.name for p in changed} == {"hidden", "solution"}
        hidden = exercise / "hidden" / "test_timers_hidden.py"
        for secret in (hidden, exercise / "solution" / "timers.py"):
            read = _as_nobody("cat", str(secret))
            assert read.returncode != 0 and b"Permission denied" in read.stderr
        assert _as_nobody("cat", str(exercise / "tests" / "test_timers.py")).returncode == 0
    finally:
        shutil.rmtree(root)


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                          capture_output=True, check=False)



@pytest.mark.timeout(120)
@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None or Cgroups.find() is None,
                    reason="needs root, setpriv and a writable cgroup")
def test_other_tests_processes_do_not_count_against_this_tests_cap(tmp_path: Path) -> None:
    """Per test, not per user: the sandbox user's other processes leave this test's cap alone.

    Class grading runs tests side by side as the same user; with RLIMIT_NPROC
    (which counts per user) beside the cgroup, a neighbour's 300 threads left
    this test unable to start one.
    """
    nobody = pwd.getpwnam("nobody")
    neighbour = subprocess.Popen(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
         "/usr/bin/python3", "-c",
         "import threading, sys\n"
         "stop = threading.Event()\n"
         "for _ in range(300): threading.Thread(target=stop.wait, daemon=True).start()\n"
         "print('ready', flush=True); sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert neighbour.stdout is not None and neighbour.stdout.readline() == "ready\n"
        source = (
            "import threading\n"
            "def test_threads():\n"
            "    threads = [threading.Thread(target=lambda: None) for _ in range(20)]\n"
            "    for t in threads: t.start()\n"
            "    for t in threads: t.join()\n"
        )
        submission = tmp_path / "solution.py"
        submission.write_text("VALUE = 1\n")
        sandbox = Sandbox(default_policy(contain_orphans=False), [str(PACKAGE_ROOT)])
        job = Job(source, "test_threads.py", "test_threads", "test_threads", submission,
                  "solution.py", Limits(wall=30))
        verdict = sandbox.run(job)
        assert verdict.passed, verdict.output()
    finally:
        neighbour.kill()
        neighbour.wait()


@needs_linux
@pytest.mark.timeout(120)
def test_the_fallback_sweep_spares_what_the_grader_started_before_the_test(tmp_path: Path) -> None:
    """A program the grader's process started earlier in a session of its own (a virtual
    display for the Tk tests, say) is a child of the grader, as the test's orphans are; it
    is older than the test, so it is not the test's to kill."""
    older = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        source = "def test_nothing():\n    pass\n"
        submission = tmp_path / "solution.py"
        submission.write_text("VALUE = 1\n")
        sandbox = Sandbox(fallback_policy(), [str(PACKAGE_ROOT)])
        job = Job(source, "test_nothing.py", "test_nothing", "test_nothing", submission,
                  "solution.py", Limits(wall=30))
        assert sandbox.run(job).passed
        assert older.poll() is None, "the sweep killed a process the test did not start"
    finally:
        older.kill()
        older.wait()
