"""The verdict on one test: what the child reported, and how its process ended.

`sandbox.py` runs the test; this file turns what came back into a `Verdict`.
A test passes only if the token-authenticated report (on a private pipe)
says PASS *and* the test process exited with status 0 *and* no process of
the test passed the per-test memory cap; everything else the child did (its
output, its exit code) is shown to the student with a reason, never trusted.

Read next: `report.py`, which scores a run from these verdicts.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from .sandbox import Limits

_OUTPUT_TAIL = 4000  # characters of captured stdout/stderr kept per stream
_REPORT_LIMIT = 1 << 20


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


def read_all(fd: int) -> bytes:
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


def parse_report(report: bytes, token: str, pid: int | None) -> tuple[bool, str] | None:
    """Find the token-authenticated verdict from `pid` in the report pipe's bytes.

    `pid` is None under bubblewrap, where the child's pid is its namespace's;
    the guard itself then refuses to report from any process but the one
    that armed it (a forked copy holds the token too).
    """
    marker = b"MRG1 " + token.encode("ascii") + b" "
    start = report.find(marker)
    while start != -1:
        end = report.find(b"\n", start)
        fields = report[start + len(marker):end].split(b" ") if end != -1 else []
        from_child = pid is None or fields[:1] == [b"%d" % pid]
        if len(fields) == 3 and from_child and fields[2].isdigit():
            body = report[end + 1:end + 1 + int(fields[2])].decode("utf-8", "replace")
            return fields[1] == b"PASS", body
        start = report.find(marker, start + 1)
    return None


def judge(
    proc: subprocess.Popen[bytes], report: bytes, token: str, timed_out: bool, limits: Limits,
    oom_kills: int = 0, pid: int | None = None,
) -> Verdict:
    """Combine the exit status and the authenticated report into a verdict."""
    code = proc.returncode
    parsed = parse_report(report, token, pid)
    if oom_kills:
        return Verdict(False, f"the test's processes together used more than {limits.memory_mb} "
                       "MiB (the per-test memory limit)", returncode=code)
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


def tail(stream: BinaryIO) -> str:
    """The last few thousand characters a child wrote to one of its streams."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - _OUTPUT_TAIL * 4))
    text = stream.read().decode("utf-8", "replace")
    if len(text) > _OUTPUT_TAIL or size > _OUTPUT_TAIL * 4:
        text = "[... earlier output cut ...]\n" + text[-_OUTPUT_TAIL:]
    return text
