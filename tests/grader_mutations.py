"""Remove one containment measure at a time and show that an attack then gets through.

Not collected by pytest (it takes minutes and needs root): run it by hand,
    sudo .venv/bin/python tests/grader_mutations.py [measure ...]
and it prints, for each measure, the attack that should get through once the
measure is gone, and whether it did ("CAUGHT": the corpus noticed the
removal, which is what we want). Measures that back each other up (the PID
namespace and the cgroup both end a daemon) are removed together, and the
pairing is named. RELIABILITY.md's table is this script's output.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).parent))

from grader_attacks import Attack, Outcome, attacks, run_attack

import minireactor.grader.bwrap as bwrap
import minireactor.grader.cgroups as cgroups
import minireactor.grader.runner as runner
import minireactor.grader.sandbox as sandbox
from minireactor.grader.sandbox import Policy, default_policy

Patch = Callable[[ExitStack], None]


def drop_args(*unwanted: str) -> Patch:
    """bwrap without some options (each with its value, for --size)."""
    real = bwrap.Bubblewrap.command

    def command(self: bwrap.Bubblewrap, inner: list[str], **kw: object) -> list[str]:
        argv = real(self, inner, **kw)  # type: ignore[arg-type]
        out: list[str] = []
        skip = 0
        for arg in argv:
            if skip:
                skip -= 1
            elif arg in unwanted:
                skip = 1 if arg == "--size" else 0
            else:
                out.append(arg)
        return out

    return lambda stack: stack.enter_context(
        mock.patch.object(bwrap.Bubblewrap, "command", command))


def edit_package(path: str, *edits: str) -> Patch:
    """Grade with a copy of the package whose `path` has each `old` replaced by its `new`.

    `edits` alternate: old, new, old, new, ...
    """

    def apply(stack: ExitStack) -> None:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mutant-")))
        shutil.copytree(runner.PACKAGE_ROOT / "minireactor", root / "minireactor",
                        ignore=shutil.ignore_patterns("__pycache__"))
        target = root / "minireactor" / path
        text = target.read_text()
        for old, new in zip(edits[::2], edits[1::2], strict=True):
            assert old in text, f"mutation target not found in {path}: {old!r}"
            text = text.replace(old, new)
        target.write_text(text)
        stack.enter_context(mock.patch.object(runner, "PACKAGE_ROOT", root))
        stack.enter_context(mock.patch.object(sandbox, "_PACKAGE", root / "minireactor"))
        stack.enter_context(mock.patch.object(sandbox, "_CHILD_SOURCE",
                                              root / "minireactor" / "grader" / "_child.py"))

    return apply


def no_memory_cgroup(stack: ExitStack) -> None:
    real = cgroups.Cgroups.create
    stack.enter_context(mock.patch.object(
        cgroups.Cgroups, "create", lambda self, mb, pids: real(self, 1 << 20, pids)))


def no_pids_cgroup(stack: ExitStack) -> None:
    real = cgroups.Cgroups.create
    stack.enter_context(mock.patch.object(
        cgroups.Cgroups, "create", lambda self, mb, pids: real(self, mb, 1 << 22)))


def no_cgroup_kill(stack: ExitStack) -> None:
    stack.enter_context(mock.patch.object(cgroups.TestGroup, "kill_all", lambda self: None))


def no_sweep(stack: ExitStack) -> None:
    stack.enter_context(mock.patch.object(sandbox, "sweep", lambda *args, **kw: 0))


def both(*patches: Patch) -> Patch:
    def apply(stack: ExitStack) -> None:
        for patch in patches:
            patch(stack)

    return apply


NO_CGROUPS = "no-cgroups"
FALLBACK = "fallback"
# measure -> (how to remove it, the attack that must then get through, the policy)
MUTATIONS: dict[str, tuple[Patch, str, str]] = {
    "bwrap --unshare-net": (drop_args("--unshare-net"), "network_exfiltration", "default"),
    "bwrap binds only the package (not its folder)": (
        lambda stack: stack.enter_context(
            mock.patch.object(sandbox, "_PACKAGE", runner.PACKAGE_ROOT)),
        "read_hidden_via_sys_path", "default"),
    "bwrap --unshare-pid (no cgroup: the ordinary-user case)": (
        drop_args("--unshare-pid"), "setsid_deep_chain", NO_CGROUPS),
    "cgroup kill_all + bwrap --unshare-pid (root: they back each other up)": (
        both(no_cgroup_kill, drop_args("--unshare-pid")), "setsid_daemon_rewrites_results",
        "default"),
    "private /tmp size (--size)": (drop_args("--size"), "fill_tmp", "default"),
    "cgroup memory cap": (no_memory_cgroup, "forked_children_memory", "default"),
    "RLIMIT_AS (no cgroup)": (
        edit_package("grader/_child.py", "resource.setrlimit(resource.RLIMIT_AS, (memory, memory))",
                     "pass"), "one_huge_touched_allocation", NO_CGROUPS),
    "cgroup pids cap + RLIMIT_NPROC (they back each other up)": (
        both(no_pids_cgroup, edit_package(
            "grader/_child.py", "resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))",
            "pass")), "fork_bomb", "default"),
    "fallback process-tree sweep (no cgroup)": (no_sweep, "setsid_deep_chain", FALLBACK),
    "helpers bind names at definition time (testing.same)": (
        edit_package("grader/testing.py",
                     "    pending: list[tuple[Any, Any]] = [(actual, expected)]",
                     "    _type, _len, _zip = type, len, zip  # looked up at call time\n"
                     "    pending: list[tuple[Any, Any]] = [(actual, expected)]"),
        "helper_namespace_transient", "default"),
    "test functions bind judges at definition time (_bind_judges)": (
        edit_package("grader/_child.py",
                     "        arguments.args += [ast.arg(arg=name) for name in names]\n"
                     "        arguments.defaults += [ast.Name(id=name, ctx=ast.Load())"
                     " for name in names]\n",
                     "", "bound[node.name] = names", "bound[node.name] = ()"),
        "module_globals_transient", "default"),
    "the integrity checks (module, bindings, namespaces: they back each other up)": (
        edit_package("grader/_child.py",
                     '"""Fail if graded code added names to the test module or swapped its '
                     'helpers."""',
                     "return",
                     '"""Fail if a function bound anything but the grader\'s own objects at '
                     'definition time."""',
                     "return",
                     '"""Fail unless `current` holds exactly the names and objects it held in '
                     '`before`."""',
                     "return", "if sys.modules.get(TESTING) is not testing:", "if False:"),
        "patch_framework", "default"),
    "audit guard blocks ctypes (its import, its calls)": (
        edit_package("grader/_child.py", 'event.startswith("ctypes.") and event != "ctypes.dlopen"',
                     "False", "and args[0] in blocked_imports", "and False"),
        "ctypes_grader_memory", "default"),
}


def policy_for(kind: str) -> Policy | None:
    if kind == NO_CGROUPS:
        return Policy(user=default_policy().user, contain_orphans=True, cgroups=False)
    if kind == FALLBACK:
        python = shutil.which("python3", path="/usr/bin") or sys.executable
        return Policy(user=default_policy().user, contain_orphans=True, isolation="none",
                      cgroups=False, python=python)
    return None


def contained(attack: Attack, outcome: Outcome) -> bool:
    return (outcome.failed == attack.expected_failures() and not outcome.stray
            and outcome.connections == 0 and not outcome.tampered)


@contextmanager
def removed(patch: Patch) -> Iterator[None]:
    with ExitStack() as stack:
        patch(stack)
        yield


def main(names: list[str]) -> int:
    by_name = {a.name: a for a in attacks()}
    missed = 0
    for measure, (patch, attack_name, kind) in MUTATIONS.items():
        if names and not any(n in measure for n in names):
            continue
        attack = by_name[attack_name]
        with tempfile.TemporaryDirectory() as tmp, removed(patch):
            outcome = run_attack(attack, Path(tmp), policy_for(kind))
        caught = not contained(attack, outcome)
        missed += not caught
        print(f"{'CAUGHT' if caught else 'MISSED'}  without {measure}: {attack_name} "
              f"({kind}) failed={sorted(outcome.failed)} stray={len(outcome.stray)} "
              f"connections={outcome.connections} tampered={len(outcome.tampered)}", flush=True)
        if not caught:
            for test in outcome.report.exercises[0].tests:
                print(f"    {test.name}: {test.output[:300]!r}")
        for path in outcome.tampered:  # marks a mutant let through
            if path.startswith(("/tmp/", "/dev/shm/")):
                Path(path).unlink(missing_ok=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
