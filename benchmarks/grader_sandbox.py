"""What the grader's sandbox costs: per test, and for grading every reference solution.

    .venv/bin/python -m benchmarks.grader_sandbox          # ~1-2 min
    .venv/bin/python -m benchmarks.grader_sandbox --quick  # a few rounds, for a smoke test

Part 1 runs one trivial test (`def test_ok(): pass` against a one-line
submission) many times under each policy, interleaved so that every policy
sees the same machine: the bare child (a fresh Python, no bubblewrap, no
cgroup, no user drop), then bubblewrap, then bubblewrap + per-test cgroup +
the drop to `nobody` (the Gradescope setup, as root). The sandbox's cost per
test is the difference of the medians. Part 2 grades all ten reference
solutions with their hidden tests (two at a time) with the default policy.
The load average is printed before and after: figures from a busy machine
are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from minireactor.grader.exercises import find_exercises
from minireactor.grader.runner import PACKAGE_ROOT, Source, grade
from minireactor.grader.sandbox import Job, Limits, Policy, Sandbox, default_policy

_TEST = "def test_ok():\n    pass\n"


def policies() -> dict[str, Policy]:
    """The policies compared, by name (the ones this machine can run)."""
    base = default_policy(contain_orphans=False)
    chosen = {
        "bare child": Policy(isolation="none", cgroups=False),
        "bubblewrap": Policy(isolation="bwrap", cgroups=False),
        "bubblewrap + cgroup + user drop": Policy(user=base.user, isolation="bwrap"),
    }
    usable = {}
    for name, policy in chosen.items():
        try:
            usable[name] = Sandbox(policy, [str(PACKAGE_ROOT)])
        except RuntimeError as exc:
            print(f"skipping {name}: {exc}")
    return {name: sandbox.policy for name, sandbox in usable.items()}


def per_test(rounds: int) -> dict[str, list[float]]:
    """Seconds per trivial test under each policy, `rounds` times, interleaved."""
    sandboxes = {name: Sandbox(p, [str(PACKAGE_ROOT)]) for name, p in policies().items()}
    times: dict[str, list[float]] = {name: [] for name in sandboxes}
    with tempfile.TemporaryDirectory() as tmp:
        submission = Path(tmp) / "solution.py"
        submission.write_text("VALUE = 1\n")
        job = Job(_TEST, "test_ok.py", "test_ok", "test_ok", submission, "solution.py",
                  Limits(wall=20))
        for _ in range(rounds):
            for name, sandbox in sandboxes.items():
                started = time.perf_counter()
                verdict = sandbox.run(job)
                times[name].append(time.perf_counter() - started)
                if not verdict.passed:
                    raise SystemExit(f"{name}: the trivial test failed: {verdict.output()}")
    return times


def grade_all() -> tuple[float, float, float]:
    """Seconds to grade every reference solution with hidden tests; (time, score, max)."""
    exercises = find_exercises(PACKAGE_ROOT / "exercises")
    started = time.monotonic()
    report = grade(exercises, Source(solution=True), hidden=True, jobs=2)
    return time.monotonic() - started, report.score, report.max_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    print(f"load average before: {os.getloadavg()}; CPUs: {os.cpu_count()}")
    times = per_test(rounds)
    bare = statistics.median(times["bare child"])
    print(f"{'policy':36} {'median':>9} {'p90':>9} {'cost vs bare':>13}   ({rounds} rounds)")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:36} {median * 1000:7.1f}ms {p90 * 1000:7.1f}ms "
              f"{(median - bare) * 1000:+11.1f}ms")
    if not args.quick:
        seconds, score, max_score = grade_all()
        print(f"all reference solutions, hidden tests, 2 at a time: {seconds:.1f} s "
              f"({score:g}/{max_score:g})")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
