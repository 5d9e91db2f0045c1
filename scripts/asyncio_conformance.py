"""Judge minireactor.aio with CPython's own asyncio tests.

Runs the loop-parametrised test classes of `test_events` (with its subprocess
tests), `test_sock_lowlevel` and `test_sendfile` with `create_event_loop()`
returning a `MiniReactorEventLoop`, and the modules `test_streams`,
`test_server`, `test_taskgroups`, `test_timeouts`, `test_waitfor`,
`test_queues`, `test_locks`, `test_ssl` and `test_subprocess` under an
event-loop policy whose `new_event_loop()` makes one. It runs the same tests
on the standard library's epoll loop, and reports, for each minireactor
backend, the share of the tests passing on the stdlib loop that also pass on
minireactor.aio, with every difference and its reason.

Usage::

    .venv/bin/python scripts/asyncio_conformance.py                  # every evented backend
    .venv/bin/python scripts/asyncio_conformance.py --backends epoll --jobs 1
    .venv/bin/python scripts/asyncio_conformance.py --modules test_streams --markdown -

Each (loop, module) pair runs in its own worker process, one test at a time,
reporting each result as it finishes; a test that hangs (no result within
--test-timeout seconds) is recorded as "hang", the worker is killed and
restarted after it. --jobs bounds how many workers run at once.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIXIN_MODULES = {  # module -> the class parametrised by create_event_loop()
    "test_events": "EPollEventLoopTests",
    "test_sock_lowlevel": "EPollEventLoopTests",
    "test_sendfile": "EPollEventLoopTests",
}
POLICY_MODULES = [
    "test_streams",
    "test_server",
    "test_taskgroups",
    "test_timeouts",
    "test_waitfor",
    "test_queues",
    "test_locks",
    "test_ssl",
    "test_subprocess",
]
ALL_MODULES = [*MIXIN_MODULES, *POLICY_MODULES]
PASSED = ("pass", "expected-failure")


# -- worker: runs one module on one loop, printing a JSON line per test ---------


class _Recorder(unittest.TestResult):
    """Prints `{"id", "outcome", "reason"}` for each test as soon as it ends."""

    def __init__(self) -> None:
        super().__init__()
        self._started = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._started = time.monotonic()
        _emit({"start": test.id()})

    def _record(self, test: Any, outcome: str, reason: str = "") -> None:
        elapsed = round(time.monotonic() - self._started, 3)
        _emit({"id": test.id(), "outcome": outcome, "reason": reason, "seconds": elapsed})

    def addSuccess(self, test: Any) -> None:
        self._record(test, "pass")

    def addFailure(self, test: Any, err: Any) -> None:
        self._record(test, "fail", _summary(err))

    def addError(self, test: Any, err: Any) -> None:
        # Errors in module/class fixtures arrive with a placeholder "test".
        self._record(test, "error", _summary(err))

    def addSkip(self, test: Any, reason: str) -> None:
        self._record(test, "skip", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self._record(test, "expected-failure")

    def addUnexpectedSuccess(self, test: Any) -> None:
        self._record(test, "unexpected-success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:  # a failing subtest fails its test
            self._record(test, "fail", f"subtest {subtest._subDescription()}: {_summary(err)}")


def _emit(obj: dict[str, Any]) -> None:
    sys.__stdout__.write(json.dumps(obj) + "\n")  # type: ignore[union-attr]
    sys.__stdout__.flush()  # type: ignore[union-attr]


def _summary(err: Any) -> str:
    """The exception's type and first line of message, for the report."""
    exc_type, exc, _ = err
    text = str(exc).strip().splitlines()
    return f"{exc_type.__name__}: {text[0][:200] if text else ''}"


def _install_minireactor(backend: str) -> type[asyncio.AbstractEventLoop]:
    """Make minireactor.aio the loop that asyncio.new_event_loop() returns."""
    sys.path.insert(0, str(ROOT))
    import minireactor.aio

    class Policy(minireactor.aio.EventLoopPolicy):
        def __init__(self) -> None:
            super().__init__(backend)

    # Tests reset the policy with set_event_loop_policy(None); asyncio then
    # builds `asyncio.DefaultEventLoopPolicy()`, so that name must be ours too.
    asyncio.DefaultEventLoopPolicy = Policy
    asyncio.set_event_loop_policy(Policy())
    return minireactor.aio.MiniReactorEventLoop


def _load(module_name: str, loop_spec: str) -> unittest.TestSuite:
    module = __import__(f"test.test_asyncio.{module_name}", fromlist=["*"])
    loader = unittest.TestLoader()
    if module_name not in MIXIN_MODULES:
        return loader.loadTestsFromModule(module)
    cls = getattr(module, MIXIN_MODULES[module_name])
    if loop_spec != "stdlib":
        backend = loop_spec.split(":")[1]
        import minireactor.aio

        def create_event_loop(self: Any) -> asyncio.AbstractEventLoop:
            return minireactor.aio.new_event_loop(backend)

        # Same class name, so test ids match the stdlib run's.
        cls = type(cls.__name__, (cls,), {"create_event_loop": create_event_loop})
        cls.__module__ = module.__name__
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(cls))
    # Module fixtures (setUpModule) run once the suite sees a test of the module.
    return suite


def _flatten(suite: unittest.TestSuite) -> list[unittest.TestCase]:
    tests: list[unittest.TestCase] = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            tests.extend(_flatten(item))
        else:
            tests.append(item)
    return tests


def run_worker(module_name: str, loop_spec: str, skip: set[str]) -> None:
    created = collections.Counter[str]()
    original_init = asyncio.BaseEventLoop.__init__

    def counting_init(self: asyncio.BaseEventLoop) -> None:
        # Proof of what ran: how many loops of each class the tests created.
        created[type(self).__name__] += 1
        original_init(self)

    asyncio.BaseEventLoop.__init__ = counting_init  # type: ignore[method-assign,assignment]
    if loop_spec != "stdlib":
        _install_minireactor(loop_spec.split(":")[1])
    tests = [t for t in _flatten(_load(module_name, loop_spec)) if t.id() not in skip]
    unittest.TestSuite(tests).run(_Recorder())
    _emit({"done": True, "loops": dict(created)})


# -- parent: runs workers, restarts them after hangs ---------------------------


LOOPS_CREATED: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


def run_module(module: str, loop_spec: str, test_timeout: float) -> dict[str, dict[str, Any]]:
    """Results of one module on one loop: test id -> {"outcome", "reason"}."""
    results: dict[str, dict[str, Any]] = {}
    while True:
        started, finished = _run_worker_process(module, loop_spec, set(results), test_timeout)
        results.update(finished)
        loops = finished.pop("<loops>", None)
        if loops:
            LOOPS_CREATED[loop_spec].update(loops["counts"])
        if started is None:
            results.pop("<loops>", None)
            return results
        results[started] = {"outcome": "hang", "reason": f"no result after {test_timeout} s"}


def _run_worker_process(
    module: str, loop_spec: str, skip: set[str], test_timeout: float
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """One worker run. Returns (id of a hung test or None, results)."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        module,
        loop_spec,
        "--skip",
        json.dumps(sorted(skip)),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd="/tmp"
    )
    lines: collections.deque[str] = collections.deque()
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    results: dict[str, dict[str, Any]] = {}
    current: str | None = None
    last_progress = time.monotonic()
    while True:
        while lines:
            line = lines.popleft()
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue  # a test printed to stdout
            last_progress = time.monotonic()
            if "start" in msg:
                current = msg["start"]
            elif "id" in msg:
                results[msg["id"]] = {k: msg[k] for k in ("outcome", "reason", "seconds")}
                current = None
            elif msg.get("done"):
                results["<loops>"] = {"counts": msg["loops"]}
                proc.wait()
                return None, results
        if proc.poll() is not None and not reader.is_alive() and not lines:
            if current is not None:  # the worker died inside a test
                results[current] = {"outcome": "crash", "reason": f"exit code {proc.returncode}"}
            return None, results
        if time.monotonic() - last_progress > test_timeout:
            proc.kill()
            proc.wait()
            return current or f"{module}.<between tests>", results
        time.sleep(0.05)


def run_all(
    modules: list[str], loop_specs: list[str], jobs: int, test_timeout: float
) -> dict[str, dict[str, dict[str, Any]]]:
    """loop spec -> test id -> result."""
    results: dict[str, dict[str, dict[str, Any]]] = {spec: {} for spec in loop_specs}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {
            pool.submit(run_module, module, spec, test_timeout): (module, spec)
            for spec in loop_specs
            for module in modules
        }
        for fut in concurrent.futures.as_completed(futures):
            module, spec = futures[fut]
            results[spec].update(fut.result())
            print(f"  done {spec:18} {module}", file=sys.stderr, flush=True)
    return results


# -- report ---------------------------------------------------------------------


def compare(baseline: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """Which of the baseline's passing tests also pass on the candidate."""
    passing = {t for t, r in baseline.items() if r["outcome"] in PASSED}
    kept = {t for t in passing if candidate.get(t, {}).get("outcome") in PASSED}
    lost = sorted(passing - kept)
    return {
        "baseline_passed": len(passing),
        "passed": len(kept),
        "rate": len(kept) / len(passing) if passing else 1.0,
        "failures": {t: candidate.get(t, {"outcome": "missing", "reason": ""}) for t in lost},
        "extra_passes": sorted(
            t
            for t, r in candidate.items()
            if r["outcome"] in PASSED and t in baseline and t not in passing
        ),
    }


def markdown(results: dict[str, Any], modules: list[str], command: str) -> str:
    baseline = results["stdlib"]
    lines = [
        "# minireactor.aio against CPython's asyncio tests",
        "",
        f"Generated by `{command}` on Python {sys.version.split()[0]}.",
        "Baseline: the standard library's epoll loop, same tests, same machine.",
        "",
        "| loop | passing on stdlib | also passing here | rate |",
        "|---|---:|---:|---:|",
    ]
    comparisons = {spec: compare(baseline, r) for spec, r in results.items() if spec != "stdlib"}
    for spec, c in comparisons.items():
        lines.append(f"| {spec} | {c['baseline_passed']} | {c['passed']} | {c['rate']:.1%} |")
    lines += ["", "Event loops the tests created, by class (proof of which loop ran):", ""]
    for spec, counts in sorted(LOOPS_CREATED.items()):
        lines.append(f"- {spec}: " + ", ".join(f"{n} x {c}" for c, n in counts.most_common()))
    lines += ["", "## Per module", "", "| module | " + " | ".join(comparisons) + " |"]
    lines.append("|---|" + "---:|" * len(comparisons))
    for module in modules:
        cells = []
        for spec in comparisons:
            sub = {
                t: r for t, r in baseline.items() if t.startswith(f"test.test_asyncio.{module}.")
            }
            c = compare(sub, results[spec])
            cells.append(f"{c['passed']}/{c['baseline_passed']}")
        lines.append(f"| {module} | " + " | ".join(cells) + " |")
    lines += ["", "## Tests passing on the stdlib loop but not here", ""]
    for spec, c in comparisons.items():
        lines += [f"### {spec} ({len(c['failures'])})", ""]
        for test, r in sorted(c["failures"].items()):
            name = test.removeprefix("test.test_asyncio.")
            lines.append(f"- `{name}` — {r['outcome']}: {r.get('reason', '')}")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=None, help="comma-separated (default: evented ones)")
    parser.add_argument("--modules", default=",".join(ALL_MODULES))
    parser.add_argument("--jobs", type=int, default=2, help="workers at once (default 2)")
    parser.add_argument("--test-timeout", type=float, default=60.0)
    parser.add_argument("--json", default=None, help="write every result here")
    parser.add_argument("--markdown", default=None, help="write the report here ('-': stdout)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--skip", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker[0], args.worker[1], set(json.loads(args.skip)))
        return 0
    sys.path.insert(0, str(ROOT))
    import minireactor

    backends = (args.backends or "").split(",") if args.backends else None
    if backends is None:
        backends = [b for b in minireactor.available_backends() if b != "threaded"]
    modules = args.modules.split(",")
    specs = ["stdlib", *(f"minireactor:{b}" for b in backends)]
    started = time.monotonic()
    results = run_all(modules, specs, args.jobs, args.test_timeout)
    command = "python scripts/asyncio_conformance.py " + " ".join(sys.argv[1:])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True))
    report = markdown(results, modules, command.strip())
    if args.markdown == "-":
        print(report)
    elif args.markdown:
        Path(args.markdown).write_text(report)
    for spec in specs[1:]:
        c = compare(results["stdlib"], results[spec])
        print(f"{spec:20} {c['passed']}/{c['baseline_passed']} = {c['rate']:.1%}")
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
