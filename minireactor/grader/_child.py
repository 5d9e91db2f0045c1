"""The trusted half of one graded test, running inside a disposable child process.

`sandbox.py` starts a fresh Python for every test and sends it a job (the test's
source, the report pipe, a random token). This file is that Python's program;
the parent reads it from disk once and sends its text with the job, so a test
that rewrites files cannot change what later tests run. It is never imported by
the grader itself.

The order of `main` is the whole defence: apply the resource limits, bind every
function the report needs, arm the audit-hook guard, and only then compile and
run the test (which imports the student's module). The verdict is never a
value the student could reach: the guard writes PASS only when the report
comes from `main`'s own frame at the one call site that follows a normal
return from the test (see `_arm_guard`).

Read next: `sandbox.py` (the parent side) and `testing.py` (what tests import).
"""

from __future__ import annotations

import builtins
import dis
import os
import resource
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

REPORT_EVENT = "minireactor.grader.report"
PASS_SITE = "minireactor-grader-pass-site"
FAIL_SITE = "minireactor-grader-fail-site"
VIOLATION_EXIT = 87
MAX_DETAIL = 3000  # keeps each report below PIPE_BUF (4096), so one write() is atomic

# Facilities graded code never needs and an attacker would: tracing can skip a
# test's asserts, gc walks can find the guard's token, extra audit hooks could
# interfere with ours. Using one ends the test at once (the hook never raises,
# so no traceback can expose its frame).
BLOCKED_EVENTS = frozenset({
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "sys.monitoring.register_callback",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
})


class IntegrityError(Exception):
    """The test's own machinery was tampered with (not a normal test failure)."""


def _apply_limits(limits: dict[str, Any]) -> None:
    """Lower this process's resource limits; children inherit them."""
    cpu = int(limits["cpu"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # soft: SIGXCPU, hard: SIGKILL
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_size = int(limits["file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("nproc"):
        # Counted per user, so only meaningful once we run as the sandbox user.
        nproc = int(limits["nproc"])
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _make_undumpable() -> None:
    """Make /proc/self/mem unreadable to this (unprivileged) process.

    A non-dumpable process's /proc files belong to root, so graded code running
    as the sandbox user cannot read its own memory to look for the token.
    """
    import ctypes  # imported before the guard is armed; graded code may not use it

    pr_set_dumpable = 4
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def _call_site(code: types.CodeType, marker: str) -> int:
    """The bytecode offset of the first call made after `marker` is loaded.

    `main` loads each marker as the last argument but one before calling
    `audit`, with no call in between, so this is the audit call itself.
    """
    seen_marker = False
    for instruction in dis.get_instructions(code):
        if instruction.opname == "LOAD_CONST" and instruction.argval == marker:
            seen_marker = True
        elif seen_marker and instruction.opname == "CALL":
            return instruction.offset
    raise RuntimeError(f"grader runner is damaged: no call after {marker!r}")


def _same_code(
    function: object, new: object,
    function_type: type = types.FunctionType, code_type: type = types.CodeType,
) -> bool:
    """Whether a `__code__` assignment changes only flags (as `types.coroutine` does).

    Only built-in types are touched (exact type checks first), so no code that
    graded code wrote can run inside the audit hook. The types are bound as
    defaults, when this file is executed, before any graded code exists.
    """
    if type(function) is not function_type or type(new) is not code_type:
        return False
    old = function.__code__  # type: ignore[attr-defined]
    return bool(old.co_code == new.co_code and old.co_consts == new.co_consts  # type: ignore[attr-defined]
                and old.co_names == new.co_names)  # type: ignore[attr-defined]


def _arm_guard(token: bytes, report_fd: int, main_frame: types.FrameType) -> None:
    """Install the audit hook that owns the token and writes the one verdict.

    The token lives only in this hook's closure. Nothing else references the
    hook (the interpreter keeps it), gc walks are blocked, and the hook never
    calls a method of an object it is handed, so graded code cannot reach it.
    Every name the hook uses is bound here, as a closure variable: graded code
    can rebind module globals and builtins, but not these.

    A report is accepted only from `main_frame` while that frame is executing
    the exact CALL instruction at the pass site or the fail site. Reaching the
    pass site requires the test function to have returned normally; a report
    from any other frame, thread or call site (a forged `sys.audit`, a
    `functools.partial` planted as `__eq__`) is ignored.
    """
    pass_offset = _call_site(main_frame.f_code, PASS_SITE)
    fail_offset = _call_site(main_frame.f_code, FAIL_SITE)
    write, exit_now, getpid, getframe = os.write, os._exit, os.getpid, sys._getframe
    text_type, type_of, length, same_code = str, type, len, _same_code
    report_event, blocked_events = REPORT_EVENT, BLOCKED_EVENTS
    max_detail, violation_exit = MAX_DETAIL, VIOLATION_EXIT
    state = {"reported": False}

    def send(verdict: bytes, detail: object) -> None:
        body = b""
        if type_of(detail) is text_type:
            body = detail.encode("utf-8", "replace")[:max_detail]  # type: ignore[attr-defined]
        header = b"MRG1 %s %d %s %d\n" % (token, getpid(), verdict, length(body))
        state["reported"] = True
        # Not contextlib.suppress: the hook calls no Python code graded code could patch.
        try:  # noqa: SIM105
            write(report_fd, header + body)
        except OSError:  # the parent closed the pipe: it will record no verdict, i.e. a fail
            pass

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == report_event:
            caller = getframe(1)
            if caller is not main_frame or state["reported"]:
                return
            if caller.f_lasti == pass_offset:
                send(b"PASS", "")
            elif caller.f_lasti == fail_offset:
                send(b"FAIL", args[1] if length(args) > 1 else "")
            return
        blocked = event in blocked_events or (
            event.startswith("ctypes.") and event != "ctypes.dlopen"
        ) or (
            event == "object.__setattr__" and length(args) == 3
            and type_of(args[1]) is text_type and args[1] == "__code__"
            and not same_code(args[0], args[2])
        )
        if blocked:
            if not state["reported"]:
                send(b"FAIL", f"graded code used {event}, which is not allowed while grading")
            exit_now(violation_exit)

    sys.addaudithook(hook)


def _describe(exc: BaseException, filename: str) -> str:
    """A short, student-facing account of why the test failed."""
    try:
        helpers = os.path.join("grader", "testing.py")  # expect() & co: show the caller
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__)
            if f.filename != "<minireactor-grader-runner>" and not f.filename.endswith(helpers)
        ]
        where = ""
        if frames:
            last = frames[-1]
            line = (last.line or "").strip()
            where = f"\n  at {os.path.basename(last.filename)}:{last.lineno}: {line}"
            test_lines = [f for f in frames if f.filename == filename]
            if test_lines and test_lines[-1] is not last:
                t = test_lines[-1]
                where += f"\n  from the test, line {t.lineno}: {(t.line or '').strip()}"
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if isinstance(exc, SystemExit):
            message = f"SystemExit({exc.code!r}): graded code called sys.exit()"
        return message + where
    except BaseException:  # a hostile __str__ must not stop the report
        return f"{type(exc).__name__} (its message could not be shown)"


def _test_code(module_code: types.CodeType, name: str) -> types.CodeType:
    """The code object the compiler made for the top-level function `name`."""
    for const in module_code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == name:
            return const
    raise IntegrityError(f"no test function named {name!r}")


def _check_builtins(before: dict[str, object]) -> None:
    """Fail the test if graded code replaced a builtin (len, isinstance, ...)."""
    current = vars(builtins)
    for key, value in before.items():
        if current.get(key) is not value:
            raise IntegrityError(f"graded code replaced builtins.{key}")


def _check_helpers(namespace: dict[str, object], helpers: dict[str, object]) -> None:
    """Fail the test if graded code swapped the assertion helpers it imported."""
    for name, value in namespace.items():
        original = helpers.get(name)
        if original is not None and value is not original:
            raise IntegrityError(f"graded code replaced the test helper {name!r}")


def main(job: dict[str, Any]) -> None:
    """Run one test and report its verdict; never returns."""
    _apply_limits(job["limits"])
    sys.path[:0] = list(job["sys_path"])
    from minireactor.grader import testing  # trusted: imported before any graded code

    helpers = {name: getattr(testing, name) for name in testing.__all__}
    if job.get("undumpable"):
        _make_undumpable()
    audit: Callable[..., None] = sys.audit
    exit_now = os._exit
    token = str(job.pop("token")).encode("ascii")
    _arm_guard(token, int(job["report_fd"]), sys._getframe())
    del token

    os.chdir(job["workdir"])
    sys.argv = [job["filename"]]
    filename = str(job["filename"])
    code = compile(job["source"], filename, "exec", dont_inherit=True)
    module = types.ModuleType(job["module"])
    module.__file__ = filename
    sys.modules[job["module"]] = module
    builtins_before = dict(vars(builtins))
    try:
        expected = _test_code(code, job["test"])
        exec(code, module.__dict__)
        test = module.__dict__.get(job["test"])
        if getattr(test, "__code__", None) is not expected:
            raise IntegrityError("the test function was replaced before it ran")
        test()  # type: ignore[misc]
        _check_builtins(builtins_before)
        _check_helpers(module.__dict__, helpers)
        _check_helpers(vars(testing), helpers)
    except BaseException as exc:
        # The two literals below mark the only call sites the guard accepts
        # (they must stay literals: _call_site finds them as LOAD_CONST).
        detail = _describe(exc, filename)
        audit(REPORT_EVENT, "minireactor-grader-fail-site", detail)
    else:
        audit(REPORT_EVENT, "minireactor-grader-pass-site")
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - see the comment on the except
            stream.flush()
        except BaseException:
            pass
    # _exit skips atexit handlers and the wait for non-daemon threads: the verdict
    # is already written, and a server thread left running must not hang the test.
    exit_now(0)
