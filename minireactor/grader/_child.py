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

import ast
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
TESTING = "minireactor.grader.testing"
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


# Modules that write memory directly: the guard sees their calls only partly
# (ctypes.cast and pointer stores raise no audit event), so importing them
# ends the test. The runner's own use of ctypes (prctl) happens before the
# guard is armed, and it then removes them from sys.modules (`_forget_ctypes`).
BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes"})
# Function attributes that hold what a test bound at definition time (see
# `_bind_judges`): the tuple cannot be changed in place, and replacing it
# ends the test. (`__kwdefaults__` is a dict, mutable in place: never used.)
FROZEN_ATTRIBUTES = frozenset({"__defaults__", "__kwdefaults__"})


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
    """Make /proc/self/mem unreadable to this process and its children.

    A non-dumpable process's /proc files belong to root (of its user
    namespace), so graded code cannot read its own memory to look for the
    token. As an ordinary user without bubblewrap, the grader's own memory is
    still the user's to read: the fallback does not isolate that.
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
    blocked_imports = BLOCKED_IMPORTS
    frozen_attributes = FROZEN_ATTRIBUTES
    max_detail, violation_exit = MAX_DETAIL, VIOLATION_EXIT
    state = {"reported": False}
    armed_pid = getpid()

    def send(verdict: bytes, detail: object) -> None:
        if getpid() != armed_pid:  # a forked copy holds the token too; only we report
            return
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
            event == "import" and length(args) > 0 and type_of(args[0]) is text_type
            and args[0] in blocked_imports
        ) or (
            event == "object.__setattr__" and length(args) == 3
            and type_of(args[1]) is text_type and (
                args[1] in frozen_attributes
                or (args[1] == "__code__" and not same_code(args[0], args[2])))
        )
        if blocked:
            if not state["reported"]:
                what = f"import {args[0]}" if event == "import" else event
                send(b"FAIL", f"graded code used {what}, which is not allowed while grading")
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


def _drop_privileges(drop_to: list[int] | None) -> None:
    """Become the unprivileged sandbox user (the grader is root) and forbid regaining rights.

    Done before anything is imported from the submission's side. Changing uid
    also makes the process non-dumpable; no_new_privs stops setuid programs.
    """
    import ctypes  # imported before the guard is armed; graded code may not use it

    if drop_to:
        uid, gid = drop_to
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    pr_set_no_new_privs = 38
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_no_new_privs, 1, 0, 0, 0)


def _forget_ctypes() -> None:
    """Drop ctypes from sys.modules, so that graded code importing it meets the guard."""
    for name in [n for n in sys.modules if n in BLOCKED_IMPORTS or n.startswith("ctypes.")]:
        del sys.modules[name]


def _helper_imports(tree: ast.Module) -> dict[str, str]:
    """The names the test module imports from the grader's helpers: {local name: helper}."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == TESTING and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = alias.name
    return found


def _module_names(tree: ast.Module) -> set[str]:
    """Every name the test module's own code may bind at top level (or via `global`)."""
    names: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            pending.extend(n for n in ast.walk(node) if isinstance(n, ast.Global))
            continue
        if isinstance(node, ast.Global):
            names.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return names


def _bind_judges(tree: ast.Module, judges: set[str]) -> dict[str, tuple[str, ...]]:
    """Rewrite top-level functions to take the judging names they use as defaults.

    `def test_x():` using `expect` and `len` becomes `def test_x(expect=expect,
    len=len):`, so the body reads them from its own frame, not from a module
    namespace graded code can reach (any test-module function's `__globals__`).
    Functions with `*args` cannot take more positional parameters and are left
    as they are. Returns {function: names bound}, for `_check_bindings`.
    """
    bound: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.args.vararg:
            continue
        arguments = node.args
        taken = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        loads: set[str] = set()
        for statement in node.body:
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Name):
                    (loads if isinstance(sub.ctx, ast.Load) else taken).add(sub.id)
                elif isinstance(sub, ast.arg):
                    taken.add(sub.arg)
                elif isinstance(sub, ast.Global | ast.Nonlocal):
                    taken.update(sub.names)
                elif isinstance(sub, ast.alias):
                    taken.add((sub.asname or sub.name).split(".")[0])
                elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    taken.add(sub.name)
        names = tuple(sorted((loads & judges) - taken))
        if arguments.kwarg is not None and arguments.kwarg.arg in names:
            continue
        arguments.args += [ast.arg(arg=name) for name in names]
        arguments.defaults += [ast.Name(id=name, ctx=ast.Load()) for name in names]
        bound[node.name] = names
    ast.fix_missing_locations(tree)
    return bound


def _check_bindings(
    namespace: dict[str, Any], bound: dict[str, tuple[str, ...]], trusted: dict[str, object]
) -> None:
    """Fail if a function bound anything but the grader's own objects at definition time."""
    for function, names in bound.items():
        defaults = getattr(namespace.get(function), "__defaults__", None) or ()
        got = defaults[len(defaults) - len(names):] if names else ()
        for name, value in zip(names, got, strict=True):
            if value is not trusted.get(name):
                raise IntegrityError(f"graded code changed {name!r} before {function} was defined")


def _check_module(
    namespace: dict[str, Any], allowed: set[str], helpers: dict[str, object],
    private_builtins: dict[str, object],
) -> None:
    """Fail if graded code added names to the test module or swapped its helpers."""
    for name in list(namespace):
        if name not in allowed and not (name.startswith("__") and name.endswith("__")):
            raise IntegrityError(f"graded code added {name!r} to the test module")
    for name, value in helpers.items():
        if namespace.get(name) is not value:
            raise IntegrityError(f"graded code replaced the test helper {name!r}")
    if namespace.get("__builtins__") is not private_builtins:
        raise IntegrityError("graded code replaced the test module's builtins")


def _check_namespace(current: dict[str, object], before: dict[str, object], what: str) -> None:
    """Fail unless `current` holds exactly the names and objects it held in `before`."""
    if current.keys() != before.keys():
        extra = sorted(set(current) ^ set(before))[:5]
        raise IntegrityError(f"graded code added or removed names in {what}: {extra}")
    for key, value in before.items():
        if current[key] is not value:
            raise IntegrityError(f"graded code replaced {what}.{key}")


def main(job: dict[str, Any]) -> None:
    """Run one test and report its verdict; never returns."""
    _apply_limits(job["limits"])
    _drop_privileges(job.get("drop_to"))
    sys.path[:0] = list(job["sys_path"])
    from minireactor.grader import testing  # trusted: imported before any graded code

    helpers = dict(vars(testing))  # the whole namespace, checked before the verdict
    _make_undumpable()
    _forget_ctypes()
    audit: Callable[..., None] = sys.audit
    exit_now = os._exit
    token = str(job.pop("token")).encode("ascii")
    _arm_guard(token, int(job["report_fd"]), sys._getframe())
    del token

    os.chdir(job["workdir"])
    sys.argv = [job["filename"]]
    filename = str(job["filename"])
    tree = ast.parse(job["source"], filename)
    imported = _helper_imports(tree)
    allowed = _module_names(tree)
    builtins_before = dict(vars(builtins))
    # A builtin's name the test module defines itself is the test's, not a judge.
    bound = _bind_judges(tree, set(imported) | (set(builtins_before) - allowed))
    code = compile(tree, filename, "exec", dont_inherit=True)
    trusted = {name: helpers[attr] for name, attr in imported.items() if attr in helpers}
    private_builtins = dict(builtins_before)  # the test's own: graded code never gets it
    module = types.ModuleType(job["module"])
    module.__file__ = filename
    module.__dict__["__builtins__"] = private_builtins
    sys.modules[job["module"]] = module
    try:
        expected = _test_code(code, job["test"])
        exec(code, module.__dict__)
        test = module.__dict__.get(job["test"])
        if getattr(test, "__code__", None) is not expected:
            raise IntegrityError("the test function was replaced before it ran")
        _check_module(module.__dict__, allowed, trusted, private_builtins)
        _check_bindings(module.__dict__, bound, {**builtins_before, **trusted})
        test()  # type: ignore[misc]
        _check_namespace(vars(builtins), builtins_before, "builtins")
        _check_namespace(private_builtins, builtins_before, "the test's builtins")
        _check_namespace(vars(testing), helpers, "minireactor.grader.testing")
        _check_module(module.__dict__, allowed, trusted, private_builtins)
        if sys.modules.get(TESTING) is not testing:
            raise IntegrityError("graded code replaced the module minireactor.grader.testing")
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
