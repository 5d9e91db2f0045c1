"""Tests that kill mutmut survivors in the parts the grader's sandbox is built from.

`bwrap.py` (the bubblewrap command line), `cgroups.py` (per-test control
groups), `sweep.py` (the fallback's process-tree sweep) and `verdict.py`
(what a test's report and exit status mean) are checked one at a time here,
by what they do: a bind really read-only, a namespace really unshared, a
limit really written, a stray process really killed and an older one spared,
a forged report really refused, a message word for word. They are the fast
selection that `scripts/mutation.py sandbox_parts` reruns for each mutant;
`test_sandbox_mutants.py` runs whole jobs through the same parts.

What decides whether a test can run (bubblewrap works, a control group can
be made) is probed here with code of our own, never with the functions under
test: a mutant that breaks `Bubblewrap.command` must fail these tests, not
turn them into skips.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from minireactor.grader import cgroups as cgroups_module
from minireactor.grader import sweep as sweep_module
from minireactor.grader import verdict as verdict_module
from minireactor.grader.bwrap import GRADE_DIR, Binds, Bubblewrap, _parents
from minireactor.grader.cgroups import Cgroups, _own_groups, _stale, _writable
from minireactor.grader.cgroups import TestGroup as Group
from minireactor.grader.sandbox import Limits
from minireactor.grader.sweep import (
    Proc,
    _from_proc,
    _from_ps,
    _reap,
    family,
    process_table,
    start_ticks,
    sweep,
)
from minireactor.grader.verdict import Verdict, judge, parse_report, read_all, tail

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LINUX = os.path.isdir("/proc/self")
BWRAP = shutil.which("bwrap")
SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = [pytest.mark.timeout(20)]


# --- verdict.py ------------------------------------------------------------------------

TOKEN = "0123456789abcdef" * 2


def header(pid: int, verdict: str, length: int, token: str = TOKEN) -> bytes:
    return b"MRG1 %s %d %s %d\n" % (token.encode(), pid, verdict.encode(), length)


def test_verdict_defaults_and_output_word_for_word() -> None:
    verdict = Verdict(False, "why")
    assert (verdict.stdout, verdict.stderr, verdict.duration, verdict.returncode) == (
        "", "", 0.0, None)
    assert verdict.output() == "why"
    full = Verdict(False, "why", stdout="out \n\n", stderr="  err\n")
    assert full.output() == "why\n--- stdout ---\nout\n--- stderr ---\n  err"
    # blank streams are left out, and an empty detail adds no empty line
    assert Verdict(True, "", stdout=" \n", stderr="\t").output() == ""
    assert Verdict(True, "", stderr="e").output() == "--- stderr ---\ne"
    assert Verdict(True, "", stdout="o").output() == "--- stdout ---\no"


@pytest.mark.timeout(10)
def test_parse_report_accepts_the_childs_pass_and_fail() -> None:
    assert parse_report(header(7, "PASS", 0), TOKEN, 7) == (True, "")
    body = "assert 1 == 2 — é".encode()
    report = header(7, "FAIL", len(body)) + body + b"trailing junk"
    assert parse_report(report, TOKEN, 7) == (False, "assert 1 == 2 — é")
    # the body is exactly `length` bytes long, cut mid-character if need be
    assert parse_report(header(7, "FAIL", 3) + b"abcdef", TOKEN, 7) == (False, "abc")
    assert parse_report(header(7, "FAIL", 2) + "é".encode() + b"x", TOKEN, 7) == (False, "é")
    assert parse_report(header(7, "FAIL", 1) + "é".encode(), TOKEN, 7) == (False, "\ufffd")
    assert parse_report(header(7, "FAIL", 2) + b"\xffz", TOKEN, 7) == (False, "\ufffdz")
    # anything else than PASS is a failure
    assert parse_report(header(7, "pass", 0), TOKEN, 7) == (False, "")


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_parse_report_refuses_forgeries() -> None:
    good = header(7, "PASS", 0)
    assert parse_report(good, "f" * 32, 7) is None  # another token
    assert parse_report(good, TOKEN, 8) is None  # another process
    assert parse_report(good, TOKEN[:-1], 7) is None  # a prefix of the token is not it
    assert parse_report(good[:-1], TOKEN, 7) is None  # no end of line
    assert parse_report(b"MRG1 %s 7 PASS 0 extra\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG1 %s 7 PASS\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG1 %s 7 PASS x\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG1 %s 7 PASS -1\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG2 %s 7 PASS 0\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG1  %s 7 PASS 0\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"", TOKEN, 7) is None
    # the header's last field runs to the end of the bytes, with no end of line
    assert parse_report(header(7, "PASS", 0)[:-1] + b"0", TOKEN, 7) is None
    # fields are separated by exactly one space
    assert parse_report(b"MRG1 %s 7  PASS 0\n" % TOKEN.encode(), TOKEN, 7) is None
    assert parse_report(b"MRG1 %s 7\tPASS 0\n" % TOKEN.encode(), TOKEN, 7) is None


@pytest.mark.timeout(10)
def test_parse_report_skips_forged_lines_to_the_real_one() -> None:
    forged = header(99, "PASS", 0) + header(7, "PASS", 0, token="e" * 32)
    real = header(7, "FAIL", 4) + b"real"
    assert parse_report(forged + real, TOKEN, 7) == (False, "real")
    # a marker with no end of line before the real one
    assert parse_report(b"MRG1 " + TOKEN.encode() + b" " + real, TOKEN, 7) == (False, "real")
    # the first authentic line wins over a later one
    assert parse_report(real + header(7, "PASS", 0), TOKEN, 7) == (False, "real")
    assert parse_report(forged + real + header(7, "PASS", 0), TOKEN, 7) == (False, "real")
    # a pid that only starts like the child's is another process
    assert parse_report(header(77, "PASS", 0) + real, TOKEN, 7) == (False, "real")


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_parse_report_without_a_pid_takes_any_process() -> None:
    """Under bubblewrap the pid is the namespace's: the child's guard vouches instead."""
    assert parse_report(header(2, "PASS", 0), TOKEN, None) == (True, "")
    assert parse_report(header(12345, "FAIL", 1) + b"x", TOKEN, None) == (False, "x")


class _Proc:
    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode


def _judge(code: int | None, report: bytes = b"", timed_out: bool = False,
           limits: Limits | None = None, **kwargs: Any) -> Verdict:
    proc = cast("subprocess.Popen[bytes]", _Proc(code))
    return judge(proc, report, TOKEN, timed_out, limits or Limits(), **kwargs)


def test_judge_passes_only_a_reported_pass_with_status_zero() -> None:
    passed = _judge(0, header(7, "PASS", 0), pid=7)
    assert (passed.passed, passed.detail, passed.returncode) == (True, "", 0)
    assert _judge(0, header(7, "PASS", 0)).passed  # pid None: any process
    failed = _judge(1, header(7, "PASS", 0), pid=7)
    assert (failed.passed, failed.returncode) == (False, 1)
    assert failed.detail == "the test process exited with status 1 before the test finished"
    assert not _judge(0, header(7, "PASS", 0), pid=8).passed  # another process's report
    assert not _judge(0, b"").passed


def test_judge_shows_the_reported_failure() -> None:
    verdict = _judge(1, header(7, "FAIL", 6) + b"reason", pid=7)
    assert (verdict.passed, verdict.detail, verdict.returncode) == (False, "reason", 1)
    verdict = _judge(0, header(7, "FAIL", 6) + b"reason", pid=7)
    assert (verdict.passed, verdict.detail, verdict.returncode) == (False, "reason", 0)


def test_judge_memory_before_timeout_before_report_word_for_word() -> None:
    limits = Limits(wall=2.5, cpu=1.5, memory_mb=300, file_mb=5)
    oom = _judge(-9, header(7, "PASS", 0), True, limits, oom_kills=1, pid=7)
    assert (oom.passed, oom.returncode) == (False, -9)
    assert oom.detail == ("the test's processes together used more than 300 MiB "
                          "(the per-test memory limit)")
    late = _judge(-9, header(7, "PASS", 0), True, limits, pid=7)
    assert (late.passed, late.returncode) == (False, -9)
    assert late.detail == ("timed out after 2.5 s (wall clock): an infinite loop, a deadlock, "
                           "or waiting for something that never came?")
    assert _judge(0, header(7, "PASS", 0), True, Limits(wall=10.0)).detail.startswith(
        "timed out after 10 s (wall clock)")
    assert _judge(0, header(7, "PASS", 0), False, limits, oom_kills=0).passed


def test_judge_explains_how_the_process_ended() -> None:
    limits = Limits(wall=2.5, cpu=1.5, memory_mb=300, file_mb=5)
    explained = {
        -int(signal.SIGXCPU): "used more than 1.5 s of CPU time (the limit) and was stopped",
        -int(signal.SIGSEGV): "crashed with a segmentation fault (SIGSEGV)",
        -int(signal.SIGXFSZ): "wrote a file larger than 5 MiB (the limit) and was stopped",
        -int(signal.SIGKILL): "killed by signal SIGKILL",
        -int(signal.SIGTERM): "killed by signal SIGTERM",
        0: ("the test process exited before the test finished "
            "(sys.exit() or os._exit() in graded code?)"),
        3: "the test process exited with status 3 before the test finished",
        None: "the test process exited with status None before the test finished",
    }
    for code, detail in explained.items():
        verdict = _judge(code, b"", limits=limits)
        assert (verdict.passed, verdict.detail, verdict.returncode) == (False, detail, code)


def test_read_all_takes_what_is_there_without_waiting_for_a_leaked_writer() -> None:
    r, w = os.pipe()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(read_all(r)), daemon=True)
    try:
        os.write(w, b"first ")
        os.write(w, b"second")
        reader.start()
        reader.join(10)  # the write end is still open: a blocking read would wait forever
        waited = reader.is_alive()
    finally:
        os.close(w)  # ends a blocked read
    reader.join(10)
    assert not waited, "read_all waited for a writer that never closes"
    assert got == [b"first second"]
    with pytest.raises(OSError):
        os.fstat(r)  # closed by read_all
    r, w = os.pipe()
    os.close(w)
    assert read_all(r) == b""  # end of file at once


@pytest.mark.timeout(10)
def test_read_all_stops_at_one_mebibyte(tmp_path: Path) -> None:
    big = tmp_path / "report"
    big.write_bytes(bytes(range(256)) * (3 << 12))  # 3 MiB
    fd = os.open(big, os.O_RDONLY)
    got = read_all(fd)
    assert len(got) == 1 << 20 and got == big.read_bytes()[: 1 << 20]
    with pytest.raises(OSError):
        os.fstat(fd)


def _stream(data: bytes) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.seek(0)
    return stream


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_tail_keeps_short_output_whole() -> None:
    assert tail(_stream(b"")) == ""
    assert tail(_stream(b"hello\n")) == "hello\n"
    assert tail(_stream(b"x" * 4000)) == "x" * 4000
    assert tail(_stream(b"bad \xff byte")) == "bad \ufffd byte"
    emoji = "\U0001f600" * 4000  # 16,000 bytes, 4,000 characters: still whole
    assert tail(_stream(emoji.encode())) == emoji


class _CountingStream(io.BytesIO):
    """A stream that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_tail_reads_only_the_end_of_a_huge_output() -> None:
    """4,000 characters are at most 16,000 bytes of UTF-8: the rest is never read."""
    stream = _CountingStream(b"x" * (4 << 20))
    assert tail(stream) == "[... earlier output cut ...]\n" + "x" * 4000
    assert stream.read_bytes == 16000
    small = _CountingStream(b"small")
    assert tail(small) == "small" and small.read_bytes == 5


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_tail_cuts_long_output_to_its_last_4000_characters() -> None:
    cut = "[... earlier output cut ...]\n"
    text = "".join(f"{i:07d}\n" for i in range(5000))  # 40,000 characters
    assert tail(_stream(text.encode())) == cut + text[-4000:]
    assert tail(_stream(b"y" + b"x" * 4000)) == cut + "x" * 4000
    emoji = "\U0001f600" * 4000
    # one byte more than 16,000: the start is cut even though 4,000 characters remain
    assert tail(_stream(b"a" + emoji.encode())) == cut + emoji
    many = "\U0001f600" * 6000  # the last 16,000 bytes hold exactly 4,000 characters
    assert tail(_stream(many.encode())) == cut + "\U0001f600" * 4000


# --- sweep.py ---------------------------------------------------------------------------

needs_proc = pytest.mark.skipif(not LINUX, reason="needs Linux /proc")


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _state(pid: int) -> str:
    try:
        return _stat_fields(pid)[0]
    except OSError:
        return "gone"


def _await_exit_unreaped(proc: subprocess.Popen[bytes]) -> None:
    """Block until `proc` has exited, leaving it a zombie (not reaped)."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)


def _ticks_now() -> int:
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def _next_tick(after: int) -> None:
    """Wait until the boot clock has passed `after` ticks, so what starts next is younger."""
    while _ticks_now() <= after + 1:
        time.sleep(0.005)


def _kill(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@needs_proc
def test_from_proc_reads_every_field_of_a_process() -> None:
    # a command name with spaces and parentheses must not shift the fields
    code = ("import ctypes, sys; ctypes.CDLL(None).prctl(15, b'a) b (c', 0, 0, 0); "
            "print('named', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, start_new_session=True)
    dead = subprocess.Popen(["true"])
    try:
        assert child.stdout is not None and child.stdout.readline() == b"named\n"
        _await_exit_unreaped(dead)
        table = {p.pid: p for p in _from_proc()}
        me = table[os.getpid()]
        assert (me.ppid, me.pgid, me.sid, me.zombie) == (
            os.getppid(), os.getpgid(0), os.getsid(0), False)
        assert me.start == int(_stat_fields(os.getpid())[19]) > 0
        named = table[child.pid]
        assert (named.ppid, named.pgid, named.sid, named.zombie) == (
            os.getpid(), child.pid, child.pid, False)
        assert named.start == int(_stat_fields(child.pid)[19])
        assert table[dead.pid].zombie and table[dead.pid].ppid == os.getpid()
        rows = {p.pid: p for p in process_table()}  # /proc, with start times
        assert rows[os.getpid()].start == me.start and rows[child.pid].start == named.start
    finally:
        _kill(child, dead)


@needs_proc
def test_from_proc_skips_a_process_that_exits_while_listed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.listdir

    def listdir(path: str) -> list[str]:
        names = real(path)
        return ["999999999", *names] if path == "/proc" else names  # gone before its stat

    monkeypatch.setattr(os, "listdir", listdir)
    pids = {p.pid for p in _from_proc()}
    assert os.getpid() in pids and 999999999 not in pids


@needs_proc
def test_process_table_uses_ps_where_there_is_no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ps") is None:
        pytest.skip("no ps")
    real = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: False if p == "/proc/self" else real(p))
    table = {p.pid: p for p in process_table()}
    assert table[os.getpid()].start == 0  # ps has no start time


@pytest.mark.skipif(shutil.which("ps") is None, reason="no ps")
def test_from_ps_reads_pid_parent_group_and_zombies() -> None:
    dead = subprocess.Popen(["true"])
    try:
        if LINUX:
            _await_exit_unreaped(dead)
        else:
            time.sleep(0.5)  # no waitid(WNOWAIT) to await it: give it time to exit
        table = {p.pid: p for p in _from_ps()}
        me = table[os.getpid()]
        # POSIX ps has no session column: the process group stands in for it
        assert me == Proc(os.getpid(), os.getppid(), os.getpgid(0), os.getpgid(0), False, 0)
        assert table[dead.pid].zombie and table[dead.pid].ppid == os.getpid()
    finally:
        dead.wait()


def test_from_ps_without_ps_is_an_empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("ps")

    monkeypatch.setattr(subprocess, "run", missing)
    assert _from_ps() == []


def test_from_ps_keeps_only_well_formed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    out = ("  12   1  12 Ss\n  13  12  12 Z+\nPID PPID PGID STAT\n  14  12\n\n 15 12 12 R\n"
           " x 12 12 S\n")
    calls: list[tuple[Any, ...]] = []

    def fake(*args: Any, **kwargs: Any) -> SimpleNamespace:
        calls.append((args, kwargs))
        return SimpleNamespace(stdout=out, returncode=0)

    monkeypatch.setattr(subprocess, "run", fake)
    assert _from_ps() == [Proc(12, 1, 12, 12, False), Proc(13, 12, 12, 12, True),
                          Proc(15, 12, 12, 12, False)]
    (args, kwargs), = calls
    assert args == (["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="],)
    assert kwargs["capture_output"] is True and kwargs["text"] is True
    assert 0 < kwargs["timeout"] <= 10  # a hung ps must not hang the grader


def test_from_ps_uses_the_rows_of_a_ps_that_exits_with_an_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A ps that could not describe every process (status 1) still lists the others."""
    (tmp_path / "ps").write_text("#!/bin/sh\necho '  12   1  12 Ss'\nexit 1\n")
    (tmp_path / "ps").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    assert _from_ps() == [Proc(12, 1, 12, 12, False)]


def _p(pid: int, ppid: int = 1, pgid: int | None = None, sid: int | None = None,
       zombie: bool = False, start: int = 100) -> Proc:
    return Proc(pid, ppid, pgid if pgid is not None else pid, sid if sid is not None else pid,
                zombie, start)


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_family_follows_parents_groups_and_sessions_in_any_order() -> None:
    table = [
        _p(16, ppid=15),  # great-grandchild, listed first: needs a second pass
        _p(15, ppid=14),
        _p(14, ppid=10),  # setsid() child: linked by its parent only
        _p(12, ppid=1, pgid=10, sid=10),  # re-parented, still in the test's group
        _p(13, ppid=1, pgid=13, sid=10),  # own group, the test's session
        _p(17, ppid=1, pgid=13, sid=17),  # joined the group of a member
        _p(10, ppid=1),
        _p(11, ppid=10, pgid=10, sid=10, zombie=True),  # dead: linked, not returned
        _p(18, ppid=11, pgid=18, sid=18),  # child of the zombie
        _p(20, ppid=1),  # unrelated
        _p(21, ppid=20, pgid=20, sid=20),
    ]
    assert family(10, table, None, set()) == {10, 12, 13, 14, 15, 16, 17, 18}
    # an excluded process neither counts nor links
    assert family(10, table, None, {14}) == {10, 12, 13, 17, 18}
    assert family(20, table, None, set()) == {20, 21}
    assert family(99, table, None, set()) == set()  # not in the table: nothing is its


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_family_never_includes_the_grader_itself() -> None:
    me = os.getpid()
    table = [_p(10), _p(me, ppid=10, pgid=me, sid=me)]
    assert family(10, table, None, set()) == {10}


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_family_takes_the_graders_younger_orphans_only() -> None:
    grader, own_sid = 500, os.getsid(0)
    table = [
        _p(10, ppid=grader, start=100),  # the test's first process
        _p(30, ppid=grader, start=101),  # orphan of the test, in a session of its own
        _p(31, ppid=grader, start=100),  # same tick as the test: not younger
        _p(32, ppid=grader, start=99),  # older: e.g. the grader's virtual display
        _p(33, ppid=grader, pgid=33, sid=own_sid, start=150),  # the grader's own session
        _p(34, ppid=grader, start=160),  # excluded: another test's first process
        _p(35, ppid=30, start=170),  # the orphan's child
        _p(36, ppid=77, start=180),  # younger but not the grader's
    ]
    assert family(10, table, grader, {34}) == {10, 30, 35}
    assert family(10, table, None, {34}) == {10}  # no subreaper: no orphans
    # `born` given: the first process's own row no longer counts
    assert family(10, table, grader, {34}, born=99) == {10, 30, 31, 35}
    assert family(10, table, grader, {34}, born=150) == {10}
    # without a row for the first process its age is unknown (0): any orphan is younger
    early = _p(37, ppid=grader, start=1)
    assert family(10, [*table[1:], early], grader, {34}) == {30, 31, 32, 35, 37}


@needs_proc
def test_start_ticks() -> None:
    assert start_ticks(os.getpid()) == int(_stat_fields(os.getpid())[19]) > 0
    assert start_ticks(999999999) == 0


_TREE = """\
import os, subprocess, sys
a = subprocess.Popen(["sleep", "60"])  # same group and session
b = subprocess.Popen(["sleep", "60"], start_new_session=True)  # linked by its parent only
c = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"], start_new_session=True)
print(a.pid, b.pid, c.pid, flush=True)
sys.stdin.read()
"""


def _children_of(pid: int) -> set[int]:
    """The children of `pid` (read here, not with the code under test)."""
    children = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if int(_stat_fields(int(name))[1]) == pid:
                    children.add(int(name))
            except OSError:
                continue  # exited while we listed
    return children


def _in_session(sid: int) -> set[int]:
    """The live processes of session `sid` (read here, not with the code under test)."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = _stat_fields(int(name))
            except OSError:
                continue  # exited while we listed
            if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
                found.add(int(name))
    return found


def _kill_pids(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue  # gone already


def _kill_marked(marker: str) -> None:
    """SIGKILL the processes this test started with `marker` in their command line."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0"):
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                continue  # exited since


def _dead(pid: int, within: float = 10.0) -> bool:
    """Whether `pid` exits within `within` seconds (a SIGKILL takes effect asynchronously)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return select.select([pidfd], [], [], within)[0] == [pidfd]
    finally:
        os.close(pidfd)


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_kills_the_tests_tree_and_younger_orphans_and_spares_older_ones() -> None:
    me = os.getpid()
    older = subprocess.Popen(["sleep", "60"], start_new_session=True)
    older_dead = subprocess.Popen(["true"], start_new_session=True)
    _await_exit_unreaped(older_dead)
    _next_tick(start_ticks(older.pid))
    root = subprocess.Popen([sys.executable, "-c", _TREE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True)
    other = younger = younger_dead = None
    sessions = [root.pid]  # to clean up after a failure
    try:
        assert root.stdout is not None
        a, b, c = map(int, root.stdout.readline().split())
        sessions += [b, c]
        give_up = time.monotonic() + 10  # the shell starts its two sleeps
        while len(_children_of(c)) < 2 and time.monotonic() < give_up:
            time.sleep(0.01)
        c1, c2 = _children_of(c)
        _next_tick(start_ticks(root.pid))
        younger = subprocess.Popen(["sleep", "60"], start_new_session=True)  # an "orphan"
        other = subprocess.Popen(["sleep", "60"], start_new_session=True)  # another test
        younger_dead = subprocess.Popen(["true"], start_new_session=True)
        _await_exit_unreaped(younger_dead)
        killed = sweep(root.pid, me, {other.pid})
        assert killed == 7  # root, a, b, c, c's two sleeps, the younger orphan
        for pid in (root.pid, a, b, c, c1, c2, younger.pid):
            assert _dead(pid), pid
        # older children of the grader, and excluded ones, are spared and left unreaped
        assert _state(older.pid) in ("S", "R") and _state(other.pid) in ("S", "R")
        assert _state(older_dead.pid) == "Z"
        # the younger orphans were reaped by the sweep; the test's first process was not
        assert _state(younger.pid) == "gone" and _state(younger_dead.pid) == "gone"
        assert _state(root.pid) == "Z"
        assert sweep(root.pid, me, {other.pid}) == 0  # nothing left
    finally:
        for sid in sessions:
            _kill_pids(_in_session(sid))
        for proc in (root, older, other):
            if proc is not None:
                _kill(proc)
        older_dead.wait()
        for proc in (younger, younger_dead):
            if proc is not None:
                proc.returncode = 0  # reaped by the sweep


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_without_a_subreaper_spares_the_graders_other_children() -> None:
    root = subprocess.Popen([sys.executable, "-c", _TREE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True)
    younger = None
    sessions = [root.pid]  # to clean up after a failure
    try:
        assert root.stdout is not None
        a, b, c = map(int, root.stdout.readline().split())
        sessions += [b, c]
        _next_tick(start_ticks(root.pid))
        younger = subprocess.Popen(["sleep", "60"], start_new_session=True)
        born = start_ticks(root.pid)
        assert sweep(root.pid, None, set(), born=born) >= 4
        assert all(_dead(pid) for pid in (root.pid, a, b, c))
        assert _state(younger.pid) in ("S", "R")
    finally:
        for sid in sessions:
            _kill_pids(_in_session(sid))
        _kill(root)
        if younger is not None:
            _kill(younger)


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_is_bounded_by_its_deadline() -> None:
    root = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        started = time.monotonic()
        assert sweep(root.pid, None, set(), deadline=0) == 0  # no time: nothing done
        assert time.monotonic() - started < 5
        assert _state(root.pid) in ("S", "R")
        assert sweep(root.pid, None, set()) == 1
    finally:
        _kill(root)


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_stops_a_tree_that_keeps_growing() -> None:
    """A process that keeps forking is frozen, then killed with all its children."""
    code = ("import os, sys, time\nprint(os.getpid(), flush=True)\n"
            "for _ in range(400):  # bounded: a fork bomb would starve the machine\n"
            "    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '60'])\n"
            "    time.sleep(0.005)\n"
            "time.sleep(60)\n")
    root = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert root.stdout is not None
        root.stdout.readline()
        give_up = time.monotonic() + 10
        while len(_children_of(root.pid)) < 20 and time.monotonic() < give_up:
            time.sleep(0.01)
        assert sweep(root.pid, None, set()) > 20
        assert {pid for pid in _in_session(root.pid) if not _dead(pid)} == set()
    finally:
        _kill(root)
        _kill_pids(_in_session(root.pid))


@needs_proc
def test_reap_collects_only_younger_zombies_that_are_not_excluded() -> None:
    older = subprocess.Popen(["true"])
    _await_exit_unreaped(older)
    _next_tick(start_ticks(older.pid))
    born = _ticks_now() - 1
    _next_tick(born + 1)
    young, excluded, alive = (subprocess.Popen(["true"]), subprocess.Popen(["true"]),
                              subprocess.Popen(["sleep", "60"]))
    for proc in (young, excluded):
        _await_exit_unreaped(proc)
    assert start_ticks(young.pid) > born >= start_ticks(older.pid)
    try:
        _reap(None, set(), born)  # no subreaper: nothing to collect
        assert _state(young.pid) == "Z"
        # a zombie another waiter collected since the scan: not an error
        real_table = sweep_module.process_table
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sweep_module, "process_table", lambda: [
                *real_table(), Proc(999999994, os.getpid(), 1, 1, True, born + 1)])
            _reap(os.getpid(), {young.pid, excluded.pid}, born)
        assert _state(young.pid) == "Z"
        _reap(os.getpid(), {excluded.pid}, born)
        assert _state(young.pid) == "gone"
        assert _state(older.pid) == "Z" and _state(excluded.pid) == "Z"
        assert _state(alive.pid) in ("S", "R")
    finally:
        young.returncode = 0
        _kill(older, excluded, alive)


# --- cgroups.py -------------------------------------------------------------------------


def _real_cgroups() -> tuple[Path, Path | None] | None:
    """Where this process may make groups, found without the code under test."""
    if not IS_ROOT or not LINUX:
        return None
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            own[name] = path.lstrip("/")
    memory = Path("/sys/fs/cgroup/memory") / own.get("memory", "")
    pids = Path("/sys/fs/cgroup/pids") / own.get("pids", "")
    if (memory / "cgroup.procs").is_file() and (pids / "cgroup.procs").is_file():
        return memory, pids
    v2 = Path("/sys/fs/cgroup") / own.get("", "")
    try:
        if {"memory", "pids"} <= set((v2 / "cgroup.subtree_control").read_text().split()):
            return v2, None
    except OSError:
        pass
    return None


REAL = _real_cgroups()
needs_cgroups = pytest.mark.skipif(REAL is None, reason="needs root and a cgroup hierarchy "
                                   "with the memory and pids controllers")


@pytest.fixture
def real_cgroups() -> Iterator[Cgroups]:
    assert REAL is not None
    made = Cgroups(*REAL)
    yield made
    for parent in REAL:  # whatever a failed test left behind
        if parent is not None:
            for folder in parent.glob(f"minireactor-grade-{os.getpid()}-*"):
                Group((folder,)).kill_all(deadline=2)


def _procs_in(folder: Path) -> set[int]:
    return {int(p) for p in (folder / "cgroup.procs").read_text().split()}


@needs_cgroups
def test_find_returns_this_processs_own_writable_groups() -> None:
    assert REAL is not None
    assert Cgroups.find() == Cgroups(*REAL)


@needs_proc
def test_own_groups_reads_this_processs_groups() -> None:
    expected = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            expected[name] = path
    assert _own_groups() == expected


def _fake_proc_self_cgroup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    fake = tmp_path / "proc-self-cgroup"
    fake.write_text(text)
    real = Path

    def path(name: str | Path, *more: str) -> Path:
        return fake if str(name) == "/proc/self/cgroup" else real(name, *more)

    monkeypatch.setattr(cgroups_module, "Path", path)


def test_own_groups_splits_joined_controllers(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    _fake_proc_self_cgroup(monkeypatch, tmp_path,
                           "12:cpu,cpuacct:/a:b\n4:memory:/m\n1:name=systemd:/s\n0::/u\n")
    assert _own_groups() == {"cpu": "/a:b", "cpuacct": "/a:b", "memory": "/m",
                             "name=systemd": "/s", "": "/u"}


def test_own_groups_without_the_file_is_empty(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    real = Path
    missing = tmp_path / "missing"
    monkeypatch.setattr(cgroups_module, "Path",
                        lambda name, *more: missing if str(name) == "/proc/self/cgroup"
                        else real(name, *more))
    assert _own_groups() == {}


def _group(folder: Path, procs: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "cgroup.procs").write_text(procs)
    return folder


def test_find_prefers_v1_memory_and_pids_groups(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    root = tmp_path / "cg"
    monkeypatch.setattr(cgroups_module, "_ROOT", root)
    memory = _group(root / "memory" / "Xgrader" / "one")
    pids = _group(root / "pids" / "Xp")
    _group(root / "grader2")
    (root / "grader2" / "cgroup.subtree_control").write_text("memory pids\n")
    _fake_proc_self_cgroup(monkeypatch, tmp_path,
                           "5:pids:/Xp\n4:memory:/Xgrader/one\n0::/grader2\n")
    assert Cgroups.find() == Cgroups(memory, pids)
    # no pids line: the pids hierarchy's root group is ours
    (root / "pids" / "cgroup.procs").write_text("1\n")
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "4:memory:/Xgrader/one\n0::/grader2\n")
    assert Cgroups.find() == Cgroups(memory, root / "pids")
    # no memory line: the same for memory
    (root / "memory" / "cgroup.procs").write_text("1\n")
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "5:pids:/Xp\n0::/grader2\n")
    assert Cgroups.find() == Cgroups(root / "memory", pids)


def test_find_falls_back_to_v2_when_v1_is_not_usable(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    root = tmp_path / "cg"
    monkeypatch.setattr(cgroups_module, "_ROOT", root)
    _group(root / "memory" / "m")  # memory without pids is not enough
    v2 = _group(root / "Xgrader2")
    (v2 / "cgroup.subtree_control").write_text("cpu memory io pids\n")
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "4:memory:/m\n0::/Xgrader2\n")
    assert Cgroups.find() == Cgroups(v2, None)
    _group(root / "pids" / "p")  # pids without memory is not enough either
    (root / "memory" / "m" / "cgroup.procs").unlink()
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "4:memory:/m\n5:pids:/p\n0::/Xgrader2\n")
    assert Cgroups.find() == Cgroups(v2, None)
    # no v2 line: the root of the v2 hierarchy
    (root / "cgroup.subtree_control").write_text("memory pids\n")
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "4:memory:/m\n")
    assert Cgroups.find() == Cgroups(root, None)


def test_find_needs_both_controllers_and_write_access_on_v2(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    root = tmp_path / "cg"
    monkeypatch.setattr(cgroups_module, "_ROOT", root)
    v2 = _group(root / "g")
    _fake_proc_self_cgroup(monkeypatch, tmp_path, "0::/g\n")
    assert Cgroups.find() is None  # no cgroup.subtree_control
    (v2 / "cgroup.subtree_control").write_text("memory\n")
    assert Cgroups.find() is None  # no pids controller for our children
    (v2 / "cgroup.subtree_control").write_text("pids\n")
    assert Cgroups.find() is None
    (v2 / "cgroup.subtree_control").write_text("pids memory\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == v2
                        else real_access(p, mode))
    assert Cgroups.find() is None  # not ours to write
    monkeypatch.setattr(os, "access", real_access)
    assert Cgroups.find() == Cgroups(v2, None)


def test_writable_needs_a_group_and_write_access(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    assert not _writable(tmp_path)  # no cgroup.procs: not a group
    (tmp_path / "cgroup.procs").mkdir()
    assert not _writable(tmp_path)  # not a file
    (tmp_path / "cgroup.procs").rmdir()
    (tmp_path / "cgroup.procs").write_text("")
    assert _writable(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK and real_access(p, mode))
    assert not _writable(tmp_path)


def test_create_writes_the_v2_limits(tmp_path: Path) -> None:
    group = Cgroups(tmp_path, None).create(48, 17)
    assert group is not None
    (folder,) = group.folders
    assert folder.parent == tmp_path
    assert re.fullmatch(rf"minireactor-grade-{os.getpid()}-\d+", folder.name)
    assert (folder / "memory.max").read_text() == str(48 * 2**20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "17"
    assert sorted(p.name for p in folder.iterdir()) == ["memory.max", "memory.swap.max",
                                                        "pids.max"]
    second = Cgroups(tmp_path, None).create(48, 17)
    assert second is not None and second.folders != group.folders  # a fresh name each time


def test_create_writes_the_v1_limits(tmp_path: Path) -> None:
    memory_parent, pids_parent = tmp_path / "memory", tmp_path / "pids"
    memory_parent.mkdir()
    pids_parent.mkdir()
    group = Cgroups(memory_parent, pids_parent).create(48, 17)
    assert group is not None
    memory, pids = group.folders
    assert memory.parent == memory_parent and pids.parent == pids_parent
    assert memory.name == pids.name
    assert re.fullmatch(rf"minireactor-grade-{os.getpid()}-\d+", memory.name)
    assert (memory / "memory.limit_in_bytes").read_text() == str(48 * 2**20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(48 * 2**20)
    assert (pids / "pids.max").read_text() == "17"
    assert sorted(p.name for p in memory.iterdir()) == ["memory.limit_in_bytes",
                                                        "memory.memsw.limit_in_bytes"]
    assert sorted(p.name for p in pids.iterdir()) == ["pids.max"]


def test_create_without_a_parent_makes_nothing(tmp_path: Path) -> None:
    assert Cgroups(tmp_path / "missing", None).create(48, 17) is None
    assert Cgroups(tmp_path / "missing", tmp_path).create(48, 17) is None
    assert list(tmp_path.iterdir()) == []
    # the memory group is made, the pids one fails; its removal may fail too (a plain
    # folder holding its limit file): no error, no group
    memory = tmp_path / "memory"
    memory.mkdir()
    assert Cgroups(memory, tmp_path / "missing").create(48, 17) is None


def test_create_without_swap_accounting(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    """Kernels without swap accounting have no memsw file: the group is made all the same."""
    real = Path.write_text

    def write_text(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.name == "memory.memsw.limit_in_bytes":
            raise PermissionError(13, "no such control file in a cgroup folder")
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    (tmp_path / "memory").mkdir()
    (tmp_path / "pids").mkdir()
    group = Cgroups(tmp_path / "memory", tmp_path / "pids").create(48, 17)
    assert group is not None
    assert (group.folders[0] / "memory.limit_in_bytes").read_text() == str(48 * 2**20)
    assert (group.folders[1] / "pids.max").read_text() == "17"


@needs_cgroups
def test_create_removes_its_memory_group_when_the_pids_group_fails(
        real_cgroups: Cgroups, tmp_path: Path) -> None:
    if real_cgroups.pids_parent is None:
        pytest.skip("one v2 group holds both controllers")
    broken = Cgroups(real_cgroups.memory_parent, tmp_path / "missing")
    assert broken.create(48, 17) is None
    assert list(real_cgroups.memory_parent.glob(f"minireactor-grade-{os.getpid()}-*")) == []


@needs_cgroups
def test_a_real_group_caps_memory_and_processes(real_cgroups: Cgroups) -> None:
    group = real_cgroups.create(40, 9)
    assert group is not None
    memory = group.folders[0]
    limit = "memory.max" if real_cgroups.pids_parent is None else "memory.limit_in_bytes"
    assert (memory / limit).read_text().strip() == str(40 * 2**20)
    assert (group.folders[-1] / "pids.max").read_text().strip() == "9"
    group.kill_all()
    assert not any(folder.exists() for folder in group.folders)


def test_join_prefix_runs_the_command_after_entering_every_group(tmp_path: Path) -> None:
    one, two = _group(tmp_path / "one"), _group(tmp_path / "two")
    group = Group((one, two))
    assert group.join_prefix()[:2] == ["/bin/sh", "-c"]
    done = subprocess.run([*group.join_prefix(), "sh", "-c", "echo $$; echo \"$@\"", "x",
                           "a b", "-- c"], capture_output=True, text=True, timeout=20,
                          check=False)
    assert done.returncode == 0, done.stderr
    pid, args = done.stdout.splitlines()
    assert args == "a b -- c"  # the arguments, including a later "--", reach the command
    assert one.joinpath("cgroup.procs").read_text() == f"{pid}\n"  # same process: exec
    assert two.joinpath("cgroup.procs").read_text() == f"{pid}\n"


def test_join_prefix_refuses_to_run_outside_its_group(tmp_path: Path) -> None:
    one = _group(tmp_path / "one")
    group = Group((one, tmp_path / "missing"))
    marker = tmp_path / "ran"
    done = subprocess.run([*group.join_prefix(), "touch", str(marker)], capture_output=True,
                          timeout=20, check=False)
    assert done.returncode == 126 and not marker.exists()
    assert done.stderr.startswith(b"sh: ")  # the shell's error names it "sh"


@needs_cgroups
def test_join_prefix_enters_a_real_group(real_cgroups: Cgroups) -> None:
    group = real_cgroups.create(64, 16)
    assert group is not None
    try:
        done = subprocess.run([*group.join_prefix(), "cat", "/proc/self/cgroup"],
                              capture_output=True, text=True, timeout=20, check=False)
        assert done.returncode == 0, done.stderr
        for folder in group.folders:
            assert f"{folder.name}\n" in done.stdout
    finally:
        group.kill_all()


def test_pids_reads_every_group_and_skips_removed_ones(tmp_path: Path) -> None:
    one = _group(tmp_path / "one", "12\n13\n")
    two = _group(tmp_path / "two", "13\n14\n")
    assert Group((one, two)).pids() == {12, 13, 14}
    assert Group((tmp_path / "gone", two)).pids() == {13, 14}
    assert Group((one, tmp_path / "gone")).pids() == {12, 13}


@needs_cgroups
@pytest.mark.timeout(30)
def test_kill_all_kills_everything_inside_and_removes_the_groups(
        real_cgroups: Cgroups) -> None:
    group = real_cgroups.create(256, 64)
    assert group is not None
    # a shell that keeps starting children, and one that left its session
    script = "setsid sleep 60 & while :; do sleep 60 & sleep 0.01; done"
    proc = subprocess.Popen([*group.join_prefix(), "sh", "-c", script],
                            start_new_session=True)
    try:
        give_up = time.monotonic() + 10
        while len(group.pids()) < 5 and time.monotonic() < give_up:
            time.sleep(0.01)
        inside = group.pids()
        assert len(inside) >= 5
        group.kill_all()
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert all(_dead(pid) for pid in inside)
        assert not any(folder.exists() for folder in group.folders)
        group.kill_all(deadline=1)  # removed already: nothing to do, no error
    finally:
        _kill(proc)


@pytest.mark.timeout(30)
def test_kill_all_gives_up_on_a_group_that_will_not_go(tmp_path: Path) -> None:
    """Past the deadline a group that cannot be removed is left behind, without an error."""
    child = subprocess.Popen(["sleep", "60"])
    # never empties (a plain folder); lists a pid that has died since, too
    stuck = _group(tmp_path / "stuck", f"999999999\n{child.pid}\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    try:
        started = time.monotonic()
        Group((stuck, tmp_path / "gone", empty)).kill_all(deadline=0.3)
        took = time.monotonic() - started
        assert 0.3 <= took < 10
        assert child.wait(timeout=10) == -signal.SIGKILL  # killed all the same
        assert stuck.exists()
        assert not empty.exists()  # the groups after it are still removed
    finally:
        _kill(child)


@pytest.mark.timeout(30)
def test_kill_all_retries_a_busy_group_until_its_deadline(tmp_path: Path) -> None:
    """An empty group the kernel still holds (EBUSY) is retried, then left behind."""
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "held").write_text("")  # rmdir fails, as on EBUSY; no cgroup.procs: empty
    empty = tmp_path / "empty"
    empty.mkdir()
    started = time.monotonic()
    Group((tmp_path / "gone", busy, empty)).kill_all(deadline=0.3)
    assert 0.3 <= time.monotonic() - started < 10
    assert busy.exists() and not empty.exists()


def test_oom_kills_reads_v1_and_v2_counters(tmp_path: Path) -> None:
    v1 = _group(tmp_path / "v1")
    (v1 / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    v2 = _group(tmp_path / "v2")
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 4\noom_kill 2\n")
    pids = _group(tmp_path / "pids")  # a pids group has no memory counters
    assert Group((v1, pids)).oom_kills() == 3
    assert Group((v2,)).oom_kills() == 2
    assert Group((pids, v2)).oom_kills() == 2
    assert Group((pids,)).oom_kills() == 0
    assert Group((tmp_path / "gone",)).oom_kills() == 0
    quiet = _group(tmp_path / "quiet")
    (quiet / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (quiet / "memory.events").write_text("oom 1\noom_kill 5\n")
    assert Group((quiet,)).oom_kills() == 5


@needs_cgroups
@pytest.mark.timeout(30)
def test_oom_kills_counts_what_the_kernel_killed_in_a_real_group(
        real_cgroups: Cgroups) -> None:
    group = real_cgroups.create(32, 16)
    assert group is not None
    try:
        assert group.oom_kills() == 0
        hog = "x = bytearray(200 << 20)\nprint('survived')\n"
        done = subprocess.run([*group.join_prefix(), sys.executable, "-c", hog],
                              capture_output=True, text=True, timeout=25, check=False)
        assert done.returncode == -signal.SIGKILL and "survived" not in done.stdout
        assert group.oom_kills() == 1
    finally:
        group.kill_all()


def test_stale_needs_a_dead_graders_empty_group(tmp_path: Path) -> None:
    dead = 999999999  # above any pid_max
    assert _stale(_group(tmp_path / f"minireactor-grade-{dead}-0"))
    assert _stale(_group(tmp_path / f"minireactor-grade-{dead}-1", "\n"))
    assert not _stale(_group(tmp_path / f"minireactor-grade-{dead}-2", "55\n"))
    assert not _stale(_group(tmp_path / f"minireactor-grade-{os.getpid()}-0"))
    assert not _stale(_group(tmp_path / "minireactor-grade-x1-0"))
    (tmp_path / f"minireactor-grade-{dead}-3").mkdir()  # vanished: no cgroup.procs
    assert not _stale(tmp_path / f"minireactor-grade-{dead}-3")


def test_remove_stale_leaves_what_it_cannot_tell_is_stale(tmp_path: Path) -> None:
    dead = 999999999
    unreadable = tmp_path / f"minireactor-grade-{dead}-0"
    unreadable.mkdir()  # no cgroup.procs: cannot tell, keep it
    busy = _group(tmp_path / f"minireactor-grade-{dead}-1")  # stale, but rmdir fails
    Cgroups(tmp_path, None).remove_stale()  # no error: another grader may be at it
    assert unreadable.exists() and busy.exists()


@needs_cgroups
@pytest.mark.timeout(30)
def test_find_removes_stale_groups_of_dead_graders_only(real_cgroups: Cgroups) -> None:
    dead = 999999999
    parents = [p for p in (real_cgroups.memory_parent, real_cgroups.pids_parent) if p]
    made: list[Path] = []
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for parent in parents:
            for name in (f"minireactor-grade-{dead}-7", f"minireactor-grade-{os.getpid()}-x7",
                         f"minireactor-grade-{dead}-8", "minireactor-grade-x-7"):
                (parent / name).mkdir()
                made.append(parent / name)
            (parent / f"minireactor-grade-{dead}-8" / "cgroup.procs").write_text(
                str(sleeper.pid))
        assert Cgroups.find() == real_cgroups
        for parent in parents:
            assert not (parent / f"minireactor-grade-{dead}-7").exists()  # removed
            assert (parent / f"minireactor-grade-{os.getpid()}-x7").exists()  # alive
            assert (parent / f"minireactor-grade-{dead}-8").exists()  # not empty
            assert (parent / "minireactor-grade-x-7").exists()  # not a pid
    finally:
        sleeper.kill()
        sleeper.wait()
        for folder in made:
            Group((folder,)).kill_all(deadline=2)


# --- bwrap.py ---------------------------------------------------------------------------


def _bwrap_works() -> bool:
    """A plain bubblewrap sandbox starts here (probed without the code under test)."""
    if BWRAP is None or not LINUX:
        return False
    argv = [BWRAP, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
            "--dev", "/dev", "--", "/bin/true"]
    if not IS_ROOT:
        argv.insert(1, "--unshare-user")
    try:
        return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


HAS_BWRAP = _bwrap_works()
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP or not os.access(SYSTEM_PYTHON, os.X_OK),
                                 reason="needs a working bubblewrap and /usr/bin/python3")

# Runs inside: what the sandbox looks like, as one JSON document.
_LOOK = """
import json, os, stat, sys
def mode(p):
    try:
        st = os.stat(p)
    except OSError:
        return None
    return [oct(stat.S_IMODE(st.st_mode)), bool(os.statvfs(p).f_flag & os.ST_RDONLY)]
mounts = {}
for line in open("/proc/self/mountinfo"):
    left, right = line.split(" - ")
    mounts[left.split()[4]] = [right.split()[0], right.split()[2]]
status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines()
              if ":\\t" in l)
ns = {n: os.readlink("/proc/self/ns/" + n) for n in ("ipc", "net", "pid", "uts", "user")}
print(json.dumps({
    "hostname": os.uname().nodename, "pid": os.getpid(), "sid": os.getsid(0),
    "cwd": os.getcwd(), "ns": ns, "net": [l.split(":")[0].strip()
                                          for l in open("/proc/net/dev").readlines()[2:]],
    "uid_map": open("/proc/self/uid_map").read().split(),
    "cap_eff": int(status["CapEff"], 16), "cap_prm": int(status["CapPrm"], 16),
    "etc": sorted(os.listdir("/etc")), "modes": {p: mode(p) for p in sys.argv[1:]},
    "mounts": mounts, "links": {p: os.readlink(p) for p in ("/bin", "/lib", "/sbin", "/lib64")
                                if os.path.islink(p)},
    "dev_null": stat.S_ISCHR(os.stat("/dev/null").st_mode), "proc": os.path.isdir("/proc/1"),
}))
"""

_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group",
        "nsswitch.conf", "localtime", "hosts", "fonts", "X11", "ssl", "mime.types")


def _folders(tmp_path: Path) -> dict[str, str]:
    names = {}
    for name in ("ro", "same", "submission", "work"):
        folder = tmp_path / "deep" / name
        folder.mkdir(parents=True)
        (folder / "file.txt").write_text(name)
        names[name] = str(folder)
    os.chmod(tmp_path, 0o700)
    return names


def _look(bwrap: Bubblewrap, binds: Binds, *paths: str, drop_user: bool = False,
          ) -> dict[str, Any]:
    inner = [SYSTEM_PYTHON, "-I", "-c", _LOOK, *paths]
    # drop_user left out unless asked for: its default counts too
    argv = (bwrap.command(inner, binds=binds, drop_user=True) if drop_user else
            bwrap.command(inner, binds=binds))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _host_ns(name: str) -> str:
    return os.readlink(f"/proc/self/ns/{name}")


@needs_bwrap
def test_bwrap_unshares_namespaces_and_session(tmp_path: Path) -> None:
    assert BWRAP is not None
    got = _look(Bubblewrap(BWRAP), Binds((), (), None, None))
    for name in ("ipc", "net", "pid", "uts"):
        assert got["ns"][name] != _host_ns(name), name
    assert got["hostname"] == "grader"
    assert got["net"] == ["lo"]  # no network but a loopback of its own
    assert got["pid"] < 10 and got["proc"]  # its own PID namespace, with its own /proc
    # a session of its own (--new-session), led inside the namespace; without one
    # the session would be the grader's, outside it (reported as 0)
    assert 0 < got["sid"] <= got["pid"]
    if IS_ROOT:  # no user namespace for root: it would map the test to root outside
        assert got["ns"]["user"] == _host_ns("user")
        assert got["uid_map"] == ["0", "0", "4294967295"]


@needs_bwrap
def test_bwrap_shows_a_read_only_system_and_private_tmp(tmp_path: Path) -> None:
    assert BWRAP is not None
    got = _look(Bubblewrap(BWRAP), Binds((), (), None, None),
                "/usr", "/etc", "/tmp", "/dev/shm", "/etc/passwd", "/etc/shadow", "/root")
    modes = got["modes"]
    assert modes["/usr"][1] is True and modes["/etc/passwd"][1] is True
    assert modes["/etc"] == ["0o755", False]  # a folder of its own, holding the binds only
    assert modes["/tmp"] == ["0o1777", False] and modes["/dev/shm"] == ["0o1777", False]
    assert got["mounts"]["/tmp"] == ["tmpfs", got["mounts"]["/tmp"][1]]
    for where in ("/tmp", "/dev/shm"):
        fstype, options = got["mounts"][where]
        assert fstype == "tmpfs" and "size=65536k" in options.split(","), (where, options)
    assert modes["/etc/shadow"] is None and modes["/root"] is None
    assert got["etc"] == sorted(n for n in _ETC if os.path.exists(f"/etc/{n}"))
    for link in ("/bin", "/lib", "/sbin", "/lib64"):
        if os.path.islink(link):
            assert got["links"][link] == os.readlink(link)
        else:
            assert link not in got["links"]
    assert got["dev_null"] is True
    small = _look(Bubblewrap(BWRAP, tmp_mb=3), Binds((), (), None, None))
    assert "size=3072k" in small["mounts"]["/tmp"][1].split(",")
    assert "size=3072k" in small["mounts"]["/dev/shm"][1].split(",")


@needs_bwrap
def test_bwrap_binds_only_what_the_test_may_see(tmp_path: Path) -> None:
    assert BWRAP is not None
    f = _folders(tmp_path)
    binds = Binds((f["ro"],), (f["same"],), f["submission"], f["work"])
    deep = str(tmp_path / "deep")
    got = _look(Bubblewrap(BWRAP), binds, f["ro"], f["same"], deep, str(tmp_path), "/grade",
                "/grade/submission", "/grade/work", f["submission"], f["work"],
                f["ro"] + "/file.txt", "/usr/share", str(Path(deep).parents[1]))
    modes = got["modes"]
    assert modes[f["ro"]][1] is True and modes[f["same"]][1] is True
    assert modes["/grade/submission"][1] is True
    assert modes["/grade/work"][1] is False and got["cwd"] == "/grade/work"
    # the folders made to hold the binds are world-readable (bwrap would copy /tmp's 0700)
    assert modes[deep] == ["0o755", False] and modes[str(tmp_path)] == ["0o755", False]
    assert modes[str(Path(deep).parents[1])] == ["0o755", False]
    assert modes["/grade"] == ["0o755", False]
    # the host paths of the submission and working folder are not shown
    assert modes[f["submission"]] is None and modes[f["work"]] is None
    assert modes[f["ro"] + "/file.txt"] is not None
    assert modes["/usr/share"][1] is True


@needs_bwrap
def test_bwrap_submission_and_work_without_the_other(tmp_path: Path) -> None:
    assert BWRAP is not None
    f = _folders(tmp_path)
    only_work = _look(Bubblewrap(BWRAP), Binds((), (), None, f["work"]), "/grade/submission")
    assert only_work["cwd"] == "/grade/work" and only_work["modes"]["/grade/submission"] is None
    only_sub = _look(Bubblewrap(BWRAP), Binds((), (), f["submission"], None),
                     "/grade/submission", "/grade/work")
    assert only_sub["modes"]["/grade/submission"][1] is True
    assert only_sub["modes"]["/grade/work"] is None


_SETUID_SETGID = (1 << 7) | (1 << 6)


@needs_bwrap
def test_bwrap_drops_every_capability_unless_asked_to_keep_setuid(tmp_path: Path) -> None:
    assert BWRAP is not None
    plain = _look(Bubblewrap(BWRAP), Binds((), (), None, None))
    assert plain["cap_eff"] == 0 and plain["cap_prm"] == 0
    kept = _look(Bubblewrap(BWRAP), Binds((), (), None, None), drop_user=True)
    if IS_ROOT:
        assert kept["cap_eff"] == _SETUID_SETGID and kept["cap_prm"] == _SETUID_SETGID
    else:
        assert kept["cap_eff"] == 0


@needs_bwrap
def test_bwrap_reports_the_childs_pid_on_the_info_descriptor(tmp_path: Path) -> None:
    assert BWRAP is not None
    r, w = os.pipe()
    try:
        argv = Bubblewrap(BWRAP).command(["/bin/true"], binds=Binds((), (), None, None),
                                         info_fd=w)
        assert argv[argv.index("--info-fd") + 1] == str(w)
        done = subprocess.run(argv, pass_fds=(w,), capture_output=True, timeout=30,
                              check=False)
        assert done.returncode == 0, done.stderr
        os.close(w)
        w = -1
        info = json.JSONDecoder().raw_decode(read_all(r).decode())[0]
        assert info["child-pid"] > 0
    finally:
        if w != -1:
            os.close(w)
    assert "--info-fd" not in Bubblewrap(BWRAP).command(
        ["/bin/true"], binds=Binds((), (), None, None))


def test_bwrap_runs_the_inner_command_after_the_options() -> None:
    argv = Bubblewrap("/x/bwrap").command(["prog", "--ro-bind", "a"],
                                          binds=Binds((), (), None, None))
    assert argv[0] == "/x/bwrap"
    assert argv[-4:] == ["--", "prog", "--ro-bind", "a"]
    assert argv.count("--") == 1


def test_bwrap_for_an_ordinary_user_makes_a_user_namespace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    argv = Bubblewrap("/x/bwrap").command(["prog"], binds=Binds((), (), None, None),
                                          drop_user=True)
    assert "--unshare-user" in argv
    assert "--cap-add" not in argv  # there is no user to drop from
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    argv = Bubblewrap("/x/bwrap").command(["prog"], binds=Binds((), (), None, None),
                                          drop_user=True)
    assert "--unshare-user" not in argv
    assert argv[argv.index("--cap-drop"):argv.index("--")] == [
        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


@needs_bwrap
@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None,
                    reason="becoming an ordinary user needs root and setpriv")
def test_bwrap_command_works_for_an_ordinary_user(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BWRAP is not None
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    argv = Bubblewrap(BWRAP).command(
        [SYSTEM_PYTHON, "-I", "-c", "import os; print(os.getuid())"],
        binds=Binds((), (), None, None))
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           *argv], capture_output=True, text=True, timeout=30, check=False,
                          cwd="/")
    if done.returncode != 0 and "namespace" in done.stderr and "--unshare-user" in argv:
        pytest.skip(f"user namespaces are not allowed here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "65534"


@needs_bwrap
@pytest.mark.timeout(30)
def test_bwrap_sandbox_dies_with_its_parent(tmp_path: Path) -> None:
    assert BWRAP is not None
    marker = f"{60 + (os.getpid() % 1000) / 1000:.3f}"  # sleep 60.xyz: ours to clean up
    argv = Bubblewrap(BWRAP).command(["sleep", marker], binds=Binds((), (), None, None))
    starter = ("import subprocess, sys\np = subprocess.Popen(sys.argv[1:])\n"
               "print(p.pid, flush=True)\np.wait()\n")
    parent = subprocess.Popen([sys.executable, "-c", starter, *argv], stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        assert parent.stdout is not None
        bwrap_pid = int(parent.stdout.readline())
        pidfd = os.pidfd_open(bwrap_pid)
        try:
            give_up = time.monotonic() + 10  # until bwrap has made its sandbox
            while len(_children_of(bwrap_pid)) == 0 and time.monotonic() < give_up:
                time.sleep(0.01)
            assert select.select([pidfd], [], [], 0)[0] == []  # still running
            parent.kill()
            parent.wait()
            assert select.select([pidfd], [], [], 15)[0] == [pidfd], "bwrap outlived its parent"
        finally:
            os.close(pidfd)
    finally:
        _kill(parent)
        _kill_marked(marker)


@pytest.mark.timeout(10)  # a mutant that loops forever fails fast
def test_parents_makes_missing_folders_world_readable_once() -> None:
    made = {"/", "/usr", "/tmp"}
    assert _parents("/tmp/a/b/c", made) == ["--perms", "0755", "--dir", "/tmp/a",
                                             "--perms", "0755", "--dir", "/tmp/a/b"]
    assert made == {"/", "/usr", "/tmp", "/tmp/a", "/tmp/a/b", "/tmp/a/b/c"}
    assert _parents("/tmp/a/b/d", made) == []  # made already
    assert _parents("/tmp/a/b/c/e", made) == []  # the bind itself is the parent
    # a path inside a system folder already exists there (and is read-only)
    assert _parents("/usr/share/doc/x", made) == []
    assert _parents("/usrlocal/y", made) == ["--perms", "0755", "--dir", "/usrlocal"]
    assert _parents(f"{GRADE_DIR}/work", set()) == ["--perms", "0755", "--dir", "/",
                                                     "--perms", "0755", "--dir", "/grade"]


def test_bwrap_binds_every_real_system_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a host without merged /usr (/bin a folder of its own), each folder is bound."""
    folders = {"/usr", "/bin", "/lib", "/lib32"}
    monkeypatch.setattr(os.path, "islink", lambda p: p == "/sbin")
    monkeypatch.setattr(os.path, "isdir", lambda p: p in folders)
    monkeypatch.setattr(os, "readlink", lambda p: "usr/sbin" if p == "/sbin" else "?")
    argv = Bubblewrap("/x/bwrap").command(["prog"], binds=Binds((), (), None, None))
    for folder in ("/usr", "/bin", "/lib", "/lib32"):
        at = argv.index(folder)
        assert argv[at - 1:at + 2] == ["--ro-bind", folder, folder]
    at = argv.index("/sbin")
    assert argv[at - 2:at + 1] == ["--symlink", "usr/sbin", "/sbin"]
    assert "/lib64" not in argv and "/libx32" not in argv  # neither here: left out


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_after_the_first_process_was_reaped_still_knows_its_age() -> None:
    """The sandbox reaps the test's first process before sweeping: `born` stands in for it."""
    me = os.getpid()
    older = subprocess.Popen(["sleep", "60"], start_new_session=True)
    _next_tick(start_ticks(older.pid))
    root = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!"], stdout=subprocess.PIPE,
                            start_new_session=True)
    born = start_ticks(root.pid)
    younger = None
    try:
        assert root.stdout is not None
        left = int(root.stdout.readline())  # still in the first process's group
        root.wait()  # reaped: no row any more
        _next_tick(born)
        younger = subprocess.Popen(["sleep", "60"], start_new_session=True)
        assert sweep(root.pid, me, set(), born=born) == 2
        assert _dead(left) and _dead(younger.pid)
        assert _state(older.pid) in ("S", "R")  # the grader's, from before the test
    finally:
        _kill_pids(_in_session(root.pid))
        _kill(older)
        if younger is not None:
            younger.returncode = 0 if _state(younger.pid) == "gone" else None
            _kill(younger)


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_skips_processes_it_cannot_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """One that exited since the scan, or belongs to another user: the rest still die."""
    root = subprocess.Popen(["sleep", "60"], start_new_session=True)
    gone, foreign = 999999998, 999999997  # in the table, but never signalled
    real_table, real_kill = sweep_module.process_table, os.kill

    def table() -> list[Proc]:
        return [*real_table(), Proc(gone, 1, root.pid, root.pid, False),
                Proc(foreign, 1, root.pid, root.pid, False)]

    def kill(pid: int, sig: int) -> None:
        if pid == gone:
            raise ProcessLookupError(pid)
        if pid == foreign:
            raise PermissionError(pid)
        real_kill(pid, sig)

    monkeypatch.setattr(sweep_module, "process_table", table)
    monkeypatch.setattr(os, "kill", kill)
    try:
        assert sweep(root.pid, None, set(), deadline=0.5) == 3  # the two stay "alive"
        assert root.wait(timeout=10) == -signal.SIGKILL
    finally:
        monkeypatch.undo()
        _kill(root)


@needs_proc
@pytest.mark.timeout(30)
def test_sweep_freezes_a_growing_tree_before_killing_any_of_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A member that appears between two scans is stopped too; then all are killed."""
    root = subprocess.Popen(["sleep", "60"], start_new_session=True)
    early, late = 999999996, 999999995  # stand-ins: never really signalled
    real_table, real_kill = sweep_module.process_table, os.kill
    scans: list[int] = []
    sent: list[tuple[int, int]] = []

    def table() -> list[Proc]:
        scans.append(1)
        if len(scans) > 2000:  # the deadline allows far fewer
            raise AssertionError("the sweep keeps rescanning the same members")
        rows = [*real_table(), Proc(early, 1, root.pid, root.pid, False)]
        if len(scans) >= 2:  # forked after the first scan
            rows.append(Proc(late, 1, root.pid, root.pid, False))
        return rows

    def kill(pid: int, sig: int) -> None:
        sent.append((pid, sig))
        if pid in (early, late):
            raise ProcessLookupError(pid)
        real_kill(pid, sig)

    monkeypatch.setattr(sweep_module, "process_table", table)
    monkeypatch.setattr(os, "kill", kill)
    try:
        assert sweep(root.pid, None, set(), deadline=0.3) == 3  # the stand-ins stay listed
        first_kill = next(i for i, (_, sig) in enumerate(sent) if sig == signal.SIGKILL)
        stopped = {pid for pid, sig in sent[:first_kill] if sig == signal.SIGSTOP}
        assert stopped == {root.pid, early, late}
        assert {pid for pid, sig in sent if sig == signal.SIGKILL} == {root.pid, early, late}
    finally:
        monkeypatch.undo()
        _kill(root)


def test_an_orphan_in_the_graders_own_session_is_not_a_tests() -> None:
    """A child of the grader in the grader's own session was started by the grader
    itself (say, a helper it ran), not orphaned by a test: the sweep leaves it."""
    me, own_sid = os.getpid(), os.getsid(0)
    table = [
        Proc(1000, me, 1000, 1000, False, start=50),  # the test's first process
        Proc(2000, me, 2000, own_sid, False, start=60),  # the grader's, same session
        Proc(3000, me, 3000, 3000, False, start=60),  # a test's daemon, own session
    ]
    assert family(1000, table, me, exclude=set()) == {1000, 3000}


@needs_proc
def test_start_ticks_reads_past_a_name_with_a_parenthesis() -> None:
    """/proc/PID/stat puts the name in parentheses, and a name may hold ") 1 2"."""
    before = _ticks_now()
    named = subprocess.Popen([
        sys.executable, "-c",
        "import ctypes, sys, time; ctypes.CDLL(None).prctl(15, b'a) 1 2 3 4', 0, 0, 0); "
        "print(flush=True); time.sleep(30)",
    ], stdout=subprocess.PIPE)
    try:
        assert named.stdout is not None and named.stdout.readline() == b"\n"  # renamed now
        assert Path(f"/proc/{named.pid}/comm").read_text() == "a) 1 2 3 4\n"
        assert before - 1 <= start_ticks(named.pid) <= _ticks_now() + 1
    finally:
        named.kill()
        named.wait()


def test_the_report_cap_counts_exactly_the_bytes_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading stops once the cap is reached, not a byte before (messages keep their
    boundaries on a SOCK_SEQPACKET pair, so each read returns one of them)."""
    monkeypatch.setattr(verdict_module, "_REPORT_LIMIT", 10)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b:
        for message in (b"123456789", b"abcde", b"never read"):
            b.send(message)
        assert read_all(os.dup(a.fileno())) == b"123456789abcde"  # 9 < 10: one more read


@needs_proc
def test_a_sweep_reaps_the_orphan_zombies_handed_to_the_subreaper() -> None:
    """As child subreaper the grader inherits a test's orphans; one that has already
    exited is a zombie only the grader can collect, and the sweep does."""
    PR_SET_CHILD_SUBREAPER = 36  # the kernel's name for it
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        first = subprocess.Popen([
            sys.executable, "-c",
            "import os, subprocess, sys; "
            "p = subprocess.Popen([sys.executable, '-c', 'pass']); print(p.pid, flush=True)",
        ], stdout=subprocess.PIPE)  # starts a grandchild and exits without waiting for it
        assert first.stdout is not None
        orphan = int(first.stdout.readline())
        born = start_ticks(first.pid)
        first.wait()
        os.waitid(os.P_PID, orphan, os.WEXITED | os.WNOWAIT)  # ours now, and a zombie
        assert Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
        sweep(first.pid, os.getpid(), exclude={first.pid}, born=born)
        assert not Path(f"/proc/{orphan}").exists()  # collected
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
