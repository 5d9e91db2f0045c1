"""Tests of the sandbox's paths this machine only takes when told to.

`test_sandbox_mutants.py` runs jobs the way this host grades them: as root,
with bubblewrap and a control group. These force the other configurations
a grader meets (no control group, so RLIMIT_NPROC and the process sweep do
the work; the grader as a child subreaper; a missing bubblewrap; an ASCII
locale; another process's group it may not signal) and check what a
student or an instructor would see: the child's real limits, which of its
processes outlive it, the verdict, the error message. Where the effect is
invisible from outside (which pid the report must come from, which pid the
grader waits for under bubblewrap) a spy wraps the private collaborator.
Part of the `scripts/mutation.py sandbox` selection.

Read next: RELIABILITY.md, "Mutation testing".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minireactor.grader.bwrap import find_bwrap
from minireactor.grader.runner import PACKAGE_ROOT
from minireactor.grader.sandbox import Job, Limits, Policy, Sandbox
from minireactor.grader.verdict import Verdict

HAS_BWRAP = find_bwrap() is not None
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="no usable bwrap")
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc"),
]


def grade(policy: Policy, source: str, tmp_path: Path, limits: Limits | None = None,
          extra_path: tuple[str, ...] = ()) -> Verdict:
    """Run `source`'s test_probe against a one-line submission under `policy`."""
    submission = tmp_path / "student.py"
    submission.write_text("VALUE = 42\n")
    job = Job(source, "test_probe.py", "test_probe", "test_probe", submission,
              "target_mod.py", limits or Limits(wall=30), extra_path)
    return Sandbox(policy, [str(PACKAGE_ROOT)]).run(job)


@pytest.mark.parametrize("isolation", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_a_relative_helper_folder_is_the_graders(
        isolation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`grade --exercises exercises` passes tests/ relative to the grader's folder."""
    (tmp_path / "ex" / "tests").mkdir(parents=True)
    (tmp_path / "ex" / "tests" / "helper_mod.py").write_text("HELP = 7\n")
    monkeypatch.chdir(tmp_path)
    source = "def test_probe():\n    import helper_mod\n    assert helper_mod.HELP == 7\n"
    policy = Policy(isolation=isolation, cgroups=False)
    verdict = grade(policy, source, tmp_path, extra_path=("ex/tests",))
    assert verdict.passed, verdict.output()
