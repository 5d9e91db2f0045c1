"""Mutation testing, one module at a time: do the tests notice a seeded bug?

    python scripts/mutation.py timers            # one module (see MODULES)
    python scripts/mutation.py http_parser timers deferred
    python scripts/mutation.py --list

mutmut (PyPI, the `dev` extra) copies the package into a scratch directory,
changes one operator, constant or call at a time ("a mutant"), and runs the
tests that cover the changed function; a mutant the tests still pass is a
"survivor": a bug the suite would not catch. The settings shared by every
run are `[tool.mutmut]` in pyproject.toml; this script narrows them to one
module and the tests that target it (running the whole suite per mutant
would take days), runs under `nice` in `.mutation/<module>/` (gitignored,
kept so `mutmut show NAME` and `mutmut browse` work there afterwards), and
prints the score. It is slow (minutes to an hour a module) and so is not
part of `.ci/run`. Survivors that are equivalent mutants (no behaviour can
tell them apart) are listed with the reason in RELIABILITY.md.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"

# module name -> (files to mutate, tests that target them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "timers": (
        ["minireactor/timers.py"],
        ["tests/test_timers_mutants.py", "tests/test_timers.py", "tests/test_testing.py"],
    ),
    "http_parser": (
        ["minireactor/protocols/http_parser.py", "minireactor/protocols/http_message_parser.py"],
        ["tests/test_http_parser.py", "tests/test_fuzz.py", "tests/test_http_stream.py"],
    ),
    "deferred": (
        ["minireactor/defer/deferred.py"],
        ["tests/test_defer_mutants.py", "tests/test_defer.py"],
    ),
    "sandbox": (
        ["minireactor/grader/sandbox.py"],
        # the attack corpus (test_grader_sandbox.py) takes 30 s a run: too slow per mutant
        # test_sandbox_paths.py: the configurations this host does not grade in
        ["tests/test_sandbox_mutants.py", "tests/test_sandbox_paths.py"],
    ),
    # The parts the sandbox was split into. test_sandbox_parts.py reaches every
    # function of them directly (3 s a run); test_sandbox_mutants.py, which runs
    # whole jobs through them, is left out: every job calls every part, so each
    # surviving mutant would cost its 10 s run and the 850 mutants hours.
    "sandbox_parts": (
        ["minireactor/grader/bwrap.py", "minireactor/grader/cgroups.py",
         "minireactor/grader/sweep.py", "minireactor/grader/verdict.py"],
        ["tests/test_sandbox_parts.py"],
    ),
    # kqueue.py is "kqueue" below (on Linux, over a model of kqueue(2)); the
    # Tk backend is "tk", apart because its tests need a display.
    "backends": (
        [
            "minireactor/backends/__init__.py",
            "minireactor/backends/base.py",
            "minireactor/backends/waker.py",
            "minireactor/backends/epoll.py",
            "minireactor/backends/poll.py",
            "minireactor/backends/select.py",
            "minireactor/backends/threaded.py",
            "minireactor/backends/hosted.py",
            "minireactor/backends/asyncio_hosted.py",
        ],
        [
            "tests/test_backends_mutants.py",
            "tests/test_waker.py",
            "tests/test_backends.py",
            "tests/test_dispatch.py",
            "tests/test_reactor.py",
            "tests/test_hosted.py",
            "tests/test_asyncio_backend.py",
        ],
    ),
    # Needs Tk and a display: tests/conftest.py starts Xvfb when DISPLAY is unset.
    "tk": (
        ["minireactor/backends/tk.py", "minireactor/backends/tk_host.py"],
        ["tests/test_tk_available.py", "tests/test_tk_mutants.py", "tests/test_tk_backend.py"],
    ),
    # Off macOS and the BSDs, test_kqueue_model.py runs the backend over
    # tests/kqueue_model.py; on them it skips: add tests/test_backends.py there.
    "kqueue": (
        ["minireactor/backends/kqueue.py"],
        ["tests/test_kqueue_model.py"],
    ),
    "tcp": (
        ["minireactor/tcp.py"],
        # test_trace.py: the tracer calls in the read and write paths;
        # test_tcp_scripted.py: a socket whose send() and shutdown() the test scripts
        ["tests/test_tcp_mutants.py", "tests/test_tcp_scripted.py", "tests/test_tcp.py",
         "tests/test_tcp_reset.py", "tests/test_trace.py"],
    ),
}

_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".mutation", "mutants", "__pycache__", "*.egg-info", ".*_cache"
)


def narrowed_config(text: str, files: list[str], tests: list[str]) -> str:
    """pyproject.toml with [tool.mutmut] narrowed to `files` and `tests`."""
    for key, values in (("only_mutate", files), ("pytest_add_cli_args_test_selection", tests)):
        pattern = re.compile(rf"^{key} = \[.*?\]$", re.S | re.M)
        if not pattern.search(text):
            sys.exit(f"pyproject.toml has no `{key} = [...]` under [tool.mutmut]; restore it")
        text = pattern.sub(f"{key} = {values!r}".replace("'", '"'), text, count=1)
    return text


def _confined() -> list[str]:
    """A prefix that runs a command in a PID namespace of its own, where one can be made.

    A mutant of `sweep.py` or `sandbox.py` can turn "kill this test's
    processes" into "kill every process": as root on a shared machine that
    ended every other job (it did, once). In a new PID namespace the mutant
    can only see, and kill, the run's own processes.
    """
    unshare = shutil.which("unshare")
    if sys.platform.startswith("linux") and unshare:
        prefix = [unshare, "--pid", "--fork", "--mount-proc", "--kill-child"]
        if os.geteuid() != 0:  # keep the uid the tests see, in a user namespace
            prefix[1:1] = ["--user", "--map-current-user"]
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return prefix
    print("warning: no PID namespace here (unshare); a mutant of the sandbox's process "
          "sweep may kill other processes of yours", file=sys.stderr)
    return []


def run(module: str, children: int) -> int:
    """Mutation-test one module in its scratch copy; return mutmut's exit status."""
    files, tests = MODULES[module]
    where = SCRATCH / module
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(ROOT, where, ignore=_IGNORE)
    pyproject = where / "pyproject.toml"
    pyproject.write_text(narrowed_config(pyproject.read_text(), files, tests))
    # Fewer hypothesis examples per fuzz test: mutmut runs the tests once per
    # mutant, and a seeded framing bug fails within the first hundred.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MINIREACTOR_FUZZ_EXAMPLES": "100"}
    command = [*_confined(), "nice", "-n", "10", sys.executable, "-m", "mutmut", "run"]
    status = subprocess.call([*command, "--max-children", str(children)], cwd=where, env=env)
    print(f"\n{module}: results in {where} (cd there; `mutmut results`, `mutmut show NAME`)")
    subprocess.call([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=where, env=env)
    stats = where / "mutants" / "mutmut-cicd-stats.json"
    if stats.exists():
        print(stats.read_text())
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help=f"some of: {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    args = parser.parse_args(argv)
    if args.list or not args.modules:
        for name, (files, tests) in MODULES.items():
            print(f"{name}: mutates {' '.join(files)}; runs {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}")
    return max(run(module, args.children) for module in args.modules)


if __name__ == "__main__":
    sys.exit(main())
